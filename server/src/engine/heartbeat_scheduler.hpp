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
/// runs on its strand. An idle connection costs a slot and one entry in a heap rather than a timer and
/// a pending wait of its own. The heap is indexed (each slot knows where its entry is): a new request
/// moves the slot's entry, a released slot takes its entry out, so the heap holds one entry per
/// waiting session and nothing of sessions gone.
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
    static constexpr std::uint32_t not_due = ~std::uint32_t{0};
    struct slot_state {
        engine_session* session = nullptr;
        std::uint32_t entry = not_due; // its entry's index in due_, if it has one
    };
    struct entry {
        clock::time_point at;
        std::uint32_t slot;
    };
    void arm_locked();
    void on_timer(beast::error_code ec);
    // The min-heap by time, keeping slots_[].entry up to date.
    void place(std::size_t i, const entry& e) noexcept;
    void sift_up(std::size_t i) noexcept;
    void sift_down(std::size_t i) noexcept;
    void remove_entry(std::size_t i) noexcept;

    std::mutex mutex_; // everything below, the timer included
    std::vector<slot_state> slots_;
    std::vector<std::uint32_t> free_slots_;
    std::vector<entry> due_;
    std::optional<net::basic_waitable_timer<clock, net::wait_traits<clock>, strand_type>> timer_; // none once stopped
    clock::time_point armed_for_ = clock::time_point::max();
};

} // namespace switchboard::server
