#include "url.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace switchboard::client::detail {

result<server_url> parse_server_url(std::string_view text) {
    const auto parsed = boost::urls::parse_uri(text);
    if (!parsed) return std::make_error_code(std::errc::invalid_argument);
    const auto& u = *parsed;
    server_url out;
    const auto scheme = u.scheme();
    if (scheme == "https" || scheme == "wss")
        out.secure = true;
    else if (scheme != "http" && scheme != "ws")
        return std::make_error_code(std::errc::protocol_not_supported);
    if (!u.has_authority() || u.encoded_host().empty()) return std::make_error_code(std::errc::invalid_argument);
    out.host = u.host_type() == boost::urls::host_type::ipv6 ? std::string(u.encoded_host_address())
                                                             : std::string(u.encoded_host());
    out.port = u.has_port() ? std::string(u.port()) : (out.secure ? "443" : "80");
    out.host_header = std::string(u.encoded_host_and_port());
    const auto path = u.path();
    out.nsp = path.empty() ? "/" : std::string(path);
    if (u.has_query()) out.query = std::string(u.encoded_query());
    return out;
}

std::string engine_target(const server_url& url, const std::string& path, std::string_view transport,
                          std::string_view sid, const std::vector<std::pair<std::string, std::string>>& extra) {
    std::string t = path;
    t += "?EIO=4&transport=";
    t += transport;
    if (!sid.empty()) {
        t += "&sid=";
        t += sid;
    }
    if (!url.query.empty()) {
        t += '&';
        t += url.query;
    }
    for (const auto& [name, value] : extra) {
        t += '&';
        t += boost::urls::encode(name, boost::urls::unreserved_chars);
        t += '=';
        t += boost::urls::encode(value, boost::urls::unreserved_chars);
    }
    return t;
}

} // namespace switchboard::client::detail
