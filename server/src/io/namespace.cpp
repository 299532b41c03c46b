// Namespaces: their middleware and handlers, their connected sockets, and the registry of them.
#include "core.hpp"

#include "../adapter/redis/address.hpp"
#include "../engine/deflate.hpp"
#include "../metrics/exposition.hpp"
#include "../util/random_id.hpp"
#include <switchboard/msgpack/parser.hpp>

#include <algorithm>
#include <random>

namespace switchboard::io::detail {

namespace_impl::namespace_impl(io_core& core_, std::string name_, std::shared_ptr<namespace_impl> family_)
    : core(core_), name(std::move(name_)), family(std::move(family_)) {}

void namespace_impl::use(middleware fn) {
    std::lock_guard lock(handlers_mutex_);
    middleware_.push_back(std::move(fn));
}

void namespace_impl::on_connection(connection_handler handler) {
    std::lock_guard lock(handlers_mutex_);
    connection_handlers_.push_back(std::move(handler));
}

void namespace_impl::on_server_side(std::string event, event_handler handler) {
    std::lock_guard lock(handlers_mutex_);
    server_side_handlers_.emplace_back(std::move(event), std::move(handler));
}

std::vector<middleware> namespace_impl::middleware_chain() {
    auto chain = family ? family->middleware_chain() : core.server_middleware;
    std::lock_guard lock(handlers_mutex_);
    chain.insert(chain.end(), middleware_.begin(), middleware_.end());
    return chain;
}

std::vector<connection_handler> namespace_impl::connection_handlers() {
    auto handlers = family ? family->connection_handlers() : std::vector<connection_handler>{};
    std::lock_guard lock(handlers_mutex_);
    handlers.insert(handlers.end(), connection_handlers_.begin(), connection_handlers_.end());
    return handlers;
}

void namespace_impl::clear() {
    {
        std::lock_guard lock(handlers_mutex_);
        middleware_.clear();
        connection_handlers_.clear();
        server_side_handlers_.clear();
    }
    std::lock_guard lock(children_mutex_);
    children_.clear();
}

void namespace_impl::add(const std::shared_ptr<socket_impl>& socket) {
    {
        std::lock_guard lock(sockets_mutex_);
        sockets_.emplace(std::string_view(socket->id), socket);
    }
    // Every socket is in the room of its own id. (An adapter may be the application's code.)
    run_guarded(socket->peer(), "the adapter (add_all)", [&] { adapter->add_all(socket->id, {socket->id}); });
}

void namespace_impl::remove(const socket_impl& socket) {
    run_guarded(socket.peer(), "the adapter (del_all)", [&] { adapter->del_all(socket.id); });
    {
        std::lock_guard lock(sockets_mutex_);
        sockets_.erase(std::string_view(socket.id));
    }
    if (family) core.remove_if_empty(shared_from_this());
}

bool namespace_impl::empty() {
    std::lock_guard lock(sockets_mutex_);
    return sockets_.empty();
}

std::size_t namespace_impl::socket_count() {
    std::lock_guard lock(sockets_mutex_);
    return sockets_.size();
}

std::vector<std::shared_ptr<socket_impl>> namespace_impl::connected() {
    std::vector<std::shared_ptr<socket_impl>> out;
    for (const auto& target : targets()) {
        std::lock_guard lock(target->sockets_mutex_);
        for (const auto& [id, socket] : target->sockets_) out.push_back(socket);
    }
    return out;
}

std::vector<std::shared_ptr<namespace_impl>> namespace_impl::targets() {
    if (!predicate) return {shared_from_this()};
    std::lock_guard lock(children_mutex_);
    return children_;
}

void namespace_impl::add_child(const std::shared_ptr<namespace_impl>& child) {
    std::lock_guard lock(children_mutex_);
    children_.push_back(child);
}

void namespace_impl::remove_child(const std::shared_ptr<namespace_impl>& child) {
    std::lock_guard lock(children_mutex_);
    std::erase(children_, child);
}

result<std::vector<eio::frame>> namespace_impl::encode(const sio::packet& packet) { return core.encode(packet); }

result<std::vector<eio::frame>> namespace_impl::encode_broadcast(const sio::packet& packet,
                                                                 const broadcast_options& options,
                                                                 std::optional<sio::packet>& delivered) {
    // Kept as Socket.IO keeps them: events without an ack, not volatile. Every node keeps what it
    // delivers under its own offsets, so a recovery reads one node's sequence (a broadcast from another
    // node arrives without an offset).
    const bool event = packet.type == sio::packet_type::event || packet.type == sio::packet_type::binary_event;
    if (!core.recovery || options.volatile_ || !event || packet.id) return core.encode(packet);
    delivered = packet;
    std::uint64_t offset = 0;
    auto frames = store(*delivered, options, offset);
    if (!frames) delivered.reset();
    return frames;
}

result<std::vector<eio::frame>> namespace_impl::store(sio::packet& packet, const broadcast_options& targets,
                                                      std::uint64_t& offset) {
    std::error_code failed = make_error_code(std::errc::invalid_argument);
    std::vector<eio::frame> sent; // the same shared buffers as the stored copy's
    csr::stored_packet kept;
    kept.nsp = name;
    kept.rooms = targets.rooms;
    kept.except = targets.except;
    offset = core.recovery->store(std::move(kept), [&](std::uint64_t o, std::vector<eio::frame>& frames) {
        auto* args = packet.data.if_array(); // an EVENT: make_event_packet made an array
        if (!args) return false;
        args->emplace_back(csr::offset_text(o));
        auto encoded = core.encode(packet);
        if (!encoded) {
            args->pop_back();
            failed = encoded.error();
            return false;
        }
        frames = *encoded;
        sent = std::move(*encoded);
        return true;
    });
    if (offset == 0) return failed;
    return sent;
}

bool namespace_impl::keeps_room(const std::string& room) {
    return core.recovery && core.recovery->keeps_room(name, room);
}

std::shared_ptr<socket_impl> namespace_impl::lookup(const std::string& sid) {
    std::lock_guard lock(sockets_mutex_);
    const auto it = sockets_.find(std::string_view(sid));
    return it == sockets_.end() ? nullptr : it->second;
}

namespace {
// A packet connection state recovery stored carries its offset as its last argument.
std::optional<std::uint64_t> stored_offset(const sio::packet& packet) {
    const auto* args = packet.data.if_array();
    const auto* last = args && !args->empty() ? args->back().if_string() : nullptr;
    return last ? csr::parse_offset(*last) : std::nullopt;
}
} // namespace

void namespace_impl::deliver(const std::string& sid, const sio::packet& packet, const std::vector<eio::frame>& frames,
                             bool droppable) {
    auto socket = lookup(sid);
    if (!socket) return;
    const auto offset = socket->recovery && !droppable ? stored_offset(packet) : std::nullopt;
    deliver_to(*socket, packet, offset, frames, droppable);
}

local_recipient namespace_impl::recipient(const std::string& sid) { return lookup(sid); }

void namespace_impl::deliver_to(std::span<const local_recipient> recipients, const sio::packet& packet,
                                const std::vector<eio::frame>& frames, bool droppable) {
    // The offset read once for all of them (every socket has recovery state when recovery is on).
    const auto offset = core.recovery && !droppable ? stored_offset(packet) : std::nullopt;
    for (const auto& recipient : recipients) // as recipient() made them
        deliver_to(*static_cast<socket_impl*>(recipient.get()), packet, offset, frames, droppable);
}

void namespace_impl::deliver_to(socket_impl& socket, const sio::packet& packet, std::optional<std::uint64_t> offset,
                                const std::vector<eio::frame>& frames, bool droppable) {
    if (offset && socket.recovery) {
        // A stored packet: one a recovery replayed already is not sent twice.
        if (*offset <= socket.recovery->replayed_through) return;
        socket.recovery->sent(*offset);
    }
    if (core.http.config().refuse_when_full && !socket.fits(frames)) return; // this recipient misses it
    socket.notify_outgoing(packet); // as the reference adapter does, for every recipient
    socket.send_shared(frames, droppable);
}

bool namespace_impl::deliver_with_ack(const std::string& sid, const sio::packet& packet,
                                      const std::vector<eio::frame>& frames, bool droppable,
                                      std::optional<std::chrono::milliseconds> timeout,
                                      std::function<void(arguments)> on_ack) {
    auto socket = lookup(sid);
    if (!socket || !socket->connected) return false;
    socket->notify_outgoing(packet);
    ack_callback answered = [on_ack = std::move(on_ack)](std::error_code ec, arguments reply) {
        if (!ec) on_ack(std::move(reply));
    };
    if (packet.id && socket->register_ack_at(*packet.id, answered, timeout)) {
        socket->send_shared(frames, droppable); // the broadcast's one encoding
        return true;
    }
    sio::packet own = packet; // that id is taken by one of this socket's own waits
    own.id = socket->register_ack(std::move(answered), timeout);
    socket->send_packet(own, droppable);
    return true;
}

std::optional<socket> namespace_impl::find(const std::string& sid) {
    if (auto s = lookup(sid)) return socket(std::move(s));
    return std::nullopt;
}

void namespace_impl::disconnect(const std::string& sid, bool close) {
    if (auto s = lookup(sid)) s->disconnect(close);
}

void namespace_impl::describe(const std::vector<std::string>& sids,
                              std::function<void(std::vector<socket_description>)> done) {
    struct gather {
        std::mutex mutex;
        std::vector<socket_description> found;
        std::size_t pending = 0;
        std::function<void(std::vector<socket_description>)> done;
    };
    auto g = std::make_shared<gather>();
    g->done = std::move(done);
    std::vector<std::shared_ptr<socket_impl>> here;
    for (const auto& sid : sids)
        if (auto s = lookup(sid)) here.push_back(std::move(s));
    if (here.empty()) {
        g->done({});
        return;
    }
    g->pending = here.size();
    g->found.reserve(here.size());
    for (auto& s : here) {
        // data() belongs to the socket's strand: read it there. execute() runs even if the session
        // ends meanwhile, so the gather always completes.
        s->owner->engine().execute([g, s] {
            socket_description d;
            if (s->connected) {
                d.id = s->id;
                d.handshake = s->handshake();
                d.rooms = s->nsp->adapter->socket_rooms(s->id);
                d.data = s->data_or_null();
            }
            std::unique_lock lock(g->mutex);
            if (!d.id.empty()) g->found.push_back(std::move(d));
            if (--g->pending > 0) return;
            auto found = std::move(g->found);
            lock.unlock();
            g->done(std::move(found));
        });
    }
}

void namespace_impl::server_side_event(arguments args, std::function<void(arguments)> answer) {
    if (args.values.empty()) return;
    io::event e;
    e.name = event_name(args.values.front());
    args.values.erase(args.values.begin());
    e.args = std::move(args);
    if (answer) e.ack = ack_responder(std::make_shared<ack_state>(std::move(answer)));
    std::vector<event_handler> handlers;
    {
        std::lock_guard lock(handlers_mutex_);
        for (const auto& [event, handler] : server_side_handlers_)
            if (event == e.name) handlers.push_back(handler);
    }
    if (handlers.empty()) return;
    // The application's handlers run on the server's threads, not on the caller's (the adapter's).
    core.http.post_after(std::chrono::milliseconds(0), [handlers = std::move(handlers), e = std::move(e)] {
        for (const auto& handler : handlers) {
            auto copy = e;
            run_guarded("cluster", "a server-side event handler", [&] { handler(copy); });
        }
    });
}

// --- registry ------------------------------------------------------------------------------------------

io_core::io_core(switchboard::server::server& http_, server_options options_)
    : http(http_), options(std::move(options_)), limits{http_.config().max_payload, http_.config().max_attachments,
                                                        codec_limits{}.max_json_depth},
      msgpack(http_.config().parser == "msgpack") {}

result<std::vector<eio::frame>> io_core::encode(const sio::packet& packet) const {
    auto frames = msgpack ? msgpack_parser::encode(packet) : sio::encode_frames(packet);
    // --deflate: a large packet is also compressed, here, once for every recipient whose WebSocket
    // negotiated permessage-deflate (the others, and polling, send it as it is).
    const auto& cfg = http.config();
    if (frames && cfg.deflate)
        for (auto& f : *frames)
            if (f.bytes->size() >= cfg.deflate_threshold) f.deflated = switchboard::server::deflate::compress(*f.bytes);
    return frames;
}

std::shared_ptr<namespace_impl> io_core::create(const std::string& name, std::shared_ptr<namespace_impl> family) {
    auto ns = std::make_shared<namespace_impl>(*this, name, std::move(family));
    ns->adapter = options.adapter ? options.adapter(name, *ns) : make_in_memory_adapter(*ns);
    if (membership_) watch_membership(*ns);
    namespaces_.emplace(name, ns);
    return ns;
}

std::shared_ptr<namespace_impl> io_core::get(const std::string& name) {
    std::lock_guard lock(mutex_);
    if (const auto it = namespaces_.find(name); it != namespaces_.end()) return it->second;
    return create(name, nullptr);
}

std::shared_ptr<namespace_impl>
io_core::add_family(std::function<bool(const std::string&, const boost::json::object&)> predicate) {
    auto family = std::make_shared<namespace_impl>(*this, "(dynamic)", nullptr);
    family->predicate = std::move(predicate);
    std::lock_guard lock(mutex_);
    families_.push_back(family);
    return family;
}

std::shared_ptr<namespace_impl> io_core::resolve(const std::string& name, const boost::json::object& auth,
                                                 std::string_view peer, std::shared_ptr<void>& joining) {
    // The ticket: released when the socket is in (or gone), it lets an empty child be removed.
    const auto ticket = [&](const std::shared_ptr<namespace_impl>& ns) {
        if (!ns->family) return ns;
        ++ns->joining; // under mutex_
        joining = std::shared_ptr<void>(nullptr, [core = shared_from_this(), ns](void*) {
            {
                std::lock_guard lock(core->mutex_);
                --ns->joining;
            }
            core->remove_if_empty(ns);
        });
        return ns;
    };
    std::vector<std::shared_ptr<namespace_impl>> families;
    {
        std::lock_guard lock(mutex_);
        if (const auto it = namespaces_.find(name); it != namespaces_.end()) return ticket(it->second);
        families = families_;
    }
    // The predicates are the application's code: run them without holding the registry.
    for (const auto& family : families) {
        bool accepted = false;
        if (!run_guarded(peer, "a dynamic namespace's predicate", [&] { accepted = family->predicate(name, auth); }))
            return nullptr; // refused
        if (!accepted) continue;
        std::lock_guard lock(mutex_);
        if (const auto it = namespaces_.find(name); it != namespaces_.end()) return ticket(it->second); // raced
        auto child = create(name, family);
        family->add_child(child);
        return ticket(child);
    }
    return nullptr;
}

void io_core::remove_if_empty(const std::shared_ptr<namespace_impl>& ns) {
    if (!options.cleanup_empty_child_namespaces || !ns->family) return;
    {
        std::lock_guard lock(mutex_);
        if (ns->joining != 0 || !ns->empty()) return;
        const auto it = namespaces_.find(ns->name);
        if (it == namespaces_.end() || it->second != ns) return; // gone already
        namespaces_.erase(it);
        ns->family->remove_child(ns);
    }
    SB_LOG(debug, "dynamic namespace {} is empty: removed", ns->name);
}

void io_core::clear() {
    std::lock_guard lock(mutex_);
    for (auto& [name, ns] : namespaces_) {
        // The room listener may hold handles to namespaces (the admin UI's does): let go of it.
        if (membership_ && ns->adapter) ns->adapter->on_membership(nullptr);
        ns->clear();
    }
    for (auto& family : families_) family->clear();
    namespaces_.clear();
    families_.clear();
    connection_observers_.clear();
    membership_ = nullptr;
    upgraded_ = nullptr;
    clients_.clear();
}

std::vector<std::shared_ptr<namespace_impl>> io_core::namespaces() {
    std::vector<std::shared_ptr<namespace_impl>> out;
    {
        std::lock_guard lock(mutex_);
        out.reserve(namespaces_.size());
        for (const auto& [name, ns] : namespaces_) out.push_back(ns);
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a->name < b->name; });
    return out;
}

