#include "buffer.hpp"

#include <algorithm>
#include <charconv>

namespace switchboard::server::recovery {

time_ms now_ms() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string offset_text(std::uint64_t offset) { return std::to_string(offset); }

std::optional<std::uint64_t> parse_offset(std::string_view text) noexcept {
    std::uint64_t value = 0;
    const auto* end = text.data() + text.size();
    const auto [at, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || at != end || text.empty() || value == 0) return std::nullopt;
    return value;
}

namespace {

bool intersects(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    for (const auto& x : a)
        if (std::find(b.begin(), b.end(), x) != b.end()) return true;
    return false;
}

// Whether a socket in `rooms` of `nsp` was a recipient of `p` (as the reference adapter decides).
bool reaches(const stored_packet& p, const std::string& nsp, const std::vector<std::string>& rooms) {
    if (p.nsp != nsp) return false;
    if (!p.rooms.empty() && !intersects(p.rooms, rooms)) return false;
    return !intersects(p.except, rooms);
}

} // namespace

buffer::buffer(std::chrono::milliseconds window, journal* journal) : window_(window), journal_(journal) {}

void buffer::load(std::vector<session> sessions, std::vector<stored_packet> packets, std::uint64_t purged_through) {
    std::lock_guard lock(mutex_);
    const auto now = now_ms();
    purged_through_ = purged_through;
    std::sort(packets.begin(), packets.end(), [](const auto& a, const auto& b) { return a.offset < b.offset; });
    for (auto& p : packets) {
        next_offset_ = std::max(next_offset_, p.offset + 1);
        packets_.push_back(std::move(p));
    }
    next_offset_ = std::max(next_offset_, purged_through_ + 1);
    for (auto& s : sessions) {
        if (s.disconnected == 0) { // connected when the process ended: cut now, by the crash
            s.disconnected = now;
            if (journal_) journal_->session_saved(s);
        }
        auto pid = s.pid;
        sessions_.insert_or_assign(std::move(pid), std::move(s));
    }
}

std::uint64_t buffer::store(stored_packet p,
                            const std::function<bool(std::uint64_t, std::vector<eio::frame>&)>& encode) {
    std::lock_guard lock(mutex_);
    const auto offset = next_offset_;
    if (!encode(offset, p.frames)) return 0;
    ++next_offset_;
    p.offset = offset;
    p.emitted = now_ms();
    if (journal_) journal_->packet_stored(p);
    packets_.push_back(std::move(p));
    return offset;
}

void buffer::connected(const session& s) {
    if (!journal_) return;
    std::lock_guard lock(mutex_); // the journal sees changes in the order they were made
    journal_->session_saved(s);
}

void buffer::rooms_changed(const std::string& pid, const std::vector<std::string>& rooms) {
    if (!journal_) return;
    std::lock_guard lock(mutex_);
    journal_->session_rooms(pid, rooms);
}

void buffer::disconnected(session s) {
    std::lock_guard lock(mutex_);
    s.disconnected = now_ms();
    if (journal_) journal_->session_saved(s);
    auto pid = s.pid;
    sessions_.insert_or_assign(std::move(pid), std::move(s));
}

void buffer::forget(const std::string& pid) {
    std::lock_guard lock(mutex_);
    sessions_.erase(pid);
    if (journal_) journal_->session_dropped(pid);
}

std::optional<buffer::recovered> buffer::recover(const std::string& pid, std::string_view offset_text,
                                                 const std::string& nsp,
                                                 const std::function<void(const recovered&)>& register_live) {
    std::lock_guard lock(mutex_);
    const auto it = sessions_.find(pid);
    if (it == sessions_.end() || it->second.nsp != nsp) return std::nullopt;
    if (now_ms() - it->second.disconnected > window_.count()) return std::nullopt;
    const auto offset = parse_offset(offset_text);
    if (!offset || *offset >= next_offset_) return std::nullopt;
    // Complete only if nothing it may have missed is gone: nothing after its offset was purged, or it
    // had everything this server had sent it (then what it missed came after the disconnect, and the
    // window has not passed since).
    const auto& s = it->second;
    const bool complete = *offset >= purged_through_ || (s.last_offset && *offset >= *s.last_offset);
    if (!complete) return std::nullopt;

    recovered r;
    r.last_offset = *offset;
    const auto first = std::upper_bound(packets_.begin(), packets_.end(), *offset,
                                        [](std::uint64_t o, const stored_packet& p) { return o < p.offset; });
    for (auto p = first; p != packets_.end(); ++p) {
        if (!reaches(*p, nsp, s.rooms)) continue;
        r.missed.push_back(p->frames);
        r.last_offset = p->offset;
    }
    r.replayed_through = next_offset_ - 1;
    r.state = std::move(it->second);
    sessions_.erase(it);
    register_live(r);
    return r;
}

void buffer::purge_packets(time_ms now) {
    const auto oldest = now - window_.count();
    std::uint64_t through = purged_through_;
    while (!packets_.empty() && packets_.front().emitted < oldest) {
        through = packets_.front().offset;
        packets_.pop_front();
    }
    if (through != purged_through_) {
        purged_through_ = through;
        if (journal_) journal_->purged_through(through);
    }
}

std::vector<session> buffer::expire(time_ms now) {
    std::lock_guard lock(mutex_);
    purge_packets(now);
    std::vector<session> expired;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        if (now - it->second.disconnected > window_.count()) {
            if (journal_) journal_->session_dropped(it->first);
            expired.push_back(std::move(it->second));
            it = sessions_.erase(it);
        } else {
            ++it;
        }
    }
    return expired;
}

std::size_t buffer::packet_count() {
    std::lock_guard lock(mutex_);
    return packets_.size();
}

std::size_t buffer::session_count() {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

} // namespace switchboard::server::recovery
