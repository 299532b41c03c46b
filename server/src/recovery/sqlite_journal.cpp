#include "sqlite_journal.hpp"

#include "../util/log.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <sqlite3.h>

#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace switchboard::server::recovery {

namespace {

struct statement {
    sqlite3_stmt* s = nullptr;
    statement(sqlite3* db, const char* sql) {
        if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
            throw std::runtime_error(std::string("recovery db: ") + sqlite3_errmsg(db));
    }
    ~statement() { sqlite3_finalize(s); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    void text(int i, std::string_view v) {
        sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
    void blob(int i, std::string_view v) {
        sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
    void integer(int i, std::int64_t v) { sqlite3_bind_int64(s, i, v); }
    void null(int i) { sqlite3_bind_null(s, i); }
    bool step() { return sqlite3_step(s) == SQLITE_ROW; }
    void run() {
        const int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) throw std::runtime_error(std::string("recovery db: ") + sqlite3_errstr(rc));
    }
    std::string column_text(int i) {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_blob(s, i));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
    }
    std::int64_t column_int(int i) { return sqlite3_column_int64(s, i); }
    bool column_null(int i) { return sqlite3_column_type(s, i) == SQLITE_NULL; }
    bool column_blob(int i) { return sqlite3_column_type(s, i) == SQLITE_BLOB; }
};

void exec(sqlite3* db, const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
        std::string why = error ? error : "unknown error";
        sqlite3_free(error);
        throw std::runtime_error("recovery db: " + why);
    }
}

std::string rooms_json(const std::vector<std::string>& rooms) {
    boost::json::array a;
    for (const auto& r : rooms) a.emplace_back(r);
    return boost::json::serialize(a);
}

std::vector<std::string> rooms_from(const std::string& text) {
    std::vector<std::string> out;
    boost::system::error_code ec;
    const auto v = boost::json::parse(text, ec);
    if (ec || !v.is_array()) return out;
    for (const auto& r : v.get_array())
        if (r.is_string()) out.emplace_back(r.get_string());
    return out;
}

// Attachments as one blob: for each, its length (4 bytes, little-endian), then its bytes.
std::string attachments_blob(const std::vector<eio::frame>& frames) {
    std::string out;
    for (std::size_t i = 1; i < frames.size(); ++i) {
        const auto& bytes = *frames[i].bytes;
        const auto n = static_cast<std::uint32_t>(bytes.size());
        for (int k = 0; k < 4; ++k) out.push_back(static_cast<char>((n >> (8 * k)) & 0xff));
        out.append(bytes);
    }
    return out;
}

// The first frame is text with the default parser and binary with MessagePack: its column's type says.
std::vector<eio::frame> frames_from(std::string first, bool binary, const std::string& blob) {
    std::vector<eio::frame> frames;
    frames.push_back({make_shared_bytes(std::move(first)), binary, false, nullptr});
    std::size_t at = 0;
    while (at + 4 <= blob.size()) {
        std::uint32_t n = 0;
        for (int k = 0; k < 4; ++k)
            n |= static_cast<std::uint32_t>(static_cast<unsigned char>(blob[at + k])) << (8 * k);
        at += 4;
        if (at + n > blob.size()) break;
        frames.push_back(eio::make_binary_frame(make_shared_bytes(blob.substr(at, n))));
        at += n;
    }
    return frames;
}

} // namespace

sqlite_journal::sqlite_journal(const std::string& path) {
    const auto folder = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!folder.empty()) std::filesystem::create_directories(folder, ec);
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
        std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        throw std::runtime_error("recovery db " + path + ": " + why);
    }
    try {
        exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
                  "CREATE TABLE IF NOT EXISTS packets(offset INTEGER PRIMARY KEY, emitted INTEGER NOT NULL,"
                  "  nsp TEXT NOT NULL, rooms TEXT NOT NULL, except_rooms TEXT NOT NULL, frame BLOB NOT NULL,"
                  "  attachments BLOB NOT NULL);"
                  "CREATE TABLE IF NOT EXISTS sessions(pid TEXT PRIMARY KEY, sid TEXT NOT NULL, nsp TEXT NOT NULL,"
                  "  rooms TEXT NOT NULL, data TEXT NOT NULL, disconnected INTEGER NOT NULL, last_offset INTEGER);"
                  "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);");
    } catch (...) {
        sqlite3_close(db_);
        throw;
    }
    thread_ = std::thread([this] { run(); });
}

sqlite_journal::~sqlite_journal() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
    sqlite3_close(db_);
}

