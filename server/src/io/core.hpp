#pragma once
// The Socket.IO layer's internals (private to server/): the state behind the io:: handles.
//
// Ownership: an Engine.IO session's callbacks own its `client`; the client owns its sockets (one per
// namespace joined) while they are connected; a namespace lists its connected sockets. Closing a
// socket removes it from both and drops its handlers, which is what breaks the cycles that handlers
// capturing their own socket would otherwise make.
//
// Threads: a client and its sockets' handlers run on the Engine.IO session's strand, and so does
// every other callback of the application that concerns one socket (ack answers and timeouts,
// outgoing listeners, the completion of a broadcast with acks made from that socket). What other
// threads may reach (namespace registries, the adapter, a socket's pending acks) has its own mutex.
//
// Barrier: the application's code runs inside run_guarded(); an exception is logged with the peer's
// address and closes that one socket (or refuses a connecting one); it never unwinds into the
// layers below, so one client's input can never stop the server.

#include <switchboard/io/io.hpp>
#include <switchboard/server/engine.hpp>
#include <switchboard/server/server.hpp>
#include <switchboard/sio/ack_registry.hpp>
#include <switchboard/sio/disconnect_reason.hpp>
#include <switchboard/sio/event_budget.hpp>
#include <switchboard/sio/packet.hpp>
#include <switchboard/sio/server_connection.hpp>

#include "../metrics/counters.hpp"
#include "../recovery/buffer.hpp"
#include "../recovery/redis_journal.hpp"
#include "../recovery/sqlite_journal.hpp"
#include "../util/log.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace switchboard::io {
namespace metrics = switchboard::server::metrics;
namespace csr = switchboard::server::recovery; // connection state recovery
} // namespace switchboard::io

namespace switchboard::io::detail {

class client;
struct namespace_impl;

/// Where an ack_responder's answer goes: an ACK packet to a client's socket, or (another node's
/// server-side emit) a function that publishes it.
class ack_state {
public:
    ack_state(std::weak_ptr<socket_impl> socket, std::uint64_t id) : socket_(std::move(socket)), id_(id) {}
    explicit ack_state(std::function<void(arguments)> sink) : sink_(std::move(sink)) {}
    void answer(arguments args);

private:
    std::weak_ptr<socket_impl> socket_;
    std::uint64_t id_ = 0;
    std::function<void(arguments)> sink_;
    std::atomic<bool> answered_{false};
};

/// Runs the application's `f`. Returns false (after logging what threw, `what` and `peer`) when it threw.
template <class F>
bool run_guarded(std::string_view peer, std::string_view what, F&& f) noexcept {
    try {
        f();
        return true;
    } catch (...) {
        SB_LOG(warn, "{}: {} threw ({})", peer, what, switchboard::server::describe_current_exception());
        return false;
    }
}

/// A socket's part in connection state recovery (only when it is on: idle sockets pay a pointer).
struct recovery_state {
    explicit recovery_state(std::string pid_) : pid(std::move(pid_)) {}
    const std::string pid;                     ///< its private session id (the CONNECT answer's `pid`)
    std::atomic<std::uint64_t> last_offset{0}; ///< the newest stored packet queued to it (any thread)
    std::uint64_t replayed_through = 0;        ///< a recovery replayed everything up to here: skip it live
    std::uint64_t first_offset = 0; ///< it could have missed nothing up to here (it connected or came back then)
    bool recovered = false;

    /// Another stored packet was queued (any thread): keeps the newest.
    void sent(std::uint64_t offset) noexcept {
        auto seen = last_offset.load(std::memory_order_relaxed);
        while (seen < offset && !last_offset.compare_exchange_weak(seen, offset, std::memory_order_relaxed)) {
        }
    }
};

struct socket_impl : std::enable_shared_from_this<socket_impl> {
    /// `id`: a recovered socket's own; empty: a new one.
    socket_impl(std::shared_ptr<namespace_impl> nsp, std::shared_ptr<client> owner, boost::json::object auth,
                std::string id = {});

