#pragma once
/// @file
/// The Socket.IO server API, in the spirit of the JavaScript one.
///
/// ```cpp
/// switchboard::server::server http(config);       // transports, static files
/// switchboard::io::server io(http);               // Socket.IO at config.path
///
/// io.on_connection([](io::socket& socket) {
///     socket.join("lobby");
///     socket.on("chat message", [socket](io::event& e) mutable {
///         socket.to("lobby").emit("chat message", e.args[0]);   // everyone in the room but the sender
///         if (e.ack) e.ack("ok");                               // the client asked for an answer
///     });
///     socket.timeout(std::chrono::seconds(5)).emit("ready?", [](std::error_code ec, io::arguments reply) {
///         // ec == io::errc::timeout when no answer came in time
///     });
///     socket.on_disconnect([](std::string_view reason) {});
/// });
/// io.of("/admin").use([](io::socket& s, io::next_fn next) {
///     if (s.handshake().auth.contains("token")) next({});
///     else next(io::connect_error{"not authorized"});
/// });
/// http.run();
/// ```
///
/// Threads: the handlers of a socket run one at a time on that connection's strand. A socket's own
/// handlers are registered from its connection handler (or its other handlers). Emitting, joining,
/// broadcasting and the operators can be used from any thread.

#include <switchboard/io/adapter.hpp>
#include <switchboard/io/arguments.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace switchboard::server {
class server;
}

namespace switchboard::io {

namespace detail {
struct socket_impl;
struct namespace_impl;
struct io_core;
class ack_state;
} // namespace detail

/// Errors an ack callback can receive.
enum class errc {
    timeout = 1,     ///< no answer within the timeout
    disconnected,    ///< the socket disconnected before it could be sent to
    queue_full,      ///< not sent: the socket's unsent bytes would pass --max-queue (overflow::refuse)
    over_high_water, ///< sent, but the unsent bytes are past the high-water mark: wait for on_drain
};
/// What an emit does when the socket's unsent bytes would pass --max-queue.
enum class overflow {
    server_default, ///< --refuse-when-full decides
    disconnect,     ///< the session is closed (transport error): a consumer that slow holds memory
    refuse,         ///< the emit is refused (errc::queue_full); the socket stays
    drop_oldest,    ///< the emit is queued as replaceable: when the queue is full, the oldest such emits
                    ///< not yet written are dropped to make room (latest wins: positions, progress)
};
const std::error_category& io_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), io_category()}; }

/// Why a middleware refuses a connection: the client sees `connect_error` with this message and data.
struct connect_error {
    std::string message;
    boost::json::value data; ///< optional details (null: none)
};

/// Answers a client's acknowledgement request, once (later calls do nothing).
class ack_responder {
public:
    ack_responder() = default;
    explicit ack_responder(std::shared_ptr<detail::ack_state> state) : state_(std::move(state)) {}
    /// True when the client asked for an acknowledgement.
    explicit operator bool() const noexcept { return state_ != nullptr; }
    /// Answers with these values: `e.ack("ok", 42)`, or `e.ack(args)` with prepared arguments
    /// (binary included; an io::arguments is the whole answer, not one value of it).
    template <class... A>
    void operator()(A&&... values) const {
        answer(arguments::of(std::forward<A>(values)...));
    }
    void operator()(arguments args) const { answer(std::move(args)); }

private:
    void answer(arguments args) const;
    std::shared_ptr<detail::ack_state> state_;
};

/// An incoming event.
struct event {
    std::string name;
    arguments args;
    ack_responder ack; ///< empty when the client did not ask for an acknowledgement

    /// Argument `i` as `T`, or nothing when the client sent none or another type (see arguments::get).
    template <class T>
    std::optional<T> arg(std::size_t i) const {
        return args.get<T>(i);
    }
};

