#pragma once
// Connection state recovery in Redis (private to server/), for a cluster (`--redis`): a client may come
// back on any node, and a node may crash. Every node keeps what it delivers in its own buffer, under
// its own offsets (buffer.hpp), and mirrors it here from a thread of its own, as the SQLite journal
// does; a recovery first claims the session here (atomically: one node wins), then replays from the
// stream of the node whose offsets the client counts in.
//
// Keys, all under one hash tag so that the claim's script touches one slot (prefix `{key-recovery}:`):
//   session:<pid>      a disconnected session (JSON), PX window + margin
//   connected:<node>   hash pid -> session (JSON) of the node's connected sockets, kept while it lives
//   alive:<node>       the node is running (PX 3 s, refreshed every second)
//   nodes              the set of nodes that have kept sessions
//   packets:<node>     stream of the node's stored packets, entry id 0-<offset>; trimmed with the window
// A node that crashed stops refreshing `alive:<node>`; its connected sessions may then be claimed by
// another node until `connected:<node>` expires (a window after its last refresh).

#include "buffer.hpp"
#include "journal_changes.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

struct redisContext;

namespace switchboard::server::recovery {

class redis_journal final : public journal {
public:
    /// Starts the thread; connects (and reconnects) on its own: Redis away costs recoveries, nothing else.
    redis_journal(std::string host, int port, std::string key_prefix, std::string node,
                  std::chrono::milliseconds window);
    ~redis_journal() override;
    redis_journal(const redis_journal&) = delete;
    redis_journal& operator=(const redis_journal&) = delete;

    /// This node's name in the keys (its offsets are its own).
    const std::string& node() const noexcept { return node_; }

    void packet_stored(const stored_packet& p) override;
    void session_saved(const session& s) override;
    void session_dropped(const std::string& pid) override;
    void session_expired(const std::string& pid) override;
    void session_rooms(const std::string& pid, const std::vector<std::string>& rooms) override;
    void purged_through(std::uint64_t offset) override;

    /// What a claim took from Redis: the session, the node whose offsets it counts in, and (when that
    /// node is another) the packets of that node's stream after the client's offset.
    struct claimed {
        session state;
        std::string node;
        std::vector<stored_packet> packets; ///< another node's only
        bool complete = false;              ///< another node's: nothing after the offset was trimmed
        time_ms newest = 0;                 ///< another node's: when it stored the newest of them
    };
    /// Claims `pid` (after every change handed over before it is written); `done` runs on the journal's
    /// thread, with nothing when there is no such session, it expired, or Redis cannot be reached.
    void claim(std::string pid, std::string offset, std::function<void(std::optional<claimed>)> done);
    /// Sessions the buffer found expired: `done` (journal's thread) gets those no node recovered meanwhile.
    void confirm_expired(std::vector<session> sessions, std::function<void(std::vector<session>)> done);

    /// Waits until everything handed over so far is written (tests, shutdown).
    void flush();

private:
    using drop = journal_change::drop;
    using purge = journal_change::purge;
    using rooms = journal_change::rooms;
    struct claim_request {
        std::string pid;
        std::string offset;
        std::function<void(std::optional<claimed>)> done;
    };
    struct expiry_check {
        std::vector<session> sessions;
        std::function<void(std::vector<session>)> done;
    };
    using change = std::variant<stored_packet, session, drop, purge, rooms, claim_request, expiry_check>;

    void post(change c);
    void run();
    bool connect();
    void write(std::vector<change>& batch);
    void keep_alive();
    std::optional<claimed> take(const claim_request& request);
    std::vector<session> still_expired(std::vector<session> sessions);
    std::string key(std::string_view what) const;

    const std::string prefix_;
    const std::string node_;
    const std::chrono::milliseconds window_;
    const std::string host_;
    const int port_;
    redisContext* redis_ = nullptr; // the thread's
    std::chrono::steady_clock::time_point kept_alive_{};
    std::unordered_map<std::string, session> connected_; // the thread's: rewritten when rooms change

    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable idle_;
    std::vector<change> pending_;
    bool writing_ = false;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace switchboard::server::recovery