    const std::string id;
    const std::shared_ptr<namespace_impl> nsp;
    const std::shared_ptr<client> owner; // the client forgets its sockets when they close: no cycle
    /// The handshake, made on first use from the session's request (most sockets never ask, and an
    /// idle connection should not hold a second copy of its headers).
    const handshake_info& handshake() const;
    /// socket.data: made on first use (most sockets never set it; an idle socket holds a pointer).
    boost::json::value& data() {
        if (!data_) data_ = std::make_unique<boost::json::value>();
        return *data_;
    }
    /// socket.data as it is (null when never set), without making it.
    const boost::json::value& data_or_null() const noexcept {
        static const boost::json::value null;
        return data_ ? *data_ : null;
    }
    std::atomic<bool> connected{false};
    std::atomic<bool> has_outgoing_listeners{false}; // read by broadcasts from any thread
    mutable std::once_flag handshake_once_;          // (here: beside the flags, no padding)
    std::unique_ptr<recovery_state> recovery;        ///< set before it connects, when recovery is on

    // Strand only.
    // Event handlers in registration order: a flat list (a socket has a few, and a map's buckets
    // and nodes would cost every idle connection more than the search costs an event).
    std::vector<std::pair<std::string, event_handler>> handlers;
    std::vector<disconnect_handler> disconnect_handlers;
    /// Listeners few sockets have, apart, so that a socket without them pays one pointer.
    struct rare_listeners {
        std::vector<any_handler> any_incoming;
        std::vector<any_handler> any_outgoing;
        std::vector<disconnect_handler> disconnecting;
        std::vector<std::function<void()>> drain;
    };
    std::unique_ptr<rare_listeners> rare; // made by the first of them
    rare_listeners& rare_made() {
        if (!rare) rare = std::make_unique<rare_listeners>();
        return *rare;
    }

    /// Encodes and queues a packet on the connection (any thread).
    void send_packet(const sio::packet& packet, bool droppable);
    void send_frames(std::vector<eio::frame> frames, bool droppable);
    /// Frames other sockets get too (a broadcast's one encoding): queued without a copy of the list.
    void send_shared(const std::vector<eio::frame>& frames, bool droppable);
    /// Whether `frames` fit under --max-queue on this socket's connection now.
    bool fits(const std::vector<eio::frame>& frames) const;

    /// Registers `callback` for an ack id of this socket; with a timeout, the callback gets
    /// errc::timeout if no answer came by then, and errc::disconnected if the socket closes first.
    std::uint64_t register_ack(ack_callback callback, std::optional<std::chrono::milliseconds> timeout);
    /// Forgets a registered ack whose packet was not sent (its callback is not called).
    void cancel_ack(std::uint64_t id);
    /// As register_ack, under the id `wanted` when given (nothing when this socket waits on it already).
    std::optional<std::uint64_t> register_ack_at(std::optional<std::uint64_t> wanted, ack_callback callback,
                                                 std::optional<std::chrono::milliseconds> timeout);
    std::error_code emit(std::string_view name, arguments args, ack_callback callback,
                         std::optional<std::chrono::milliseconds> timeout, bool droppable,
                         overflow policy = overflow::server_default);

    // From the client, on the strand.
    /// In its namespace and connected; the CONNECT answer is sent (with `pid` when recovery is on).
    void on_connected();
    /// The session as recovery keeps it (strand; rooms read from the adapter).
    csr::session recovery_snapshot();
    /// Its rooms changed (any thread): recovery's journal hears of it, so that a crash keeps them.
    void rooms_changed();
    /// An EVENT; `bytes`: what its frames weighed (for --bytes-per-second).
    void on_event(sio::packet&& packet, std::size_t bytes);
    void on_ack(sio::packet&& packet);
    /// Leaves the namespace: disconnecting handlers, rooms left, disconnect handlers.
    void close(sio::disconnect_reason reason);

    /// Server-side disconnect (any thread).
    void disconnect(bool close_connection);
    /// The application's code threw while serving this socket: it is disconnected (strand).
    void on_handler_failure();

    /// Calls the outgoing listeners with a packet this socket is sent (any thread; they run on the strand).
    void notify_outgoing(const sio::packet& packet);
    /// The peer's address, for logs.
    const std::string& peer() const noexcept;

private:
    void call_outgoing(std::string_view name, const arguments& args);
    void fail_pending_acks();

    /// Over --events-per-second: not delivered; the client hears why (false: the socket went).
    bool within_budget(const sio::packet& packet, std::size_t bytes);

    // Kept apart when present: most clients send no auth, and most servers set no rate (a socket is
    // kept per connection: 256 B with its count, not 320).
    std::unique_ptr<boost::json::object> auth_; // the CONNECT payload, when not empty
    struct rate_budgets {
        std::optional<sio::event_budget> events; // --events-per-second
        std::optional<sio::event_budget> bytes;  // --bytes-per-second
    };
    std::unique_ptr<rate_budgets> budgets_; // none when both are off
    std::chrono::system_clock::time_point created_;
    mutable std::unique_ptr<handshake_info> handshake_;

