// A session's polling entry points: the held GET, the client leaving it, POSTs of payloads.
#include "session.hpp"

namespace switchboard::server {

void engine_session::open_polling(responder r) {
    on_strand([self = shared_from_this(), r = std::move(r)]() mutable {
        self->start();
        self->on_poll_request(std::move(r));
    });
}

void engine_session::on_poll_request(responder r) {
    on_strand([self = shared_from_this(), r = std::move(r)]() mutable {
        self->borrow_lists();
        if (self->machine_.on_poll(now()) == eio::server_session::poll_decision::refuse) {
            r(engine_error_response(engine_error::bad_request, 11));
        } else {
            self->polling_.hold(std::move(r));
        }
        self->run_effects();
    });
}

void engine_session::on_poll_aborted() {
    on_strand([self = shared_from_this()] {
        if (!self->polling_.holding()) return; // answered meanwhile
        self->polling_.drop();
        self->machine_.on_poll_aborted(now());
        self->run_effects();
    });
}

void engine_session::on_post_request(std::string body, responder r) {
    on_strand([self = shared_from_this(), body = std::move(body), r = std::move(r)]() mutable {
        self->borrow_lists();
        switch (self->machine_.on_post(now(), body)) {
        case eio::server_session::post_answer::ok: {
            string_response ok{http::status::ok, 11};
            ok.set(http::field::content_type, "text/html");
            ok.body() = "ok";
            ok.prepare_payload();
            r(std::move(ok));
            break;
        }
        case eio::server_session::post_answer::bad_request:
            r(engine_error_response(engine_error::bad_request, 11));
            break;
        case eio::server_session::post_answer::unknown_sid:
            r(engine_error_response(engine_error::unknown_sid, 11));
            break;
        }
        self->run_effects(); // the messages, after the answer
    });
}

} // namespace switchboard::server
