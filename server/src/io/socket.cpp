// A socket: one client's membership of one namespace; events, acks, rooms, disconnect.
#include "core.hpp"

#include "../util/random_id.hpp"

#include <array>
#include <switchboard/json.hpp>

namespace switchboard::io::detail {

namespace {

/// Calls every handler with `args`, each behind the barrier; false when one threw.
template <class Handlers, class... A>
bool call_all(const socket_impl& socket, std::string_view what, const Handlers& handlers, A&&... args) {
    // A copy: a handler may add or remove handlers while we iterate.
    auto copy = handlers;
    bool ok = true;
    for (auto& h : copy)
        if (h && !run_guarded(socket.peer(), what, [&] { h(args...); })) ok = false;
    return ok;
}

} // namespace

std::string event_name(const boost::json::value& name) {
    if (const auto* s = name.if_string()) return std::string(*s);
    if (name.is_number()) return stringify(name); // 1 -> "1", 1.5 -> "1.5", as JavaScript's String(n)
    return {};
}

result<sio::packet> make_event_packet(const std::string& nsp, std::string_view name, arguments args) {
    boost::json::array data;
    data.reserve(args.values.size() + 1);
    data.emplace_back(name);
    for (auto& v : args.values) data.push_back(std::move(v));
    auto packet = sio::make_event(nsp, std::move(data));
    packet.attachments = std::move(args.attachments);
    if (auto ec = sio::validate(packet)) return ec;
    return packet;
}

void ack_state::answer(arguments args) {
    if (answered_.exchange(true)) return; // only the first answer counts
    if (sink_) {
        sink_(std::move(args));
        return;
    }
    auto socket = socket_.lock();
    if (!socket || !socket->connected) return;
    sio::packet ack;
    ack.type = sio::packet_type::ack;
    ack.nsp = socket->nsp->name;
    ack.id = id_;
    ack.data = std::move(args.values);
    ack.attachments = std::move(args.attachments);
    socket->send_packet(ack, false);
}

socket_impl::socket_impl(std::shared_ptr<namespace_impl> nsp_, std::shared_ptr<client> owner_, boost::json::object auth,
                         std::string id_)
    : id(id_.empty() ? switchboard::server::random_id() : std::move(id_)), nsp(std::move(nsp_)),
      owner(std::move(owner_)), created_(std::chrono::system_clock::now()) {
    if (!auth.empty()) auth_ = std::make_unique<boost::json::object>(std::move(auth));
    const auto& config = nsp->core.http.config();
    if (config.events_per_second == 0 && config.bytes_per_second == 0) return;
    budgets_ = std::make_unique<rate_budgets>();
    if (config.events_per_second != 0) budgets_->events.emplace(static_cast<double>(config.events_per_second));
    if (config.bytes_per_second != 0) budgets_->bytes.emplace(static_cast<double>(config.bytes_per_second));
}

// --events-per-second and --bytes-per-second: an event over either is not delivered.
bool socket_impl::within_budget(const sio::packet& packet, std::size_t bytes) {
    if (!budgets_) return true;
    const auto now =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch());
    auto verdict = sio::event_budget::verdict::deliver;
    const sio::event_budget* over = nullptr;
    std::string_view unit;
    if (auto& events = budgets_->events) {
        verdict = events->take(now);
        over = &*events;
        unit = "events";
    }
    if (auto& byte_budget = budgets_->bytes; verdict == sio::event_budget::verdict::deliver && byte_budget) {
        verdict = byte_budget->take(now, static_cast<double>(bytes));
        over = &*byte_budget;
        unit = "bytes";
    }
    if (verdict == sio::event_budget::verdict::deliver) return true;
    metrics::add(unit == "events" ? metrics::counter::refused_events : metrics::counter::refused_bytes);
    if (verdict == sio::event_budget::verdict::disconnect) {
        SB_LOG(warn, "{}: over --{}-per-second ({}) for 10 s: disconnected", peer(), unit, over->rate());
        disconnect(true);
        return false;
    }
    const boost::json::object why{
        {"message", "rate limit"}, {"limit", over->rate()}, {"burst", over->burst()}, {"unit", unit}};
    if (packet.id) { // the event asked for an ack: the ack carries the error
        sio::packet ack;
        ack.type = sio::packet_type::ack;
        ack.nsp = nsp->name;
        ack.id = packet.id;
        ack.data = boost::json::array{why};
        send_packet(ack, false);
    } else if (verdict == sio::event_budget::verdict::refuse_and_tell) { // at most once a second
        if (auto made = make_event_packet(nsp->name, "error", arguments(boost::json::array{why})))
            send_packet(*made, true);
    }
    return false;
}

