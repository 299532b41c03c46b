#pragma once
// One Engine.IO session: its queue and single writer, the WebSocket and polling transports, the
// upgrade, the heartbeat and the close (private to server/).

#include "../http/responses.hpp"
#include "../util/log.hpp"
#include "../util/net.hpp"
#include "endpoint.hpp"

#include <switchboard/eio/handshake.hpp>
#include <switchboard/eio/session.hpp>
#include <switchboard/server/config.hpp>
#include <switchboard/server/engine.hpp>
#include <switchboard/ws/frame.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace switchboard::server {

/// A handshake request as a session keeps it: `info` without headers or query, and the headers as
/// one block ("name\0value\0..."), unpacked into `info` on the first call of request().
struct request_head {
    request_info info;
    std::string header_block;
};

/// A WebSocket after the upgrade (Beast does the HTTP handshake; the frames are ours, see
/// switchboard/ws/frame.hpp). Owned jointly by the session and its pending operations, so that a
/// connection the session lets go lives until its operations have completed.
struct ws_connection {
    ws_connection(strand_socket s, std::size_t max_message) : socket(std::move(s)), reader(max_message) {}
    // Non-blocking: read with read_some() once async_wait() says it is readable. No read buffer of its
    // own (one per thread), so an idle connection holds none.
    strand_socket socket;
    ws::reader reader;
    bool writing = false;                 // a write waits for the socket: the only writer waits for it
    std::unique_ptr<strand_timer> linger; // bounds the close: our close frame's write, then the client's
};

/// A frame waiting for (or in) a write. The WebSocket header is written in place when the frame's
/// batch goes out, so the gathered write can point at it.
struct outgoing_frame {
    eio::frame frame;
    ws::opcode op = ws::opcode::text; // control frames (pong, close) only on WebSocket
    unsigned char header_size = 0;
    unsigned char header[ws::max_header_size] = {};
};

class engine_session final : public engine_socket, public std::enable_shared_from_this<engine_session> {
public:
    enum class transport_kind { polling, websocket };

    engine_session(engine_endpoint& endpoint, strand_type strand, request_head request, transport_kind transport);
    ~engine_session() override;

    // engine_socket
    const std::string& id() const noexcept override { return sid_; }
    const request_info& request() const noexcept override;
    void send(std::vector<eio::frame> frames, bool droppable = false) override;
    void close() override;
    void post(std::function<void()> task) override;
    void dispatch(std::function<void()> task) override;
    void execute(std::function<void()> task) override;
    std::uint64_t post_after(std::chrono::milliseconds delay, std::function<void()> task) override;
    void cancel_timer(std::uint64_t timer_id) override;

    /// The current transport (readable from any thread).
    transport_kind transport() const noexcept { return transport_.load(); }
    const strand_type& executor() const noexcept { return strand_; }

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
    /// Runs `f` now when the caller is on this session's strand, else posts it there. Never runs it
    /// inside another session's handler (Asio's dispatch would, when that strand is idle).
    template <class F>
    void on_strand(F&& f) {
        if (strand_.running_in_this_thread()) {
            f();
        } else {
            net::post(strand_, std::forward<F>(f));
        }
    }
    /// Runs the application's code (`what` names it for the log): an exception closes this session
    /// and is logged; it never reaches the I/O loop.
    template <class F>
    void guarded(std::string_view what, F&& f) noexcept;
    void start(); // handshake done: run the handler, start the heartbeat
    void on_packet(eio::packet&& packet);
    void on_binary_message(shared_bytes bytes);
    void enqueue(std::vector<eio::frame>&& frames, bool droppable);
    void flush();
    void flush_polling();
    void write_next();
    void write_soon();
    bool write_batch(const std::shared_ptr<ws_connection>& conn);
    void wait_writable(const std::shared_ptr<ws_connection>& conn, bool progressed);
    bool batch_written(const std::shared_ptr<ws_connection>& conn);
    void on_write_error(const std::shared_ptr<ws_connection>& conn);
    void write_probe_pong();
    void push_control(ws::opcode op, std::string payload);
    void linger_then_close(const std::shared_ptr<ws_connection>& conn);
    void read_next(const std::shared_ptr<ws_connection>& conn);
    void on_readable(const std::shared_ptr<ws_connection>& conn, beast::error_code ec);
    bool on_ws_event(const std::shared_ptr<ws_connection>& conn, const ws::event& event);
    void on_probe_packet(const eio::packet& packet);
    void promote_probe();
    void drop_probe();
    void arm_heartbeat();
    void on_heartbeat();
    friend class heartbeat_scheduler; // calls heartbeat_due()
    void heartbeat_due();
    /// Ends the session. A `cause` (a protocol error, a slow peer) is logged as a warning.
    void finish(eio::close_reason reason, std::string_view cause = {});
    static std::chrono::milliseconds now();

    engine_endpoint& endpoint_;
    strand_type strand_;
    std::string sid_;
    mutable request_info request_;     // headers and query filled in by the first request()
    mutable std::string header_block_; // until then
    mutable std::once_flag request_once_;
    std::atomic<transport_kind> transport_;
    bool closed_ = false;
    bool corked_ = false;             // WebSocket: handling what one read brought; its replies go out in one write
    bool write_posted_ = false;       // WebSocket: a write_next() is posted (write_soon)
    bool deferred_close_ = false;     // polling: closed, the last packets wait for the client's next GET
    std::uint16_t ws_close_code_ = 0; // WebSocket: finish() answers with a close frame of this code

    eio::server_heartbeat heartbeat_;
    static constexpr std::uint32_t no_slot = ~std::uint32_t{0};
    std::uint32_t heartbeat_slot_; // no_slot once finish() gave it back
    // post_after() timers by id, cancelled by finish(): nothing of an ended session waits for them.
    std::vector<std::pair<std::uint64_t, std::shared_ptr<strand_timer>>> timers_;
    std::atomic<std::uint64_t> next_timer_id_{1};

    std::vector<outgoing_frame> queue_;  // frames not yet handed to the transport
    std::vector<outgoing_frame> batch_;  // WebSocket: the frames of the write in flight
    std::vector<net::const_buffer> iov_; // ... and their headers and payloads, gathered
    std::size_t iov_next_ = 0;           // the first buffer of iov_ not (fully) written yet
    // WebSocket: since when the peer has taken no bytes while a write waits (0: no write waits). The
    // heartbeat wakes the session by write_timeout after it, to close a peer that stopped reading.
    std::chrono::milliseconds write_stalled_since_{0};
    std::size_t queued_bytes_ = 0; // payload bytes in queue_ and batch_

    std::optional<responder> pending_get_; // polling: the held long-poll request
    std::shared_ptr<ws_connection> ws_;    // websocket transport (pending operations share it)

    std::shared_ptr<ws_connection> probe_;        // upgrade candidate
    bool upgrading_ = false;                      // the probe answered 3probe; waiting for 5
    std::unique_ptr<strand_timer> upgrade_timer_; // only while a probe waits (idle sessions hold none)

    static std::atomic<std::size_t> live_;
};

template <class F>
void engine_session::guarded(std::string_view what, F&& f) noexcept {
    try {
        f();
    } catch (...) {
        SB_LOG(warn, "{} session {}: {} threw ({}); the session is closed", request_.remote_address, sid_, what,
               describe_current_exception());
        // finish() runs on_close, which is the application's too: a second throw is only logged.
        try {
            finish(eio::close_reason::forced_close);
        } catch (...) {
            SB_LOG(warn, "{} session {}: the close handler threw ({})", request_.remote_address, sid_,
                   describe_current_exception());
        }
    }
}

} // namespace switchboard::server