void io_core::write_metrics(std::string& out) {
    const auto list = namespaces();
    metrics::family(out, "switchboard_sockets", "gauge", "Socket.IO sockets connected to this node, by namespace");
    for (const auto& ns : list)
        metrics::sample(out, "switchboard_sockets", {{"namespace", ns->name}}, std::uint64_t{ns->socket_count()});
    metrics::family(out, "switchboard_rooms", "gauge",
                    "Rooms with a member on this node, by namespace (the sockets' own rooms not counted)");
    for (const auto& ns : list)
        if (ns->adapter)
            metrics::sample(out, "switchboard_rooms", {{"namespace", ns->name}},
                            std::uint64_t{ns->adapter->room_count()});
}

std::string io_core::unready() {
    for (const auto& ns : namespaces())
        if (ns->adapter && !ns->adapter->connected())
            return "namespace " + ns->name + ": the cluster adapter cannot reach the other nodes";
    return {};
}

void io_core::start_recovery() {
    if (options.recovery.window.count() <= 0) return;
    if (!options.recovery.redis.empty()) {
        const auto at = switchboard::server::redis::parse_url(options.recovery.redis);
        if (!at) throw std::runtime_error("connection state recovery: not a Redis URL: " + options.recovery.redis);
        const auto node = switchboard::server::random_id();
        shared_journal = std::make_unique<csr::redis_journal>(
            at->host, at->port, "{" + options.recovery.redis_key + "-recovery}:", node, options.recovery.window);
        // Each node's offsets start far from the others' (a random 2^30-wide range below 2^52): an
        // offset tells whether it is this node's, whichever node the client was on before.
        std::random_device entropy;
        const std::uint64_t start =
            std::uniform_int_distribution<std::uint64_t>(1, (1ull << 22) - 1)(entropy) * csr::buffer::range_width;
        recovery = std::make_unique<csr::buffer>(options.recovery.window, shared_journal.get(), start);
        SB_LOG(info, "connection state recovery: window {} ms, kept in Redis at {}:{} (this node: {})",
               options.recovery.window.count(), at->host, at->port, node);
    } else if (!options.recovery.database.empty()) {
        journal = std::make_unique<csr::sqlite_journal>(options.recovery.database);
    }
    if (!recovery) recovery = std::make_unique<csr::buffer>(options.recovery.window, journal.get());
    if (journal) {
        auto kept = journal->read();
        SB_LOG(info, "connection state recovery: window {} ms; {} session(s) and {} packet(s) kept in {}",
               options.recovery.window.count(), kept.sessions.size(), kept.packets.size(), options.recovery.database);
        recovery->load(std::move(kept.sessions), std::move(kept.packets), kept.purged_through);
    } else if (!shared_journal) {
        SB_LOG(info, "connection state recovery: window {} ms, in memory only", options.recovery.window.count());
    }
    // Sessions expire at most a quarter of the window late (and at least every 10 s).
    const auto every =
        std::clamp(options.recovery.window / 4, std::chrono::milliseconds(50), std::chrono::milliseconds(10000));
    auto tick = std::make_shared<std::function<void()>>();
    *tick = [weak = weak_from_this(), every, tick = std::weak_ptr<std::function<void()>>(tick)] {
        auto core = weak.lock();
        auto again = tick.lock();
        if (!core || !again) return;
        core->expire_sessions();
        core->http.post_after(every, *again);
    };
    expiry_tick_ = tick;
    http.post_after(every, *tick);
}