    struct pending_ack {
        ack_callback callback;
        std::uint64_t timer = 0; // the session timer of its timeout (0: none)
    };
    // Emits with an ack may come from any thread. The registry is guarded by one of a few mutexes
    // shared by all sockets (by address; held briefly, never two at once) rather than a 40-byte mutex
    // kept by every socket.
    std::mutex& acks_mutex() const noexcept;
    // The client's registry too (its timeouts are session timers here). Made by the first emit with an
    // ack and kept (its ids keep counting up: a late answer to a timed-out ack finds nothing).
    std::unique_ptr<sio::ack_registry<pending_ack>> acks_;
    std::unique_ptr<boost::json::value> data_; // see data()
};

struct io_core;

/// A namespace, or a family of dynamic namespaces (`predicate` set; its children are namespaces).
struct namespace_impl final : local_sockets, std::enable_shared_from_this<namespace_impl> {
    namespace_impl(io_core& core, std::string name, std::shared_ptr<namespace_impl> family);

    io_core& core;
    const std::string name;
    const std::shared_ptr<namespace_impl> family; // the dynamic family this namespace was made for
    std::function<bool(const std::string&, const boost::json::object&)> predicate; // families only
    std::unique_ptr<io::adapter> adapter;                                          // null for families

    void use(middleware fn);
    void on_connection(connection_handler handler);
    void on_server_side(std::string event, event_handler handler);
    /// The middleware chain and connection handlers that apply here (the family's, then its own).
    std::vector<middleware> middleware_chain();
    std::vector<connection_handler> connection_handlers();

    /// Drops the handlers, middleware and children: they often hold handles to namespaces, so
    /// io::server's destructor breaks those cycles here.
    void clear();

    void add(const std::shared_ptr<socket_impl>& socket);
    void remove(const socket_impl& socket);
    bool empty();
    /// Sockets on their way in (io_core's mutex guards it).
    std::size_t joining = 0;
    std::vector<std::shared_ptr<socket_impl>> connected();
    std::size_t socket_count();

    /// What a broadcast on this namespace reaches: itself, or every child of a family.
    std::vector<std::shared_ptr<namespace_impl>> targets();
    void add_child(const std::shared_ptr<namespace_impl>& child);
    void remove_child(const std::shared_ptr<namespace_impl>& child);

    // local_sockets
    result<std::vector<eio::frame>> encode(const sio::packet& packet) override;
    result<std::vector<eio::frame>> encode_broadcast(const sio::packet& packet, const broadcast_options& options,
                                                     std::optional<sio::packet>& delivered) override;
    bool keeps_room(const std::string& room) override;
    void deliver(const std::string& sid, const sio::packet& packet, const std::vector<eio::frame>& frames,
                 bool droppable) override;
    local_recipient recipient(const std::string& sid) override; // the socket_impl
    void deliver_to(std::span<const local_recipient> recipients, const sio::packet& packet,
                    const std::vector<eio::frame>& frames, bool droppable) override;
    /// A broadcast's frames to one of this namespace's sockets (the adapter found it by id or by room);
    /// `offset`: the recovery offset the packet carries, read once for all the recipients.
    void deliver_to(socket_impl& socket, const sio::packet& packet, std::optional<std::uint64_t> offset,
                    const std::vector<eio::frame>& frames, bool droppable);
    bool deliver_with_ack(const std::string& sid, const sio::packet& packet, const std::vector<eio::frame>& frames,
                          bool droppable, std::optional<std::chrono::milliseconds> timeout,
                          std::function<void(arguments)> on_ack) override;
    void disconnect(const std::string& sid, bool close) override;
    void describe(const std::vector<std::string>& sids,
                  std::function<void(std::vector<socket_description>)> done) override;
    void server_side_event(arguments args, std::function<void(arguments)> answer) override;

    /// The socket `sid`, if it is connected here.
    std::optional<socket> find(const std::string& sid);

    /// Keeps `packet` (an EVENT of this namespace for `targets`) for connection state recovery: its
    /// offset joins its arguments, last. Returns its frames, and the offset in `offset`.
    result<std::vector<eio::frame>> store(sio::packet& packet, const broadcast_options& targets, std::uint64_t& offset);

private:
    std::shared_ptr<socket_impl> lookup(const std::string& sid);

