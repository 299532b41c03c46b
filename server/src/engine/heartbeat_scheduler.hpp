#pragma once
// The heartbeats of an endpoint's sessions on one timer (private to server/).

#include "../util/net.hpp"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace switchboard::server {

class engine_session;

/// One timer for the heartbeats of all the sessions of an endpoint. A session takes a slot and says
/// when its state machine is next due (a ping, a timeout, the write deadline); then its on_heartbeat()
/// runs on its strand. An idle connection costs a slot and an entry in a heap rather than a timer and a
/// pending wait of its own.
class heartbeat_scheduler {
public:
    using clock = std::chrono::steady_clock;
    explicit heartbeat_scheduler(net::io_context& ioc) { timer_.emplace(net::make_strand(ioc)); }

    std::uint32_t acquire(engine_session* session);
    /// The session is done with its slot (any thread); nothing of it runs after this returns.
    void release(std::uint32_t slot);
    /// The slot's session is woken at `at`; this replaces whatever it asked for before.
    void schedule(std::uint32_t slot, clock::time_point at);
    /// The server is going away: the timer goes before the io_context it belongs to.
    void stop();

private:
    struct slot_state {
        engine_session* session = nullptr;
        std::uint32_t generation = 0; // entries of earlier requests no longer count
    };
    struct entry {
        clock::time_point at;
        std::uint32_t slot;
        std::uint32_t generation;
        bool operator>(const entry& other) const noexcept { return at > other.at; }
    };
    void arm_locked();
    void on_timer(beast::error_code ec);
    void drop_stale_locked();

    std::mutex mutex_; // everything below, the timer included
    std::vector<slot_state> slots_;
    std::vector<std::uint32_t> free_slots_;
    // A min-heap by time (std::push_heap with std::greater). Entries of ended sessions and of
    // replaced requests stay until they come due, unless there are too many: then they are dropped.
    std::vector<entry> due_;
    std::optional<net::basic_waitable_timer<clock, net::wait_traits<clock>, strand_type>> timer_; // none once stopped
    clock::time_point armed_for_ = clock::time_point::max();
};

} // namespace switchboard::server
