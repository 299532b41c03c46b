#include <switchboard/client/manager.hpp>
#include <switchboard/json.hpp>
#include <switchboard/sio/disconnect_reason.hpp>

#include <algorithm>
#include <type_traits>

namespace switchboard::client {

// --- the application -------------------------------------------------------------------------------------

void manager::open(duration now) {
    closed_by_user_ = false;
    if (engine_ == engine_state::opening || engine_ == engine_state::open) return;
    if (engine_ == engine_state::waiting_to_reconnect) return; // the reconnection timer will open it
    engine_ = engine_state::opening;
    opened_at_ = now;
    decoder_ = sio::raw_decoder(options_.limits);
    effects_.emplace_back(open_transport{});
}

void manager::connect_socket(duration now, const std::string& nsp, boost::json::object auth, bool ask_auth) {
    auto& s = sockets_[nsp];
    s.wanted = true;
    s.auth = std::move(auth);
    s.ask_auth = ask_auth;
    if (engine_ == engine_state::open) {
        if (s.awaiting_auth) { // the answer
            s.awaiting_auth = false;
            send_connect(nsp, s);
        } else if (s.state == socket_state::disconnected) {
            start_connect(nsp, s);
        }
        return;
    }
    s.awaiting_auth = false;
    open(now);
}

void manager::start_connect(const std::string& nsp, socket& s) {
    if (!s.ask_auth) return send_connect(nsp, s);
    s.awaiting_auth = true;
    effects_.emplace_back(auth_needed{nsp});
}

void manager::disconnect_socket(duration now, const std::string& nsp) {
    const auto it = sockets_.find(nsp);
    if (it == sockets_.end()) return;
    auto& s = it->second;
    const bool was_connected = s.state == socket_state::connected;
    if (s.state != socket_state::disconnected && engine_ == engine_state::open) {
        sio::raw_packet bye;
        bye.type = sio::packet_type::disconnect;
        bye.nsp = nsp;
        send_packet(bye);
    }
    s.state = socket_state::disconnected;
    s.wanted = false;
    s.awaiting_auth = false;
    s.buffer.clear();
    if (was_connected)
        effects_.emplace_back(
            socket_disconnected{nsp, std::string(to_string(sio::disconnect_reason::io_client_disconnect))});
    // Like socket.io-client's manager: no namespace left in use, no connection.
    const bool any_wanted =
        std::any_of(sockets_.begin(), sockets_.end(), [](const auto& e) { return e.second.wanted; });
    if (!any_wanted) close(now);
}

std::optional<std::uint64_t> manager::emit(duration now, const std::string& nsp, const boost::json::array& data,
                                           std::vector<shared_bytes> attachments, bool want_ack,
                                           std::optional<duration> ack_timeout, bool is_volatile) {
    const bool named = !data.empty() && data.front().is_string() && !sio::is_reserved_event(data.front().as_string());
    if (!named) return std::nullopt;
    return emit(now, nsp, stringify(data), std::move(attachments), want_ack, ack_timeout, is_volatile);
}

std::optional<std::uint64_t> manager::emit(duration now, const std::string& nsp, std::string_view data_json,
                                           std::vector<shared_bytes> attachments, bool want_ack,
                                           std::optional<duration> ack_timeout, bool is_volatile) {
    auto& s = sockets_[nsp];
    std::optional<std::uint64_t> id;
    if (want_ack) id = s.acks.add({}, ack_timeout ? std::optional<duration>(now + *ack_timeout) : std::nullopt);
    auto refused = [&] { // invalid (e.g. a bad namespace): nothing sent, no ack to wait for
        if (id) s.acks.take(*id);
        return std::nullopt;
    };
    // The common case (the default parser, no binary): the event's text written once, into its one frame.
    if (!options_.parser && attachments.empty()) {
        auto frame = sio::encode_raw_text_frame(sio::packet_type::event, nsp, id, data_json);
        if (!frame) return refused();
        send_or_buffer(s, id, std::move(*frame), is_volatile);
        return id;
    }
    auto frames =
        encode(sio::raw_packet{sio::packet_type::event, nsp, id, std::string(data_json), std::move(attachments)});
    if (!frames) return refused();
    send_or_buffer(s, id, std::move(*frames), is_volatile);
    return id;
}

template <class Frames>
void manager::send_or_buffer(socket& s, std::optional<std::uint64_t> ack_id, Frames&& frames, bool is_volatile) {
    if (s.state == socket_state::connected && engine_ == engine_state::open) {
        send(std::forward<Frames>(frames));
    } else if (!is_volatile) {
        auto& b = s.buffer.emplace_back(buffered{ack_id, {}}); // sent once connected
        if constexpr (std::is_same_v<std::decay_t<Frames>, eio::frame>)
            b.frames.push_back(std::forward<Frames>(frames));
        else
            b.frames = std::forward<Frames>(frames);
    }
}

void manager::ack(const std::string& nsp, std::uint64_t id, const boost::json::array& data,
                  std::vector<shared_bytes> attachments) {
    ack(nsp, id, stringify(data), std::move(attachments));
}

void manager::ack(const std::string& nsp, std::uint64_t id, std::string data_json,
                  std::vector<shared_bytes> attachments) {
    const auto it = sockets_.find(nsp);
    if (it == sockets_.end() || it->second.state != socket_state::connected || engine_ != engine_state::open) return;
    send_packet(sio::raw_packet{sio::packet_type::ack, nsp, id, std::move(data_json), std::move(attachments)});
}

void manager::close(duration) {
    closed_by_user_ = true;
    for (auto& [nsp, s] : sockets_) {
        if (s.state == socket_state::connected)
            effects_.emplace_back(
                socket_disconnected{nsp, std::string(to_string(sio::disconnect_reason::io_client_disconnect))});
        s.state = socket_state::disconnected;
        s.wanted = false;
    }
    if (engine_ == engine_state::open || engine_ == engine_state::opening) {
        if (engine_ == engine_state::open) send(eio::make_text_frame(eio::packet_type::close));
        effects_.emplace_back(close_transport{});
        if (engine_ == engine_state::open) effects_.emplace_back(engine_closed{"forced close"});
    }
    engine_ = engine_state::closed;
    handshake_.reset();
}

bool manager::is_connected(const std::string& nsp) const {
    const auto it = sockets_.find(nsp);
    return it != sockets_.end() && it->second.state == socket_state::connected;
}

std::string manager::id_of(const std::string& nsp) const {
    const auto it = sockets_.find(nsp);
    return it != sockets_.end() && it->second.state == socket_state::connected ? it->second.id : std::string();
}

// --- sending ---------------------------------------------------------------------------------------------

void manager::send(std::vector<eio::frame> frames) {
    auto& effect = std::get<send_frames>(effects_.emplace_back(std::in_place_type<send_frames>));
    effect.frames.assign(std::make_move_iterator(frames.begin()), std::make_move_iterator(frames.end()));
}

void manager::send(eio::frame frame) {
    auto& effect = std::get<send_frames>(effects_.emplace_back(std::in_place_type<send_frames>));
    effect.frames.push_back(std::move(frame));
}

void manager::send_packet(const sio::raw_packet& packet) {
    if (auto frames = encode(packet)) send(std::move(*frames));
}

result<std::vector<eio::frame>> manager::encode(const sio::raw_packet& packet) const {
    return options_.parser ? options_.parser->encode(packet) : sio::encode_raw_frames(packet);
}

bool manager::parse_message(std::string_view message, bool binary) {
    auto packet = options_.parser->decode(message, binary);
    if (!packet) return false;
    on_socket_packet(std::move(*packet));
    return true;
}

// The last element of a JSON array's text when it is a string, decoded; nothing otherwise. Only a string
// makes the text end with `"]`; its opening quote is the nearest one before that is not escaped.
std::optional<std::string> manager::last_string_argument(std::string_view array) {
    while (!array.empty() &&
           (array.back() == ' ' || array.back() == '\n' || array.back() == '\r' || array.back() == '\t'))
        array.remove_suffix(1);
    if (array.size() < 4 || array.back() != ']' || array[array.size() - 2] != '"') return std::nullopt;
    const std::size_t close = array.size() - 2;
    for (std::size_t i = close; i-- > 0;) {
        if (array[i] != '"') continue;
        std::size_t slashes = 0;
        while (i >= slashes + 1 && array[i - slashes - 1] == '\\') ++slashes;
        if (slashes % 2 != 0) continue; // an escaped quote, inside the string
        auto parsed = parse_json(array.substr(i, close - i + 1), 2);
        if (!parsed || !parsed->is_string()) return std::nullopt;
        return std::string(parsed->as_string());
    }
    return std::nullopt;
}

void manager::send_connect(const std::string& nsp, socket& s) {
    s.state = socket_state::connecting;
    sio::raw_packet connect;
    connect.type = sio::packet_type::connect;
    connect.nsp = nsp;
    if (!s.pid.empty() && !s.last_offset.empty()) {
        // As socket.io-client: Object.assign({pid, offset}, auth) — the application's keys win.
        boost::json::object auth{{"pid", s.pid}, {"offset", s.last_offset}};
        for (const auto& [k, v] : s.auth) auth[k] = v;
        connect.data = stringify(auth);
    } else if (!s.auth.empty()) {
        connect.data = stringify(s.auth);
    }
    send_packet(connect);
}

// --- the transport and the clock -------------------------------------------------------------------------

void manager::on_text(duration now, std::string_view frame) {
    if (engine_ != engine_state::opening && engine_ != engine_state::open) return;
    last_heard_ = now;
    // A message (nearly every frame) goes to the Socket.IO decoder as it is, not copied into a packet.
    if (frame.size() <= options_.limits.max_payload && frame.starts_with('4'))
        return on_message_text(now, frame.substr(1));
    auto packet = eio::decode_text(frame, options_.limits);
    if (!packet) {
        effects_.emplace_back(close_transport{});
        return transport_lost(now, sio::disconnect_reason::parse_error);
    }
    on_engine_packet(now, std::move(*packet));
}

void manager::on_binary(duration now, shared_bytes bytes) {
    if (engine_ != engine_state::open) return;
    last_heard_ = now;
    if (options_.parser) {
        if (parse_message(*bytes, true)) return;
        effects_.emplace_back(close_transport{});
        return transport_lost(now, sio::disconnect_reason::parse_error);
    }
    auto progress = decoder_.feed_binary(std::move(bytes));
    if (!progress) {
        effects_.emplace_back(close_transport{});
        return transport_lost(now, sio::disconnect_reason::parse_error);
    }
    if (*progress == sio::decoder::progress::packet_ready) on_socket_packet(decoder_.take_packet());
}

void manager::on_packet(duration now, eio::packet&& packet) {
    if (packet.binary) return on_binary(now, make_shared_bytes(std::move(packet.data)));
    if (engine_ != engine_state::opening && engine_ != engine_state::open) return;
    last_heard_ = now;
    on_engine_packet(now, std::move(packet));
}

void manager::on_engine_packet(duration now, eio::packet&& packet) {
    switch (packet.type) {
    case eio::packet_type::open: {
        if (engine_ != engine_state::opening) return;
        auto h = eio::decode_handshake(packet.data);
        if (!h) {
            effects_.emplace_back(close_transport{});
            return transport_lost(now, sio::disconnect_reason::parse_error);
        }
        handshake_ = std::move(*h);
        engine_ = engine_state::open;
        decoder_ = sio::raw_decoder(options_.limits);
        effects_.emplace_back(engine_opened{});
        if (attempts_ > 0) effects_.emplace_back(reconnected{attempts_});
        attempts_ = 0;
        backoff_.reset();
        for (auto& [nsp, s] : sockets_)
            if (s.wanted && s.state == socket_state::disconnected) start_connect(nsp, s);
        return;
    }
    case eio::packet_type::ping: send(eio::make_text_frame(eio::packet_type::pong, packet.data)); return;
    case eio::packet_type::close:
        effects_.emplace_back(close_transport{});
        return transport_lost(now, sio::disconnect_reason::transport_close);
    case eio::packet_type::message: return on_message_text(now, packet.data);
    case eio::packet_type::pong:
    case eio::packet_type::upgrade:
    case eio::packet_type::noop: return;
    }
}

void manager::on_message_text(duration now, std::string_view text) {
    if (engine_ != engine_state::open) return;
    if (options_.parser) {
        if (parse_message(text, false)) return;
        effects_.emplace_back(close_transport{});
        return transport_lost(now, sio::disconnect_reason::parse_error);
    }
    auto progress = decoder_.feed_text(text);
    if (!progress) {
        effects_.emplace_back(close_transport{});
        return transport_lost(now, sio::disconnect_reason::parse_error);
    }
    if (*progress == sio::decoder::progress::packet_ready) on_socket_packet(decoder_.take_packet());
}

void manager::on_socket_packet(sio::raw_packet&& packet) {
    const auto it = sockets_.find(packet.nsp);
    if (it == sockets_.end()) return; // a namespace we did not ask for
    auto& s = it->second;
    // CONNECT and CONNECT_ERROR payloads are small and ours to read; events stay text.
    auto small_payload = [&packet, this]() -> boost::json::value {
        auto parsed = parse_json(packet.data, options_.limits.max_json_depth);
        return parsed ? std::move(*parsed) : boost::json::value();
    };
    switch (packet.type) {
    case sio::packet_type::connect: {
        const auto data = small_payload();
        const auto* sid = data.is_object() ? data.as_object().if_contains("sid") : nullptr;
        if (!sid || !sid->is_string() || s.state != socket_state::connecting) return;
        s.state = socket_state::connected;
        s.id = std::string(sid->as_string());
        const auto* pid = data.if_object() ? data.if_object()->if_contains("pid") : nullptr;
        const std::string new_pid = pid && pid->is_string() ? std::string(pid->as_string()) : std::string();
        const bool recovered = !new_pid.empty() && new_pid == s.pid;
        s.pid = new_pid;
        if (!recovered) s.last_offset.clear();
        effects_.emplace_back(socket_connected{packet.nsp, s.id, recovered});
        // What a recovery replayed came first; it follows socket_connected (the JS API still hands it out
        // before its 'connect' event, as socket.io-client does), then the emits buffered meanwhile go.
        auto early = std::exchange(s.early, {});
        for (auto& e : early) on_socket_packet(std::move(e));
        auto buffered_emits = std::move(s.buffer);
        s.buffer.clear();
        for (auto& b : buffered_emits) send(std::move(b.frames));
        return;
    }
    case sio::packet_type::connect_error: {
        // Refused (e.g. by a middleware): the namespace stays down until the application retries.
        s.state = socket_state::disconnected;
        s.wanted = false;
        connect_failed failure{packet.nsp, {}, nullptr};
        const auto data = small_payload();
        if (data.is_string()) failure.message = std::string(data.as_string());
        if (const auto* o = data.if_object()) {
            if (const auto* m = o->if_contains("message"); m && m->is_string())
                failure.message = std::string(m->as_string());
            if (const auto* d = o->if_contains("data")) failure.data = *d;
        }
        effects_.emplace_back(std::move(failure));
        return;
    }
    case sio::packet_type::disconnect:
        if (s.state != socket_state::connected) return;
        s.state = socket_state::disconnected;
        s.wanted = false;
        effects_.emplace_back(
            socket_disconnected{packet.nsp, std::string(to_string(sio::disconnect_reason::io_server_disconnect))});
        return;
    case sio::packet_type::event:
    case sio::packet_type::binary_event: {
        if (s.state == socket_state::connecting && !s.pid.empty()) { // a recovery's replay, before CONNECT
            if (s.early.size() < 10000) s.early.push_back(std::move(packet));
            return;
        }
        if (s.state != socket_state::connected) return;
        if (!s.pid.empty() && !packet.id)
            if (auto offset = last_string_argument(packet.data)) s.last_offset = std::move(*offset);
        auto& event = std::get<event_received>(effects_.emplace_back(std::in_place_type<event_received>));
        event.nsp = it->first;
        event.packet = std::move(packet);
        return;
    }
    case sio::packet_type::ack:
    case sio::packet_type::binary_ack: {
        if (!packet.id || !s.acks.take(*packet.id)) return; // no id, unknown, or it timed out
        // Built in place: the packet moved once (a reply per emit with ack makes this a hot path).
        auto& ack = std::get<ack_received>(effects_.emplace_back(std::in_place_type<ack_received>));
        ack.nsp = it->first;
        ack.id = *packet.id;
        ack.packet = std::move(packet);
        return;
    }
    }
}

void manager::on_transport_closed(duration now, sio::disconnect_reason reason) {
    if (engine_ == engine_state::opening) effects_.emplace_back(transport_error{std::string(to_string(reason))});
    if (engine_ == engine_state::opening || engine_ == engine_state::open) transport_lost(now, reason);
}

void manager::transport_lost(duration now, sio::disconnect_reason reason) {
    const bool was_open = engine_ == engine_state::open;
    handshake_.reset();
    decoder_.reset();
    for (auto& [nsp, s] : sockets_) {
        if (s.state == socket_state::connected)
            effects_.emplace_back(socket_disconnected{nsp, std::string(to_string(reason))});
        s.state = socket_state::disconnected;
        s.awaiting_auth = false; // asked again on the next connection
    }
    if (was_open) effects_.emplace_back(engine_closed{std::string(to_string(reason))});
    const bool any_wanted =
        std::any_of(sockets_.begin(), sockets_.end(), [](const auto& e) { return e.second.wanted; });
    if (options_.reconnection && !closed_by_user_ && any_wanted) return schedule_reconnect(now);
    engine_ = engine_state::closed;
}

void manager::schedule_reconnect(duration now) {
    if (attempts_ >= options_.reconnection_attempts) {
        engine_ = engine_state::closed;
        attempts_ = 0;
        backoff_.reset();
        effects_.emplace_back(reconnect_failed{});
        return;
    }
    engine_ = engine_state::waiting_to_reconnect;
    reconnect_at_ = now + backoff_.next();
}

void manager::on_timer(duration now) {
    if (engine_ == engine_state::waiting_to_reconnect && now >= reconnect_at_) {
        ++attempts_;
        effects_.emplace_back(reconnect_attempt{attempts_});
        engine_ = engine_state::opening;
        opened_at_ = now;
        effects_.emplace_back(open_transport{});
    } else if (engine_ == engine_state::opening && now >= opened_at_ + options_.timeout) {
        effects_.emplace_back(transport_error{"timeout"});
        effects_.emplace_back(close_transport{});
        transport_lost(now, sio::disconnect_reason::transport_error);
    } else if (engine_ == engine_state::open && handshake_ &&
               now >= last_heard_ + duration(handshake_->ping_interval + handshake_->ping_timeout)) {
        // The server pings every pingInterval: this much silence means the connection is gone.
        effects_.emplace_back(close_transport{});
        transport_lost(now, sio::disconnect_reason::ping_timeout);
    }

    for (auto& [nsp, s] : sockets_) {
        s.acks.expire(now, [&, &nsp = nsp, &s = s](std::uint64_t id, socket::awaiting) {
            // A buffered emit whose ack timed out is not sent later (as socket.io-client).
            std::erase_if(s.buffer, [id](const buffered& b) { return b.ack_id == id; });
            effects_.emplace_back(ack_timed_out{nsp, id});
        });
    }
}

std::optional<duration> manager::next_deadline() const {
    std::optional<duration> next;
    auto consider = [&next](duration d) {
        if (!next || d < *next) next = d;
    };
    if (engine_ == engine_state::waiting_to_reconnect) consider(reconnect_at_);
    if (engine_ == engine_state::opening) consider(opened_at_ + options_.timeout);
    if (engine_ == engine_state::open && handshake_)
        consider(last_heard_ + duration(handshake_->ping_interval + handshake_->ping_timeout));
    for (const auto& [nsp, s] : sockets_)
        if (const auto deadline = s.acks.next_deadline()) consider(*deadline);
    return next;
}

} // namespace switchboard::client
