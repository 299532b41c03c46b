// The ack registry both ends use: ids, answers taken once, deadlines against a clock that may fire
// early or late, and what a disconnect leaves to say.
#include <switchboard/sio/ack_registry.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace switchboard;
using ms = std::chrono::milliseconds;

TEST_CASE("ack registry: ids in order, an answer is taken once, unknown ids give nothing") {
    sio::ack_registry<std::string> acks;
    CHECK(acks.add("a") == 0);
    CHECK(acks.add("b") == 1);
    CHECK(acks.add("c", ms(100)) == 2);
    CHECK(acks.size() == 3);
    CHECK(acks.take(1) == std::optional<std::string>("b"));
    CHECK_FALSE(acks.take(1));  // duplicated answer
    CHECK_FALSE(acks.take(99)); // never asked
    CHECK(acks.take(0) == std::optional<std::string>("a"));
    CHECK(acks.size() == 1);
}

TEST_CASE("ack registry: deadlines, with a timer that fires early, on time and late") {
    sio::ack_registry<int> acks;
    acks.add(1, ms(100));
    acks.add(2); // no deadline: waits for ever
    acks.add(3, ms(50));
    acks.add(4, ms(100));
    CHECK(acks.next_deadline() == ms(50));

    std::vector<std::pair<std::uint64_t, int>> expired;
    const auto collect = [&](std::uint64_t id, int v) { expired.emplace_back(id, v); };
    acks.expire(ms(49), collect); // early: nothing is due
    CHECK(expired.empty());
    acks.expire(ms(50), collect); // on time
    CHECK(expired == std::vector<std::pair<std::uint64_t, int>>{{2, 3}});
    CHECK(acks.next_deadline() == ms(100));
    expired.clear();
    acks.expire(ms(5000), collect); // very late: everything due goes, in id order
    CHECK(expired == std::vector<std::pair<std::uint64_t, int>>{{0, 1}, {3, 4}});
    CHECK_FALSE(acks.next_deadline());
    CHECK(acks.size() == 1);

    // An answer that comes after its deadline passed finds nothing; one within it finds its wait.
    const auto late = acks.add(5, ms(6000));
    acks.expire(ms(6000), collect);
    CHECK_FALSE(acks.take(late));
    const auto timely = acks.add(6, ms(7000));
    CHECK(acks.take(timely) == std::optional<int>(6));
}

TEST_CASE("ack registry: a disconnect hands every wait back once, ids wrap after the largest") {
    sio::ack_registry<int> acks;
    acks.add(10);
    acks.add(20, ms(1));
    std::vector<int> drained;
    acks.drain([&](std::uint64_t, int v) { drained.push_back(v); });
    CHECK(drained == std::vector<int>{10, 20});
    CHECK(acks.empty());
    acks.drain([&](std::uint64_t, int v) { drained.push_back(v); });
    CHECK(drained.size() == 2);

    sio::ack_registry<int> many;
    for (std::uint64_t i = 0; i < 3; ++i) many.add(0);
    CHECK(many.add(0) == 3); // ids keep counting across answers
}

TEST_CASE("ack registry: a wait under the caller's id (a broadcast's), refused when that id waits already") {
    sio::ack_registry<std::string> acks;
    CHECK(acks.add("own") == 0);
    CHECK(acks.add_at(sio::max_ack_id, "broadcast"));
    CHECK_FALSE(acks.add_at(0, "clash")); // the socket's own wait keeps its id
    CHECK(acks.take(0) == std::optional<std::string>("own"));
    CHECK(acks.take(sio::max_ack_id) == std::optional<std::string>("broadcast"));
    CHECK(acks.add("next") == 1); // the socket's own ids go on as before
}