    std::mutex handlers_mutex_;
    std::vector<middleware> middleware_;
    std::vector<connection_handler> connection_handlers_;
    std::vector<std::pair<std::string, event_handler>> server_side_handlers_;

    std::mutex sockets_mutex_;
    // Keyed by a view of the socket's own id (the entry holds the socket): no copy of the id.
    std::unordered_map<std::string_view, std::shared_ptr<socket_impl>> sockets_;

    std::mutex children_mutex_;
    std::vector<std::shared_ptr<namespace_impl>> children_;
};

/// The Socket.IO state of one Engine.IO session.
class client final : public switchboard::server::engine_listener, public std::enable_shared_from_this<client> {
public:
    client(std::shared_ptr<io_core> core, std::shared_ptr<switchboard::server::engine_socket> engine);

    /// Takes over the session's callbacks and starts the connect timeout.
    void start();

    switchboard::server::engine_socket& engine() const noexcept { return *engine_; }
    /// Sends a packet that belongs to no socket (CONNECT_ERROR).
    void send_packet(const sio::packet& packet);
    /// The socket closed: forget it.
    void forget(const std::string& nsp);
    /// Server-side disconnect of every socket, then the connection (strand).
    void disconnect_all();
    /// (nsp, socket id) of its connected sockets (strand).
    std::vector<std::pair<std::string, std::string>> socket_names() const;

private:
    void on_text(std::string_view text) override;
    void on_binary(shared_bytes bytes) override;
    void act(sio::server_action&& action);
    std::shared_ptr<socket_impl> find(const std::string& nsp) const;
    void arm_connect_timeout();
    void on_close(eio::close_reason reason) override;
    void on_drain() override;
    void connect(const std::string& nsp, boost::json::object auth);
    /// A new socket of `ns`: through the middleware.
    void connect_new(const std::shared_ptr<namespace_impl>& ns, boost::json::object auth,
                     std::shared_ptr<void> joining);
    /// Connection state recovery: true when `auth` brought back a session of `ns` (it is connected then),
    /// or when a cluster's Redis is asked for it (the socket connects, recovered or new, on the answer).
    bool try_recover(const std::shared_ptr<namespace_impl>& ns, const boost::json::object& auth,
                     std::shared_ptr<void>& joining);
    /// The socket of a recovered session, registered in its namespace and rooms with what it missed
    /// queued (under the recovery buffer's lock).
    std::shared_ptr<socket_impl> revive(const std::shared_ptr<namespace_impl>& ns, const boost::json::object& auth,
                                        const csr::buffer::recovered& r);
    /// After revive(): the client hears, handlers run (`joining` is held until then).
    void welcome_back(const std::shared_ptr<socket_impl>& socket, std::shared_ptr<void> joining, std::size_t replayed,
                      std::chrono::steady_clock::time_point started);
    /// The socket passed its middleware (or skipped it): it joins, the client hears, handlers run.
    void admit(const std::shared_ptr<socket_impl>& socket, std::chrono::steady_clock::time_point started);
    /// A socket's way through its namespace's middleware. It holds the namespace's joining ticket
    /// (io_core::resolve) until the socket is in or refused, rather than the socket holding it for life.
    struct middleware_run {
        std::vector<middleware> chain;
        std::shared_ptr<void> joining;
    };
    void run_middleware(std::shared_ptr<socket_impl> socket, std::shared_ptr<middleware_run> run, std::size_t index,
                        std::chrono::steady_clock::time_point started);
    void refuse(const std::string& nsp, const connect_error& error);
    void fail(std::string_view why); // a protocol error: logged, and the connection ends

    std::shared_ptr<io_core> core_;
    std::shared_ptr<switchboard::server::engine_socket> engine_;
    sio::server_connection connection_;                 // the protocol: decoding, which namespaces, the connect timeout
    std::vector<std::shared_ptr<socket_impl>> sockets_; // a few at most: a flat list
    std::uint64_t connect_timer_ = 0;                   // until the first connect
    std::size_t bytes_in_ = 0;                          // the frames of the packet being received
    bool closed_ = false;
};

/// Shared by io::server, the namespaces and the clients.
struct io_core : std::enable_shared_from_this<io_core> {
    io_core(switchboard::server::server& http, server_options options);

