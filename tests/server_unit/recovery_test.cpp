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
