#pragma once
/// @file
/// The Engine.IO v4 handshake: the JSON data of the open packet (engine.io-protocol, "Handshake").

#include <switchboard/eio/error.hpp>
#include <switchboard/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::eio {

struct handshake {
    std::string sid;                     ///< the session id
    std::vector<std::string> upgrades;   ///< transports the client may upgrade to, e.g. "websocket"
    std::uint32_t ping_interval = 25000; ///< ms between the server's pings
    std::uint32_t ping_timeout = 20000;  ///< ms the server waits for a pong
    std::uint64_t max_payload = 1000000; ///< bytes the server accepts in one packet or payload

    friend bool operator==(const handshake&, const handshake&) = default;
};

/// The open packet's JSON, fields in the reference server's order:
/// `{"sid":…,"upgrades":[…],"pingInterval":…,"pingTimeout":…,"maxPayload":…}`.
std::string encode_handshake(const handshake& h);

/// Reads the open packet's JSON. `sid`, `pingInterval` and `pingTimeout` are required; `upgrades`
/// defaults to none and `maxPayload` to 1000000.
result<handshake> decode_handshake(std::string_view json);

} // namespace switchboard::eio
