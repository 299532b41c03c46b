#pragma once
// Chat history: in SQLite (a file, WAL mode; one node), or in Redis (shared by every node of a
// cluster). Either way a message is stored before its sender's ack.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct sqlite3;
struct redisContext;

namespace switchboard::chat {

struct stored_message {
    std::int64_t id = 0;
    std::string room;
    std::string author;
    std::string text;
    std::int64_t ts = 0; ///< ms since the Unix epoch
};

/// Where the history is kept. Callable from any thread.
class chat_store {
public:
    virtual ~chat_store() = default;
    /// Stores a message and returns it with its id (increasing per store); nothing if the write failed.
    virtual std::optional<stored_message> append(const std::string& room, const std::string& author,
                                                 const std::string& text, std::int64_t ts) = 0;
    /// Up to `limit` messages of `room` older than `before_id` (all when 0), oldest first.
    virtual std::vector<stored_message> page(const std::string& room, std::int64_t before_id, int limit) = 0;

    /// Read marks: how far `user` (a nickname key) has read in each place (a room's name, or "@" and the
    /// other's nickname for a private conversation): the id of the last message read. A mark only moves
    /// forward; marking 0 lists a place not read yet.
    virtual void mark_read(const std::string& user, const std::string& place, std::int64_t id) = 0;
    virtual std::vector<std::pair<std::string, std::int64_t>> read_marks(const std::string& user) = 0;
    /// Drops `user`'s mark of `place` (a room they left is not theirs any more).
    virtual void forget(const std::string& user, const std::string& place) = 0;
};

class sqlite_chat_store final : public chat_store {
public:
    /// Opens (creating if needed) the database at `path`; throws std::runtime_error on failure.
    explicit sqlite_chat_store(const std::string& path);
    ~sqlite_chat_store() override;
    sqlite_chat_store(const sqlite_chat_store&) = delete;
    sqlite_chat_store& operator=(const sqlite_chat_store&) = delete;

    std::optional<stored_message> append(const std::string& room, const std::string& author, const std::string& text,
                                         std::int64_t ts) override;
    std::vector<stored_message> page(const std::string& room, std::int64_t before_id, int limit) override;
    void mark_read(const std::string& user, const std::string& place, std::int64_t id) override;
    std::vector<std::pair<std::string, std::int64_t>> read_marks(const std::string& user) override;
    void forget(const std::string& user, const std::string& place) override;

private:
    std::mutex mutex_; // one connection, used from any I/O thread
    sqlite3* db_ = nullptr;
};

/// The history in Redis, for a chat served by several nodes: ids from `INCR <prefix>seq`, each room a
/// sorted set `<prefix>room:<room>` of the messages (JSON) scored by id, each user's read marks a hash
/// `<prefix>read:<user>` (place -> id). Commands are synchronous on
/// one connection (as SQLite's writes are), reconnected when Redis went away.
class redis_chat_store final : public chat_store {
public:
    /// Connects to `host:port`; throws std::runtime_error when Redis cannot be reached at start.
    redis_chat_store(std::string host, int port, std::string prefix);
    ~redis_chat_store() override;
    redis_chat_store(const redis_chat_store&) = delete;
    redis_chat_store& operator=(const redis_chat_store&) = delete;

    std::optional<stored_message> append(const std::string& room, const std::string& author, const std::string& text,
                                         std::int64_t ts) override;
    std::vector<stored_message> page(const std::string& room, std::int64_t before_id, int limit) override;
    void mark_read(const std::string& user, const std::string& place, std::int64_t id) override;
    std::vector<std::pair<std::string, std::int64_t>> read_marks(const std::string& user) override;
    void forget(const std::string& user, const std::string& place) override;

private:
    bool connect(); // mutex_ held
    std::string read_key(const std::string& user) const;
    std::mutex mutex_;
    std::string host_;
    int port_;
    std::string prefix_;
    redisContext* redis_ = nullptr;
};

} // namespace switchboard::chat