class socket;
class remote_socket;
class server;
struct admin_ui_options;
/// The admin UI's namespace on `io` (switchboard/io/admin.hpp).
void instrument(server& io, admin_ui_options options);
using event_handler = std::function<void(event&)>;
/// A handler that is handed its socket: it need not capture it (a handler that captures its own
/// socket makes a cycle that only the disconnect breaks).
using socket_event_handler = std::function<void(socket& self, event&)>;
using any_handler = std::function<void(const std::string& name, const arguments& args)>;
using disconnect_handler = std::function<void(std::string_view reason)>;
/// The answer to an emit with ack: `ec` is set (errc::timeout) when it did not come in time.
using ack_callback = std::function<void(std::error_code ec, arguments reply)>;
/// The answers to a broadcast with ack: every recipient's, or those that came before the timeout.
using broadcast_ack_callback = std::function<void(std::error_code ec, std::vector<arguments> replies)>;
/// The answers of the other nodes to a server-side emit (errc::timeout: some did not answer in time).
using server_side_callback = std::function<void(std::error_code ec, std::vector<arguments> answers)>;
/// The sockets fetch_sockets found on every node (errc::timeout: some node did not answer in time).
using fetch_callback = std::function<void(std::error_code ec, std::vector<remote_socket> sockets)>;

class socket;

/// Targets sockets of a namespace: rooms, exceptions and flags, then an emit or an operator.
/// Cheap to copy; each call returns a new operator.
class broadcast_operator {
public:
    /// `origin`: the socket broadcasting (socket.broadcast()), whose strand runs the ack callback.
    broadcast_operator(std::shared_ptr<detail::namespace_impl> nsp, broadcast_options options = {},
                       std::shared_ptr<detail::socket_impl> origin = nullptr)
        : nsp_(std::move(nsp)), options_(std::move(options)), origin_(std::move(origin)) {}

    broadcast_operator to(std::string room) const;
    broadcast_operator to(const std::vector<std::string>& rooms) const;
    broadcast_operator in(std::string room) const { return to(std::move(room)); }
    broadcast_operator except(std::string room) const;
    broadcast_operator except(const std::vector<std::string>& rooms) const;
    /// Dropped for recipients whose transport cannot take it right now.
    broadcast_operator volatile_() const;
    /// This node only (with a cluster adapter).
    broadcast_operator local() const;
    /// How long an emit with ack waits for every answer.
    broadcast_operator timeout(std::chrono::milliseconds ms) const;
    /// Partial results, for a cluster: a fetch_sockets or an emit with ack that runs out of time
    /// completes with what arrived (ec = errc::timeout), after `report` learns which nodes were silent.
    /// Without it a fetch_sockets that runs out of time fails whole, as Socket.IO's does.
    broadcast_operator partial(partial_report report = [](const cluster_answers&) {}) const;

    /// emit(name, values...) or emit(name, values..., broadcast_ack_callback).
    template <class... A>
    std::error_code emit(std::string_view name, A&&... values) const {
        return detail::emit_variadic<std::vector<arguments>, broadcast_ack_callback>(*this, name,
                                                                                     std::forward<A>(values)...);
    }
    std::error_code emit_args(std::string_view name, arguments args) const;
    std::error_code emit_args(std::string_view name, arguments args, broadcast_ack_callback callback) const;

    /// Operators on the targeted sockets.
    void sockets_join(const std::vector<std::string>& rooms) const;
    void sockets_leave(const std::vector<std::string>& rooms) const;
    void disconnect_sockets(bool close = false) const;
    /// The targeted sockets on every node (cluster queries wait at most the cluster's request timeout).
    void fetch_sockets(fetch_callback done) const;
    /// The ids of the targeted rooms' sockets on every node (no `except`).
    void fetch_socket_ids(cluster_callback<std::vector<std::string>> done) const;

    const broadcast_options& options() const noexcept { return options_; }

private:
    std::shared_ptr<detail::namespace_impl> nsp_;
    broadcast_options options_;
    std::shared_ptr<detail::socket_impl> origin_;
};

/// One client's connection to one namespace. A handle: cheap to copy, compares by identity.
class socket {
public:
    explicit socket(std::shared_ptr<detail::socket_impl> impl) : impl_(std::move(impl)) {}

