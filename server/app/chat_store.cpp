#include "chat_store.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <stdexcept>

namespace switchboard::chat {

namespace {

/// A prepared statement, finalized on scope exit.
struct statement {
    statement(sqlite3* db, const char* sql) {
        if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) stmt = nullptr;
    }
    ~statement() { sqlite3_finalize(stmt); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    sqlite3_stmt* stmt = nullptr;
};

void exec(sqlite3* db, const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
        std::string message = error ? error : "unknown error";
        sqlite3_free(error);
        throw std::runtime_error("sqlite: " + message);
    }
}

std::string column_text(sqlite3_stmt* stmt, int i) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
    return text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, i))) : std::string();
}

} // namespace

sqlite_chat_store::sqlite_chat_store(const std::string& path) {
    if (const auto dir = std::filesystem::path(path).parent_path(); !dir.empty())
        std::filesystem::create_directories(dir);
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
        const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        throw std::runtime_error("cannot open " + path + ": " + message);
    }
    // WAL + synchronous=FULL: a committed message survives a crash of the process or the machine.
    exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
              "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT, room TEXT NOT NULL,"
              " author TEXT NOT NULL, text TEXT NOT NULL, ts INTEGER NOT NULL);"
              "CREATE INDEX IF NOT EXISTS messages_by_room ON messages (room, id);"
              "CREATE TABLE IF NOT EXISTS read_marks (user TEXT NOT NULL, place TEXT NOT NULL,"
              " last_id INTEGER NOT NULL, PRIMARY KEY (user, place));");
}

sqlite_chat_store::~sqlite_chat_store() { sqlite3_close(db_); }

std::optional<stored_message> sqlite_chat_store::append(const std::string& room, const std::string& author,
                                                        const std::string& text, std::int64_t ts) {
    std::lock_guard lock(mutex_);
    statement s(db_, "INSERT INTO messages (room, author, text, ts) VALUES (?, ?, ?, ?)");
    if (!s.stmt) return std::nullopt;
    sqlite3_bind_text(s.stmt, 1, room.data(), static_cast<int>(room.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(s.stmt, 2, author.data(), static_cast<int>(author.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(s.stmt, 3, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(s.stmt, 4, ts);
    if (sqlite3_step(s.stmt) != SQLITE_DONE) return std::nullopt;
    return stored_message{sqlite3_last_insert_rowid(db_), room, author, text, ts};
}

std::vector<stored_message> sqlite_chat_store::page(const std::string& room, std::int64_t before_id, int limit) {
    std::lock_guard lock(mutex_);
    statement s(db_, "SELECT id, room, author, text, ts FROM messages WHERE room = ? AND (? = 0 OR id < ?)"
                     " ORDER BY id DESC LIMIT ?");
    std::vector<stored_message> out;
    if (!s.stmt) return out;
    sqlite3_bind_text(s.stmt, 1, room.data(), static_cast<int>(room.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(s.stmt, 2, before_id);
    sqlite3_bind_int64(s.stmt, 3, before_id);
    sqlite3_bind_int(s.stmt, 4, limit);
    while (sqlite3_step(s.stmt) == SQLITE_ROW) {
        out.push_back({sqlite3_column_int64(s.stmt, 0), column_text(s.stmt, 1), column_text(s.stmt, 2),
                       column_text(s.stmt, 3), sqlite3_column_int64(s.stmt, 4)});
    }
    return {out.rbegin(), out.rend()}; // oldest first
}

void sqlite_chat_store::mark_read(const std::string& user, const std::string& place, std::int64_t id) {
    std::lock_guard lock(mutex_);
    statement s(db_, "INSERT INTO read_marks (user, place, last_id) VALUES (?, ?, ?) ON CONFLICT (user, place)"
                     " DO UPDATE SET last_id = max(last_id, excluded.last_id)");
    if (!s.stmt) return;
    sqlite3_bind_text(s.stmt, 1, user.data(), static_cast<int>(user.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(s.stmt, 2, place.data(), static_cast<int>(place.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(s.stmt, 3, id);
    sqlite3_step(s.stmt);
}

std::vector<std::pair<std::string, std::int64_t>> sqlite_chat_store::read_marks(const std::string& user) {
    std::lock_guard lock(mutex_);
    statement s(db_, "SELECT place, last_id FROM read_marks WHERE user = ? ORDER BY place");
    std::vector<std::pair<std::string, std::int64_t>> out;
    if (!s.stmt) return out;
    sqlite3_bind_text(s.stmt, 1, user.data(), static_cast<int>(user.size()), SQLITE_TRANSIENT);
    while (sqlite3_step(s.stmt) == SQLITE_ROW)
        out.emplace_back(column_text(s.stmt, 0), sqlite3_column_int64(s.stmt, 1));
    return out;
}

void sqlite_chat_store::forget(const std::string& user, const std::string& place) {
    std::lock_guard lock(mutex_);
    statement s(db_, "DELETE FROM read_marks WHERE user = ? AND place = ?");
    if (!s.stmt) return;
    sqlite3_bind_text(s.stmt, 1, user.data(), static_cast<int>(user.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(s.stmt, 2, place.data(), static_cast<int>(place.size()), SQLITE_TRANSIENT);
    sqlite3_step(s.stmt);
}

} // namespace switchboard::chat
