#include "redis_journal.hpp"

#include "../util/log.hpp"

#include <switchboard/json.hpp>

#include <hiredis/hiredis.h>

#include <algorithm>
#include <sys/time.h>

namespace switchboard::server::recovery {

namespace {

// Claims a session: a disconnected one (unless its window has passed: its node's expiry tells of it),
// or a connected one of a node that stopped running. One node wins; the others find nothing.
constexpr const char* claim_script = R"(
local prefix, pid, now, window = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local s = redis.call('GET', KEYS[1])
if s then
  local d = tonumber(cjson.decode(s).disconnected) or 0
  if d > 0 and now - d > window then return false end
  redis.call('DEL', KEYS[1])
  return s
end
for _, node in ipairs(redis.call('SMEMBERS', prefix .. 'nodes')) do
  if redis.call('EXISTS', prefix .. 'alive:' .. node) == 0 then
    local hash = prefix .. 'connected:' .. node
    local c = redis.call('HGET', hash, pid)
    if c then
      redis.call('HDEL', hash, pid)
      return c
    end
    if redis.call('EXISTS', hash) == 0 then redis.call('SREM', prefix .. 'nodes', node) end
  end
end
return false
)";

constexpr std::chrono::milliseconds alive_for{3000};     // alive:<node> lasts this long unless refreshed
constexpr std::chrono::milliseconds refresh_every{1000}; // and is refreshed this often

/// A reply, freed on scope exit.
struct reply_ptr {
    redisReply* r = nullptr;
    reply_ptr() = default;
    explicit reply_ptr(void* p) : r(static_cast<redisReply*>(p)) {}
    reply_ptr(reply_ptr&& o) noexcept : r(std::exchange(o.r, nullptr)) {}
    reply_ptr& operator=(reply_ptr&&) = delete;
    ~reply_ptr() {
        if (r) freeReplyObject(r);
    }
};

// Queues a command (binary-safe arguments) on a pipeline; its reply is read with redisGetReply.
void append_command(redisContext* redis, const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    redisAppendCommandArgv(redis, static_cast<int>(args.size()), argv.data(), lengths.data());
}

std::string text_of(const redisReply* r) {
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) ? std::string(r->str, r->len)
                                                                                 : std::string();
}

boost::json::array strings(const std::vector<std::string>& list) {
    boost::json::array a;
    for (const auto& s : list) a.emplace_back(s);
    return a;
}

std::vector<std::string> strings_from(const boost::json::value* v) {
    std::vector<std::string> out;
    if (const auto* a = v ? v->if_array() : nullptr)
        for (const auto& s : *a)
            if (s.is_string()) out.emplace_back(s.get_string());
    return out;
}

std::optional<std::uint64_t> unsigned_of(const boost::json::value* v) {
    if (!v) return std::nullopt;
    if (v->is_uint64()) return v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
    return std::nullopt;
}

std::string session_json(const session& s, const std::string& node) {
    boost::json::object o{{"pid", s.pid},
                          {"sid", s.sid},
                          {"nsp", s.nsp},
                          {"rooms", strings(s.rooms)},
                          {"data", s.data},
                          {"disconnected", s.disconnected},
                          {"first_offset", s.first_offset},
                          {"node", node}};
    if (s.last_offset) o["last_offset"] = *s.last_offset;
    return stringify(o);
}

// The session and the node whose offsets it counts in; nothing when it is not one of ours.
std::optional<std::pair<session, std::string>> session_from(std::string_view text) {
    auto parsed = parse_json(text, 64);
    const auto* o = parsed ? parsed->if_object() : nullptr;
    if (!o) return std::nullopt;
    const auto* pid = o->if_contains("pid");
    const auto* sid = o->if_contains("sid");
    const auto* nsp = o->if_contains("nsp");
    const auto* node = o->if_contains("node");
    const auto* disconnected = o->if_contains("disconnected");
    if (!pid || !pid->is_string() || !sid || !sid->is_string() || !nsp || !nsp->is_string() || !node ||
        !node->is_string() || !disconnected || !disconnected->is_int64())
        return std::nullopt;
    session s;
    s.pid = pid->get_string();
    s.sid = sid->get_string();
    s.nsp = nsp->get_string();
    s.rooms = strings_from(o->if_contains("rooms"));
    if (const auto* data = o->if_contains("data")) s.data = *data;
    s.disconnected = disconnected->get_int64();
    s.last_offset = unsigned_of(o->if_contains("last_offset"));
    s.first_offset = unsigned_of(o->if_contains("first_offset")).value_or(0);
    return std::pair{std::move(s), std::string(node->get_string())};
}

