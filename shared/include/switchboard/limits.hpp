#pragma once
/// @file
/// Decoder limits. Every decoder refuses input beyond these with an error value, before doing work
/// proportional to it.

#include <cstddef>

namespace switchboard {

struct codec_limits {
    /// Largest accepted Engine.IO packet or polling payload, in bytes (the handshake's maxPayload).
    std::size_t max_payload = 1'000'000;
    /// Most binary attachments one Socket.IO packet may announce (socket.io-parser's default is 10).
    std::size_t max_attachments = 10;
    /// Deepest JSON nesting accepted in a Socket.IO payload.
    std::size_t max_json_depth = 32;
};

} // namespace switchboard
