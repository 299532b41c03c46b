#pragma once
// The sessions of one Engine.IO endpoint (private to server/).

#include "heartbeat_scheduler.hpp"

#include <switchboard/eio/server_session.hpp>
#include <switchboard/server/config.hpp>
#include <switchboard/server/engine.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace switchboard::server {

class engine_session;

/// The sessions of one Engine.IO endpoint (a path such as /socket.io/).
class engine_endpoint {
public:
    engine_endpoint(std::string path, engine_handler handler, const server_config& config, net::io_context& ioc);

    const std::string& path() const noexcept { return path_; }
    const server_config& config() const noexcept { return config_; }
    /// The protocol settings every session of the endpoint shares.
    const eio::server_session_options& session_options() const noexcept { return session_options_; }
    const engine_handler& handler() const noexcept { return handler_; }
    heartbeat_scheduler& heartbeats() noexcept { return heartbeats_; }
    /// Told of every session that upgrades to WebSocket, on its strand (instrumentation; usually empty).
    std::function<void(engine_socket&)> on_upgrade;

    std::shared_ptr<engine_session> find(const std::string& sid);
    void add(const std::shared_ptr<engine_session>& session);
    void remove(const std::string& sid);
    std::vector<std::shared_ptr<engine_session>> all();
    /// The server is going away: forget every session and stop the heartbeat timer.
    void release_sessions();

    /// True when the caller is the server's only I/O thread, inside its loop: then no session's strand
    /// can be running anywhere else, and a session may be given frames without a hop to its strand.
    bool on_the_only_loop() const noexcept {
        return config_.threads == 1 && ioc_.get_executor().running_in_this_thread();
    }
    /// (Only loop) `session` was given frames outside its strand: it writes them once this loop pass
    /// ends, with whatever else it is given in the pass — one task for every such session, not one each.
    void flush_after_this_pass(std::shared_ptr<engine_session> session);

private:
    std::string path_;
    engine_handler handler_;
    const server_config& config_;
    eio::server_session_options session_options_;
    heartbeat_scheduler heartbeats_;
    net::io_context& ioc_;
    std::vector<std::shared_ptr<engine_session>> to_flush_; // only loop: sessions given frames in this pass
    std::vector<std::shared_ptr<engine_session>> flushing_; // the pass being flushed (its capacity is kept)
    std::mutex mutex_;
    // Keyed by a view of the session's own id (the entry holds the session): no copy of the id.
    std::unordered_map<std::string_view, std::shared_ptr<engine_session>> sessions_;
};

} // namespace switchboard::server