// One XRANGE entry: [id, [field, value, ...]] as packet_stored wrote it.
std::optional<stored_packet> packet_from(const redisReply* entry) {
    if (!entry || entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) return std::nullopt;
    const auto id = text_of(entry->element[0]);
    const auto dash = id.find('-');
    const auto offset = dash == std::string::npos ? std::nullopt : parse_offset(std::string_view(id).substr(dash + 1));
    const auto* fields = entry->element[1];
    if (!offset || !fields || fields->type != REDIS_REPLY_ARRAY || fields->elements % 2 != 0) return std::nullopt;
    stored_packet p;
    p.offset = *offset;
    for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
        const auto name = text_of(fields->element[i]);
        auto value = text_of(fields->element[i + 1]);
        if (name == "nsp") {
            p.nsp = std::move(value);
        } else if (name == "rooms" || name == "except") {
            auto list = parse_json(value, 4);
            (name == "rooms" ? p.rooms : p.except) = strings_from(list ? &*list : nullptr);
        } else if (name == "emitted") {
            p.emitted = std::atoll(value.c_str());
        } else if (name == "t" || name == "b") { // a frame: text or binary, in order
            eio::frame f;
            f.bytes = make_shared_bytes(std::move(value));
            f.binary = name == "b";
            p.frames.push_back(std::move(f));
        }
    }
    if (p.nsp.empty() || p.frames.empty()) return std::nullopt;
    return p;
}

} // namespace

redis_journal::redis_journal(std::string host, int port, std::string key_prefix, std::string node,
                             std::chrono::milliseconds window)
    : prefix_(std::move(key_prefix)), node_(std::move(node)), window_(window), host_(std::move(host)), port_(port) {
    thread_ = std::thread([this] { run(); });
}

redis_journal::~redis_journal() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    if (redis_) {
        // A node that stops on purpose hands its connected sessions over at once (they were saved as
        // disconnected as their sockets closed); nothing of it should look alive.
        const reply_ptr gone(redisCommand(redis_, "DEL %s", key("alive:" + node_).c_str()));
        redisFree(redis_);
    }
}

std::string redis_journal::key(std::string_view what) const { return prefix_ + std::string(what); }

void redis_journal::post(change c) {
    {
        std::lock_guard lock(mutex_);
        pending_.push_back(std::move(c));
    }
    wake_.notify_one();
}

void redis_journal::packet_stored(const stored_packet& p) { post(p); }
void redis_journal::session_saved(const session& s) { post(s); }
void redis_journal::session_dropped(const std::string& pid) { post(drop{pid}); }
void redis_journal::session_expired(const std::string&) {} // confirm_expired takes it away, once
void redis_journal::session_rooms(const std::string& pid, const std::vector<std::string>& list) {
    post(rooms{pid, list});
}
void redis_journal::purged_through(std::uint64_t offset) { post(purge{offset}); }

void redis_journal::claim(std::string pid, std::string offset, std::function<void(std::optional<claimed>)> done) {
    post(claim_request{std::move(pid), std::move(offset), std::move(done)});
}

void redis_journal::confirm_expired(std::vector<session> sessions, std::function<void(std::vector<session>)> done) {
    post(expiry_check{std::move(sessions), std::move(done)});
}

void redis_journal::flush() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return pending_.empty() && !writing_; });
}

