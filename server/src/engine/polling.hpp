#pragma once
// The HTTP long-polling transport (private to server/): the long-poll GET a session holds until it has
// something to say. Requests arrive through the HTTP connection (http/connection.cpp); what to answer
// is eio::server_session's decision.

#include "../http/responses.hpp"

#include <optional>
#include <string>

namespace switchboard::server {

class polling_transport {
public:
    /// Holds a long-poll GET (the session answers it later).
    void hold(responder r) { held_ = std::move(r); }
    bool holding() const noexcept { return held_.has_value(); }
    /// Answers the held GET with a payload.
    void answer(std::string payload) {
        if (!held_) return;
        auto r = std::move(*held_);
        held_.reset();
        r(payload_response(std::move(payload), 11));
    }
    /// Forgets the held GET (its connection is gone).
    void drop() noexcept { held_.reset(); }

private:
    std::optional<responder> held_;
};

} // namespace switchboard::server