sqlite_journal::contents sqlite_journal::read() {
    contents c;
    std::lock_guard lock(mutex_); // the writer writes nothing before the buffer is filled
    {
        statement q(db_, "SELECT pid, sid, nsp, rooms, data, disconnected, last_offset FROM sessions");
        while (q.step()) {
            session s;
            s.pid = q.column_text(0);
            s.sid = q.column_text(1);
            s.nsp = q.column_text(2);
            s.rooms = rooms_from(q.column_text(3));
            boost::system::error_code ec;
            s.data = boost::json::parse(q.column_text(4), ec);
            if (ec) s.data = nullptr;
            s.disconnected = q.column_int(5);
            if (!q.column_null(6)) s.last_offset = static_cast<std::uint64_t>(q.column_int(6));
            c.sessions.push_back(std::move(s));
        }
    }
    {
        statement q(
            db_, "SELECT offset, emitted, nsp, rooms, except_rooms, frame, attachments FROM packets ORDER BY offset");
        while (q.step()) {
            stored_packet p;
            p.offset = static_cast<std::uint64_t>(q.column_int(0));
            p.emitted = q.column_int(1);
            p.nsp = q.column_text(2);
            p.rooms = rooms_from(q.column_text(3));
            p.except = rooms_from(q.column_text(4));
            p.frames = frames_from(q.column_text(5), q.column_blob(5), q.column_text(6));
            c.packets.push_back(std::move(p));
        }
    }
    statement q(db_, "SELECT value FROM meta WHERE key = 'purged_through'");
    if (q.step()) c.purged_through = static_cast<std::uint64_t>(q.column_int(0));
    return c;
}

void sqlite_journal::packet_stored(const stored_packet& p) { post(p); }
void sqlite_journal::session_saved(const session& s) { post(s); }
void sqlite_journal::session_dropped(const std::string& pid) { post(drop{pid}); }
void sqlite_journal::purged_through(std::uint64_t offset) { post(purge{offset}); }
void sqlite_journal::session_rooms(const std::string& pid, const std::vector<std::string>& list) {
    post(rooms{pid, list});
}

void sqlite_journal::post(change c) {
    {
        std::lock_guard lock(mutex_);
        pending_.push_back(std::move(c));
    }
    wake_.notify_one();
}

void sqlite_journal::flush() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return pending_.empty() && !writing_; });
}

void sqlite_journal::run() {
    std::vector<change> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            writing_ = false;
            idle_.notify_all();
            wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
            if (pending_.empty()) return; // stopping, and everything is written
            batch.swap(pending_);
            writing_ = true;
        }
        try {
            write(batch);
        } catch (...) {
            SB_LOG(err, "recovery db: a write failed ({}); recovery after a restart may miss it",
                   describe_current_exception());
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        }
        batch.clear();
    }
}

void sqlite_journal::write(std::vector<change>& batch) {
    exec(db_, "BEGIN");
    statement insert_packet(db_, "INSERT OR REPLACE INTO packets VALUES (?, ?, ?, ?, ?, ?, ?)");
    statement save_session(db_, "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?)");
    statement drop_session(db_, "DELETE FROM sessions WHERE pid = ?");
    statement purge_packets(db_, "DELETE FROM packets WHERE offset <= ?");
    statement save_purge(db_, "INSERT OR REPLACE INTO meta VALUES ('purged_through', ?)");
    statement save_rooms(db_, "UPDATE sessions SET rooms = ? WHERE pid = ?");
    for (auto& c : batch) {
        if (auto* p = std::get_if<stored_packet>(&c)) {
            insert_packet.integer(1, static_cast<std::int64_t>(p->offset));
            insert_packet.integer(2, p->emitted);
            insert_packet.text(3, p->nsp);
            insert_packet.text(4, rooms_json(p->rooms));
            insert_packet.text(5, rooms_json(p->except));
            if (p->frames.front().binary)
                insert_packet.blob(6, *p->frames.front().bytes);
            else
                insert_packet.text(6, *p->frames.front().bytes);
            insert_packet.blob(7, attachments_blob(p->frames));
            insert_packet.run();
        } else if (auto* s = std::get_if<session>(&c)) {
            save_session.text(1, s->pid);
            save_session.text(2, s->sid);
            save_session.text(3, s->nsp);
            save_session.text(4, rooms_json(s->rooms));
            save_session.text(5, boost::json::serialize(s->data));
            save_session.integer(6, s->disconnected);
            if (s->last_offset)
                save_session.integer(7, static_cast<std::int64_t>(*s->last_offset));
            else
                save_session.null(7);
            save_session.run();
        } else if (auto* d = std::get_if<drop>(&c)) {
            drop_session.text(1, d->pid);
            drop_session.run();
        } else if (auto* r = std::get_if<rooms>(&c)) {
            save_rooms.text(1, rooms_json(r->list));
            save_rooms.text(2, r->pid);
            save_rooms.run();
        } else if (auto* u = std::get_if<purge>(&c)) {
            purge_packets.integer(1, static_cast<std::int64_t>(u->through));
            purge_packets.run();
            save_purge.integer(1, static_cast<std::int64_t>(u->through));
            save_purge.run();
        }
    }
    exec(db_, "COMMIT");
}

} // namespace switchboard::server::recovery
