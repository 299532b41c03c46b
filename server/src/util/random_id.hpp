#pragma once
// Random identifiers for Engine.IO sessions and Socket.IO sockets.

#include <cstddef>
#include <string>

namespace switchboard::server {

/// 15 random bytes (120 bits) from the OS in base64url: 20 characters, like the reference server's ids.
std::string random_id();

/// `length` random base64url characters from a fast generator (not the OS): node ids and request ids
/// of the Redis cluster, which must differ from one another, not be unguessable.
std::string random_token(std::size_t length);

} // namespace switchboard::server
