// The per-socket event rate: a token bucket with a burst of 5x the rate, the client told at most once
// a second, and disconnected only when its excess lasts (refusals no more than a second apart).
#include <switchboard/sio/event_budget.hpp>

#include <catch2/catch.hpp>

using namespace switchboard;
using verdict = sio::event_budget::verdict;
using ms = std::chrono::milliseconds;

TEST_CASE("event budget: a burst of 5x the rate, then the rate") {
    sio::event_budget b(10);
    int delivered = 0;
    for (int i = 0; i < 60; ++i) delivered += b.take(ms(0)) == verdict::deliver;
    CHECK(delivered == 50);
    CHECK(b.take(ms(100)) == verdict::deliver); // one token back after 100 ms at 10/s
    CHECK(b.take(ms(100)) != verdict::deliver);
}

TEST_CASE("event budget: the client is told at most once a second") {
    sio::event_budget b(1);
    for (int i = 0; i < 5; ++i) REQUIRE(b.take(ms(0)) == verdict::deliver);
    CHECK(b.take(ms(0)) == verdict::refuse_and_tell);
    CHECK(b.take(ms(10)) == verdict::refuse);
    CHECK(b.take(ms(500)) == verdict::refuse);
    CHECK(b.take(ms(1001)) == verdict::deliver); // a token came back
    CHECK(b.take(ms(1002)) == verdict::refuse_and_tell);
}

TEST_CASE("event budget: an excess that lasts disconnects, one that pauses does not") {
    sio::event_budget lasting(1, std::chrono::seconds(10));
    for (int i = 0; i < 5; ++i) lasting.take(ms(0));
    verdict last = verdict::deliver;
    for (int t = 0; t <= 12000 && last != verdict::disconnect; t += 100) last = lasting.take(ms(t));
    CHECK(last == verdict::disconnect);

    sio::event_budget pausing(1, std::chrono::seconds(10));
    for (int i = 0; i < 5; ++i) pausing.take(ms(0));
    bool disconnected = false;
    for (int second = 0; second < 20; ++second) {
        // Over the rate for half a second, then quiet long enough for the excess to end.
        for (int t = 0; t < 500; t += 50) disconnected |= pausing.take(ms(second * 3000 + t)) == verdict::disconnect;
    }
    CHECK_FALSE(disconnected);
}

TEST_CASE("event budget: a clock that goes back refills nothing and breaks nothing") {
    sio::event_budget b(10);
    for (int i = 0; i < 50; ++i) b.take(ms(1000));
    CHECK(b.take(ms(500)) != verdict::deliver);
}

TEST_CASE("byte budget: events cost their size, and one larger than the burst passes on a full bucket, then owes") {
    sio::event_budget b(1000); // 1000 bytes/s, bursts of 5000
    CHECK(b.take(ms(0), 3000) == verdict::deliver);
    CHECK(b.take(ms(0), 3000) == verdict::refuse_and_tell); // 2000 left
    CHECK(b.take(ms(0), 2000) == verdict::deliver);
    CHECK(b.take(ms(5000), 8000) == verdict::deliver);      // full again: a big one passes, leaving -3000
    CHECK(b.take(ms(7000), 1) == verdict::refuse_and_tell); // -1000 after 2 s
    CHECK(b.take(ms(8001), 1) == verdict::deliver);         // back above zero
}
