// A socket: one client's membership of one namespace; events, acks, rooms, disconnect.
#include "core.hpp"

#include "../random_id.hpp"

namespace switchboard::io::detail {

namespace {

template <class Handlers, class... A>
void call_all(const Handlers& handlers, A&&... args) {
    // A copy: a handler may add or remove handlers while we iterate.
    auto copy = handlers;
    for (auto& h : copy)
        if (h) h(args...);
}

} // namespace

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

socket_impl::socket_impl(std::shared_ptr<namespace_impl> nsp_, std::shared_ptr<client> owner_, boost::json::object auth)
    : id(switchboard::server::random_id()), nsp(std::move(nsp_)), owner(std::move(owner_)), auth_(std::move(auth)),
      created_(std::chrono::system_clock::now()) {}

const handshake_info& socket_impl::handshake() const {
    std::call_once(handshake_once_, [this] {
        const auto& request = owner->engine().request();
        auto h = std::make_unique<handshake_info>();
        h->address = request.remote_address;
        h->url = request.url;
        h->headers = request.headers;
        h->query = request.query;
        h->auth = auth_;
        h->time = created_;
        h->xdomain = h->header("origin") != nullptr;
        handshake_ = std::move(h);
    });
    return *handshake_;
}

void socket_impl::send_packet(const sio::packet& packet, bool droppable) {
    auto frames = sio::encode_frames(packet);
    if (!frames) return; // validated by the callers; nothing else can fail
    send_frames(std::move(*frames), droppable);
}

void socket_impl::send_frames(std::vector<eio::frame> frames, bool droppable) {
    if (connected) owner->engine().send(std::move(frames), droppable);
}

std::uint64_t socket_impl::register_ack(ack_callback callback, std::optional<std::chrono::milliseconds> timeout) {
    std::uint64_t id;
    {
        std::lock_guard lock(acks_mutex_);
        id = next_ack_id_++;
        acks_.emplace(id, std::move(callback));
    }
    if (timeout) {
        auto expire = [self = shared_from_this(), id] {
            ack_callback cb;
            {
                std::lock_guard lock(self->acks_mutex_);
                auto it = self->acks_.find(id);
                if (it == self->acks_.end()) return;
                cb = std::move(it->second);
                self->acks_.erase(it);
            }
            cb(make_error_code(errc::timeout), {});
        };
        // A server timer, not the session's: the callback learns of the timeout even if the connection is gone.
        nsp->core.http.post_after(*timeout, std::move(expire));
    }
    return id;
}

std::error_code socket_impl::emit(std::string_view name, arguments args, ack_callback callback,
                                  std::optional<std::chrono::milliseconds> timeout, bool droppable) {
    auto made = make_event_packet(nsp->name, name, std::move(args));
    if (!made) return made.error();
    auto& packet = *made;
    if (!connected) {
        if (callback) callback(make_error_code(errc::disconnected), {});
        return make_error_code(errc::disconnected);
    }
    if (!any_outgoing.empty()) {
        arguments view(boost::json::array(packet.data.as_array().begin() + 1, packet.data.as_array().end()),
                       packet.attachments);
        notify_outgoing(name, view);
    }
    if (callback) packet.id = register_ack(std::move(callback), timeout);
    send_packet(packet, droppable);
    return {};
}

void socket_impl::notify_outgoing(std::string_view name, const arguments& args) {
    call_all(any_outgoing, std::string(name), args);
}

void socket_impl::on_connected() {
    connected = true;
    nsp->add(shared_from_this());
    sio::packet connect;
    connect.type = sio::packet_type::connect;
    connect.nsp = nsp->name;
    connect.data = boost::json::object{{"sid", id}};
    send_packet(connect, false);
}

void socket_impl::on_event(sio::packet&& packet) {
    auto& data = packet.data.as_array(); // validated by the decoder: an array led by the name
    event ev;
    ev.name = std::string(data.front().as_string());
    data.erase(data.begin()); // the arguments move to the handler: no copy of them
    ev.args.values = std::move(data);
    ev.args.attachments = std::move(packet.attachments);
    if (packet.id) ev.ack = ack_responder(std::make_shared<ack_state>(weak_from_this(), *packet.id));

    call_all(any_incoming, ev.name, ev.args);
    if (!connected) return; // a catch-all handler disconnected it
    // As an EventEmitter: handlers added meanwhile wait for the next event. Each one is copied
    // before it runs, since it may remove itself (small lambdas: no allocation).
    const auto registered = handlers.size();
    for (std::size_t i = 0; i < registered && i < handlers.size(); ++i) {
        if (handlers[i].first != ev.name || !handlers[i].second) continue;
        auto handler = handlers[i].second;
        handler(ev);
        if (!connected) return;
    }
}

void socket_impl::on_ack(sio::packet&& packet) {
    ack_callback cb;
    {
        std::lock_guard lock(acks_mutex_);
        const auto it = acks_.find(*packet.id);
        if (it == acks_.end()) return; // unknown or timed out: ignored, as the reference server does
        cb = std::move(it->second);
        acks_.erase(it);
    }
    cb({}, arguments(std::move(packet.data.as_array()), std::move(packet.attachments)));
}

void socket_impl::close(std::string_view reason) {
    if (!connected) return;
    call_all(disconnecting_handlers, reason); // rooms are still there
    connected = false;
    nsp->remove(*this);
    owner->forget(nsp->name);
    auto on_disconnect = std::move(disconnect_handlers);
    // Handlers often capture their own socket: dropping them breaks that cycle.
    handlers.clear();
    any_incoming.clear();
    any_outgoing.clear();
    disconnecting_handlers.clear();
    disconnect_handlers.clear();
    call_all(on_disconnect, reason);
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
        self->close("server namespace disconnect");
    });
}

} // namespace switchboard::io::detail
