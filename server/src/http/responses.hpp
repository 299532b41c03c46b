#pragma once
// HTTP responses the Engine.IO endpoint gives (private to server/): its errors, named here and turned
// into the protocol's numeric codes only when written.

#include "../util/net.hpp"

#include <functional>
#include <string>

namespace switchboard::server {

using string_response = http::response<http::string_body>;
/// Writes an HTTP response on the connection that made the request (any thread).
using responder = std::function<void(string_response)>;

/// Why the Engine.IO endpoint refuses a request (engine.io-protocol, "Errors"). The values are the
/// protocol's codes.
enum class engine_error {
    unknown_transport = 0,
    unknown_sid = 1,
    bad_handshake_method = 2,
    bad_request = 3,
    forbidden = 4,
    unsupported_protocol_version = 5,
};

/// "Transport unknown", "Session ID unknown", … as the reference server writes them.
const char* to_string(engine_error error) noexcept;

/// The response for an Engine.IO error: `{"code":N,"message":"…"}`, status 400 (403 for forbidden).
string_response engine_error_response(engine_error error, unsigned http_version);

/// The answer to a WebSocket upgrade (RFC 6455 4.2.2): 101 with Sec-WebSocket-Accept, or 400 when the
/// request lacks what the upgrade needs, 426 (naming version 13) for another protocol version.
string_response websocket_upgrade_response(const http::request<http::string_body>& req);

struct probe_handlers;
/// /metrics (text format 0.0.4), /healthz (200 while the process serves) or /readyz (200, or 503 with
/// the reason): GET and HEAD; other methods get 405.
string_response probe_response(const probe_handlers& p, std::string_view path,
                               const http::request<http::string_body>& req);

/// A polling payload (a GET's answer), as text.
string_response payload_response(std::string payload, unsigned http_version);

} // namespace switchboard::server
