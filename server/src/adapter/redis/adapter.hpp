#pragma once
// The Redis cluster adapter (private to server/; io::server uses it when the configuration names a
// Redis server, --redis URL).

#include "address.hpp"

#include <switchboard/io/adapter.hpp>

#include <chrono>
#include <string>

namespace switchboard::server::redis {

/// An adapter factory whose namespaces join the Redis cluster at `at` with channel prefix `key`
/// (`socket.io` for the Node adapter's default): the classic wire (createAdapter) or the sharded one
/// (createShardedAdapter, Redis 7). A cluster query waits at most `requests_timeout` for the other
/// nodes. The factory owns the cluster's connections.
io::adapter_factory make_adapter_factory(const address& at, std::string key, std::chrono::milliseconds requests_timeout,
                                         bool sharded = false);

} // namespace switchboard::server::redis