const std::string& socket_impl::peer() const noexcept { return owner->engine().remote_address(); }

const handshake_info& socket_impl::handshake() const {
    std::call_once(handshake_once_, [this] {
        const auto& request = owner->engine().request();
        auto h = std::make_unique<handshake_info>();
        h->address = request.remote_address;
        h->url = request.url;
        h->headers = request.headers;
        h->query = request.query;
        if (auth_) h->auth = *auth_;
        h->time = created_;
        h->xdomain = h->header("origin") != nullptr;
        handshake_ = std::move(h);
    });
    return *handshake_;
}

void socket_impl::send_packet(const sio::packet& packet, bool droppable) {
    auto frames = nsp->core.encode(packet);
    if (!frames) return; // validated by the callers; nothing else can fail
    send_frames(std::move(*frames), droppable);
}

void socket_impl::send_frames(std::vector<eio::frame> frames, bool droppable) {
    if (connected) owner->engine().send(std::move(frames), droppable);
}

void socket_impl::send_shared(const std::vector<eio::frame>& frames, bool droppable) {
    if (connected) owner->engine().send_shared(frames, droppable);
}

namespace {
std::size_t bytes_of(const std::vector<eio::frame>& frames) {
    std::size_t size = 0;
    for (const auto& f : frames) size += f.bytes->size();
    return size;
}
} // namespace

bool socket_impl::fits(const std::vector<eio::frame>& frames) const {
    return owner->engine().buffered_amount() + bytes_of(frames) <= nsp->core.http.config().max_queue_bytes;
}

std::uint64_t socket_impl::register_ack(ack_callback callback, std::optional<std::chrono::milliseconds> timeout) {
    return *register_ack_at(std::nullopt, std::move(callback), timeout);
}

std::optional<std::uint64_t> socket_impl::register_ack_at(std::optional<std::uint64_t> wanted, ack_callback callback,
                                                          std::optional<std::chrono::milliseconds> timeout) {
    std::uint64_t id;
    {
        std::lock_guard lock(acks_mutex());
        if (!acks_) acks_ = std::make_unique<sio::ack_registry<pending_ack>>();
        if (!wanted) {
            id = acks_->add(pending_ack{std::move(callback), 0});
        } else if (acks_->add_at(*wanted, pending_ack{std::move(callback), 0})) {
            id = *wanted;
        } else {
            return std::nullopt;
        }
    }
    if (timeout) {
        // A session timer: it runs on this socket's strand. If the socket closes first, the callback
        // has had errc::disconnected already and the timer finds nothing.
        const auto timer = owner->engine().post_after(*timeout, [weak = weak_from_this(), id] {
            auto self = weak.lock();
            if (!self) return;
            ack_callback cb;
            {
                std::lock_guard lock(self->acks_mutex());
                auto waiting = self->acks_->take(id); // made before this timer
                if (!waiting) return;                 // answered meanwhile
                cb = std::move(waiting->callback);
            }
            metrics::add(metrics::counter::ack_timeouts);
            if (!run_guarded(self->peer(), "an ack callback (timeout)",
                             [&] { cb(make_error_code(errc::timeout), {}); }))
                self->on_handler_failure();
        });
        std::lock_guard lock(acks_mutex());
        if (auto* waiting = acks_->find(id)) waiting->timer = timer; // for the answer to cancel
    }
    return id;
}

std::error_code socket_impl::emit(std::string_view name, arguments args, ack_callback callback,
                                  std::optional<std::chrono::milliseconds> timeout, bool droppable, overflow policy) {
    auto made = make_event_packet(nsp->name, name, std::move(args));
    if (!made) return made.error();
    auto& packet = *made;
    if (!connected) {
        if (callback)
            owner->engine().execute([callback = std::move(callback), self = shared_from_this()] {
                if (!run_guarded(self->peer(), "an ack callback (disconnected)",
                                 [&] { callback(make_error_code(errc::disconnected), {}); }))
                    self->on_handler_failure();
            });
        return make_error_code(errc::disconnected);
    }
    // Backpressure: the queue as of the session's last step, plus this packet. (Emits from other
    // threads may be on their way: the bound is a bound on what is refused, not a promise.)
    const auto& cfg = nsp->core.http.config();
    const bool refuse = policy == overflow::refuse || (policy == overflow::server_default && cfg.refuse_when_full);
    const std::size_t before = owner->engine().buffered_amount();
    if (refuse && !droppable && before >= cfg.max_queue_bytes) {
        metrics::add(metrics::counter::refused_queue);
        return make_error_code(errc::queue_full); // full already: nothing to encode
    }
    if (callback) packet.id = register_ack(std::move(callback), timeout);
    // With recovery, what is sent without an ack and not volatile is kept, its offset last.
    const bool stored = recovery && !packet.id && !droppable;
    if (stored) notify_outgoing(packet); // the listeners see the arguments as emitted
    std::uint64_t offset = 0;
    broadcast_options to_me;
    if (stored) to_me.rooms.push_back(id);
    auto frames = stored ? nsp->store(packet, to_me, offset) : nsp->core.encode(packet);
    if (!frames) return {}; // validated above; nothing else can fail
    const std::size_t size = bytes_of(*frames);
    if (refuse && !droppable && before + size > cfg.max_queue_bytes) {
        metrics::add(metrics::counter::refused_queue);
        if (packet.id) cancel_ack(*packet.id);
        return make_error_code(errc::queue_full);
    }
    if (stored)
        recovery->sent(offset);
    else
        notify_outgoing(packet);
    if (policy == overflow::drop_oldest && !droppable) {
        if (connected) owner->engine().send_replaceable(std::move(*frames));
    } else {
        send_frames(std::move(*frames), droppable);
    }
    if (cfg.high_water_bytes != 0 && before + size >= cfg.high_water_bytes && !droppable)
        return make_error_code(errc::over_high_water);
    return {};
}

