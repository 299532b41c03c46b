#pragma once
// Connection state recovery's memory (private to server/): the packets a disconnected socket may have
// missed and the sessions that may come back, as Socket.IO ≥ 4.6 keeps them (see
// ../shared/PROTOCOL-NOTES.md §2), with two differences that keep its wire:
//  - a socket that received nothing for longer than the window still recovers: what it was last sent
//    is remembered with its session, and recovery needs only that nothing it could have missed has
//    been purged (Socket.IO needs the client's offset itself still in the buffer, socket.io #5282);
//  - every change is also handed to a journal (SQLite), which fills the buffer again after a restart
//    or a crash.
// Offsets are one increasing 64-bit sequence per buffer, written in decimal on the wire.
// Thread-safe: one mutex; a recovery takes the packets it replays and registers the socket's new
// life under it, so that a broadcast is either replayed or delivered live, never both.

#include <switchboard/eio/packet.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace switchboard::server::recovery {

/// Milliseconds since the Unix epoch (persisted, so the wall clock rather than a steady one).
using time_ms = std::int64_t;
time_ms now_ms() noexcept;

struct stored_packet {
    std::uint64_t offset = 0;
    time_ms emitted = 0;
    std::string nsp;
    std::vector<std::string> rooms;  ///< empty: every socket of the namespace
    std::vector<std::string> except; ///< sockets in any of these rooms did not get it
    std::vector<eio::frame> frames;  ///< as sent: the EVENT with its offset last, then its attachments
};

struct session {
    std::string pid; ///< the private id the client presents to recover
    std::string sid;
    std::string nsp;
    std::vector<std::string> rooms; ///< its own id's room included
    boost::json::value data;
    time_ms disconnected = 0; ///< 0: still connected (as far as the journal knows)
    /// The newest stored packet queued to it; unknown for a session a crash interrupted.
    std::optional<std::uint64_t> last_offset;
    /// It was recovered with everything up to this offset (of this node): a client offset below it
    /// counts from here (it may be another node's, where the client was before).
    std::uint64_t first_offset = 0;
};

/// What the journal is told (it applies them in this order).
class journal {
public:
    virtual ~journal() = default;
    virtual void packet_stored(const stored_packet& p) = 0;
    /// A session connected, changed rooms or data, or disconnected (upsert by pid).
    virtual void session_saved(const session& s) = 0;
    /// Recovered or left for good.
    virtual void session_dropped(const std::string& pid) = 0;
    /// Its window passed (a shared store may first check that no other node recovered it).
    virtual void session_expired(const std::string& pid) { session_dropped(pid); }
    /// A connected session's rooms changed.
    virtual void session_rooms(const std::string& pid, const std::vector<std::string>& rooms) = 0;
    /// Packets up to this offset are gone.
    virtual void purged_through(std::uint64_t offset) = 0;
};

class buffer {
public:
    /// How many offsets a cluster node's range holds (their starts are this far apart).
    static constexpr std::uint64_t range_width = 1ull << 30;

    /// `journal` may be null (memory only). Offsets start after `start` (a cluster's nodes start far
    /// apart, so that an offset tells whose it is).
    buffer(std::chrono::milliseconds window, journal* journal, std::uint64_t start = 0);

    std::chrono::milliseconds window() const noexcept { return window_; }

    /// Fills the buffer from what a journal kept: sessions still marked connected were cut by a crash
    /// and count as disconnected now. Call before anything else.
    void load(std::vector<session> sessions, std::vector<stored_packet> packets, std::uint64_t purged_through);

    /// Gives `p` the next offset (through `encode`, which makes its frames with that offset), stores it,
    /// and returns the offset. Nothing is stored (and 0 returned) when `encode` fails.
    std::uint64_t store(stored_packet p, const std::function<bool(std::uint64_t, std::vector<eio::frame>&)>& encode);

    /// A socket connected (or changed rooms or data): for the journal, so that a crash does not lose it.
    void connected(const session& s);
    /// A connected session's rooms changed (for the journal).
    void rooms_changed(const std::string& pid, const std::vector<std::string>& rooms);
    /// A socket disconnected for a reason that allows recovery: kept for the window.
    void disconnected(session s);
    /// A socket left for good (an explicit disconnect): forgotten.
    void forget(const std::string& pid);

    /// What a recovery hands back: the session and the packets it missed, oldest first.
    struct recovered {
        session state;
        std::vector<std::vector<eio::frame>> missed;
        std::uint64_t replayed_through = 0; ///< every packet up to here was considered: skip them live
        std::uint64_t last_offset = 0;      ///< the newest of them sent (or the client's own)
    };
    /// Recovers `pid` in `nsp` from `offset` (the client's last). Nothing when the session is unknown,
    /// older than the window, for another namespace, or when a packet it may have missed is gone.
    /// `register_live` runs under the lock with the result (the socket joins its rooms there).
    std::optional<recovered> recover(const std::string& pid, std::string_view offset, const std::string& nsp,
                                     const std::function<void(const recovered&)>& register_live);

    /// What another node kept for a session that lived there: its packets after the client's offset.
    struct elsewhere {
        const std::vector<stored_packet>& packets;
        bool complete = false; ///< none of them was trimmed
        time_ms newest = 0;    ///< when that node stored its newest packet (it may have stopped since)
    };
    /// Recovers a session a shared store (Redis) handed over, as recover(). If it lived on another node,
    /// it gets what that node kept for it, then what this one kept since (a node that crashed kept
    /// nothing after its crash; every node keeps every broadcast of the cluster).
    std::optional<recovered> recover_claimed(session s, std::string_view offset, const std::string& nsp,
                                             const std::optional<elsewhere>& remote,
                                             const std::function<void(const recovered&)>& register_live);

    /// Purges packets and sessions older than the window; returns the sessions that expired unrecovered.
    std::vector<session> expire(time_ms now);

    /// The newest offset given so far: a socket that connects now can have missed nothing up to it.
    std::uint64_t latest_offset();

    /// Whether a session kept here (disconnected, within the window) was in `room` of `nsp`: a node must
    /// keep the broadcasts to such a room although none of its sockets is in it now.
    bool keeps_room(const std::string& nsp, const std::string& room);

    std::size_t packet_count();
    std::size_t session_count();

private:
    void purge_packets(time_ms now); // mutex_ held
    /// This node's packets after `offset` that reached `rooms` of `nsp`, into `r` (mutex_ held).
    void collect_missed(std::uint64_t offset, const std::string& nsp, const std::vector<std::string>& rooms,
                        recovered& r) const;
    std::optional<std::uint64_t> local_start(const session& s, std::uint64_t client) const; // mutex_ held
    void keep(session s); // mutex_ held: into sessions_, its rooms counted
    std::unordered_map<std::string, session>::iterator release(std::unordered_map<std::string, session>::iterator it);

    const std::chrono::milliseconds window_;
    journal* const journal_;
    std::mutex mutex_;
    const std::uint64_t start_; // offsets count from here (0 for a single node)
    std::uint64_t next_offset_;
    std::uint64_t purged_through_;                            // every packet up to this offset is gone
    std::deque<stored_packet> packets_;                       // by offset
    std::unordered_map<std::string, session> sessions_;       // disconnected, by pid
    std::unordered_map<std::string, std::size_t> kept_rooms_; // "nsp\nroom" -> sessions_ in it
};

/// The offset's wire form, and back (nothing: not one of ours).
std::string offset_text(std::uint64_t offset);
std::optional<std::uint64_t> parse_offset(std::string_view text) noexcept;

} // namespace switchboard::server::recovery
