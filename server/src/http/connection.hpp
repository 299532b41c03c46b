#pragma once
// HTTP/1.1 connections (private to server/): static files, Engine.IO polling requests, and WebSocket
// upgrades, after which the connection belongs to an Engine.IO session.

#include "../engine/endpoint.hpp"
#include "../util/admission.hpp"
#include "../util/net.hpp"

#include <switchboard/server/config.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace switchboard::server {

struct probe_handlers;

/// What a connection needs of its server.
struct http_context {
    const server_config& config;
    net::io_context& ioc;
    std::vector<std::unique_ptr<engine_endpoint>>& endpoints;
    /// The application's filter of new sessions (server::allow_request); empty: all are admitted.
    std::function<bool(const request_info&)>& allow_request;
    rate_per_address& handshakes;           ///< --handshakes-per-ip
    const probe_handlers* probes = nullptr; ///< /metrics, /healthz, /readyz on this listener (null: not here)
    /// With one I/O thread, the strand every connection of the listener (and the session it becomes)
    /// runs on: one thread serializes them already, and a strand each costs a connection 112 bytes
    /// (Asio's strand state and its count). Empty with several threads: a strand per connection.
    std::optional<strand_type> shared_strand;

    /// The strand for a new connection or session.
    strand_type connection_strand() const { return shared_strand ? *shared_strand : net::make_strand(ioc); }

    /// The Engine.IO endpoint serving `path` (with or without its trailing slash), or null.
    engine_endpoint* endpoint_for(std::string_view path) const {
        for (auto& e : endpoints)
            if (path == e->path() || (path.size() + 1 == e->path().size() && e->path().starts_with(path)))
                return e.get();
        return nullptr;
    }
};

class tls_context;

/// Serves an accepted connection until it closes or becomes a WebSocket (which takes `ticket` along);
/// over TLS when `tls` is given (HTTPS and WSS on the same port).
void serve_http(strand_socket socket, http_context& context, admission::ticket ticket,
                std::shared_ptr<const tls_context> tls = nullptr);

} // namespace switchboard::server
