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

// The same event kept by two nodes (each with its own offset, the last argument of the first frame).
bool same_event(const stored_packet& a, const stored_packet& b) {
    if (a.nsp != b.nsp || a.rooms != b.rooms || a.except != b.except || a.frames.size() != b.frames.size())
        return false;
    for (std::size_t i = 1; i < a.frames.size(); ++i)
        if (*a.frames[i].bytes != *b.frames[i].bytes) return false;
    // The text as the default parser writes it ends in `,"<offset>"]`; MessagePack is compared whole.
    const auto without_offset = [](std::string_view text) {
        const auto at = text.rfind(",\"");
        return at == std::string_view::npos ? text : text.substr(0, at);
    };
    return without_offset(*a.frames[0].bytes) == without_offset(*b.frames[0].bytes);
}

} // namespace

buffer::buffer(std::chrono::milliseconds window, journal* journal, std::uint64_t start)
    : window_(window), journal_(journal), start_(start), next_offset_(start + 1), purged_through_(start) {}

std::uint64_t buffer::latest_offset() {
    std::lock_guard lock(mutex_);
    return next_offset_ - 1;
}

// Where a recovery from another node's sequence starts: the client's offset if this session could
// have had it there, otherwise (it is a third node's: the client got nothing there) where it came there.
static std::uint64_t starting_offset(const session& s, std::uint64_t client) {
    const bool theirs = client >= s.first_offset && (!s.last_offset || client <= *s.last_offset);
    return theirs ? client : s.first_offset;
}

// Where a recovery from this node's sequence starts, or nothing. An offset in this node's range is the
// client's last one here (refused if it is in the future). In a cluster each node's offsets have a range
// of their own: one outside is another node's, so the client got nothing here since it came.
std::optional<std::uint64_t> buffer::local_start(const session& s, std::uint64_t client) const {
    const std::uint64_t end = start_ == 0 ? UINT64_MAX : start_ + range_width;
    if (client > start_ && client < end) {
        if (client >= next_offset_) return std::nullopt;
        return std::max(client, s.first_offset);
    }
    return std::max(s.first_offset, start_);
}

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
        keep(std::move(s));
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
    keep(std::move(s));
}

void buffer::forget(const std::string& pid) {
    std::lock_guard lock(mutex_);
    if (const auto it = sessions_.find(pid); it != sessions_.end()) release(it);
    if (journal_) journal_->session_dropped(pid);
}

std::optional<buffer::recovered> buffer::recover(const std::string& pid, std::string_view offset_text,
                                                 const std::string& nsp,
                                                 const std::function<void(const recovered&)>& register_live) {
    std::lock_guard lock(mutex_);
    const auto it = sessions_.find(pid);
    if (it == sessions_.end() || it->second.nsp != nsp) return std::nullopt;
    if (now_ms() - it->second.disconnected > window_.count()) return std::nullopt;
    const auto client_offset = parse_offset(offset_text);
    if (!client_offset) return std::nullopt;
    const auto offset = local_start(it->second, *client_offset);
    if (!offset) return std::nullopt;
    // Complete only if nothing it may have missed is gone: nothing after its offset was purged, or it
    // had everything this server had sent it (then what it missed came after the disconnect, and the
    // window has not passed since).
    const auto& s = it->second;
    const bool complete = *offset >= purged_through_ || (s.last_offset && *offset >= *s.last_offset);
    if (!complete) return std::nullopt;

    recovered r;
    collect_missed(*offset, nsp, s.rooms, r);
    r.replayed_through = next_offset_ - 1;
    r.state = it->second;
    release(it);
    register_live(r);
    return r;
}

std::optional<buffer::recovered> buffer::recover_claimed(session s, std::string_view offset_text,
                                                         const std::string& nsp, const std::optional<elsewhere>& remote,
                                                         const std::function<void(const recovered&)>& register_live) {
    std::lock_guard lock(mutex_);
    if (const auto it = sessions_.find(s.pid); it != sessions_.end())
        release(it); // this node's copy, kept for its expiry
    if (s.nsp != nsp) return std::nullopt;
    // A session taken from a node that stopped running has no disconnection time: its window runs from now.
    if (s.disconnected != 0 && now_ms() - s.disconnected > window_.count()) return std::nullopt;
    const auto client_offset = parse_offset(offset_text);
    if (!client_offset) return std::nullopt;
    const auto start = remote ? std::optional(starting_offset(s, *client_offset)) : local_start(s, *client_offset);
    if (!start) return std::nullopt;
    const auto offset = *start;
    const bool had_all = s.last_offset && offset >= *s.last_offset;

    recovered r;
    if (remote) { // another node's offsets: from now on the client counts in this node's
        if (!remote->complete && !had_all) return std::nullopt;
        for (const auto& p : remote->packets)
            if (p.offset > offset && reaches(p, nsp, s.rooms)) r.missed.push_back(p.frames);
        // A node that stopped running (the session was still connected there) kept nothing after: what
        // this node kept since that node's newest, unless that node had it too.
        if (s.disconnected == 0)
            for (const auto& p : packets_)
                if (p.emitted >= remote->newest && reaches(p, nsp, s.rooms) &&
                    std::none_of(remote->packets.begin(), remote->packets.end(),
                                 [&](const stored_packet& q) { return same_event(p, q); }))
                    r.missed.push_back(p.frames);
        r.last_offset = next_offset_ - 1;
    } else {
        if (offset < purged_through_ && !had_all) return std::nullopt;
        collect_missed(offset, nsp, s.rooms, r);
    }
    r.replayed_through = next_offset_ - 1;
    r.state = std::move(s);
    register_live(r);
    return r;
}

void buffer::collect_missed(std::uint64_t offset, const std::string& nsp, const std::vector<std::string>& rooms,
                            recovered& r) const {
    r.last_offset = offset;
    const auto first = std::upper_bound(packets_.begin(), packets_.end(), offset,
                                        [](std::uint64_t o, const stored_packet& p) { return o < p.offset; });
    for (auto p = first; p != packets_.end(); ++p) {
        if (!reaches(*p, nsp, rooms)) continue;
        r.missed.push_back(p->frames);
        r.last_offset = p->offset;
    }
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
            if (journal_) journal_->session_expired(it->first);
            expired.push_back(it->second);
            it = release(it);
        } else {
            ++it;
        }
    }
    return expired;
}

bool buffer::keeps_room(const std::string& nsp, const std::string& room) {
    std::lock_guard lock(mutex_);
    return kept_rooms_.count(nsp + '\n' + room) != 0;
}

void buffer::keep(session s) {
    if (const auto it = sessions_.find(s.pid); it != sessions_.end()) release(it);
    for (const auto& room : s.rooms) ++kept_rooms_[s.nsp + '\n' + room];
    auto pid = s.pid;
    sessions_.emplace(std::move(pid), std::move(s));
}

std::unordered_map<std::string, session>::iterator
buffer::release(std::unordered_map<std::string, session>::iterator it) {
    for (const auto& room : it->second.rooms) {
        const auto k = kept_rooms_.find(it->second.nsp + '\n' + room);
        if (k != kept_rooms_.end() && --k->second == 0) kept_rooms_.erase(k);
    }
    return sessions_.erase(it);
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
