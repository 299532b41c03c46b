#pragma once
/// @file
/// The native Socket.IO client: socket.io-client's API for C++ applications, driven by Beast/Asio
/// over the same sans-I/O protocol core as the WebAssembly client (switchboard/client/manager.hpp).
///
/// ```cpp
/// namespace sb = switchboard::client;
/// sb::connection io("https://chat.example.com");       // socket.io-client's Manager, with its I/O thread
/// sb::socket chat = io.socket("/chat", {.auth = {{"token", "…"}}});
/// chat.on("message", [](sb::event& e) {
///     std::string text = e.arg<std::string>(0).value_or("");
///     if (e.ack) e.ack("got it");                       // the server asked for an answer
/// });
/// chat.on_connect([] { /* connected (again) */ });
/// chat.on_disconnect([](std::string_view reason) {});
/// chat.emit("message", "hello");                        // buffered until connected
/// chat.timeout(std::chrono::seconds(5)).emit("history", 20, [](std::error_code ec, sb::arguments reply) {
///     // ec == sb::errc::timeout when no answer came in time
/// });
/// sb::arguments reply = chat.emit_with_ack("ping").get(); // from another thread than the client's own
/// ```
///
/// Threads: a connection runs on one I/O thread of its own (or on an `event_loop` shared by several
/// connections, one strand each). Every handler and callback of a connection and its sockets runs
/// there, one at a time. Every method may be called from any thread; the calls of one thread take
/// effect in their order. Do not destroy a connection from one of its own handlers, and do not wait
/// for an emit_with_ack future there (the answer would be delivered by the thread that is waiting).

#include <switchboard/io/arguments.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace switchboard::client {

using io::arguments;
using io::binary;

/// Why an emit's acknowledgement did not come, or an emit was refused.
enum class errc {
    timeout = 1,   ///< no answer within the timeout
    disconnected,  ///< the socket disconnected after the emit was sent (socket.io-client ≥ 4.7 fails it too)
    closed,        ///< the connection was closed or destroyed before an answer
    reserved_name, ///< "connect", "disconnect", … cannot be emitted
};
const std::error_category& error_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

/// Answers the server's acknowledgement request, once (later calls do nothing).
class ack_responder {
public:
    ack_responder() = default;
    explicit ack_responder(std::function<void(arguments)> answer) : answer_(std::move(answer)) {}
    /// True when the server asked for an acknowledgement.
    explicit operator bool() const noexcept { return static_cast<bool>(answer_); }
    /// `e.ack("ok", 42)`, or `e.ack(args)` with prepared arguments (the whole answer).
    template <class... A>
    void operator()(A&&... values) const {
        answer(arguments::of(std::forward<A>(values)...));
    }
    void operator()(arguments args) const { answer(std::move(args)); }

private:
    void answer(arguments args) const;
    std::function<void(arguments)> answer_;
};

/// An event from the server.
struct event {
    std::string name;
    arguments args;
    ack_responder ack; ///< empty when the server asked for no acknowledgement

    /// Argument `i` as `T`, or nothing when missing or of another type (see io::arguments::get).
    template <class T>
    std::optional<T> arg(std::size_t i) const {
        return args.get<T>(i);
    }
};

/// The server refused the namespace (its middleware's error), or the connection could not be made.
struct connect_error {
    std::string message;
    boost::json::value data; ///< the middleware's data; null when none
};

using event_handler = std::function<void(event&)>;
/// Every incoming event, before its own handlers (it may answer the ack too, as socket.io-client's onAny).
using any_handler = std::function<void(event&)>;
/// Every outgoing event.
using outgoing_handler = std::function<void(const std::string& name, const arguments& args)>;
/// The answer to an emit with ack: `ec` is set when it did not come (errc::timeout, …).
using ack_callback = std::function<void(std::error_code ec, arguments reply)>;
/// Called before every CONNECT of its namespace (the first and each after a reconnection), so that a
/// token can be renewed: socket.io-client's `auth` function.
using auth_function = std::function<boost::json::object()>;

/// socket.io-client's Manager options (and the defaults it has).
struct connection_options {
    std::string path = "/socket.io/";
    /// Tried in order; "polling" first upgrades to "websocket" when the server offers it.
    std::vector<std::string> transports{"polling", "websocket"};
    bool upgrade = true;
    bool reconnection = true;
    std::uint32_t reconnection_attempts = UINT32_MAX; ///< UINT32_MAX: unlimited
    std::chrono::milliseconds reconnection_delay{1000};
    std::chrono::milliseconds reconnection_delay_max{5000};
    double randomization_factor = 0.5;
    std::chrono::milliseconds timeout{20000}; ///< connecting, up to the Engine.IO handshake
    /// The ack timeout of every emit with a callback that has none of its own (socket.io-client's
    /// `ackTimeout`); none by default.
    std::optional<std::chrono::milliseconds> ack_timeout;
    /// Added to the handshake URL's query (the URL's own query is kept too).
    std::vector<std::pair<std::string, std::string>> query;
    /// Sent with every HTTP request and the WebSocket handshake.
    std::vector<std::pair<std::string, std::string>> extra_headers;
    /// "default" (socket.io-parser's packets) or "msgpack" (socket.io-msgpack-parser's).
    std::string parser = "default";
    /// https/wss: verify the server's certificate and name (socket.io-client's `rejectUnauthorized`).
    bool reject_unauthorized = true;
    /// https/wss: a PEM file of certificates to trust, beside the system's.
    std::string ca_file;
};

/// A namespace's options (socket.io-client's SocketOptions).
struct socket_options {
    boost::json::object auth; ///< sent with every CONNECT
    auth_function auth_fn;    ///< when set, asked before every CONNECT instead of `auth`
    bool auto_connect = true; ///< connect at once; otherwise at connect()
};

