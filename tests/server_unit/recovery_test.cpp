// Connection state recovery's buffer (which packets a session missed, when it may recover) and its
// SQLite journal (what a restart reads back).
#include "recovery/buffer.hpp"
#include "recovery/sqlite_journal.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

using namespace switchboard;
using namespace switchboard::server::recovery;

namespace {

// Stores an EVENT whose text is `label` followed by its offset (the encoder's job in the server).
std::uint64_t store(buffer& b, const std::string& nsp, std::vector<std::string> rooms, std::vector<std::string> except,
                    const std::string& label, std::string attachment = {}) {
    stored_packet p;
    p.nsp = nsp;
    p.rooms = std::move(rooms);
    p.except = std::move(except);
    return b.store(std::move(p), [&](std::uint64_t offset, std::vector<eio::frame>& frames) {
        frames.push_back(eio::make_text_frame(eio::packet_type::message, label + "#" + offset_text(offset)));
        if (!attachment.empty()) frames.push_back(eio::make_binary_frame(make_shared_bytes(attachment)));
        return true;
    });
}

session gone(const std::string& pid, const std::string& sid, std::vector<std::string> rooms,
             std::optional<std::uint64_t> last = std::nullopt) {
    session s;
    s.pid = pid;
    s.sid = sid;
    s.nsp = "/";
    s.rooms = std::move(rooms);
    s.data = boost::json::object{{"name", "ada"}};
    s.last_offset = last;
    return s;
}

std::vector<std::string> texts(const buffer::recovered& r) {
    std::vector<std::string> out;
    for (const auto& frames : r.missed) out.push_back(*frames.front().bytes);
    return out;
}

} // namespace

TEST_CASE("recovery: the packets after the client's offset that reached its rooms, in order") {
    buffer b(std::chrono::seconds(10), nullptr);
    const auto first = store(b, "/", {"s1"}, {}, "direct");
    b.disconnected(gone("p1", "s1", {"s1", "team"}, first));
    store(b, "/", {"s1"}, {}, "to-me");
    store(b, "/", {"team"}, {}, "to-team");
    store(b, "/", {"other"}, {}, "to-other");
    store(b, "/", {}, {"team"}, "all-but-team");
    store(b, "/", {}, {}, "everyone");
    store(b, "/chat", {}, {}, "other-namespace");
    bool registered = false;
    const auto r = b.recover("p1", offset_text(first), "/", [&](const buffer::recovered&) { registered = true; });
    REQUIRE(r);
    CHECK(registered);
    CHECK(texts(*r) == std::vector<std::string>{"4to-me#2", "4to-team#3", "4everyone#6"});
    CHECK(r->state.sid == "s1");
    CHECK(r->state.data.as_object().at("name") == "ada");
    CHECK(r->replayed_through == 7);
    CHECK(r->last_offset == 6);
    // Once recovered, the session is gone.
    CHECK_FALSE(b.recover("p1", offset_text(first), "/", [](const auto&) {}));
}

TEST_CASE("recovery: refused for an unknown pid, another namespace, a bad or future offset") {
    buffer b(std::chrono::seconds(10), nullptr);
    const auto o = store(b, "/", {}, {}, "x");
    b.disconnected(gone("p1", "s1", {"s1"}, o));
    const auto none = [](const auto&) {};
    CHECK_FALSE(b.recover("p2", offset_text(o), "/", none));
    CHECK_FALSE(b.recover("p1", offset_text(o), "/chat", none));
    CHECK_FALSE(b.recover("p1", "abc", "/", none));
    CHECK_FALSE(b.recover("p1", "", "/", none));
    CHECK_FALSE(b.recover("p1", offset_text(o + 5), "/", none));
    CHECK(b.recover("p1", offset_text(o), "/", none));
}

TEST_CASE("recovery: a quiet socket recovers after its last packet was purged, a gap does not") {
    buffer b(std::chrono::milliseconds(200), nullptr);
    const auto quiet = store(b, "/", {"s1"}, {}, "long ago");
    const auto missed = store(b, "/", {"s2"}, {}, "for s2, long ago");
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    b.disconnected(gone("p1", "s1", {"s1"}, quiet));  // had all it was sent
    b.disconnected(gone("p2", "s2", {"s2"}, missed)); // was sent `missed`, has only `quiet`'s offset
    b.expire(now_ms());                               // both packets purged; the sessions are fresh
    CHECK(b.packet_count() == 0);
    store(b, "/", {"s1"}, {}, "after");
    const auto r = b.recover("p1", offset_text(quiet), "/", [](const auto&) {});
    REQUIRE(r);
    CHECK(texts(*r) == std::vector<std::string>{"4after#3"});
    CHECK_FALSE(b.recover("p2", offset_text(quiet), "/", [](const auto&) {}));
}

