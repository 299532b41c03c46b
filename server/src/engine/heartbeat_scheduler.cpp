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
    if (s.entry != not_due) remove_entry(s.entry);
    s.session = nullptr;
    free_slots_.push_back(slot);
    // A crowd that left gives back the heap it needed (the slots stay, for the next crowd).
    if (due_.capacity() > 2 * due_.size() + 1024) due_.shrink_to_fit();
}

void heartbeat_scheduler::schedule(std::uint32_t slot, clock::time_point at) {
    std::lock_guard lock(mutex_);
    auto& s = slots_[slot];
    if (!s.session) return;
    if (s.entry == not_due) {
        due_.push_back({at, slot});
        s.entry = static_cast<std::uint32_t>(due_.size() - 1);
        sift_up(s.entry);
    } else {
        const auto i = s.entry;
        const auto before = due_[i].at;
        due_[i].at = at;
        if (at < before) {
            sift_up(i);
        } else {
            sift_down(i);
        }
    }
    if (at < armed_for_) arm_locked();
}

void heartbeat_scheduler::place(std::size_t i, const entry& e) noexcept {
    due_[i] = e;
    slots_[e.slot].entry = static_cast<std::uint32_t>(i);
}

void heartbeat_scheduler::sift_up(std::size_t i) noexcept {
    const auto e = due_[i];
    while (i > 0) {
        const auto parent = (i - 1) / 2;
        if (!(e.at < due_[parent].at)) break;
        place(i, due_[parent]);
        i = parent;
    }
    place(i, e);
}

void heartbeat_scheduler::sift_down(std::size_t i) noexcept {
    const auto e = due_[i];
    const auto n = due_.size();
    for (;;) {
        auto child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && due_[child + 1].at < due_[child].at) ++child;
        if (!(due_[child].at < e.at)) break;
        place(i, due_[child]);
        i = child;
    }
    place(i, e);
}

void heartbeat_scheduler::remove_entry(std::size_t i) noexcept {
    slots_[due_[i].slot].entry = not_due;
    const auto last = due_.size() - 1;
    if (i != last) {
        const auto moved = due_[last];
        const auto removed_at = due_[i].at;
        due_.pop_back();
        place(i, moved);
        if (moved.at < removed_at) {
            sift_up(i);
        } else {
            sift_down(i);
        }
    } else {
        due_.pop_back();
    }
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
    for (const auto& e : due_) slots_[e.slot].entry = not_due;
    due_.clear();
}

void heartbeat_scheduler::on_timer(beast::error_code ec) {
    if (ec) return; // cancelled: re-armed for an earlier time, or the server is going away
    std::vector<std::shared_ptr<engine_session>> ready;
    {
        std::lock_guard lock(mutex_);
        const auto now = clock::now();
        while (!due_.empty() && due_.front().at <= now) {
            const auto& s = slots_[due_.front().slot];
            if (auto session = s.session->weak_from_this().lock()) ready.push_back(std::move(session));
            remove_entry(0);
        }
        armed_for_ = clock::time_point::max();
        arm_locked();
    }
    for (auto& session : ready) session->heartbeat_due();
}

} // namespace switchboard::server