void io_core::observe(
    connection_handler observer,
    std::function<void(const std::string&, const std::string&, const std::string&, bool)> membership) {
    std::lock_guard lock(mutex_);
    connection_observers_.push_back(std::move(observer));
    membership_ = std::move(membership);
    for (auto& [name, ns] : namespaces_) watch_membership(*ns);
}

void io_core::watch_membership(namespace_impl& ns) {
    ns.adapter->on_membership([tell = membership_, nsp = ns.name](const std::string& room, const std::string& sid,
                                                                  bool joined) { tell(nsp, room, sid, joined); });
}

std::vector<connection_handler> io_core::connection_observers() {
    std::lock_guard lock(mutex_);
    return connection_observers_;
}

void io_core::add_expiry_handler(std::function<void(const expired_session&)> handler) {
    std::lock_guard lock(expiry_mutex_);
    expiry_handlers_.push_back(std::move(handler));
}

void io_core::expire_sessions() {
    if (!recovery) return;
    auto expired = recovery->expire(csr::now_ms());
    if (expired.empty()) return;
    if (shared_journal) { // in a cluster, unless another node recovered it meanwhile
        shared_journal->confirm_expired(std::move(expired), [weak = weak_from_this()](std::vector<csr::session> gone) {
            auto core = weak.lock();
            if (!core || gone.empty()) return;
            core->http.post_after(std::chrono::milliseconds(0),
                                  [core, gone = std::move(gone)]() mutable { core->tell_expired(std::move(gone)); });
        });
        return;
    }
    tell_expired(std::move(expired));
}