    /// The socket id (the CONNECT answer's `sid`; not the Engine.IO session id).
    const std::string& id() const noexcept;
    /// The namespace's name, e.g. "/" or "/admin".
    const std::string& nsp_name() const noexcept;
    const handshake_info& handshake() const;
    /// The id of its connection (the Engine.IO session's, shared by its namespaces' sockets).
    const std::string& conn_id() const noexcept;
    /// "polling" or "websocket": its connection's transport now.
    std::string_view transport() const noexcept;
    /// Whether the socket is still connected.
    bool connected() const noexcept;
    /// Whether it came back through connection state recovery: same id, its rooms and data restored,
    /// the events it missed replayed before its connection handlers ran.
    bool recovered() const noexcept;
    /// Application data attached to the socket (access it from the socket's handlers); null until set.
    /// Made on first use: a socket that never has data holds a pointer.
    boost::json::value& data() const;

    /// Handlers (register them from the connection handler or another handler of this socket).
    const socket& on(std::string event, event_handler handler) const;
    const socket& on(std::string event, socket_event_handler handler) const;
    const socket& off(const std::string& event) const;
    /// Every incoming event, before its own handlers.
    const socket& on_any(any_handler handler) const;
    /// Every event this socket emits.
    const socket& on_any_outgoing(any_handler handler) const;
    /// The socket is leaving; its rooms are still there.
    const socket& on_disconnecting(disconnect_handler handler) const;
    /// The socket left, with the reason ("client namespace disconnect", "transport close", …).
    const socket& on_disconnect(disconnect_handler handler) const;

    /// emit(name, values...) or emit(name, values..., ack_callback). A reserved event name is refused
    /// (the error is returned, nothing is sent).
    template <class... A>
    std::error_code emit(std::string_view name, A&&... values) const {
        return detail::emit_variadic<arguments, ack_callback>(*this, name, std::forward<A>(values)...);
    }
    std::error_code emit_args(std::string_view name, arguments args) const;
    std::error_code emit_args(std::string_view name, arguments args, ack_callback callback) const;
    /// emit("message", values...).
    template <class... A>
    std::error_code send(A&&... values) const {
        return emit("message", std::forward<A>(values)...);
    }
    /// A handle whose emits with ack time out after `ms`.
    socket timeout(std::chrono::milliseconds ms) const;
    /// A handle whose emits are dropped when the transport cannot take them now.
    socket volatile_() const;
    /// A handle whose emits follow `policy` when the queue is full.
    socket when_full(overflow policy) const;
    /// Bytes queued for this socket's connection and not yet written (all its namespaces').
    std::size_t buffered_amount() const noexcept;
    /// Called (on the socket's strand) when the connection's unsent bytes, having passed the
    /// high-water mark, fall to half of it: the moment to resume emitting.
    const socket& on_drain(std::function<void()> handler) const;

    /// Joins rooms; false when the socket has left its namespace, or when --max-rooms-per-socket
    /// (`server_config::max_rooms_per_socket`) refused some of them (those already joined stay).
    bool join(const std::string& room) const;
    bool join(const std::vector<std::string>& rooms) const;
    void leave(const std::string& room) const;
    std::vector<std::string> rooms() const;

    /// Broadcasts from this socket: to everyone (or the rooms) but itself.
    broadcast_operator broadcast() const;
    broadcast_operator to(std::string room) const { return broadcast().to(std::move(room)); }
    broadcast_operator in(std::string room) const { return to(std::move(room)); }
    broadcast_operator except(std::string room) const { return broadcast().except(std::move(room)); }

    /// Server-side disconnect: this namespace only, or (close) the whole underlying connection.
    void disconnect(bool close = false) const;

    friend bool operator==(const socket& a, const socket& b) noexcept { return a.impl_ == b.impl_; }

private:
    /// This handle's timeout(), if one was set.
    std::optional<std::chrono::milliseconds> ack_timeout() const noexcept {
        return timeout_ == no_timeout ? std::nullopt : std::optional(timeout_);
    }

    // 32 bytes: handlers capture their socket, and std::function keeps a capture of up to 32 bytes in
    // the next smaller allocation (a sentinel for "no timeout" rather than an optional's 16 bytes).
    static constexpr std::chrono::milliseconds no_timeout = std::chrono::milliseconds::min();
    std::shared_ptr<detail::socket_impl> impl_;
    std::chrono::milliseconds timeout_ = no_timeout;
    bool volatile_flag_ = false;
    overflow overflow_ = overflow::server_default;
};

