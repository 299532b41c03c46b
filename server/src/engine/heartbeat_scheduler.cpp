#include "heartbeat_scheduler.hpp"

#include "session.hpp"

#include <algorithm>

namespace switchboard::server {

std::uint32_t heartbeat_scheduler::acquire(engine_session* session) {
    std::lock_guard lock(mutex_);
    std::uint32_t slot;
    if (free_slots_.empty()) {
        slot = static_cast<std::uint32_t>(slots_.size());
        slots_.emplace_back();
    } else {
        slot = free_slots_.back();
        free_slots_.pop_back();
    }
    slots_[slot].session = session;
    return slot;
}

void heartbeat_scheduler::release(std::uint32_t slot) {
    std::lock_guard lock(mutex_);
    auto& s = slots_[slot];
    if (!s.session) return; // released already
    s.session = nullptr;
    ++s.generation; // its pending entries no longer count
    free_slots_.push_back(slot);
}

void heartbeat_scheduler::schedule(std::uint32_t slot, clock::time_point at) {
    std::lock_guard lock(mutex_);
    auto& s = slots_[slot];
    if (!s.session) return;
    due_.push_back({at, slot, ++s.generation});
    std::push_heap(due_.begin(), due_.end(), std::greater<>{});
    // Sessions that come and go leave entries behind; never let them outnumber the live ones much.
    if (due_.size() > 2 * (slots_.size() - free_slots_.size()) + 1024) drop_stale_locked();
    if (at < armed_for_) arm_locked();
}

void heartbeat_scheduler::drop_stale_locked() {
    std::erase_if(due_, [this](const entry& e) {
        const auto& s = slots_[e.slot];
        return !s.session || s.generation != e.generation;
    });
    std::make_heap(due_.begin(), due_.end(), std::greater<>{});
    if (due_.capacity() > 2 * due_.size() + 1024) due_.shrink_to_fit();
}

void heartbeat_scheduler::arm_locked() {
    if (due_.empty() || !timer_) return;
    armed_for_ = due_.front().at;
    timer_->expires_at(armed_for_); // a wait already pending completes as cancelled
    timer_->async_wait([this](beast::error_code ec) { on_timer(ec); });
}

void heartbeat_scheduler::stop() {
    std::lock_guard lock(mutex_);
    timer_.reset();
    due_.clear();
}

void heartbeat_scheduler::on_timer(beast::error_code ec) {
    if (ec) return; // cancelled: re-armed for an earlier time, or the server is going away
    std::vector<std::shared_ptr<engine_session>> ready;
    {
        std::lock_guard lock(mutex_);
        const auto now = clock::now();
        while (!due_.empty() && due_.front().at <= now) {
            std::pop_heap(due_.begin(), due_.end(), std::greater<>{});
            const auto e = due_.back();
            due_.pop_back();
            const auto& s = slots_[e.slot];
            if (s.session && s.generation == e.generation)
                if (auto session = s.session->weak_from_this().lock()) ready.push_back(std::move(session));
        }
        armed_for_ = clock::time_point::max();
        arm_locked();
    }
    for (auto& session : ready) session->heartbeat_due();
}

} // namespace switchboard::server
