#pragma once
// Chat history in SQLite (a file, WAL mode): a message is on disk before its sender's ack.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace switchboard::chat {

struct stored_message {
    std::int64_t id = 0;
    std::string room;
    std::string author;
    std::string text;
    std::int64_t ts = 0; ///< ms since the Unix epoch
};

class chat_store {
public:
    /// Opens (creating if needed) the database at `path`; throws std::runtime_error on failure.
    explicit chat_store(const std::string& path);
    ~chat_store();
    chat_store(const chat_store&) = delete;
    chat_store& operator=(const chat_store&) = delete;

    /// Stores a message and returns it with its id; nullopt if the write failed.
    std::optional<stored_message> append(const std::string& room, const std::string& author, const std::string& text,
                                         std::int64_t ts);
    /// Up to `limit` messages of `room` older than `before_id` (all when 0), oldest first.
    std::vector<stored_message> page(const std::string& room, std::int64_t before_id, int limit);

private:
    std::mutex mutex_; // one connection, used from any I/O thread
    sqlite3* db_ = nullptr;
};

} // namespace switchboard::chat
