#include <switchboard/sio/disconnect_reason.hpp>

namespace switchboard::sio {

std::string_view to_string(disconnect_reason reason) noexcept {
    switch (reason) {
    case disconnect_reason::io_server_disconnect: return "io server disconnect";
    case disconnect_reason::io_client_disconnect: return "io client disconnect";
    case disconnect_reason::server_namespace_disconnect: return "server namespace disconnect";
    case disconnect_reason::client_namespace_disconnect: return "client namespace disconnect";
    case disconnect_reason::transport_close: return "transport close";
    case disconnect_reason::transport_error: return "transport error";
    case disconnect_reason::parse_error: return "parse error";
    case disconnect_reason::ping_timeout: return "ping timeout";
    case disconnect_reason::forced_close: return "forced close";
    }
    return "transport close";
}

disconnect_reason from_close(eio::close_reason reason) noexcept {
    switch (reason) {
    case eio::close_reason::transport_close: return disconnect_reason::transport_close;
    case eio::close_reason::transport_error: return disconnect_reason::transport_error;
    case eio::close_reason::parse_error: return disconnect_reason::parse_error;
    case eio::close_reason::forced_close: return disconnect_reason::forced_close;
    case eio::close_reason::ping_timeout: return disconnect_reason::ping_timeout;
    }
    return disconnect_reason::transport_close;
}

} // namespace switchboard::sio
