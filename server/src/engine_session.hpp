#pragma once
// One Engine.IO session and the registry of an endpoint's sessions (private to server/).

#include "net.hpp"

#include <switchboard/eio/handshake.hpp>
#include <switchboard/eio/session.hpp>
#include <switchboard/server/config.hpp>
#include <switchboard/server/engine.hpp>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace switchboard::server {

class engine_session;

using ws_stream = websocket::stream<beast::tcp_stream>;
using string_response = http::response<http::string_body>;
/// Writes an HTTP response on the connection that made the request (any thread).
using responder = std::function<void(string_response)>;

/// The sessions of one Engine.IO endpoint (a path such as /socket.io/).
class engine_endpoint {
public:
    engine_endpoint(std::string path, engine_handler handler, const server_config& config)
        : path_(std::move(path)), handler_(std::move(handler)), config_(config) {}

    const std::string& path() const noexcept { return path_; }
    const server_config& config() const noexcept { return config_; }
    const engine_handler& handler() const noexcept { return handler_; }

    std::shared_ptr<engine_session> find(const std::string& sid);
    void add(const std::shared_ptr<engine_session>& session);
    void remove(const std::string& sid);
    std::vector<std::shared_ptr<engine_session>> all();

private:
    std::string path_;
    engine_handler handler_;
    const server_config& config_;
    std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<engine_session>> sessions_;
};

/// A WebSocket with its read buffer, owned jointly by the session and its pending operations, so
/// that a connection the session lets go lives until its operations have completed.
struct ws_connection {
    explicit ws_connection(beast::tcp_stream stream) : ws(std::move(stream)) {}
    ws_stream ws;
    beast::flat_buffer buffer;
};

class engine_session final : public engine_socket, public std::enable_shared_from_this<engine_session> {
public:
    enum class transport_kind { polling, websocket };

    engine_session(engine_endpoint& endpoint, net::any_io_executor strand, request_info request,
                   transport_kind transport);
    ~engine_session() override;

    // engine_socket
    const std::string& id() const noexcept override { return sid_; }
    const request_info& request() const noexcept override { return request_; }
    void send(std::vector<eio::frame> frames, bool droppable = false) override;
    void close() override;
    void post(std::function<void()> task) override;
    void post_after(std::chrono::milliseconds delay, std::function<void()> task) override;

    /// The current transport (readable from any thread).
    transport_kind transport() const noexcept { return transport_.load(); }
    const net::any_io_executor& executor() const noexcept { return strand_; }

    /// Opens a polling session: the handshake GET gets the open packet (and anything the handler sent).
    void open_polling(responder r);
    /// Opens a session whose transport is the accepted WebSocket.
    void open_websocket(std::shared_ptr<ws_connection> ws);
    /// A long-poll GET.
    void poll(responder r);
    /// The client gave up the held long-poll (closed the connection): the session ends.
    void poll_aborted();
    /// A POST of a polling payload.
    void post(std::string body, responder r);
    /// An accepted WebSocket that may replace polling (the upgrade: 2probe, 3probe, 5).
    void probe_websocket(std::shared_ptr<ws_connection> ws);
    /// Server shutdown: as close(), from any thread.
    void shutdown() { close(); }

    /// Sessions alive (not yet destroyed), for the graceful shutdown's wait.
    static std::size_t live_count() noexcept { return live_.load(); }

private:
    void start(); // handshake done: run the handler, start the heartbeat
    void on_packet(eio::packet&& packet);
    void on_binary_message(shared_bytes bytes);
    void enqueue(std::vector<eio::frame>&& frames, bool droppable);
    void flush();
    void flush_polling();
    void write_next();
    void read_next(const std::shared_ptr<ws_connection>& conn);
    void on_read(const std::shared_ptr<ws_connection>& conn, beast::error_code ec);
    void on_probe_packet(const eio::packet& packet);
    void promote_probe();
    void drop_probe();
    void arm_heartbeat();
    void on_heartbeat(beast::error_code ec);
    void finish(eio::close_reason reason);
    static std::chrono::milliseconds now();

    engine_endpoint& endpoint_;
    net::any_io_executor strand_;
    std::string sid_;
    request_info request_;
    std::atomic<transport_kind> transport_;
    bool closed_ = false;
    bool close_after_drain_ = false; // WebSocket: send the close packet, then close the connection
    bool deferred_close_ = false;    // polling: closed, the last packets wait for the client's next GET

    eio::server_heartbeat heartbeat_;
    net::steady_timer heartbeat_timer_;
    std::vector<std::shared_ptr<net::steady_timer>> timers_; // post_after(), cancelled by finish()

    std::deque<eio::frame> queue_; // frames not yet handed to the transport
    std::size_t queued_bytes_ = 0;

    std::optional<responder> pending_get_; // polling: the held long-poll request
    std::shared_ptr<ws_connection> ws_;    // websocket transport (pending operations share it)
    bool writing_ = false;                 // a WebSocket write is in flight (single writer)

    std::shared_ptr<ws_connection> probe_; // upgrade candidate
    bool upgrading_ = false;               // the probe answered 3probe; waiting for 5
    std::optional<net::steady_timer> upgrade_timer_;

    static std::atomic<std::size_t> live_;
};

/// The response for an Engine.IO error (`{"code":N,"message":"…"}`, status 400, 403 for Forbidden).
string_response engine_error_response(int code, unsigned http_version);

} // namespace switchboard::server
