#include <switchboard/eio/session.hpp>

#include <catch2/catch.hpp>

using namespace switchboard::eio;
using std::chrono::milliseconds;
using action = server_heartbeat::action;

TEST_CASE("close reasons are named as the reference names them", "[eio][session]") {
    CHECK(to_string(close_reason::transport_close) == "transport close");
    CHECK(to_string(close_reason::transport_error) == "transport error");
    CHECK(to_string(close_reason::parse_error) == "parse error");
    CHECK(to_string(close_reason::forced_close) == "forced close");
    CHECK(to_string(close_reason::ping_timeout) == "ping timeout");
}

TEST_CASE("a silent peer is gone ping_interval + ping_timeout after the handshake", "[eio][heartbeat]") {
    const auto interval = milliseconds(300), timeout = milliseconds(200);
    server_heartbeat hb;
    hb.start(milliseconds(1000), interval);
    CHECK(hb.next_deadline() == milliseconds(1300));
    CHECK(hb.on_timer(milliseconds(1299), timeout) == action::none);
    CHECK(hb.on_timer(milliseconds(1300), timeout) == action::send_ping);
    CHECK(hb.awaiting_pong());
    CHECK(hb.next_deadline() == milliseconds(1500));
    CHECK(hb.on_timer(milliseconds(1499), timeout) == action::none);
    CHECK(hb.on_timer(milliseconds(1500), timeout) == action::timed_out);
}

TEST_CASE("each pong schedules the next ping one interval later", "[eio][heartbeat]") {
    const auto interval = milliseconds(25000), timeout = milliseconds(20000);
    server_heartbeat hb;
    hb.start(milliseconds(0), interval);
    REQUIRE(hb.on_timer(milliseconds(25000), timeout) == action::send_ping);
    hb.on_pong(milliseconds(25040), interval);
    CHECK_FALSE(hb.awaiting_pong());
    CHECK(hb.next_deadline() == milliseconds(50040));
    CHECK(hb.on_timer(milliseconds(45000), timeout) == action::none); // the old timeout no longer applies
    CHECK(hb.on_timer(milliseconds(50040), timeout) == action::send_ping);
    hb.on_pong(milliseconds(50041), interval);
    CHECK(hb.on_timer(milliseconds(75041), timeout) == action::send_ping);
    CHECK(hb.on_timer(milliseconds(95041), timeout) == action::timed_out);
}
