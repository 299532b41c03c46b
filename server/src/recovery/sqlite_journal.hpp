#pragma once
// Connection state recovery on disk (private to server/): what the buffer is told, written to SQLite
// by a thread of its own, in batches (one transaction per wake-up), so that emitting never waits for
// the disk. The database is in WAL mode without fsync: a crash of the process loses nothing it had
// handed to SQLite; a crash of the machine may lose the last moments.

#include "buffer.hpp"
#include "journal_changes.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

struct sqlite3;

namespace switchboard::server::recovery {

class sqlite_journal final : public journal {
public:
    /// Opens (or creates, with its folder) the database; throws with the reason when it cannot.
    explicit sqlite_journal(const std::string& path);
    ~sqlite_journal() override;
    sqlite_journal(const sqlite_journal&) = delete;
    sqlite_journal& operator=(const sqlite_journal&) = delete;

    /// What the database holds (before the writer starts taking changes).
    struct contents {
        std::vector<session> sessions;
        std::vector<stored_packet> packets;
        std::uint64_t purged_through = 0;
    };
    contents read();

    void packet_stored(const stored_packet& p) override;
    void session_saved(const session& s) override;
    void session_dropped(const std::string& pid) override;
    void purged_through(std::uint64_t offset) override;
    void session_rooms(const std::string& pid, const std::vector<std::string>& rooms) override;

    /// Waits until everything handed over so far is written (tests, shutdown).
    void flush();

private:
    using drop = journal_change::drop;
    using purge = journal_change::purge;
    using rooms = journal_change::rooms;
    using change = std::variant<stored_packet, session, drop, purge, rooms>;

    void post(change c);
    void run();
    void write(std::vector<change>& batch);

    sqlite3* db_ = nullptr;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable idle_;
    std::vector<change> pending_;
    bool writing_ = false;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace switchboard::server::recovery
