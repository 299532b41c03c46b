#pragma once
// permessage-deflate's compression (RFC 7692) with zlib (private to server/). Both directions run
// without context takeover (negotiated so): every message is compressed and inflated on its own, with
// one zlib stream per thread, reset between messages. So a broadcast is compressed once for all its
// recipients, and a connection holds no zlib state at all (a per-connection deflate context costs
// hundreds of KB in other servers).

#include <switchboard/bytes.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace switchboard::server::deflate {

/// `message` compressed: raw DEFLATE, the final 00 00 FF FF removed (RFC 7692 7.2.1).
shared_bytes compress(std::string_view message);

/// A compressed message's bytes, inflated into `out`; false when they are not valid DEFLATE data or
/// inflate to more than `max_size` bytes (decompression stops there: a small bomb costs little).
bool inflate(std::string_view compressed, std::size_t max_size, std::string& out, bool& too_big);

/// The permessage-deflate offer of a Sec-WebSocket-Extensions header we accept: any offer without
/// server_max_window_bits (we compress with the full window) — browsers' and ws's offers. The answer
/// is then kAnswer.
bool acceptable_offer(std::string_view extensions) noexcept;
inline constexpr std::string_view answer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

} // namespace switchboard::server::deflate
