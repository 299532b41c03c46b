#pragma once
/// @file
/// The HTTP / WebSocket server: Engine.IO endpoints, static files, graceful shutdown.
///
/// ```cpp
/// switchboard::server::server srv(config);
/// srv.engine("/engine.io/", [](const auto& socket) {
///     socket->listen([s = socket.get()](std::string_view text) {
///         s->send({switchboard::eio::make_text_frame(switchboard::eio::packet_type::message, text)});
///     });
/// });
/// srv.run();   // until SIGINT/SIGTERM or stop()
/// ```

#include <switchboard/server/config.hpp>
#include <switchboard/server/engine.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace switchboard::server {

class server {
public:
    explicit server(server_config config);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Serves Engine.IO sessions at `path` (e.g. "/engine.io/"); `handler` sees each new session.
    /// Call before run().
    void engine(std::string path, engine_handler handler);

    /// Decides on each new session's first request (the handshake), as Socket.IO's `allowRequest`:
    /// false (or an exception) refuses it with HTTP 403, Engine.IO error 4 "Forbidden". Called on the
    /// I/O threads. Call before run().
    void allow_request(std::function<bool(const request_info&)> filter);

    /// Adds samples to every /metrics scrape: `collect` appends Prometheus text-format lines (its
    /// families' `# HELP` and `# TYPE` lines included) to `out`. Called on an I/O thread per scrape.
    void add_metrics(std::function<void(std::string& out)> collect);
    /// A condition of /readyz: `check` returns why the server is not ready (e.g. "redis unreachable"),
    /// or an empty string. Called on an I/O thread per request.
    void add_readiness_check(std::function<std::string()> check);

    /// Binds, prints "listening on http://HOST:PORT" (https with TLS) to stdout, and runs the I/O threads until
    /// stop() or SIGINT/SIGTERM; then closes every session (with a close packet) and returns.
    void run();
    /// Stops a running server from any thread (graceful, as on SIGTERM).
    void stop();
    /// Runs `task` on one of the I/O threads after `delay` (from any thread; dropped at shutdown).
    void post_after(std::chrono::milliseconds delay, std::function<void()> task);

    /// Hands a session that did not come through this server's listener (an in-process transport, a
    /// test harness) to the handler of the Engine.IO endpoint at `path`, as if a client had connected.
    void accept_session(std::string_view path, const std::shared_ptr<engine_socket>& session);

    /// Tells `listener` of every session that upgrades from polling to WebSocket (on its strand). One
    /// listener; call before run().
    void on_upgrade(std::function<void(engine_socket&)> listener);

    /// Engine.IO sessions open now, by transport (any thread; counts every session of every endpoint).
    struct session_counts {
        std::size_t polling = 0;
        std::size_t websocket = 0;
    };
    session_counts sessions() const;

    /// The bound port once run() has bound (useful with port 0); 0 before.
    std::uint16_t port() const noexcept;

    /// The configuration in force.
    const server_config& config() const noexcept;

    struct impl; ///< the implementation (server/src), opaque here

private:
    std::unique_ptr<impl> impl_;
};

} // namespace switchboard::server