void socket_impl::notify_outgoing(const sio::packet& packet) {
    if (!has_outgoing_listeners.load(std::memory_order_relaxed)) return;
    const auto* data = packet.data.if_array();
    if (!data || data->empty()) return;
    // The listeners see the event's arguments; they run on this socket's strand (now, when the
    // caller is on it; else queued there).
    auto name = event_name(data->front());
    arguments args(boost::json::array(data->begin() + 1, data->end()), packet.attachments);
    owner->engine().dispatch([self = shared_from_this(), name = std::move(name), args = std::move(args)] {
        if (self->connected) self->call_outgoing(name, args);
    });
}

void socket_impl::call_outgoing(std::string_view name, const arguments& args) {
    if (rare && !call_all(*this, "an outgoing listener", rare->any_outgoing, std::string(name), args))
        on_handler_failure();
}

void socket_impl::on_connected() {
    if (!connected.exchange(true)) nsp->add(shared_from_this()); // (a recovered socket is in already)
    sio::packet connect;
    connect.type = sio::packet_type::connect;
    connect.nsp = nsp->name;
    boost::json::object answer{{"sid", id}};
    if (recovery) {
        answer["pid"] = recovery->pid;
        // Eagerly, so that a crash does not lose it (a recovered one is already on its way there).
        if (!recovery->recovered) {
            recovery->first_offset = nsp->core.recovery->latest_offset();
            nsp->core.recovery->connected(recovery_snapshot());
        }
    }
    connect.data = std::move(answer);
    send_packet(connect, false);
}

void socket_impl::rooms_changed() {
    if (!recovery || !connected) return;
    std::vector<std::string> rooms;
    run_guarded(peer(), "the adapter (socket_rooms)", [&] { rooms = nsp->adapter->socket_rooms(id); });
    nsp->core.recovery->rooms_changed(recovery->pid, rooms);
}

csr::session socket_impl::recovery_snapshot() {
    csr::session s;
    s.pid = recovery ? recovery->pid : std::string{};
    s.sid = id;
    s.nsp = nsp->name;
    run_guarded(peer(), "the adapter (socket_rooms)", [&] { s.rooms = nsp->adapter->socket_rooms(id); });
    s.data = data_or_null();
    if (recovery) {
        if (const auto last = recovery->last_offset.load(std::memory_order_relaxed)) s.last_offset = last;
        s.first_offset = recovery->first_offset;
    }
    return s;
}

void socket_impl::on_event(sio::packet&& packet, std::size_t bytes) {
    auto* data = packet.data.if_array(); // the decoder checked: an array led by a string or a number
    if (!data || data->empty()) return;
    if (!within_budget(packet, bytes)) return;
    event ev;
    ev.name = event_name(data->front());
    data->erase(data->begin()); // the arguments move to the handler: no copy of them
    ev.args.values = std::move(*data);
    ev.args.attachments = std::move(packet.attachments);
    if (packet.id) ev.ack = ack_responder(std::make_shared<ack_state>(weak_from_this(), *packet.id));

    if (rare && !call_all(*this, "a catch-all listener", rare->any_incoming, ev.name, ev.args))
        return on_handler_failure();
    if (!connected) return; // a catch-all handler disconnected it
    // As an EventEmitter: handlers added meanwhile wait for the next event. Each one is copied
    // before it runs, since it may remove itself (small lambdas: no allocation).
    const auto registered = handlers.size();
    for (std::size_t i = 0; i < registered && i < handlers.size(); ++i) {
        if (handlers[i].first != ev.name || !handlers[i].second) continue;
        auto handler = handlers[i].second;
        if (!run_guarded(peer(), "the handler of an event", [&] { handler(ev); })) return on_handler_failure();
        if (!connected) return;
    }
}