TEST_CASE("recovery: sessions expire after the window and are handed back once") {
    buffer b(std::chrono::milliseconds(100), nullptr);
    b.disconnected(gone("p1", "s1", {"s1", "r"}));
    CHECK(b.expire(now_ms()).empty());
    const auto expired = b.expire(now_ms() + 150);
    REQUIRE(expired.size() == 1);
    CHECK(expired[0].sid == "s1");
    CHECK(expired[0].rooms == std::vector<std::string>{"s1", "r"});
    CHECK(b.expire(now_ms() + 300).empty());
}

TEST_CASE(
    "recovery: the SQLite journal gives back sessions (a connected one as cut), packets with attachments, the purge") {
    const auto path = (std::filesystem::temp_directory_path() / "switchboard-recovery-unit.db").string();
    for (const auto* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    std::uint64_t last = 0;
    {
        sqlite_journal journal(path);
        buffer b(std::chrono::seconds(10), &journal);
        store(b, "/", {"s1"}, {}, "a");
        last = store(b, "/", {"team"}, {"s9"}, "b", std::string("\0\1\2", 3));
        b.disconnected(gone("p1", "s1", {"s1", "team"}, 1));
        b.connected(gone("p2", "s2", {"s2"}));
        b.rooms_changed("p2", {"s2", "late-join"});
        journal.flush();
    }
    sqlite_journal journal(path);
    auto kept = journal.read();
    REQUIRE(kept.sessions.size() == 2);
    REQUIRE(kept.packets.size() == 2);
    CHECK(kept.packets[1].rooms == std::vector<std::string>{"team"});
    CHECK(kept.packets[1].except == std::vector<std::string>{"s9"});
    REQUIRE(kept.packets[1].frames.size() == 2);
    CHECK(*kept.packets[1].frames[1].bytes == std::string("\0\1\2", 3));
    buffer b(std::chrono::seconds(10), &journal);
    b.load(std::move(kept.sessions), std::move(kept.packets), kept.purged_through);
    // The next offset follows the kept ones.
    CHECK(store(b, "/", {}, {}, "c") == last + 1);
    const auto one = b.recover("p1", "1", "/", [](const auto&) {});
    REQUIRE(one);
    CHECK(texts(*one) == std::vector<std::string>{"4b#2", "4c#3"});
    // The session that was connected when the process ended counts as cut then, with its late rooms.
    const auto two = b.recover("p2", "2", "/", [](const auto&) {});
    REQUIRE(two);
    CHECK(two->state.rooms == std::vector<std::string>{"s2", "late-join"});
    CHECK(texts(*two) == std::vector<std::string>{"4c#3"});
    for (const auto* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

namespace {

// An EVENT as the default parser writes it, its offset last (what same-event detection reads).
std::uint64_t store_event(buffer& b, std::vector<std::string> rooms, const std::string& name) {
    stored_packet p;
    p.nsp = "/";
    p.rooms = std::move(rooms);
    return b.store(std::move(p), [&](std::uint64_t offset, std::vector<eio::frame>& frames) {
        frames.push_back(
            eio::make_text_frame(eio::packet_type::message, "2[\"" + name + "\",\"" + offset_text(offset) + "\"]"));
        return true;
    });
}

stored_packet kept_elsewhere(std::uint64_t offset, std::vector<std::string> rooms, const std::string& name,
                             time_ms emitted) {
    stored_packet p;
    p.offset = offset;
    p.emitted = emitted;
    p.nsp = "/";
    p.rooms = std::move(rooms);
    p.frames.push_back(
        eio::make_text_frame(eio::packet_type::message, "2[\"" + name + "\",\"" + offset_text(offset) + "\"]"));
    return p;
}

} // namespace

TEST_CASE("recovery in a cluster: a session from another node gets what that node kept, in its order") {
    buffer b(std::chrono::seconds(10), nullptr);
    store_event(b, {}, "here-before"); // this node's own: not the client's sequence
    auto s = gone("p1", "s1", {"s1", "team"}, 5);
    s.disconnected = now_ms() - 100;
    const auto now = now_ms();
    const std::vector<stored_packet> there{kept_elsewhere(6, {"team"}, "to-team", now),
                                           kept_elsewhere(7, {"other"}, "to-other", now),
                                           kept_elsewhere(8, {}, "everyone", now)};
    std::uint64_t registered_through = 0;
    auto r = b.recover_claimed(s, "5", "/", buffer::elsewhere{there, true, now},
                               [&](const buffer::recovered& got) { registered_through = got.replayed_through; });
    REQUIRE(r);
    CHECK(texts(*r) == std::vector<std::string>{R"(42["to-team","6"])", R"(42["everyone","8"])"});
    CHECK(r->replayed_through == 1); // this node's packets up to here are not sent to it live
    CHECK(registered_through == 1);
    CHECK(r->last_offset == 1); // from now on it counts in this node's offsets
    CHECK(r->state.data == boost::json::value(boost::json::object{{"name", "ada"}}));

    // That node trimmed what came after the client's offset, and the client had not had everything.
    auto behind = gone("p2", "s2", {"s2"}, 9);
    behind.disconnected = now_ms();
    CHECK_FALSE(b.recover_claimed(behind, "5", "/", buffer::elsewhere{there, false, now}, [](const auto&) {}));
    // The session is another namespace's.
    CHECK_FALSE(b.recover_claimed(gone("p3", "s3", {"s3"}), "5", "/chat", buffer::elsewhere{there, true, now},
                                  [](const auto&) {}));
}

TEST_CASE("recovery in a cluster: from a node that crashed, then this node's events since, without repeats") {
    buffer b(std::chrono::seconds(10), nullptr);
    store_event(b, {"team"}, "older"); // before that node's newest: it had it
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const auto newest = now_ms();
    store_event(b, {"team"}, "both");  // that node had it too (under its own offset)
    store_event(b, {"team"}, "after"); // delivered after that node stopped
    store_event(b, {"other"}, "not-its");
    auto s = gone("p1", "s1", {"s1", "team"}, 3);
    s.disconnected = 0; // taken from a node that stopped running
    const std::vector<stored_packet> there{kept_elsewhere(4, {"team"}, "both", newest)};
    auto r = b.recover_claimed(s, "3", "/", buffer::elsewhere{there, true, newest}, [](const auto&) {});
    REQUIRE(r);
    CHECK(texts(*r) == std::vector<std::string>{R"(42["both","4"])", R"(42["after","3"])"});
}

TEST_CASE("recovery: a client offset below where the session came to this node counts from there") {
    const auto start = 3 * buffer::range_width; // a cluster node's offsets
    buffer b(std::chrono::seconds(10), nullptr, start);
    const auto came = store_event(b, {"s1"}, "replayed-when-it-came");
    const auto live = store_event(b, {"s1"}, "live");
    CHECK(came == start + 1);
    auto s = gone("p1", "s1", {"s1"}, live);
    s.first_offset = came; // recovered here with everything up to then; "live" was queued to it since
    b.disconnected(s);
    // It got nothing here before the cut: its offset is still the other node's (outside this one's range).
    auto r = b.recover("p1", "9", "/", [](const auto&) {});
    REQUIRE(r);
    CHECK(texts(*r) == std::vector<std::string>{"42[\"live\",\"" + offset_text(live) + "\"]"});
    // One of this node's from the future is refused.
    b.disconnected(s);
    CHECK_FALSE(b.recover("p1", offset_text(live + 5), "/", [](const auto&) {}));
}

TEST_CASE("recovery: the rooms of kept sessions are known (a cluster node keeps their broadcasts)") {
    buffer b(std::chrono::seconds(10), nullptr);
    CHECK_FALSE(b.keeps_room("/", "team"));
    b.disconnected(gone("p1", "s1", {"s1", "team"}));
    b.disconnected(gone("p2", "s2", {"s2", "team"}));
    CHECK(b.keeps_room("/", "team"));
    CHECK(b.keeps_room("/", "s1"));
    CHECK_FALSE(b.keeps_room("/chat", "team"));
    b.forget("p1");
    CHECK(b.keeps_room("/", "team"));
    CHECK_FALSE(b.keeps_room("/", "s1"));
    b.forget("p2");
    CHECK_FALSE(b.keeps_room("/", "team"));
}

TEST_CASE("recovery: the SQLite journal keeps a packet of the MessagePack parser binary") {
    const auto path = (std::filesystem::temp_directory_path() / "switchboard-recovery-msgpack-unit.db").string();
    for (const auto* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    {
        sqlite_journal journal(path);
        buffer b(std::chrono::seconds(10), &journal);
        stored_packet p;
        p.nsp = "/";
        b.store(std::move(p), [](std::uint64_t, std::vector<eio::frame>& frames) {
            frames.push_back(eio::make_binary_frame(make_shared_bytes(std::string("\x83\xa4type\x02", 7))));
            return true;
        });
        store(b, "/", {}, {}, "text");
        journal.flush();
    }
    sqlite_journal journal(path);
    auto kept = journal.read();
    REQUIRE(kept.packets.size() == 2);
    CHECK(kept.packets[0].frames.at(0).binary);
    CHECK(*kept.packets[0].frames.at(0).bytes == std::string("\x83\xa4type\x02", 7));
    CHECK_FALSE(kept.packets[1].frames.at(0).binary);
    for (const auto* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}
