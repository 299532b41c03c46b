#pragma once
/// @file
/// The process's log: spdlog's default logger, writing to stderr, one line per event, as text or JSON.
/// A server configures it from its server_config (`--log-level`, `--log-format`); an application that
/// wants to log before that, or without a server, calls configure_logging() itself.

#include <switchboard/server/config.hpp>

namespace switchboard::server {

/// Replaces spdlog's default logger with Switchboard's: stderr, `level` and above, `format`. Lines
/// never span lines: control characters in messages are escaped and invalid UTF-8 is replaced, so a
/// client cannot forge log lines with what it sends.
void configure_logging(log_level level, log_format format);

} // namespace switchboard::server
