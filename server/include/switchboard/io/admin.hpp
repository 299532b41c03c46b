#pragma once
/// @file
/// The official Socket.IO admin UI (`@socket.io/admin-ui`) on a Switchboard server: the namespace its
/// dashboard connects to, speaking what the Node package's `instrument()` speaks, so the dashboard
/// shows this server's sockets, rooms, namespaces, events and traffic, and its actions (emit, join,
/// leave, disconnect) work.
///
/// ```cpp
/// io::admin_ui_options admin;
/// admin.username = "admin";
/// admin.password = "a long secret"; // or admin.auth = false, for development
/// io::instrument(io, admin);          // then point https://admin.socket.io (or ui/dist) at the server
/// ```
///
/// The binaries take `--admin-ui USER:PASSWORD` or `--admin-ui-no-auth`.

#include <switchboard/io/io.hpp>

#include <string>

namespace switchboard::io {

struct admin_ui_options {
    std::string nsp = "/admin"; ///< the namespace the dashboard connects to
    bool auth = true;           ///< false: anyone who can reach the server may connect (development)
    std::string username;       ///< the dashboard's login (with auth)
    std::string password;       ///< compared in constant time; a login earns a session id the dashboard keeps
    bool readonly = false;      ///< the dashboard's actions (emit, join, leave, disconnect) are refused
    /// Production mode: only the aggregated statistics every 2 s, no per-socket events (as the Node
    /// package's `mode: "production"`).
    bool production = false;
    std::string server_id; ///< how the dashboard names this server (several nodes: each its own); default: host name
};

/// Serves the admin UI's namespace on `io` (call once, before clients connect).
void instrument(server& io, admin_ui_options options);

} // namespace switchboard::io
