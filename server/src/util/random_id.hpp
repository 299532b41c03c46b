#pragma once
// Random identifiers for Engine.IO sessions and Socket.IO sockets.

#include <cstddef>
#include <string>

namespace switchboard::server {

/// 120 random bits from the OS in base64url: 20 characters, like the reference server's ids. Socket
/// ids must be 20 characters long: the Redis cluster's sharded adapter (Node's too) tells a socket's
/// own room from other rooms by that length.
std::string random_id();

/// 90 random bits from the OS in base64url: 15 characters, for Engine.IO session ids, which never
/// leave this server. 15 fit `std::string`'s inline buffer: a session's id costs no allocation. (The
/// reference server's ids carry 96 random bits: 12 random bytes and a counter, in 20 characters.)
std::string random_session_id();

/// `length` random base64url characters from a fast generator (not the OS): node ids and request ids
/// of the Redis cluster, which must differ from one another, not be unguessable.
std::string random_token(std::size_t length);

} // namespace switchboard::server
