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
    timeout = 1,  ///< no answer within the timeout
    disconnected, ///< the socket disconnected before it could be sent to
};
const std::error_category& io_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), io_category()}; }

/// What a client's connection request carried.
struct handshake_info {
    std::string address;                                      ///< the peer's address
    std::string url;                                          ///< path and query of the first request
    std::vector<std::pair<std::string, std::string>> headers; ///< as received
    std::vector<std::pair<std::string, std::string>> query;   ///< decoded
    boost::json::object auth;                                 ///< the CONNECT packet's payload
    std::chrono::system_clock::time_point time;               ///< when the socket was created
    bool xdomain = false;                                     ///< an Origin header was present

    /// A header's value (name compared case-insensitively), or null.
    const std::string* header(std::string_view name) const noexcept;
};

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

namespace detail {
template <class... A>
struct last_of {
    using type = void;
};
template <class A>
struct last_of<A> {
    using type = A;
};
template <class A, class B, class... R>
struct last_of<A, B, R...> : last_of<B, R...> {};

template <class F, class Reply, class = void>
struct is_callback : std::false_type {};
template <class F, class Reply>
struct is_callback<F, Reply, std::enable_if_t<std::is_invocable_v<std::decay_t<F>&, std::error_code, Reply>>>
    : std::true_type {};

template <class Tuple, std::size_t... I>
arguments leading_arguments(Tuple&& t, std::index_sequence<I...>) {
    return arguments::of(std::get<I>(std::forward<Tuple>(t))...);
}

/// emit(name, values..., [callback]): calls target.emit_args with or without the trailing callback.
template <class Reply, class Callback, class Target, class... A>
std::error_code emit_variadic(const Target& target, std::string_view name, A&&... values) {
    if constexpr (is_callback<typename last_of<A...>::type, Reply>::value) {
        auto all = std::forward_as_tuple(std::forward<A>(values)...);
        constexpr auto n = sizeof...(A) - 1;
        return target.emit_args(name, leading_arguments(std::move(all), std::make_index_sequence<n>{}),
                                Callback(std::get<n>(std::move(all))));
    } else {
        return target.emit_args(name, arguments::of(std::forward<A>(values)...));
    }
}
} // namespace detail

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
    void fetch_sockets(std::function<void(std::vector<socket>)> done) const;

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
    /// Whether the socket is still connected.
    bool connected() const noexcept;
    /// Application data attached to the socket (access it from the socket's handlers).
    boost::json::value& data() const noexcept;

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

    void join(const std::string& room) const;
    void join(const std::vector<std::string>& rooms) const;
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
    std::shared_ptr<detail::socket_impl> impl_;
    std::optional<std::chrono::milliseconds> timeout_;
    bool volatile_flag_ = false;
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
    void fetch_sockets(std::function<void(std::vector<socket>)> done) const { all().fetch_sockets(std::move(done)); }

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

    /// The sockets connected here on this node.
    std::vector<socket> sockets() const;
    /// The namespace's adapter (null for a dynamic family, whose children each have one).
    io::adapter* adapter() const noexcept;

private:
    std::shared_ptr<detail::namespace_impl> impl_;
};

struct server_options {
    /// Makes each namespace's adapter; the in-memory adapter when empty.
    adapter_factory adapter;
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

private:
    std::shared_ptr<detail::io_core> core_;
    nsp main_;
};

} // namespace switchboard::io

template <>
struct std::is_error_code_enum<switchboard::io::errc> : std::true_type {};
