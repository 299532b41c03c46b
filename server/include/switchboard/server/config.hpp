#pragma once
/// @file
/// Server configuration, and the command line / environment parser shared by `switchboard` and the
/// examples. Every flag `--name` can also be given as the environment variable `SWITCHBOARD_NAME`.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace switchboard::server {

struct server_config {
    std::string host = "127.0.0.1";           ///< address to listen on
    std::uint16_t port = 3000;                ///< 0 picks a free port (printed at start)
    std::string path = "/socket.io/";         ///< the Socket.IO endpoint
    std::uint32_t ping_interval_ms = 25000;   ///< Engine.IO pingInterval
    std::uint32_t ping_timeout_ms = 20000;    ///< Engine.IO pingTimeout
    std::uint32_t connect_timeout_ms = 45000; ///< time an Engine.IO session may stay in no namespace
    std::uint64_t max_payload = 1000000;      ///< largest packet / polling payload accepted, bytes
    bool allow_polling = true;                ///< transports offered: HTTP long-polling …
    bool allow_websocket = true;              ///< … and WebSocket
    std::vector<std::string> cors_origins;    ///< origins allowed for polling requests; "*" for any
    std::string static_dir;                   ///< served at `/`; empty: nothing is served
    std::string client_dir;                   ///< the WASM client, served at `/switchboard/`; empty: none
    unsigned threads = 1;                     ///< I/O threads
    std::uint64_t max_queue_bytes = 8u << 20; ///< a session whose unsent data exceeds this is closed
    std::string db_path;                      ///< the application's database (the chat's history)
};

/// What the command line asked for.
enum class cli_action { run, exit_success, exit_failure };

/// Reads flags and `SWITCHBOARD_*` environment variables (flags win) into `config`. Prints `--help`
/// to `out` and errors to `err`. `program` names the binary in the usage line.
cli_action parse_command_line(int argc, const char* const* argv, server_config& config, std::ostream& out,
                              std::ostream& err, const char* program = "switchboard");

} // namespace switchboard::server
