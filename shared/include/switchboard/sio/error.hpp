#pragma once
/// @file
/// Socket.IO decoding and encoding errors, mirroring what socket.io-parser refuses.

#include <system_error>

namespace switchboard::sio {

enum class errc {
    empty_packet = 1,         ///< an empty message
    unknown_packet_type,      ///< the first character is not 0-6
    invalid_attachment_count, ///< a binary packet without `N-` (N >= 1) after the type
    too_many_attachments,     ///< more attachments announced than the limit allows
    invalid_namespace,        ///< a namespace not of the form `/name` (no `,`)
    invalid_ack_id,           ///< an ack id too large for a JavaScript integer
    invalid_json,             ///< the payload is not JSON
    json_too_deep,            ///< the payload nests deeper than the limit
    invalid_payload,          ///< the payload has the wrong shape for the packet type
    reserved_event_name,      ///< an event named like a reserved one (`connect`, `disconnect`, ...)
    unexpected_binary,        ///< a binary message while no binary packet awaits attachments
    unexpected_text,          ///< a text message while a binary packet still awaits attachments
    invalid_placeholder,      ///< a placeholder whose `num` names no attachment
    packet_too_large,         ///< a packet or attachment over the payload limit
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

} // namespace switchboard::sio

template <>
struct std::is_error_code_enum<switchboard::sio::errc> : std::true_type {};
