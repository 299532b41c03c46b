// The HTTP long-polling transport of a session: the held GET answered with what is queued, POSTs of
// payloads decoded into packets.
#include "session.hpp"

#include <fmt/format.h>

namespace switchboard::server {

void engine_session::open_polling(responder r) {
    on_strand([self = shared_from_this(), r = std::move(r)]() mutable {
        self->start();
        self->poll(std::move(r));
    });
}

void engine_session::flush_polling() {
    if (!pending_get_) return;
    if (queue_.empty()) {
        if (!upgrading_) return; // keep holding the long-poll
        // Release the client's long-poll so that it can finish the upgrade.
        queue_.push_back({eio::make_text_frame(eio::packet_type::noop)});
    }
    std::string payload;
    payload.reserve(queued_bytes_ + queue_.size() * 2);
    for (const auto& f : queue_) eio::append_to_payload(payload, f.frame);
    queue_.clear();
    queued_bytes_ = 0;
    auto r = std::move(*pending_get_);
    pending_get_.reset();
    r(payload_response(std::move(payload), 11));
}

void engine_session::poll(responder r) {
    on_strand([self = shared_from_this(), r = std::move(r)]() mutable {
        if (self->closed_) {
            if (self->deferred_close_ && !self->queue_.empty()) {
                self->pending_get_ = std::move(r);
                self->flush_polling(); // the last packets and the close packet
                self->endpoint_.remove(self->sid_);
                return;
            }
            r(payload_response("1", 11));
            return;
        }
        if (self->pending_get_) {
            // Two long-polls at once break the protocol: refuse the new one and end the session.
            r(engine_error_response(engine_error::bad_request, 11));
            self->finish(eio::close_reason::transport_error, "a second long-poll GET while one is held");
            return;
        }
        self->pending_get_ = std::move(r);
        self->flush_polling();
    });
}

void engine_session::poll_aborted() {
    on_strand([self = shared_from_this()] {
        if (!self->pending_get_) return; // answered meanwhile
        self->pending_get_.reset();
        self->finish(eio::close_reason::transport_close);
    });
}

void engine_session::post(std::string body, responder r) {
    on_strand([self = shared_from_this(), body = std::move(body), r = std::move(r)]() mutable {
        if (self->closed_) {
            r(engine_error_response(engine_error::unknown_sid, 11));
            return;
        }
        codec_limits limits;
        limits.max_payload = self->endpoint_.config().max_payload;
        auto decoded = eio::decode_payload(body, limits);
        string_response ok{http::status::ok, 11};
        ok.set(http::field::content_type, "text/html");
        ok.body() = "ok";
        ok.prepare_payload();
        r(decoded.error ? engine_error_response(engine_error::bad_request, 11) : std::move(ok));
        for (auto& packet : decoded.packets) {
            if (self->closed_) return;
            self->on_packet(std::move(packet));
        }
        if (decoded.error)
            self->finish(eio::close_reason::parse_error,
                         fmt::format("undecodable polling payload ({})", decoded.error.message()));
    });
}

} // namespace switchboard::server