std::mutex& socket_impl::acks_mutex() const noexcept {
    static std::array<std::mutex, 64> pool;
    // Fibonacci hashing of the address: sockets sit a size class apart, which a plain modulo would fold
    // onto a few of the 64.
    const auto hash = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(this)) * 0x9E3779B97F4A7C15u;
    return pool[hash >> 58]; // the top 6 bits
}

void socket_impl::cancel_ack(std::uint64_t id) {
    std::uint64_t timer = 0;
    {
        std::lock_guard lock(acks_mutex());
        if (!acks_) return;
        auto waiting = acks_->take(id);
        if (!waiting) return;
        timer = waiting->timer;
    }
    if (timer != 0) owner->engine().cancel_timer(timer);
}

void socket_impl::on_ack(sio::packet&& packet) {
    if (!packet.id) return; // the client refuses these before they get here
    ack_callback cb;
    std::uint64_t timer = 0;
    {
        std::lock_guard lock(acks_mutex());
        if (!acks_) return; // never asked for one
        auto waiting = acks_->take(*packet.id);
        if (!waiting) return; // unknown or timed out: ignored, as the reference server does
        cb = std::move(waiting->callback);
        timer = waiting->timer;
    }
    if (timer != 0) owner->engine().cancel_timer(timer);
    auto* values = packet.data.if_array();
    arguments reply(values ? std::move(*values) : boost::json::array{}, std::move(packet.attachments));
    if (!run_guarded(peer(), "an ack callback", [&] { cb({}, std::move(reply)); })) on_handler_failure();
}

// Pending acks learn that no answer will come (as socket.io-client's emitWithAck rejects on disconnect).
void socket_impl::fail_pending_acks() {
    std::vector<pending_ack> pending;
    {
        std::lock_guard lock(acks_mutex());
        if (acks_) acks_->drain([&](std::uint64_t, pending_ack ack) { pending.push_back(std::move(ack)); });
    }
    for (auto& ack : pending) {
        if (ack.timer != 0) owner->engine().cancel_timer(ack.timer);
        run_guarded(peer(), "an ack callback (disconnected)",
                    [&] { ack.callback(make_error_code(errc::disconnected), {}); });
    }
}

void socket_impl::close(sio::disconnect_reason why) {
    if (!connected) return;
    const auto reason = sio::to_string(why); // the application sees Socket.IO's string
    if (rare) call_all(*this, "a disconnecting listener", rare->disconnecting, reason); // rooms are still there
    if (recovery) {
        // Kept for the window when the connection was lost (Socket.IO's recoverable reasons); an
        // explicit disconnect, either side's, ends the session for good.
        using r = sio::disconnect_reason;
        const bool recoverable =
            why == r::transport_close || why == r::transport_error || why == r::ping_timeout || why == r::forced_close;
        if (recoverable)
            nsp->core.recovery->disconnected(recovery_snapshot());
        else
            nsp->core.recovery->forget(recovery->pid);
    }
    connected = false;
    nsp->remove(*this);
    owner->forget(nsp->name);
    auto on_disconnect = std::move(disconnect_handlers);
    // Handlers often capture their own socket: dropping them breaks that cycle.
    handlers.clear();
    has_outgoing_listeners = false;
    disconnect_handlers.clear();
    rare.reset();
    fail_pending_acks();
    call_all(*this, "a disconnect listener", on_disconnect, reason);
}

void socket_impl::on_handler_failure() {
    if (!connected) return;
    SB_LOG(warn, "{}: socket {} of {} is disconnected (its application code threw)", peer(), id, nsp->name);
    sio::packet bye;
    bye.type = sio::packet_type::disconnect;
    bye.nsp = nsp->name;
    send_packet(bye, false);
    close(sio::disconnect_reason::server_namespace_disconnect);
}

void socket_impl::disconnect(bool close_connection) {
    owner->engine().post([self = shared_from_this(), close_connection] {
        if (!self->connected) return;
        if (close_connection) {
            self->owner->disconnect_all();
            return;
        }
        sio::packet bye;
        bye.type = sio::packet_type::disconnect;
        bye.nsp = self->nsp->name;
        self->send_packet(bye, false);
        self->close(sio::disconnect_reason::server_namespace_disconnect);
    });
}

} // namespace switchboard::io::detail
