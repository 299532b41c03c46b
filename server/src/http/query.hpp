#pragma once
// Request targets: percent-decoding and query parameters (private to server/).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::server {

/// Decodes %XX escapes; returns false for malformed escapes or a decoded NUL.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space = false);

/// The decoded parameters of a request target's query (`/path?a=1&b=2`); malformed ones are skipped.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view target);

/// A request's query parameters, looked up by name.
struct query_view {
    explicit query_view(std::string_view target) : params(parse_query(target)) {}
    std::vector<std::pair<std::string, std::string>> params;
    /// The first value of `key`, or null.
    const std::string* get(std::string_view key) const {
        for (const auto& [k, v] : params)
            if (k == key) return &v;
        return nullptr;
    }
};

/// The path of a request target (what comes before `?`).
inline std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

} // namespace switchboard::server
