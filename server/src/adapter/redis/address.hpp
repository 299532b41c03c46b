#pragma once
// Where the cluster's Redis is (private to server/; no Asio here: the configuration checks it too).

#include <switchboard/result.hpp>

#include <string>
#include <string_view>

namespace switchboard::server::redis {

/// Where Redis is: `redis://host[:port][/db]` (the db is ignored: pub/sub is global; credentials are
/// refused, AUTH is not supported yet).
struct address {
    std::string host = "127.0.0.1";
    int port = 6379;
};
result<address> parse_url(std::string_view url);

} // namespace switchboard::server::redis
