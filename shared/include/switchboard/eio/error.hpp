#pragma once
/// @file
/// Engine.IO decoding errors. A session that receives any of these closes with the reason
/// "parse error" (or refuses the HTTP request for the size errors).

#include <system_error>

namespace switchboard::eio {

enum class errc {
    empty_packet = 1,    ///< a text packet with no type digit
    unknown_packet_type, ///< the first character is not 0-6 nor `b`
    invalid_base64,      ///< a `b` packet whose data is not base64
    payload_too_large,   ///< a packet or polling payload over the maxPayload limit
    invalid_handshake,   ///< an open packet whose JSON lacks the handshake fields
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

} // namespace switchboard::eio

template <>
struct std::is_error_code_enum<switchboard::eio::errc> : std::true_type {};