    switchboard::server::server& http;
    const server_options options;
    const codec_limits limits; ///< what the clients' packets may be (shared by every connection)
    const bool msgpack;        ///< --parser msgpack: socket.io-msgpack-parser's packets, not socket.io-parser's
    /// A packet as this server's parser writes it.
    result<std::vector<eio::frame>> encode(const sio::packet& packet) const;
    /// Runs before every namespace's own middleware (the configuration's token check).
    std::vector<middleware> server_middleware;
    /// Connection state recovery (null when off), and its database (null: memory only).
    std::unique_ptr<csr::sqlite_journal> journal;
    std::unique_ptr<csr::redis_journal> shared_journal; ///< a cluster's, in Redis (instead of SQLite)
    std::unique_ptr<csr::buffer> recovery;
    void add_expiry_handler(std::function<void(const expired_session&)> handler);

    /// Instrumentation (the admin UI): `observer` runs for every socket of every namespace as it
    /// connects, before the namespace's own handlers; `membership` hears every room change of every
    /// namespace, those made later included. Set before clients connect.
    void
    observe(connection_handler observer,
            std::function<void(const std::string& nsp, const std::string& room, const std::string& sid, bool joined)>
                membership);
    std::vector<connection_handler> connection_observers();
    /// The admin UI's transport column: `upgraded` hears (nsp, socket id) of each socket whose
    /// connection upgraded to WebSocket. The clients are then kept by connection id (only then).
    void observe_upgrades(std::function<void(const std::string& nsp, const std::string& sid)> upgraded);
    void forget_client(const std::string& engine_id);
    /// Purges what recovery no longer needs and tells the handlers of sessions that expired (a timer).
    void expire_sessions();
    /// Tells the expiry handlers of these sessions (any thread).
    void tell_expired(std::vector<csr::session> expired);
    /// Starts recovery from the options (after the journal's contents are loaded); throws when the
    /// database cannot be opened.
    void start_recovery();

    /// The namespace `name`, created if needed.
    std::shared_ptr<namespace_impl> get(const std::string& name);
    /// A new dynamic family.
    std::shared_ptr<namespace_impl> add_family(std::function<bool(const std::string&, const boost::json::object&)> p);
    /// The namespace a client may connect to: an existing one, or a new child of the first family
    /// that accepts the name; null when none does. The ticket holds a child while the socket joins.
    std::shared_ptr<namespace_impl> resolve(const std::string& name, const boost::json::object& auth,
                                            std::string_view peer, std::shared_ptr<void>& joining);
    /// A dynamic child with no socket, none joining, goes (cleanup_empty_child_namespaces).
    void remove_if_empty(const std::shared_ptr<namespace_impl>& ns);

    /// Every namespace (dynamic children included; families are not namespaces).
    std::vector<std::shared_ptr<namespace_impl>> namespaces();
    /// /metrics: sockets and rooms per namespace. /readyz: whether every adapter reaches its cluster.
    void write_metrics(std::string& out);
    std::string unready();

    void on_engine(const std::shared_ptr<switchboard::server::engine_socket>& engine);
    /// io::server is going away: every namespace lets go of its handlers.
    void clear();

private:
    std::shared_ptr<namespace_impl> create(const std::string& name, std::shared_ptr<namespace_impl> family);

    std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<namespace_impl>> namespaces_;
    std::vector<std::shared_ptr<namespace_impl>> families_;
    std::mutex expiry_mutex_;
    std::vector<std::function<void(const expired_session&)>> expiry_handlers_;
    std::shared_ptr<std::function<void()>> expiry_tick_;                   // the timer's task, which holds it weakly
    std::vector<connection_handler> connection_observers_;                 // (mutex_)
    std::function<void(const std::string&, const std::string&)> upgraded_; // (mutex_)
    std::unordered_map<std::string, std::weak_ptr<client>> clients_;       // by engine id, when upgrades are observed
    std::atomic<bool> tracking_clients_{false}; // clients_ is in use: a closing client takes the lock only then

    std::function<void(const std::string&, const std::string&, const std::string&, bool)> membership_; // (mutex_)
    void watch_membership(namespace_impl& ns);                                                         // mutex_ held
};

/// The EVENT packet `[name, ...args]` for `nsp`, validated (a reserved name is refused).
result<sio::packet> make_event_packet(const std::string& nsp, std::string_view name, arguments args);

/// An event's name as the application sees it: a string as it is, a number as JavaScript writes it
/// (socket.io-parser accepts numeric names; `42[1]` reaches handlers of "1", as with the Node server).
std::string event_name(const boost::json::value& name);

} // namespace switchboard::io::detail
