// The log's line format: text or JSON, the message made safe to put on one line.
#include <switchboard/server/log.hpp>

#include "log.hpp"

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <iterator>

namespace switchboard::server {

namespace {

// Length of the valid UTF-8 sequence at the start of `s`, or 0.
std::size_t utf8_sequence(std::string_view s) noexcept {
    const auto b0 = static_cast<unsigned char>(s[0]);
    std::size_t n;
    std::uint32_t cp;
    if (b0 < 0x80) return 1;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        n = 2;
        cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        cp = b0 & 0x0F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        cp = b0 & 0x07;
    } else {
        return 0;
    }
    if (s.size() < n) return 0;
    for (std::size_t i = 1; i < n; ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if ((b & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

// Appends `text` with control characters escaped (\n, \", \u001b, ...) and invalid UTF-8 replaced
// by U+FFFD: what a client sent can end up in a message, and must not start a line of its own.
void append_escaped(spdlog::memory_buf_t& out, std::string_view text, bool json) {
    while (!text.empty()) {
        const auto c = static_cast<unsigned char>(text[0]);
        const std::size_t n = utf8_sequence(text);
        if (n == 0) {
            out.append(std::string_view("\xEF\xBF\xBD"));
            text.remove_prefix(1);
            continue;
        }
        if (n == 1 && (c < 0x20 || c == 0x7F || (json && (c == '"' || c == '\\')))) {
            switch (c) {
            case '\n': out.append(std::string_view("\\n")); break;
            case '\r': out.append(std::string_view("\\r")); break;
            case '\t': out.append(std::string_view("\\t")); break;
            case '"': out.append(std::string_view("\\\"")); break;
            case '\\': out.append(std::string_view("\\\\")); break;
            default: fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
            }
        } else {
            out.append(text.substr(0, n));
        }
        text.remove_prefix(n);
    }
}

class line_formatter final : public spdlog::formatter {
public:
    explicit line_formatter(log_format format) : format_(format) {}

    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const auto since_epoch = msg.time.time_since_epoch();
        const auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
        const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
        const std::chrono::sys_seconds at{seconds};
        const auto level = spdlog::level::to_string_view(msg.level);
        const std::string_view text(msg.payload.data(), msg.payload.size());
        auto out = std::back_inserter(dest);
        if (format_ == log_format::json) {
            fmt::format_to(out, R"({{"time":"{:%Y-%m-%dT%H:%M:%S}.{:03}Z","level":"{}","msg":")", at, millis,
                           std::string_view(level.data(), level.size()));
            append_escaped(dest, text, true);
            dest.append(std::string_view("\"}\n"));
        } else {
            fmt::format_to(out, "{:%Y-%m-%dT%H:%M:%S}.{:03}Z {} ", at, millis,
                           std::string_view(level.data(), level.size()));
            append_escaped(dest, text, false);
            dest.push_back('\n');
        }
    }

    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<line_formatter>(format_); }

private:
    log_format format_;
};

spdlog::level::level_enum to_spdlog(log_level level) {
    switch (level) {
    case log_level::off: return spdlog::level::off;
    case log_level::error: return spdlog::level::err;
    case log_level::warn: return spdlog::level::warn;
    case log_level::info: return spdlog::level::info;
    case log_level::debug: return spdlog::level::debug;
    case log_level::trace: return spdlog::level::trace;
    }
    return spdlog::level::info;
}

} // namespace

void configure_logging(log_level level, log_format format) {
    auto logger = std::make_shared<spdlog::logger>("switchboard", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_formatter(std::make_unique<line_formatter>(format));
    logger->set_level(to_spdlog(level));
    logger->flush_on(spdlog::level::warn); // what explains a failure is out before the failure's effects
    spdlog::set_default_logger(std::move(logger));
}

} // namespace switchboard::server
