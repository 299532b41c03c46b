#include "chat_store.hpp"

#include <switchboard/json.hpp>

#include <boost/json/object.hpp>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace switchboard::chat {

namespace {

/// A command's reply, freed on scope exit.
struct reply_ptr {
    redisReply* r = nullptr;
    ~reply_ptr() {
        if (r) freeReplyObject(r);
    }
    explicit operator bool() const { return r && r->type != REDIS_REPLY_ERROR; }
};

reply_ptr run(redisContext* c, const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    return {static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lengths.data()))};
}

std::string encode(const stored_message& m) {
    return stringify(boost::json::object{{"id", m.id}, {"author", m.author}, {"text", m.text}, {"ts", m.ts}});
}

std::optional<stored_message> decode(const std::string& room, std::string_view text) {
    auto v = parse_json(text, 4);
    const auto* o = v ? v->if_object() : nullptr;
    if (!o) return std::nullopt;
    stored_message m;
    m.room = room;
    const auto* id = o->if_contains("id");
    const auto* author = o->if_contains("author");
    const auto* body = o->if_contains("text");
    const auto* ts = o->if_contains("ts");
    if (!id || !id->is_int64() || !author || !author->is_string() || !body || !body->is_string() || !ts ||
        !ts->is_int64())
        return std::nullopt;
    m.id = id->get_int64();
    m.author = author->get_string();
    m.text = body->get_string();
    m.ts = ts->get_int64();
    return m;
}

} // namespace

redis_chat_store::redis_chat_store(std::string host, int port, std::string prefix)
    : host_(std::move(host)), port_(port), prefix_(std::move(prefix)) {
    std::lock_guard lock(mutex_);
    if (!connect()) throw std::runtime_error("cannot reach Redis at " + host_ + ":" + std::to_string(port_));
}

redis_chat_store::~redis_chat_store() {
    if (redis_) redisFree(redis_);
}

bool redis_chat_store::connect() {
    if (redis_ && !redis_->err) return true;
    if (redis_) redisFree(std::exchange(redis_, nullptr));
    const timeval timeout{2, 0}; // a dead Redis costs a request 2 s, not forever
    redis_ = redisConnectWithTimeout(host_.c_str(), port_, timeout);
    if (!redis_ || redis_->err) return false;
    redisSetTimeout(redis_, timeout);
    return true;
}

std::optional<stored_message> redis_chat_store::append(const std::string& room, const std::string& author,
                                                       const std::string& text, std::int64_t ts) {
    std::lock_guard lock(mutex_);
    if (!connect()) return std::nullopt;
    auto id = run(redis_, {"INCR", prefix_ + "seq"});
    if (!id || id.r->type != REDIS_REPLY_INTEGER) return std::nullopt;
    stored_message m{id.r->integer, room, author, text, ts};
    auto added = run(redis_, {"ZADD", prefix_ + "room:" + room, std::to_string(m.id), encode(m)});
    if (!added) return std::nullopt;
    return m;
}

std::vector<stored_message> redis_chat_store::page(const std::string& room, std::int64_t before_id, int limit) {
    std::lock_guard lock(mutex_);
    std::vector<stored_message> out;
    if (!connect()) return out;
    // Built by appending: GCC 12 warns wrongly (-Wrestrict) on `"(" + std::to_string(…)`.
    std::string newest = "+inf";
    if (before_id > 0) newest.assign("(").append(std::to_string(before_id));
    auto r = run(redis_,
                 {"ZREVRANGEBYSCORE", prefix_ + "room:" + room, newest, "-inf", "LIMIT", "0", std::to_string(limit)});
    if (!r || r.r->type != REDIS_REPLY_ARRAY) return out;
    for (std::size_t i = r.r->elements; i-- > 0;) { // oldest first
        const auto* e = r.r->element[i];
        if (e->type != REDIS_REPLY_STRING) continue;
        if (auto m = decode(room, std::string_view(e->str, e->len))) out.push_back(std::move(*m));
    }
    return out;
}

std::string redis_chat_store::read_key(const std::string& user) const { return prefix_ + "read:" + user; }

void redis_chat_store::mark_read(const std::string& user, const std::string& place, std::int64_t id) {
    // Forward only, atomically: two nodes may mark the same user's place at once.
    static const std::string forward_only =
        "local old = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')\n"
        "if tonumber(ARGV[2]) > old then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end";
    std::lock_guard lock(mutex_);
    if (!connect()) return;
    run(redis_, {"EVAL", forward_only, "1", read_key(user), place, std::to_string(id)});
}

std::vector<std::pair<std::string, std::int64_t>> redis_chat_store::read_marks(const std::string& user) {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<std::string, std::int64_t>> out;
    if (!connect()) return out;
    auto r = run(redis_, {"HGETALL", read_key(user)});
    if (!r || r.r->type != REDIS_REPLY_ARRAY) return out;
    for (std::size_t i = 0; i + 1 < r.r->elements; i += 2) {
        const auto* place = r.r->element[i];
        const auto* id = r.r->element[i + 1];
        if (place->type != REDIS_REPLY_STRING || id->type != REDIS_REPLY_STRING) continue;
        out.emplace_back(std::string(place->str, place->len), std::strtoll(id->str, nullptr, 10));
    }
    std::sort(out.begin(), out.end());
    return out;
}

void redis_chat_store::forget(const std::string& user, const std::string& place) {
    std::lock_guard lock(mutex_);
    if (connect()) run(redis_, {"HDEL", read_key(user), place});
}

} // namespace switchboard::chat
