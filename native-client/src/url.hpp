#pragma once
// The server URL a connection is given, as socket.io-client reads it: the scheme says plain or TLS,
// the path is the default namespace, the query goes with every Engine.IO request.
#include <switchboard/result.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::client::detail {

struct server_url {
    bool secure = false;     ///< https / wss
    std::string host;        ///< for the resolver: an IPv6 literal without brackets
    std::string port;        ///< "80" / "443" when the URL names none
    std::string host_header; ///< the Host header: host[:port] as in the URL
    std::string nsp = "/";   ///< the URL's path
    std::string query;       ///< the URL's query, without '?', percent-encoded as given
};

/// http://, https://, ws://, wss:// (socket.io-client also takes those); anything else is refused.
result<server_url> parse_server_url(std::string_view url);

/// `path?EIO=4&transport=T[&sid=S][&the URL's query][&extra]` (path as in options, e.g. "/socket.io/").
std::string engine_target(const server_url& url, const std::string& path, std::string_view transport,
                          std::string_view sid, const std::vector<std::pair<std::string, std::string>>& extra);

} // namespace switchboard::client::detail
