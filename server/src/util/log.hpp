#pragma once
// Logging inside the server library. SB_LOG(warn, "fmt {}", args...) checks the level before it
// evaluates or formats anything, so a log call whose level is off costs one branch on a hot path.
#include <spdlog/spdlog.h>

#define SB_LOG(lvl, ...)                                                                                               \
    do {                                                                                                               \
        if (::spdlog::should_log(::spdlog::level::lvl)) ::spdlog::log(::spdlog::level::lvl, __VA_ARGS__);              \
    } while (false)

namespace switchboard::server {
/// What an exception says, for a log line (anything thrown, not only std::exception).
inline const char* describe_current_exception() noexcept {
    try {
        throw;
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "an exception not derived from std::exception";
    }
}
} // namespace switchboard::server
