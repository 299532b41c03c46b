#pragma once
/// @file
/// Why a Socket.IO socket left its namespace, on either end. The enum is what the code passes
/// around; the strings (Socket.IO's own: "io server disconnect", "transport close", …) appear only
/// where an application or a peer sees them.

#include <switchboard/eio/session.hpp>

#include <string_view>

namespace switchboard::sio {

enum class disconnect_reason {
    io_server_disconnect,        ///< client side: the server sent DISCONNECT
    io_client_disconnect,        ///< client side: the application disconnected
    server_namespace_disconnect, ///< server side: the application disconnected the socket
    client_namespace_disconnect, ///< server side: the client sent DISCONNECT
    transport_close,             ///< the connection closed
    transport_error,             ///< the connection failed, or broke the transport's rules
    parse_error,                 ///< the peer sent something that does not decode
    ping_timeout,                ///< the heartbeat stopped
    forced_close,                ///< this end closed the whole connection
};

/// Socket.IO's string for the reason ("io server disconnect", "transport close", …).
std::string_view to_string(disconnect_reason reason) noexcept;

/// The reason of every socket of an Engine.IO session that ended for `reason`.
disconnect_reason from_close(eio::close_reason reason) noexcept;

} // namespace switchboard::sio
