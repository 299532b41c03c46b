#include "endpoint.hpp"

#include "session.hpp"

namespace switchboard::server {

namespace {

eio::server_session_options session_options_of(const server_config& cfg) {
    eio::server_session_options o;
    o.ping_interval = std::chrono::milliseconds(cfg.ping_interval_ms);
    o.ping_timeout = std::chrono::milliseconds(cfg.ping_timeout_ms);
    o.write_timeout = std::chrono::milliseconds(cfg.write_timeout_ms);
    o.max_payload = cfg.max_payload;
    o.max_queue_bytes = cfg.max_queue_bytes;
    o.allow_upgrades = cfg.allow_websocket;
    return o;
}

} // namespace

engine_endpoint::engine_endpoint(std::string path, engine_handler handler, const server_config& config,
                                 net::io_context& ioc)
    : path_(std::move(path)), handler_(std::move(handler)), config_(config),
      session_options_(session_options_of(config)), heartbeats_(ioc), ioc_(ioc) {}

void engine_endpoint::flush_after_this_pass(std::shared_ptr<engine_session> session) {
    to_flush_.push_back(std::move(session));
    if (to_flush_.size() > 1) return; // the task is posted already
    // Posted behind everything ready now: the sessions given frames by those handlers too leave in it.
    net::post(ioc_, [this] {
        flushing_.swap(to_flush_);
        for (auto& s : flushing_) s->flush_given();
        flushing_.clear();
    });
}

std::shared_ptr<engine_session> engine_endpoint::find(const std::string& sid) {
    std::lock_guard lock(mutex_);
    const auto it = sessions_.find(std::string_view(sid));
    return it == sessions_.end() ? nullptr : it->second;
}

void engine_endpoint::add(const std::shared_ptr<engine_session>& session) {
    std::lock_guard lock(mutex_);
    sessions_.emplace(std::string_view(session->id()), session);
}

void engine_endpoint::remove(const std::string& sid) {
    std::lock_guard lock(mutex_);
    sessions_.erase(std::string_view(sid));
}

std::vector<std::shared_ptr<engine_session>> engine_endpoint::all() {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<engine_session>> out;
    out.reserve(sessions_.size());
    for (const auto& [sid, session] : sessions_) out.push_back(session);
    return out;
}

void engine_endpoint::release_sessions() {
    std::unordered_map<std::string_view, std::shared_ptr<engine_session>> sessions;
    {
        std::lock_guard lock(mutex_);
        sessions.swap(sessions_);
    }
    sessions.clear(); // outside the lock: a session's destructor may come back here
    to_flush_.clear();
    heartbeats_.stop();
}

} // namespace switchboard::server
