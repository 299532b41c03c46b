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
    server_heartbeat hb(milliseconds(300), milliseconds(200));
    hb.start(milliseconds(1000));
    CHECK(hb.next_deadline() == milliseconds(1300));
    CHECK(hb.on_timer(milliseconds(1299)) == action::none);
    CHECK(hb.on_timer(milliseconds(1300)) == action::send_ping);
    CHECK(hb.awaiting_pong());
    CHECK(hb.next_deadline() == milliseconds(1500));
    CHECK(hb.on_timer(milliseconds(1499)) == action::none);
    CHECK(hb.on_timer(milliseconds(1500)) == action::timed_out);
}

TEST_CASE("each pong schedules the next ping one interval later", "[eio][heartbeat]") {
    server_heartbeat hb(milliseconds(25000), milliseconds(20000));
    hb.start(milliseconds(0));
    REQUIRE(hb.on_timer(milliseconds(25000)) == action::send_ping);
    hb.on_pong(milliseconds(25040));
    CHECK_FALSE(hb.awaiting_pong());
    CHECK(hb.next_deadline() == milliseconds(50040));
    CHECK(hb.on_timer(milliseconds(45000)) == action::none); // the old timeout no longer applies
    CHECK(hb.on_timer(milliseconds(50040)) == action::send_ping);
    hb.on_pong(milliseconds(50041));
    CHECK(hb.on_timer(milliseconds(75041)) == action::send_ping);
    CHECK(hb.on_timer(milliseconds(95041)) == action::timed_out);
}