/// A socket that fetch_sockets found, on this node or another (Socket.IO's RemoteSocket): what it was
/// when found, and operators that reach it wherever it is (through the adapter, as a broadcast to the
/// room of its id).
class remote_socket {
public:
    remote_socket(std::shared_ptr<detail::namespace_impl> nsp, socket_description description,
                  std::optional<socket> local)
        : nsp_(std::move(nsp)), description_(std::move(description)), local_(std::move(local)) {}

    const std::string& id() const noexcept { return description_.id; }
    const handshake_info& handshake() const noexcept { return description_.handshake; }
    const std::vector<std::string>& rooms() const noexcept { return description_.rooms; }
    /// Its data() when it was found.
    const boost::json::value& data() const noexcept { return description_.data; }
    /// The socket itself, when it is connected to this node.
    const std::optional<socket>& local() const noexcept { return local_; }

    /// emit(name, values...) or emit(name, values..., broadcast_ack_callback) (with timeout()).
    template <class... A>
    std::error_code emit(std::string_view name, A&&... values) const {
        return target().emit(name, std::forward<A>(values)...);
    }
    /// Its emits with ack wait at most `ms`.
    broadcast_operator timeout(std::chrono::milliseconds ms) const { return target().timeout(ms); }
    void join(const std::vector<std::string>& rooms) const { target().sockets_join(rooms); }
    void leave(const std::vector<std::string>& rooms) const { target().sockets_leave(rooms); }
    void disconnect(bool close = false) const { target().disconnect_sockets(close); }

private:
    broadcast_operator target() const;

    std::shared_ptr<detail::namespace_impl> nsp_;
    socket_description description_;
    std::optional<socket> local_;
};

using next_fn = std::function<void(std::optional<connect_error>)>;
/// Runs before a socket joins a namespace; calls next() to accept or next(connect_error) to refuse,
/// now or later (from any thread).
using middleware = std::function<void(socket&, next_fn next)>;
using connection_handler = std::function<void(socket&)>;

/// A namespace (or, from server::of(predicate), a family of dynamic namespaces).
namespace detail {
/// The broadcast shortcuts of a namespace and of the server (whose are its main namespace's): each
/// starts from `all()` of the class that derives from this one.
template <class Derived>
class broadcasts {
public:
    broadcast_operator to(std::string room) const { return all().to(std::move(room)); }
    broadcast_operator to(const std::vector<std::string>& rooms) const { return all().to(rooms); }
    broadcast_operator in(std::string room) const { return to(std::move(room)); }
    broadcast_operator except(std::string room) const { return all().except(std::move(room)); }
    broadcast_operator volatile_() const { return all().volatile_(); }
    broadcast_operator local() const { return all().local(); }
    broadcast_operator timeout(std::chrono::milliseconds ms) const { return all().timeout(ms); }
    template <class... A>
    std::error_code emit(std::string_view name, A&&... values) const {
        return all().emit(name, std::forward<A>(values)...);
    }
    void sockets_join(const std::vector<std::string>& rooms) const { all().sockets_join(rooms); }
    void sockets_leave(const std::vector<std::string>& rooms) const { all().sockets_leave(rooms); }
    void disconnect_sockets(bool close = false) const { all().disconnect_sockets(close); }
    void fetch_sockets(fetch_callback done) const { all().fetch_sockets(std::move(done)); }

private:
    broadcast_operator all() const { return static_cast<const Derived&>(*this).all(); }
};
} // namespace detail

class nsp : public detail::broadcasts<nsp> {
public:
    explicit nsp(std::shared_ptr<detail::namespace_impl> impl) : impl_(std::move(impl)) {}

    const std::string& name() const noexcept;
    const nsp& use(middleware fn) const;
    const nsp& on_connection(connection_handler handler) const;

    /// Everyone in the namespace (every child namespace, for a dynamic family).
    broadcast_operator all() const { return broadcast_operator(impl_); }

