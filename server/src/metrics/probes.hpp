#pragma once
// /metrics, /healthz and /readyz (private to server/): what the HTTP layer serves, the server fills in.

#include <functional>
#include <string>
#include <string_view>

namespace switchboard::server {

struct probe_handlers {
    std::function<std::string()> metrics; ///< a whole scrape, in the Prometheus text format
    std::function<std::string()> unready; ///< why the server is not ready; empty: it is

    /// Whether `path` (a request target without its query) is one of them.
    static bool serves(std::string_view path) noexcept {
        return path == "/metrics" || path == "/healthz" || path == "/readyz";
    }
};

} // namespace switchboard::server