bool redis_journal::connect() {
    if (redis_ && redis_->err == 0) return true;
    if (redis_) {
        redisFree(redis_);
        redis_ = nullptr;
    }
    const timeval timeout{1, 0};
    redis_ = redisConnectWithTimeout(host_.c_str(), port_, timeout);
    if (!redis_ || redis_->err) {
        SB_LOG(warn, "connection state recovery: Redis at {}:{} unreachable ({})", host_, port_,
               redis_ ? redis_->errstr : "out of memory");
        if (redis_) redisFree(redis_);
        redis_ = nullptr;
        return false;
    }
    redisSetTimeout(redis_, timeval{2, 0});
    return true;
}

void redis_journal::run() {
    std::vector<change> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            writing_ = false;
            idle_.notify_all();
            wake_.wait_for(lock, refresh_every, [this] { return stopping_ || !pending_.empty(); });
            if (pending_.empty() && stopping_) return;
            batch.swap(pending_);
            writing_ = true;
        }
        try {
            write(batch);
            if (std::chrono::steady_clock::now() - kept_alive_ >= refresh_every) keep_alive();
        } catch (...) {
            SB_LOG(err, "connection state recovery: a Redis write failed ({})", describe_current_exception());
        }
        // Whatever was not answered is answered now (Redis away: no recovery, nothing expired for sure).
        for (auto& c : batch) {
            if (auto* r = std::get_if<claim_request>(&c); r && r->done) r->done(std::nullopt);
            if (auto* e = std::get_if<expiry_check>(&c); e && e->done) e->done({});
        }
        batch.clear();
    }
}

// Changes go out pipelined, in order; a claim or an expiry check waits for what came before it.
void redis_journal::write(std::vector<change>& batch) {
    if (!connect()) return;
    const auto lifetime = std::to_string((2 * window_).count()); // the window, with room for the expiry tick
    std::size_t queued = 0;
    const auto append = [&](const std::vector<std::string>& args) {
        append_command(redis_, args);
        ++queued;
    };
    const auto drain = [&] {
        for (; queued > 0; --queued) {
            void* r = nullptr;
            if (redisGetReply(redis_, &r) != REDIS_OK) throw std::runtime_error(redis_->errstr);
            reply_ptr reply(r);
            if (reply.r->type == REDIS_REPLY_ERROR)
                SB_LOG(warn, "connection state recovery: Redis refused a write ({})", reply.r->str);
        }
    };
    for (auto& c : batch) {
        if (auto* p = std::get_if<stored_packet>(&c)) {
            std::vector<std::string> args{"XADD",
                                          key("packets:" + node_),
                                          "0-" + std::to_string(p->offset),
                                          "nsp",
                                          p->nsp,
                                          "rooms",
                                          stringify(strings(p->rooms)),
                                          "except",
                                          stringify(strings(p->except)),
                                          "emitted",
                                          std::to_string(p->emitted)};
            for (const auto& f : p->frames) {
                args.emplace_back(f.binary ? "b" : "t");
                args.emplace_back(*f.bytes);
            }
            append(args);
        } else if (auto* s = std::get_if<session>(&c)) {
            if (s->disconnected == 0) {
                connected_[s->pid] = *s;
                append({"HSET", key("connected:" + node_), s->pid, session_json(*s, node_)});
            } else {
                connected_.erase(s->pid);
                append({"HDEL", key("connected:" + node_), s->pid});
                append({"SET", key("session:" + s->pid), session_json(*s, node_), "PX", lifetime});
            }
        } else if (auto* d = std::get_if<drop>(&c)) {
            connected_.erase(d->pid);
            append({"HDEL", key("connected:" + node_), d->pid});
            append({"DEL", key("session:" + d->pid)});
        } else if (auto* r = std::get_if<rooms>(&c)) {
            const auto it = connected_.find(r->pid);
            if (it == connected_.end()) continue;
            it->second.rooms = r->list;
            append({"HSET", key("connected:" + node_), r->pid, session_json(it->second, node_)});
        } else if (auto* u = std::get_if<purge>(&c)) {
            append({"XTRIM", key("packets:" + node_), "MINID", "0-" + std::to_string(u->through + 1)});
        } else if (auto* q = std::get_if<claim_request>(&c)) {
            drain();
            auto done = std::exchange(q->done, {});
            done(take(*q));
        } else if (auto* e = std::get_if<expiry_check>(&c)) {
            drain();
            auto done = std::exchange(e->done, {});
            done(still_expired(std::move(e->sessions)));
        }
    }
    drain();
}

