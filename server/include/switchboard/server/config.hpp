#pragma once
/// @file
/// Server configuration, and the command line / environment parser shared by `switchboard` and the
/// examples. Every flag `--name` can also be given as the environment variable `SWITCHBOARD_NAME`.

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::server {

/// How much the server logs (to stderr): each level includes those before it.
enum class log_level { off, error, warn, info, debug, trace };
/// Log lines as text ("2026-12-02T17:23:42.123Z warn message") or as one JSON object per line.
enum class log_format { text, json };

struct server_config {
    std::string host = "127.0.0.1";               ///< address to listen on
    std::uint16_t port = 3000;                    ///< 0 picks a free port (printed at start)
    std::string path = "/socket.io/";             ///< the Socket.IO endpoint
    std::uint32_t ping_interval_ms = 25000;       ///< Engine.IO pingInterval
    std::uint32_t ping_timeout_ms = 20000;        ///< Engine.IO pingTimeout
    std::uint32_t connect_timeout_ms = 45000;     ///< time an Engine.IO session may stay in no namespace
    std::uint64_t max_payload = 1000000;          ///< largest packet / polling payload accepted, bytes
    bool allow_polling = true;                    ///< transports offered: HTTP long-polling …
    bool allow_websocket = true;                  ///< … and WebSocket
    std::vector<std::string> cors_origins;        ///< origins allowed for polling requests; "*" for any
    std::string static_dir;                       ///< served at `/`; empty: nothing is served
    std::string client_dir;                       ///< the WASM client, served at `/switchboard/`; empty: none
    unsigned threads = 1;                         ///< I/O threads
    std::uint64_t max_queue_bytes = 8u << 20;     ///< a session whose unsent data exceeds this is closed …
    bool refuse_when_full = false;                ///< … or, set, the emit that would exceed it is refused
    std::uint64_t high_water_bytes = 1u << 20;    ///< emits report a queue past this; drain at half (0: off)
    std::uint32_t max_attachments = 10;           ///< binary attachments one Socket.IO packet may announce
    std::uint32_t write_timeout_ms = 30000;       ///< a peer that takes no bytes this long while data waits is closed
    std::uint32_t request_timeout_ms = 30000;     ///< an HTTP request (headers and body) must arrive within this
    std::uint32_t max_connections = 100000;       ///< open TCP connections in all (0: no limit)
    std::uint32_t max_connections_per_ip = 25000; ///< open TCP connections from one address (0: no limit)
    std::uint32_t handshakes_per_ip = 0;          ///< new Engine.IO sessions per second from one address (0: no limit)
    std::uint32_t max_namespaces = 100;           ///< namespaces one connection may join (0: no limit)
    std::uint32_t events_per_second = 0;          ///< events one socket may send (burst 5x; 0: no limit)
    std::uint32_t bytes_per_second = 0;           ///< bytes of events one socket may send (burst 5x; 0: no limit)
    std::uint32_t max_rooms_per_socket = 1000;    ///< rooms socket.join() lets one socket be in (0: no limit)
    bool trust_proxy = false;                     ///< a client's address is the last of X-Forwarded-For
    log_level log = log_level::info;              ///< what is logged
    log_format log_style = log_format::text;      ///< how
    std::string db_path;                          ///< the application's database (the chat's history)
    std::uint32_t recovery_window_ms = 0;         ///< connection state recovery: how long a session waits (0: off)
    std::string recovery_db = "data/recovery.db"; ///< … and where it is kept (SQLite; empty: memory only)
    bool deflate = false;                         ///< WebSocket permessage-deflate, offered to clients that ask
    std::uint32_t deflate_threshold = 1024;       ///< … for messages of at least this many bytes
    std::string parser = "default"; ///< Socket.IO's packet format: "default" (socket.io-parser) or "msgpack"
    std::string admin_ui; ///< "USER:PASSWORD": serve the official admin UI's namespace (/admin) with this login
    bool admin_ui_no_auth = false;       ///< … or without a login (development)
    bool admin_ui_production = false;    ///< … in its production mode (no per-socket details or events)
    bool metrics = true;                 ///< serve /metrics, /healthz and /readyz …
    std::uint16_t metrics_port = 0;      ///< … on this port of `host` instead of the main one (0: main)
    std::string redis_url;               ///< join the Redis cluster here (`redis://host:port`); empty: one node
    std::string redis_key = "socket.io"; ///< the cluster's channel prefix (the Node adapter's `key`)
    std::uint32_t redis_requests_timeout_ms = 5000; ///< how long a cluster query waits for the other nodes
    bool redis_sharded = false; ///< the sharded wire (SPUBLISH/SSUBSCRIBE, Redis 7; createShardedAdapter)
    std::string tls_cert_file;  ///< PEM certificate chain: serve HTTPS and WSS (with tls_key_file); reloaded on SIGHUP
    std::string tls_key_file;   ///< PEM private key of tls_cert_file
    std::string jwt_secret;     ///< connecting sockets must present an HS256 token signed with this
    std::string jwt_public_key_file; ///< … or an RS256 / ES256 token signed for this PEM public key
    std::string jwt_audience;        ///< the tokens' required `aud`
    std::string jwt_issuer;          ///< the tokens' required `iss`
};

/// Where `redis_url` points: host and port; nothing when it is empty or not a Redis URL.
std::optional<std::pair<std::string, int>> redis_endpoint(const server_config& config);

/// "off", "error", "warn", "info", "debug", "trace".
std::string_view to_string(log_level level) noexcept;
/// The level named so (also "warning"), or nothing.
std::optional<log_level> parse_log_level(std::string_view name) noexcept;

/// What the command line asked for.
enum class cli_action { run, exit_success, exit_failure };

/// Reads flags and `SWITCHBOARD_*` environment variables (flags win) into `config`. Prints `--help`
/// to `out` and errors to `err`. `program` names the binary in the usage line.
cli_action parse_command_line(int argc, const char* const* argv, server_config& config, std::ostream& out,
                              std::ostream& err, const char* program = "switchboard");

} // namespace switchboard::server
