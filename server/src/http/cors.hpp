#pragma once
// CORS for the Engine.IO endpoint's polling requests (private to server/).

#include "../util/net.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace switchboard::server {

/// Adds the CORS headers of a response to a request from `origin`, when `allowed` names that origin
/// (or "*"). Credentials are allowed, so the origin is named, never "*".
template <class Fields>
void add_cors(Fields& res, std::string_view origin, const std::vector<std::string>& allowed) {
    if (origin.empty()) return;
    bool ok = false;
    for (const auto& o : allowed) ok = ok || o == "*" || o == origin;
    if (!ok) return;
    res.set(http::field::access_control_allow_origin, origin);
    res.set(http::field::access_control_allow_credentials, "true");
    res.set(http::field::vary, "Origin");
}

} // namespace switchboard::server
