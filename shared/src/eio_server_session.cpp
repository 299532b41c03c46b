#include <switchboard/eio/handshake.hpp>
#include <switchboard/eio/server_session.hpp>

#include <algorithm>
#include <type_traits>

namespace switchboard::eio {

std::string_view to_string(transport_kind kind) noexcept {
    return kind == transport_kind::polling ? "polling" : "websocket";
}

server_session::server_session(std::string sid, transport_kind transport, const server_session_options& options)
    : sid_(std::move(sid)), options_(options), heartbeat_(), transport_(transport) {}

codec_limits server_session::limits() const noexcept {
    codec_limits limits;
    limits.max_payload = options_.max_payload;
    return limits;
}

void server_session::open(duration now) {
    if (opened_) return;
    opened_ = true;
    handshake h;
    h.sid = sid_;
    if (transport_ == transport_kind::polling && options_.allow_upgrades) h.upgrades.emplace_back("websocket");
    h.ping_interval = static_cast<std::uint32_t>(options_.ping_interval.count());
    h.ping_timeout = static_cast<std::uint32_t>(options_.ping_timeout.count());
    h.max_payload = options_.max_payload;
    enqueue(make_text_frame(packet_type::open, encode_handshake(h)));
    heartbeat_.start(now, options_.ping_interval);
}

// --- output ------------------------------------------------------------------------------------------

void server_session::enqueue(frame&& f) {
    queued_bytes_ += f.bytes->size();
    output_.push_back(std::move(f));
}

void server_session::clear_output() {
    output_.clear();
    queued_bytes_ = 0;
}

server_session::send_outcome server_session::send(std::vector<frame> frames, bool droppable) {
    return send_unit(frames, droppable);
}

server_session::send_outcome server_session::send(std::span<const frame> frames, bool droppable) {
    return send_unit(frames, droppable);
}

template <class Frames>
server_session::send_outcome server_session::send_unit(Frames&& frames, bool droppable) {
    send_outcome outcome;
    if (closed_) return outcome;
    if (droppable) {
        const bool writable = transport_ == transport_kind::websocket ? !write_waiting_ && output_.empty()
                                                                      : poll_held_ && probe_ != probe_state::upgrading;
        if (!writable) return outcome;
    }
    for (auto& f : frames) {
        if constexpr (std::is_const_v<std::remove_reference_t<decltype(f)>>)
            enqueue(frame(f));
        else
            enqueue(std::move(f));
    }
    outcome.queued = true;
    outcome.replaced = make_room();
    if (unsent_bytes() > options_.max_queue_bytes) {
        // A consumer this slow would hold unbounded memory: the session ends instead.
        finish(duration{}, close_reason::transport_error,
               "more than " + std::to_string(options_.max_queue_bytes) + " bytes waiting to be sent");
        return outcome;
    }
    if (transport_ == transport_kind::polling) flush_poll();
    return outcome;
}

// Over the bound: the oldest replaceable units still queued go, each whole (its text frame and the
// binary attachments after it). Frames the transport has taken are out of reach.
std::size_t server_session::make_room() {
    std::size_t dropped = 0;
    while (unsent_bytes() > options_.max_queue_bytes) {
        const auto first =
            std::find_if(output_.begin(), output_.end(), [](const frame& f) { return f.replaceable && !f.binary; });
        if (first == output_.end()) break;
        auto last = std::next(first);
        while (last != output_.end() && last->replaceable && last->binary) ++last;
        for (auto it = first; it != last; ++it) queued_bytes_ -= it->bytes->size();
        output_.erase(first, last);
        ++dropped;
    }
    return dropped;
}

std::size_t server_session::send_replaceable(std::vector<frame> frames) {
    if (closed_ || frames.empty()) return 0;
    for (auto& f : frames) {
        f.replaceable = true;
        enqueue(std::move(f));
    }
    const auto dropped = make_room();
    if (unsent_bytes() > options_.max_queue_bytes) {
        finish(duration{}, close_reason::transport_error,
               "more than " + std::to_string(options_.max_queue_bytes) + " bytes waiting to be sent");
        return dropped;
    }
    if (transport_ == transport_kind::polling) flush_poll();
    return dropped;
}

void server_session::output_taken() noexcept {
    in_flight_bytes_ += queued_bytes_;
    queued_bytes_ = 0;
    output_.clear();
}

void server_session::on_write_waiting(duration now, bool progressed) {
    if (progressed || !write_waiting_) stalled_since_ = now;
    write_waiting_ = true;
}

void server_session::on_write_done() {
    write_waiting_ = false;
    in_flight_bytes_ = 0;
}

// --- polling -----------------------------------------------------------------------------------------

void server_session::answer_held_poll(std::string payload) {
    poll_held_ = false;
    effects_.emplace_back(answer_poll{std::move(payload)});
}

void server_session::flush_poll() {
    if (!poll_held_) return;
    if (output_.empty()) {
        if (probe_ != probe_state::upgrading) return; // keep holding the long-poll
        // Release the client's long-poll so that it can finish the upgrade.
        enqueue(make_text_frame(packet_type::noop));
    }
    std::string payload;
    payload.reserve(queued_bytes_ + output_.size() * 2);
    for (const auto& f : output_) append_to_payload(payload, f);
    clear_output();
    answer_held_poll(std::move(payload));
}

server_session::poll_decision server_session::on_poll(duration now) {
    if (closed_) {
        poll_held_ = true;
        if (close_deferred_ && !output_.empty()) {
            flush_poll(); // the last packets and the close packet
            release();
        } else {
            answer_held_poll("1");
        }
        return poll_decision::hold;
    }
    if (transport_ != transport_kind::polling) return poll_decision::refuse; // as the reference: 400, session stays
    if (poll_held_) {
        // Two long-polls at once break the protocol: the new one is refused and the session ends.
        finish(now, close_reason::transport_error, "a second long-poll GET while one is held");
        return poll_decision::refuse;
    }
    poll_held_ = true;
    flush_poll();
    return poll_decision::hold;
}

void server_session::on_poll_aborted(duration now) {
    if (!poll_held_) return; // answered meanwhile
    poll_held_ = false;
    finish(now, close_reason::transport_close);
}

server_session::post_answer server_session::on_post(duration now, std::string_view body) {
    if (closed_) return post_answer::unknown_sid;
    if (transport_ != transport_kind::polling) return post_answer::bad_request;
    auto decoded = decode_payload(body, limits());
    for (auto& p : decoded.packets) {
        if (closed_) break;
        on_packet(now, std::move(p));
    }
    if (decoded.error) {
        finish(now, close_reason::parse_error, "undecodable polling payload (" + decoded.error.message() + ")");
        return post_answer::bad_request;
    }
    return post_answer::ok;
}

// --- WebSocket ---------------------------------------------------------------------------------------

void server_session::on_text(duration now, std::string_view text) {
    if (closed_) return;
    auto p = decode_text(text, limits());
    if (!p) {
        finish(now, close_reason::parse_error, "undecodable Engine.IO packet (" + p.error().message() + ")");
        return;
    }
    on_packet(now, std::move(*p));
}

void server_session::on_binary(duration, shared_bytes bytes) {
    if (closed_) return;
    effects_.emplace_back(deliver_binary{std::move(bytes)});
}

void server_session::on_transport_closed(duration now, close_reason reason, std::string cause) {
    write_waiting_ = false;
    finish(now, reason, std::move(cause));
}

void server_session::on_packet(duration now, packet&& p) {
    switch (p.type) {
    case packet_type::message:
        if (p.binary) {
            effects_.emplace_back(deliver_binary{make_shared_bytes(std::move(p.data))});
        } else {
            effects_.emplace_back(deliver_text{std::move(p.data)});
        }
        return;
    case packet_type::pong: heartbeat_.on_pong(now, options_.ping_interval); return;
    case packet_type::close: finish(now, close_reason::transport_close); return;
    case packet_type::ping:
        // In v4 only the server pings (the client's 2probe goes to the probe, not here).
        finish(now, close_reason::transport_error, "a ping from the client (only the server pings in v4)");
        return;
    case packet_type::open:
    case packet_type::upgrade:
    case packet_type::noop: return; // nothing to do, as the reference server
    }
}

// --- the upgrade -------------------------------------------------------------------------------------

bool server_session::on_probe(duration now) {
    if (closed_ || !opened_ || probe_ != probe_state::none || transport_ != transport_kind::polling ||
        !options_.allow_upgrades)
        return false;
    probe_ = probe_state::probing;
    polling_deadline_ = now + options_.upgrade_timeout;
    return true;
}

void server_session::on_probe_text(duration, std::string_view text) {
    if (probe_ == probe_state::none) return; // a probe already let go
    auto p = decode_text(text, limits());
    if (p && p->type == packet_type::ping && p->data == "probe" && probe_ == probe_state::probing) {
        probe_ = probe_state::upgrading;
        effects_.emplace_back(probe_send{make_text_frame(packet_type::pong, "probe")});
        flush_poll(); // release the held long-poll
    } else if (p && p->type == packet_type::upgrade && probe_ == probe_state::upgrading) {
        probe_ = probe_state::none;
        transport_ = transport_kind::websocket;
        // The client no longer polls: end the long-poll it may have left open.
        if (poll_held_) answer_held_poll("6");
        effects_.emplace_back(upgraded{});
    } else {
        drop_probe(); // anything else breaks the upgrade; the session goes on polling
    }
}

void server_session::on_probe_binary(duration) {
    if (probe_ != probe_state::none) drop_probe();
}

void server_session::on_probe_closed(duration) {
    if (probe_ != probe_state::none) drop_probe();
}

void server_session::drop_probe() {
    probe_ = probe_state::none;
    effects_.emplace_back(probe_drop{});
}

// --- time and the close ------------------------------------------------------------------------------

void server_session::on_timer(duration now) {
    if (released_ || !opened_) return;
    if (closed_) {
        if (close_deferred_ && now >= polling_deadline_) release();
        return;
    }
    if (write_waiting_ && now - stalled_since_ >= options_.write_timeout) {
        // The peer stopped reading: what waits for it would pin memory and a descriptor forever.
        finish(now, close_reason::transport_error,
               "write timeout: the peer took no data for " + std::to_string(options_.write_timeout.count()) + " ms");
        return;
    }
    if (probe_ != probe_state::none && now >= polling_deadline_) drop_probe();
    switch (heartbeat_.on_timer(now, options_.ping_timeout)) {
    case server_heartbeat::action::send_ping:
        enqueue(make_text_frame(packet_type::ping));
        if (transport_ == transport_kind::polling) flush_poll();
        return;
    case server_heartbeat::action::timed_out: finish(now, close_reason::ping_timeout); return;
    case server_heartbeat::action::none: return;
    }
}

std::optional<server_session::duration> server_session::next_deadline() const noexcept {
    if (released_ || !opened_) return std::nullopt;
    if (closed_) return close_deferred_ ? std::optional(polling_deadline_) : std::nullopt;
    auto at = heartbeat_.next_deadline();
    if (probe_ != probe_state::none) at = std::min(at, polling_deadline_);
    if (write_waiting_) at = std::min(at, stalled_since_ + options_.write_timeout);
    return at;
}

void server_session::close(duration now) { finish(now, close_reason::forced_close); }

void server_session::release() {
    if (released_) return;
    released_ = true;
    close_deferred_ = false;
    effects_.emplace_back(session_released{});
}

void server_session::finish(duration now, close_reason reason, std::string cause) {
    if (closed_) return;
    closed_ = true;
    if (probe_ != probe_state::none) drop_probe();
    const bool graceful = reason == close_reason::forced_close;
    if (transport_ == transport_kind::polling) {
        if (poll_held_) {
            // Deliver what is queued, then the close packet; when the client itself closed, just end
            // its long-poll with a noop, as the reference server does.
            if (!graceful) clear_output();
            enqueue(make_text_frame(reason == close_reason::transport_close ? packet_type::noop : packet_type::close));
            flush_poll();
            release();
        } else if (graceful) {
            // No long-poll to answer now: the client's next one gets what is queued and the close packet;
            // the session stays findable for that long, bounded by a heartbeat period.
            enqueue(make_text_frame(packet_type::close));
            close_deferred_ = true;
            polling_deadline_ = now + options_.ping_interval + options_.ping_timeout;
        } else {
            clear_output();
            release();
        }
    } else {
        if (graceful) {
            enqueue(make_text_frame(packet_type::close));
        } else {
            clear_output(); // what is not written yet never will be
        }
        effects_.emplace_back(close_transport{graceful});
        release();
    }
    effects_.emplace_back(session_closed{reason, std::move(cause)});
}

} // namespace switchboard::eio
