#include "address.hpp"

#include <charconv>

namespace switchboard::server::redis {

result<address> parse_url(std::string_view url) {
    constexpr std::string_view scheme = "redis://";
    if (url.substr(0, scheme.size()) != scheme) return std::make_error_code(std::errc::invalid_argument);
    url.remove_prefix(scheme.size());
    url = url.substr(0, url.find('/'));          // the database: pub/sub does not use it
    if (url.find('@') != std::string_view::npos) // credentials: AUTH is not supported yet, say so
        return std::make_error_code(std::errc::operation_not_supported);
    address a;
    std::string_view port;
    if (!url.empty() && url.front() == '[') { // [IPv6]:port
        const auto close = url.find(']');
        if (close == std::string_view::npos) return std::make_error_code(std::errc::invalid_argument);
        if (close + 1 < url.size() && url[close + 1] == ':') port = url.substr(close + 2);
        url = url.substr(1, close - 1);
    } else if (const auto colon = url.rfind(':'); colon != std::string_view::npos) {
        port = url.substr(colon + 1);
        url = url.substr(0, colon);
    }
    if (!port.empty()) {
        int p = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (ec != std::errc() || end != port.data() + port.size() || p <= 0 || p > 65535)
            return std::make_error_code(std::errc::invalid_argument);
        a.port = p;
    }
    if (!url.empty()) a.host = std::string(url);
    return a;
}

} // namespace switchboard::server::redis
