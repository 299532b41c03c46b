#pragma once
// CORS for the Engine.IO endpoint's polling requests, and the origin check of its WebSocket upgrades
// (private to server/).

#include "../util/net.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace switchboard::server {

/// Adds the CORS headers of a response to a request from `origin`: an origin `allowed` names is named
/// back, with credentials allowed; any other, when `allowed` holds "*", gets a literal "*" without
/// credentials (as the `cors` package answers); else nothing.
template <class Fields>
void add_cors(Fields& res, std::string_view origin, const std::vector<std::string>& allowed) {
    if (origin.empty()) return;
    bool listed = false, any = false;
    for (const auto& o : allowed) {
        listed = listed || o == origin;
        any = any || o == "*";
    }
    if (listed) {
        res.set(http::field::access_control_allow_origin, origin);
        res.set(http::field::access_control_allow_credentials, "true");
        res.set(http::field::vary, "Origin");
    } else if (any) {
        res.set(http::field::access_control_allow_origin, "*");
    }
}

/// Whether a WebSocket upgrade from `origin` may proceed (browsers send the page's origin; they do not
/// apply CORS to WebSocket, so the server checks, against cross-site WebSocket hijacking): no Origin
/// (not a browser), the server's own origin (`host`, the Host header), an origin `allowed` names, or
/// "*" in `allowed`.
inline bool origin_allowed(std::string_view origin, std::string_view host, const std::vector<std::string>& allowed) {
    if (origin.empty()) return true;
    for (const auto& o : allowed)
        if (o == "*" || o == origin) return true;
    const auto scheme_end = origin.find("://");
    return scheme_end != std::string_view::npos && !host.empty() && origin.substr(scheme_end + 3) == host;
}

} // namespace switchboard::server