class event_loop;
class connection;
namespace detail {
struct socket_impl;
struct connection_impl;
} // namespace detail

/// One namespace of a connection (socket.io-client's Socket). A handle: cheap to copy; every copy is
/// the same socket. The flag operators (timeout, volatile_) return a handle with the flag set.
class socket {
public:
    /// The id the server gave; empty while not connected.
    std::string id() const;
    const std::string& nsp() const noexcept;
    bool connected() const;
    /// Connected or trying to (it reconnects by itself): false after disconnect(), a refusal by the
    /// server's middleware, or the server's disconnect.
    bool active() const;
    /// The last connection brought the session back (connection state recovery): same id, rooms,
    /// and the events missed meanwhile delivered before on_connect.
    bool recovered() const;

    /// Handlers run on the connection's thread, in the order they were added.
    const socket& on(std::string event, event_handler handler) const;
    const socket& off(std::string event) const; ///< removes the event's handlers
    const socket& on_any(any_handler handler) const;
    const socket& prepend_any(any_handler handler) const;
    const socket& off_any() const;
    const socket& on_any_outgoing(outgoing_handler handler) const;
    const socket& off_any_outgoing() const;
    const socket& on_connect(std::function<void()> handler) const;
    const socket& on_disconnect(std::function<void(std::string_view reason)> handler) const;
    const socket& on_connect_error(std::function<void(const connect_error&)> handler) const;

    /// emit(name, values...) or emit(name, values..., ack_callback). Buffered while disconnected
    /// (except volatile ones). A reserved name is refused with errc::reserved_name.
    template <class... A>
    std::error_code emit(std::string_view name, A&&... values) const {
        return io::detail::emit_variadic<arguments, ack_callback>(*this, name, std::forward<A>(values)...);
    }
    std::error_code emit_args(std::string_view name, arguments args) const;
    std::error_code emit_args(std::string_view name, arguments args, ack_callback callback) const;
    /// emit("message", values...).
    template <class... A>
    std::error_code send(A&&... values) const {
        return emit("message", std::forward<A>(values)...);
    }
    /// The answer as a future; it holds a std::system_error (errc) when none came. Wait for it from
    /// another thread than the connection's.
    template <class... A>
    std::future<arguments> emit_with_ack(std::string_view name, A&&... values) const {
        return emit_args_with_ack(name, arguments::of(std::forward<A>(values)...));
    }
    std::future<arguments> emit_args_with_ack(std::string_view name, arguments args) const;

    /// A handle whose emits with ack fail with errc::timeout after `ms` without an answer.
    socket timeout(std::chrono::milliseconds ms) const;
    /// A handle whose emits are dropped while not connected.
    socket volatile_() const;

    /// Connects (again) after disconnect() or with auto_connect off.
    void connect() const;
    /// Leaves the namespace; the connection closes when no namespace is left.
    void disconnect() const;

    friend bool operator==(const socket& a, const socket& b) noexcept { return a.impl_ == b.impl_; }

private:
    friend class connection;
    explicit socket(std::shared_ptr<detail::socket_impl> impl) : impl_(std::move(impl)) {}
    std::shared_ptr<detail::socket_impl> impl_;
    std::optional<std::chrono::milliseconds> timeout_;
    bool is_volatile_ = false;
};

/// I/O threads that several connections can share (each connection is then a strand on them).
class event_loop {
public:
    explicit event_loop(unsigned threads = 1);
    /// Lets the work in progress end (closing handshakes) for up to a second, then stops and joins the
    /// threads. Destroy the connections on it first.
    ~event_loop();
    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;

private:
    friend class connection;
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// One connection to a server (socket.io-client's Manager) and its namespaces.
class connection {
public:
    /// `url`: http://, https://, ws:// or wss:// host[:port]; its path is the default namespace of
    /// socket() and its query goes with the handshake. Nothing connects before the first socket.
    /// `loop`: shared I/O threads; by default the connection has a thread of its own.
    explicit connection(std::string url, connection_options opts = {}, event_loop* loop = nullptr);
    /// Closes the connection (sockets disconnect with "io client disconnect"; their pending acks fail
    /// with errc::closed) and waits for its thread.
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    /// The socket of namespace `nsp` (the URL's path when empty); the same one when asked again.
    client::socket socket(std::string nsp = {}, socket_options opts = {});

    /// The Engine.IO session is open (each time, reconnections included).
    connection& on_open(std::function<void()> handler);
    /// The open Engine.IO session ended ("transport close", "ping timeout", "forced close", …), after
    /// its sockets' on_disconnect.
    connection& on_close(std::function<void(std::string_view reason)> handler);
    /// The connection failed or broke (before a reconnection, if any).
    connection& on_error(std::function<void(std::string_view message)> handler);
    connection& on_reconnect_attempt(std::function<void(std::uint32_t attempt)> handler);
    connection& on_reconnect(std::function<void(std::uint32_t attempts)> handler);
    connection& on_reconnect_failed(std::function<void()> handler);
    /// The transport changed: "polling" / "websocket" (the first one, then an upgrade).
    connection& on_transport(std::function<void(std::string_view name)> handler);

    /// Connects now (it is also done by the first socket that connects).
    void open();
    /// Disconnects every socket and closes the connection; no reconnection.
    void close();
    /// "polling" or "websocket" while open; empty otherwise.
    std::string transport() const;

private:
    std::unique_ptr<event_loop> own_loop_; // the connection's own thread, when it was given no loop
    std::shared_ptr<detail::connection_impl> impl_;
};

} // namespace switchboard::client

template <>
struct std::is_error_code_enum<switchboard::client::errc> : std::true_type {};
