#pragma once
/// @file
/// Immutable shared byte buffers: what an encoder hands to the transports.

#include <memory>
#include <string>
#include <string_view>

namespace switchboard {

/// Encoded bytes that never change once made, so one encoding can be queued on many sessions
/// (a broadcast is encoded once and every recipient's queue holds the same buffer).
using shared_bytes = std::shared_ptr<const std::string>;

/// Wraps `bytes` (moved, not copied) as shared immutable bytes.
inline shared_bytes make_shared_bytes(std::string bytes) {
    return std::make_shared<const std::string>(std::move(bytes));
}

/// Copies `bytes` into new shared immutable bytes.
inline shared_bytes copy_shared_bytes(std::string_view bytes) { return std::make_shared<const std::string>(bytes); }

} // namespace switchboard