    /// An event for this namespace on the other nodes of the cluster (Socket.IO's serverSideEmit):
    /// server_side_emit(name, values...) or server_side_emit(name, values..., server_side_callback),
    /// which collects one answer per node. JSON values only cross (as with the Node adapter).
    template <class... A>
    std::error_code server_side_emit(std::string_view name, A&&... values) const {
        return detail::emit_variadic<std::vector<arguments>, server_side_callback>(server_side_target{impl_}, name,
                                                                                   std::forward<A>(values)...);
    }
    std::error_code server_side_emit_args(std::string_view name, arguments args,
                                          server_side_callback callback = {}) const;
    /// Handles another node's server_side_emit of `event` (`e.ack` answers it when asked to).
    const nsp& on_server_side(std::string event, event_handler handler) const;
    /// Every room with a member on some node of the cluster.
    void fetch_rooms(cluster_callback<std::vector<std::string>> done) const;

    /// The sockets connected here on this node.
    std::vector<socket> sockets() const;
    /// The namespace's adapter (null for a dynamic family, whose children each have one).
    io::adapter* adapter() const noexcept;

private:
    struct server_side_target {
        std::shared_ptr<detail::namespace_impl> impl;
        std::error_code emit_args(std::string_view name, arguments args, server_side_callback callback = {}) const {
            return nsp(impl).server_side_emit_args(name, std::move(args), std::move(callback));
        }
    };
    std::shared_ptr<detail::namespace_impl> impl_;
};

/// Connection state recovery (Socket.IO's connectionStateRecovery, wire-compatible with socket.io-client
/// ≥ 4.6): a client whose connection was cut comes back within `window` with its socket id, rooms and
/// data, and first receives the events it missed (those sent without an ack and not volatile carry an
/// offset as their last argument). Recovered sockets skip the middleware (Socket.IO's skipMiddlewares).
struct recovery_options {
    std::chrono::milliseconds window{0}; ///< how long a session waits for its client (0: off)
    /// SQLite file the sessions and the missed events are also written to, so that recovery survives
    /// a restart or a crash of the server; empty: memory only.
    std::string database;
    /// A cluster's Redis (redis://host:port) to keep them in instead, so that a client may come back on
    /// any node of the cluster, also after its node crashed; `redis_key` names this cluster's keys.
    std::string redis;
    std::string redis_key = "socket.io";
};

/// A session recovery kept that its client did not come back for in time.
struct expired_session {
    std::string id;  ///< the socket id it had
    std::string nsp; ///< its namespace
    std::vector<std::string> rooms;
    boost::json::value data;
};

struct server_options {
    /// Makes each namespace's adapter; the in-memory adapter when empty.
    adapter_factory adapter;
    /// Off unless its window is set (the configuration's --recovery-window sets it when this does not).
    recovery_options recovery;
    /// A dynamic namespace's child whose last socket left is removed (Socket.IO's
    /// cleanupEmptyChildNamespaces): names a client invents cost nothing once it is gone.
    bool cleanup_empty_child_namespaces = true;
};

/// Socket.IO on an HTTP server's Engine.IO endpoint (its config's `path`). Keep it alive while
/// the HTTP server runs.
class server : public detail::broadcasts<server> {
public:
    explicit server(switchboard::server::server& http, server_options options = {});
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// The namespace `name` ("/chat"), created on first use.
    nsp of(std::string name);
    /// Dynamic namespaces: a client may connect to any name the predicate accepts (it sees the name
    /// and the CONNECT auth payload); each accepted name becomes a namespace with the family's
    /// middleware and connection handlers.
    nsp of(std::function<bool(const std::string& name, const boost::json::object& auth)> predicate);

    /// The main namespace "/".
    nsp main() const;
    const nsp& use(middleware fn) const { return main_.use(std::move(fn)); }
    const nsp& on_connection(connection_handler handler) const { return main_.on_connection(std::move(handler)); }
    /// Everyone in the main namespace.
    broadcast_operator all() const { return main_.all(); }
    /// The HTTP server it runs on (its configuration, its timers: post_after).
    switchboard::server::server& http() const noexcept;

    /// Called (on an I/O thread) for each session connection state recovery kept and whose client did
    /// not come back within the window: the moment to clean up what belonged to it.
    void on_session_expired(std::function<void(const expired_session&)> handler);

private:
    friend void instrument(server& io, admin_ui_options options); // observes every namespace
    std::shared_ptr<detail::io_core> core_;
    nsp main_;
};

} // namespace switchboard::io

template <>
struct std::is_error_code_enum<switchboard::io::errc> : std::true_type {};
