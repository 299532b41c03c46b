#pragma once
/// @file
/// Base64 (RFC 4648, standard alphabet) as Engine.IO uses it for binary packets in polling payloads.

#include <optional>
#include <string>
#include <string_view>

namespace switchboard {

/// Appends the padded base64 encoding of `bytes` to `out`.
void base64_encode(std::string& out, std::string_view bytes);

/// Decodes base64 with or without trailing `=` padding, as Node's Buffer.from(…, "base64") accepts
/// for well-formed input. Returns nothing for characters outside the alphabet or a bad length.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace switchboard
