#pragma once
// Random identifiers for Engine.IO sessions and Socket.IO sockets.

#include <string>

namespace switchboard::server {

/// 15 random bytes (120 bits) from the OS in base64url: 20 characters, like the reference server's ids.
std::string random_id();

} // namespace switchboard::server
