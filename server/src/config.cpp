#include <switchboard/server/config.hpp>

#include "adapter/redis/address.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <ostream>
#include <sstream>

namespace switchboard::server {

namespace po = boost::program_options;

std::string_view to_string(log_level level) noexcept {
    switch (level) {
    case log_level::off: return "off";
    case log_level::error: return "error";
    case log_level::warn: return "warn";
    case log_level::info: return "info";
    case log_level::debug: return "debug";
    case log_level::trace: return "trace";
    }
    return "info";
}

std::optional<log_level> parse_log_level(std::string_view name) noexcept {
    for (auto level :
         {log_level::off, log_level::error, log_level::warn, log_level::info, log_level::debug, log_level::trace})
        if (name == to_string(level)) return level;
    if (name == "warning") return log_level::warn;
    return std::nullopt;
}

cli_action parse_command_line(int argc, const char* const* argv, server_config& config, std::ostream& out,
                              std::ostream& err, const char* program) {
    std::string transports = "polling,websocket";
    std::string level = std::string(to_string(config.log));
    std::string format = config.log_style == log_format::json ? "json" : "text";
    bool no_metrics = !config.metrics;
    po::options_description options("Options (each also as environment variable SWITCHBOARD_<NAME>, e.g. "
                                    "SWITCHBOARD_PING_INTERVAL)");
    // clang-format off
    options.add_options()
        ("help", "print this help and exit")
        ("host", po::value(&config.host)->default_value(config.host), "address to listen on")
        ("port", po::value(&config.port)->default_value(config.port), "port to listen on (0: any free port)")
        ("path", po::value(&config.path)->default_value(config.path), "Socket.IO endpoint path")
        ("ping-interval", po::value(&config.ping_interval_ms)->default_value(config.ping_interval_ms),
            "ms between the server's pings")
        ("ping-timeout", po::value(&config.ping_timeout_ms)->default_value(config.ping_timeout_ms),
            "ms to wait for a pong before closing the session")
        ("connect-timeout", po::value(&config.connect_timeout_ms)->default_value(config.connect_timeout_ms),
            "ms an Engine.IO session may stay without joining a namespace")
        ("max-payload", po::value(&config.max_payload)->default_value(config.max_payload),
            "largest packet or polling payload accepted, in bytes")
        ("transports", po::value(&transports)->default_value(transports),
            "transports offered: polling, websocket or both (comma-separated)")
        ("cors-origin", po::value(&config.cors_origins)->composing(),
            "origin allowed to make polling requests (repeatable; * for any)")
        ("static", po::value(&config.static_dir)->default_value(config.static_dir),
            "directory served at / (default: the built chat page)")
        ("client-dir", po::value(&config.client_dir)->default_value(config.client_dir),
            "directory served at /switchboard/: the WASM client (default: the wasm build's)")
        ("db", po::value(&config.db_path)->default_value(config.db_path),
            "the chat's SQLite database file (switchboard binary)")
        ("threads", po::value(&config.threads)->default_value(config.threads), "I/O threads")
        ("max-queue", po::value(&config.max_queue_bytes)->default_value(config.max_queue_bytes),
            "bytes a session may have waiting to be sent before it is closed as too slow")
        ("max-attachments", po::value(&config.max_attachments)->default_value(config.max_attachments),
            "binary attachments one Socket.IO packet may announce (more: the connection is closed)")
        ("write-timeout", po::value(&config.write_timeout_ms)->default_value(config.write_timeout_ms),
            "ms a peer may take no bytes while data waits for it before it is closed")
        ("request-timeout", po::value(&config.request_timeout_ms)->default_value(config.request_timeout_ms),
            "ms an HTTP request may take to arrive (a late POST body is answered 408)")
        ("max-connections", po::value(&config.max_connections)->default_value(config.max_connections),
            "open TCP connections in all; more are answered 503 and closed (0: no limit)")
        ("max-connections-per-ip", po::value(&config.max_connections_per_ip)->default_value(config.max_connections_per_ip),
            "open TCP connections from one address; more are answered 503 and closed (0: no limit; behind a proxy, every client has its address)")
        ("handshakes-per-ip", po::value(&config.handshakes_per_ip)->default_value(config.handshakes_per_ip),
            "new sessions per second from one address (a burst of as many); more are answered 429 (0: no limit)")
        ("max-namespaces", po::value(&config.max_namespaces)->default_value(config.max_namespaces),
            "namespaces one connection may join; one more gets connect_error \"too many namespaces\" (0: no limit)")
        ("events-per-second", po::value(&config.events_per_second)->default_value(config.events_per_second),
            "events one socket may send per second (bursts of 5x); more are not delivered, the client gets an "
            "error event (or its ack carries the error), and 10 s of excess disconnect it (0: no limit)")
        ("refuse-when-full", po::bool_switch(&config.refuse_when_full),
            "an emit that would take a socket's unsent bytes past --max-queue is refused (io::errc::queue_full) "
            "instead of closing the session")
        ("high-water", po::value(&config.high_water_bytes)->default_value(config.high_water_bytes),
            "unsent bytes past which an emit reports io::errc::over_high_water; `drain` fires at half (0: off)")
        ("bytes-per-second", po::value(&config.bytes_per_second)->default_value(config.bytes_per_second),
            "bytes of events one socket may send per second (bursts of 5x; one larger event passes on a full "
            "bucket); over it, as --events-per-second (0: no limit)")
        ("max-rooms-per-socket", po::value(&config.max_rooms_per_socket)->default_value(config.max_rooms_per_socket),
            "rooms one socket may be in through socket.join(); a join past it is refused (0: no limit)")
        ("trust-proxy", po::bool_switch(&config.trust_proxy),
            "behind a reverse proxy: a client's address is the last one of X-Forwarded-For (for "
            "--handshakes-per-ip, logs and socket.handshake.address)")
        ("redis", po::value(&config.redis_url)->default_value(config.redis_url),
            "join the Redis cluster at this URL (redis://host:port), as @socket.io/redis-adapter's nodes do")
        ("redis-key", po::value(&config.redis_key)->default_value(config.redis_key),
            "the cluster's channel prefix (the Node adapter's `key`)")
        ("redis-requests-timeout",
            po::value(&config.redis_requests_timeout_ms)->default_value(config.redis_requests_timeout_ms),
            "ms a cluster query (fetch_sockets, rooms, server-side emit with answers) waits for the other nodes")
        ("tls-cert", po::value(&config.tls_cert_file)->default_value(config.tls_cert_file),
            "serve HTTPS and WSS with this PEM certificate chain (with --tls-key); SIGHUP reloads both files")
        ("tls-key", po::value(&config.tls_key_file)->default_value(config.tls_key_file),
            "the PEM private key of --tls-cert")
        ("jwt-secret", po::value(&config.jwt_secret)->default_value(config.jwt_secret),
            "every socket must present a JWT (auth.token or Authorization: Bearer) signed HS256 with this")
        ("jwt-public-key", po::value(&config.jwt_public_key_file)->default_value(config.jwt_public_key_file),
            "every socket must present a JWT signed RS256 or ES256 for this PEM public key (a file)")
        ("jwt-audience", po::value(&config.jwt_audience)->default_value(config.jwt_audience),
            "the tokens' required audience (aud)")
        ("jwt-issuer", po::value(&config.jwt_issuer)->default_value(config.jwt_issuer),
            "the tokens' required issuer (iss)")
        ("redis-sharded", po::bool_switch(&config.redis_sharded),
            "sharded pub/sub (Redis 7 SPUBLISH/SSUBSCRIBE), as the Node adapter's createShardedAdapter")
        ("recovery-window", po::value(&config.recovery_window_ms)->default_value(config.recovery_window_ms),
            "connection state recovery: ms a disconnected client has to come back with its id, rooms, data and "
            "the events it missed (0: off; Socket.IO's default is 120000)")
        ("recovery-db", po::value(&config.recovery_db)->default_value(config.recovery_db),
            "the SQLite file recovery keeps sessions and missed events in, so that it survives a restart or "
            "a crash (empty: memory only); with --redis they are kept in that Redis instead, for every node")
        ("deflate", po::bool_switch(&config.deflate),
            "WebSocket permessage-deflate for clients that offer it, without context takeover either way: a "
            "broadcast is compressed once for all its recipients, and a connection keeps no zlib state")
        ("deflate-threshold", po::value(&config.deflate_threshold)->default_value(config.deflate_threshold),
            "with --deflate, messages of at least this many bytes are compressed")
        ("parser", po::value(&config.parser)->default_value(config.parser),
            "the packets' format: default (socket.io-parser) or msgpack (socket.io-msgpack-parser; every client "
            "of the server must use it)")
        ("admin-ui", po::value(&config.admin_ui)->default_value(config.admin_ui),
            "USER:PASSWORD: serve the official Socket.IO admin UI's namespace /admin (its dashboard logs in with "
            "these; add --cors-origin https://admin.socket.io to use the hosted one)")
        ("admin-ui-no-auth", po::bool_switch(&config.admin_ui_no_auth),
            "serve the admin UI's namespace without a login (development only)")
        ("admin-ui-production", po::bool_switch(&config.admin_ui_production),
            "the admin UI's production mode: stats and actions, but no socket details, rooms or per-socket "
            "events (the instrumentation then costs the sockets nothing)")
        ("no-metrics", po::bool_switch(&no_metrics), "serve no /metrics, /healthz and /readyz")
        ("metrics-port", po::value(&config.metrics_port)->default_value(config.metrics_port),
            "serve /metrics, /healthz and /readyz on this port (plain HTTP, same --host) instead of the main one "
            "(0: the main port)")
        ("log-level", po::value(&level)->default_value(level), "off, error, warn, info, debug or trace")
        ("log-format", po::value(&format)->default_value(format), "text or json (one object per line)");
    // clang-format on

    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, options), vm);
        po::store(po::parse_environment(options,
                                        [&](const std::string& env) -> std::string {
                                            static const std::string prefix = "SWITCHBOARD_";
                                            if (env.rfind(prefix, 0) != 0) return {};
                                            std::string name = env.substr(prefix.size());
                                            for (auto& c : name)
                                                c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
                                            return options.find_nothrow(name, false) && name != "help" ? name : "";
                                        }),
                  vm);
        if (vm.count("help")) {
            out << "Usage: " << program << " [options]\n\n" << options << '\n';
            return cli_action::exit_success;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        err << program << ": " << e.what() << " (see --help)\n";
        return cli_action::exit_failure;
    }

    if (no_metrics) config.metrics = false;
    config.allow_polling = config.allow_websocket = false;
    std::stringstream list(transports);
    for (std::string t; std::getline(list, t, ',');) {
        t.erase(std::remove_if(t.begin(), t.end(), [](unsigned char c) { return std::isspace(c); }), t.end());
        if (t == "polling") {
            config.allow_polling = true;
        } else if (t == "websocket") {
            config.allow_websocket = true;
        } else {
            err << program << ": unknown transport '" << t << "' (polling, websocket)\n";
            return cli_action::exit_failure;
        }
    }
    if (!config.allow_polling && !config.allow_websocket) {
        err << program << ": --transports names no transport\n";
        return cli_action::exit_failure;
    }
    if (!config.redis_url.empty() && !redis::parse_url(config.redis_url)) {
        err << program << ": --redis wants redis://host[:port] (no credentials yet), not '" << config.redis_url
            << "'\n";
        return cli_action::exit_failure;
    }
    if (const auto parsed = parse_log_level(level)) {
        config.log = *parsed;
    } else {
        err << program << ": unknown log level '" << level << "' (off, error, warn, info, debug, trace)\n";
        return cli_action::exit_failure;
    }
    if (format == "text" || format == "json") {
        config.log_style = format == "json" ? log_format::json : log_format::text;
    } else {
        err << program << ": unknown log format '" << format << "' (text, json)\n";
        return cli_action::exit_failure;
    }
    if (config.path.empty() || config.path.front() != '/')
        config.path = "/" + config.path; // (not insert: g++ 12 -Wrestrict false positive)
    if (config.path.back() != '/') config.path.push_back('/');
    if (config.ping_interval_ms == 0 || config.ping_timeout_ms == 0 || config.max_payload == 0 || config.threads == 0 ||
        config.write_timeout_ms == 0 || config.request_timeout_ms == 0) {
        err << program
            << ": --ping-interval, --ping-timeout, --max-payload, --threads, --write-timeout and --request-timeout "
               "must be positive\n";
        return cli_action::exit_failure;
    }
    if (config.recovery_window_ms != 0 && config.redis_sharded) {
        // A node unsubscribes from a room's channel when its last member there leaves: the broadcasts a
        // disconnected socket's rooms get meanwhile would not reach the node that keeps them for it.
        err << program << ": --recovery-window with --redis-sharded is not supported (use the classic adapter)\n";
        return cli_action::exit_failure;
    }
    if (config.parser != "default" && config.parser != "msgpack") {
        err << program << ": unknown parser '" << config.parser << "' (default, msgpack)\n";
        return cli_action::exit_failure;
    }
    if (!config.admin_ui.empty() && config.admin_ui.find(':') == std::string::npos) {
        err << program << ": --admin-ui wants USER:PASSWORD\n";
        return cli_action::exit_failure;
    }
    if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
        err << program << ": --tls-cert and --tls-key go together\n";
        return cli_action::exit_failure;
    }
    return cli_action::run;
}

std::optional<std::pair<std::string, int>> redis_endpoint(const server_config& config) {
    if (config.redis_url.empty()) return std::nullopt;
    const auto at = redis::parse_url(config.redis_url);
    if (!at) return std::nullopt;
    return std::pair{at->host, at->port};
}

} // namespace switchboard::server
