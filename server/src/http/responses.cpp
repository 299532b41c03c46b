#include "responses.hpp"

#include "../metrics/probes.hpp"

#include <switchboard/base64.hpp>

#include <fmt/format.h>
#include <openssl/sha.h>

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

string_response probe_response(const probe_handlers& p, std::string_view path,
                               const http::request<http::string_body>& req) {
    string_response res{http::status::ok, req.version()};
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
    } else if (path == "/metrics") {
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = p.metrics();
    } else if (path == "/healthz") {
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "ok\n";
    } else {
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        auto why = p.unready();
        if (why.empty()) {
            res.body() = "ready\n";
        } else {
            res.result(http::status::service_unavailable);
            res.body() = "not ready: " + why + "\n";
        }
    }
    res.prepare_payload();
    if (req.method() == http::verb::head) res.body().clear(); // the length stays that of the GET's body
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

namespace switchboard::server {

string_response websocket_upgrade_response(const http::request<http::string_body>& req) {
    const auto refuse = [&](http::status status, std::string_view why) {
        string_response res{status, req.version()};
        res.set(http::field::content_type, "text/plain");
        if (status == http::status::upgrade_required) res.set(http::field::sec_websocket_version, "13");
        res.body() = std::string(why);
        res.prepare_payload();
        return res;
    };
    if (req[http::field::sec_websocket_version] != "13")
        return refuse(http::status::upgrade_required, "WebSocket version 13 only");
    const auto key = req[http::field::sec_websocket_key];
    const auto nonce = key.size() == 24 ? base64_decode(key) : std::nullopt;
    if (!nonce || nonce->size() != 16)
        return refuse(http::status::bad_request, "a WebSocket upgrade needs a Sec-WebSocket-Key of 16 bytes");
    // Sec-WebSocket-Accept: base64(SHA-1(key + the RFC's GUID)).
    std::string keyed(key);
    keyed += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(keyed.data()), keyed.size(), digest);
    std::string accept;
    base64_encode(accept, std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
    string_response res{http::status::switching_protocols, req.version()};
    res.set(http::field::upgrade, "websocket");
    res.set(http::field::connection, "Upgrade");
    res.set(http::field::sec_websocket_accept, accept);
    return res;
}

} // namespace switchboard::server