void redis_journal::keep_alive() {
    if (!connect()) return;
    kept_alive_ = std::chrono::steady_clock::now();
    const auto lifetime = std::to_string((2 * window_).count());
    const auto alive = std::to_string(alive_for.count());
    for (const auto& args : std::vector<std::vector<std::string>>{{"SET", key("alive:" + node_), "1", "PX", alive},
                                                                  {"SADD", key("nodes"), node_},
                                                                  {"PEXPIRE", key("connected:" + node_), lifetime},
                                                                  {"PEXPIRE", key("packets:" + node_), lifetime}})
        append_command(redis_, args);
    for (int i = 0; i < 4; ++i) {
        void* r = nullptr;
        if (redisGetReply(redis_, &r) != REDIS_OK) throw std::runtime_error(redis_->errstr);
        const reply_ptr answered(r);
    }
}

std::optional<redis_journal::claimed> redis_journal::take(const claim_request& request) {
    const auto session_key = key("session:" + request.pid);
    const auto now = std::to_string(now_ms());
    const auto window = std::to_string(window_.count());
    const char* argv[] = {"EVAL",          claim_script,        "1",         session_key.c_str(),
                          prefix_.c_str(), request.pid.c_str(), now.c_str(), window.c_str()};
    reply_ptr answer(redisCommandArgv(redis_, 8, argv, nullptr));
    if (!answer.r) throw std::runtime_error(redis_->errstr);
    if (answer.r->type == REDIS_REPLY_ERROR) {
        SB_LOG(warn, "connection state recovery: Redis refused the claim ({})", answer.r->str);
        return std::nullopt;
    }
    if (answer.r->type != REDIS_REPLY_STRING) return std::nullopt; // nothing to claim
    auto found = session_from(std::string_view(answer.r->str, answer.r->len));
    if (!found) return std::nullopt;
    claimed c;
    c.state = std::move(found->first);
    c.node = std::move(found->second);
    if (c.node == node_) return c; // this node's buffer has the packets
    // Another node's: its stream from the client's offset (or from where the session came to that node).
    const auto offset = std::max(parse_offset(request.offset).value_or(0), c.state.first_offset);
    const auto from = "0-" + std::to_string(offset);
    const auto stream = key("packets:" + c.node);
    reply_ptr range(redisCommand(redis_, "XRANGE %s %s +", stream.c_str(), from.c_str()));
    if (!range.r) throw std::runtime_error(redis_->errstr);
    if (range.r->type != REDIS_REPLY_ARRAY) return c;
    for (std::size_t i = 0; i < range.r->elements; ++i) {
        auto p = packet_from(range.r->element[i]);
        if (!p) continue;
        c.newest = std::max(c.newest, p->emitted);
        if (p->offset == offset) {
            c.complete = true; // the client's own is still there: nothing after it was trimmed
            continue;
        }
        c.packets.push_back(std::move(*p));
    }
    return c;
}

std::vector<session> redis_journal::still_expired(std::vector<session> sessions) {
    std::vector<session> expired;
    for (auto& s : sessions) {
        // Its key is there unless a node recovered it: taking it away makes the expiry this node's.
        reply_ptr gone(redisCommand(redis_, "DEL %s", key("session:" + s.pid).c_str()));
        if (!gone.r) throw std::runtime_error(redis_->errstr);
        if (gone.r->type == REDIS_REPLY_INTEGER && gone.r->integer == 1) expired.push_back(std::move(s));
    }
    return expired;
}

} // namespace switchboard::server::recovery
