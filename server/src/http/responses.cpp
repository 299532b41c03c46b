#include "responses.hpp"

#include <fmt/format.h>

namespace switchboard::server {

const char* to_string(engine_error error) noexcept {
    switch (error) {
    case engine_error::unknown_transport: return "Transport unknown";
    case engine_error::unknown_sid: return "Session ID unknown";
    case engine_error::bad_handshake_method: return "Bad handshake method";
    case engine_error::bad_request: return "Bad request";
    case engine_error::forbidden: return "Forbidden";
    case engine_error::unsupported_protocol_version: return "Unsupported protocol version";
    }
    return "Bad request";
}

string_response engine_error_response(engine_error error, unsigned http_version) {
    string_response res{error == engine_error::forbidden ? http::status::forbidden : http::status::bad_request,
                        http_version};
    res.set(http::field::content_type, "application/json");
    res.body() = fmt::format(R"({{"code":{},"message":"{}"}})", static_cast<int>(error), to_string(error));
    res.prepare_payload();
    return res;
}

string_response payload_response(std::string payload, unsigned http_version) {
    string_response res{http::status::ok, http_version};
    res.set(http::field::content_type, "text/plain; charset=UTF-8");
    res.body() = std::move(payload);
    res.prepare_payload();
    return res;
}

} // namespace switchboard::server