void io_core::tell_expired(std::vector<csr::session> expired) {
    std::vector<std::function<void(const expired_session&)>> handlers;
    {
        std::lock_guard lock(expiry_mutex_);
        handlers = expiry_handlers_;
    }
    for (auto& s : expired) {
        SB_LOG(debug, "connection state recovery: session of socket {} ({}) expired", s.sid, s.nsp);
        const expired_session e{std::move(s.sid), std::move(s.nsp), std::move(s.rooms), std::move(s.data)};
        for (const auto& handler : handlers) run_guarded("-", "a session expiry handler", [&] { handler(e); });
    }
}

void io_core::on_engine(const std::shared_ptr<switchboard::server::engine_socket>& engine) {
    auto c = std::make_shared<client>(shared_from_this(), engine);
    {
        std::lock_guard lock(mutex_);
        if (upgraded_) clients_[engine->id()] = c;
    }
    c->start();
}

void io_core::observe_upgrades(std::function<void(const std::string&, const std::string&)> upgraded) {
    {
        std::lock_guard lock(mutex_);
        upgraded_ = std::move(upgraded);
        tracking_clients_ = true;
    }
    http.on_upgrade([weak = weak_from_this()](switchboard::server::engine_socket& engine) {
        auto core = weak.lock();
        if (!core) return;
        std::shared_ptr<client> c;
        std::function<void(const std::string&, const std::string&)> tell;
        {
            std::lock_guard lock(core->mutex_);
            if (const auto it = core->clients_.find(engine.id()); it != core->clients_.end()) c = it->second.lock();
            tell = core->upgraded_;
        }
        if (!c || !tell) return;
        for (const auto& [nsp, sid] : c->socket_names()) tell(nsp, sid); // (on the session's strand)
    });
}

void io_core::forget_client(const std::string& engine_id) {
    if (!tracking_clients_.load(std::memory_order_relaxed)) return; // the usual case: no dashboard
    std::lock_guard lock(mutex_);
    clients_.erase(engine_id);
}

} // namespace switchboard::io::detail
