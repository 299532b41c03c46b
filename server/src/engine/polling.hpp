#pragma once
// The HTTP long-polling transport (private to server/): the long-poll GET a session holds until it has
// something to say. Requests arrive through the HTTP connection (http/connection.cpp); what to answer
// is eio::server_session's decision.

#include "../http/responses.hpp"

#include <memory>
#include <string>

namespace switchboard::server {

class polling_transport {
public:
    /// Holds a long-poll GET (the session answers it later).
    void hold(responder r) { held_ = std::make_unique<responder>(std::move(r)); }
    bool holding() const noexcept { return held_ != nullptr; }
    /// Answers the held GET with a payload.
    void answer(std::string payload) {
        if (!held_) return;
        const auto r = std::move(held_);
        (*r)(payload_response(std::move(payload), 11));
    }
    /// Forgets the held GET (its connection is gone).
    void drop() noexcept { held_.reset(); }

private:
    std::unique_ptr<responder> held_; // apart: a session over WebSocket, most of them, pays a pointer
};

} // namespace switchboard::server
