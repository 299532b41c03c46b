// The server's Engine.IO session driven as the server drives it, with the faults a network and a
// hostile peer produce: input split at every byte, packets reordered or repeated, timers early or late,
// a probe closing mid-upgrade.
#include "client_frames.hpp"

#include <switchboard/eio/server_session.hpp>
#include <switchboard/ws/frame.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace switchboard;
using eio::server_session;
using eio::transport_kind;
using std::chrono::milliseconds;
using strings = std::vector<std::string>;

namespace {

eio::server_session_options test_options() {
    eio::server_session_options o;
    o.ping_interval = milliseconds(300);
    o.ping_timeout = milliseconds(200);
    o.upgrade_timeout = milliseconds(1000);
    o.write_timeout = milliseconds(500);
    o.max_payload = 1000;
    o.max_queue_bytes = 100;
    return o;
}

std::string visible(std::string s) { // the record separator as '|'
    for (auto& c : s)
        if (c == eio::record_separator) c = '|';
    return s;
}

std::string text_of(const eio::frame& f) { return std::string(f.bytes->begin(), f.bytes->end()); }

struct session_under_test {
    std::unique_ptr<eio::server_session_options> options; // outlives the session, as the server's does
    server_session s;
    explicit session_under_test(transport_kind t, eio::server_session_options o = test_options())
        : options(std::make_unique<eio::server_session_options>(o)), s("sid1", t, *options) {
        s.open(milliseconds(0));
    }

    /// The effects so far, as short strings.
    strings effects() {
        strings out;
        while (auto e = s.next_effect()) {
            std::visit(
                [&](auto& v) {
                    using T = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<T, eio::deliver_text>) out.push_back("text:" + v.text);
                    if constexpr (std::is_same_v<T, eio::deliver_binary>)
                        out.push_back("binary:" + std::string(v.bytes->begin(), v.bytes->end()));
                    if constexpr (std::is_same_v<T, eio::answer_poll>) out.push_back("poll:" + visible(v.payload));
                    if constexpr (std::is_same_v<T, eio::probe_send>) out.push_back("probe:" + text_of(v.packet));
                    if constexpr (std::is_same_v<T, eio::probe_drop>) out.push_back("probe_drop");
                    if constexpr (std::is_same_v<T, eio::upgraded>) out.push_back("upgraded");
                    if constexpr (std::is_same_v<T, eio::close_transport>)
                        out.push_back(v.graceful ? "close_transport:graceful" : "close_transport:abort");
                    if constexpr (std::is_same_v<T, eio::session_closed>)
                        out.push_back("closed:" + std::string(eio::to_string(v.reason)));
                    if constexpr (std::is_same_v<T, eio::session_released>) out.push_back("released");
                },
                *e);
        }
        return out;
    }

    /// The WebSocket output, written at once.
    strings output() {
        strings out;
        for (const auto& f : s.output()) out.push_back(text_of(f));
        s.output_taken();
        s.on_write_done();
        return out;
    }

    void send(std::string_view text) { s.send({eio::make_text_frame(eio::packet_type::message, text)}); }
};

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

} // namespace

TEST_CASE("polling: the handshake answers the first GET and offers the upgrade", "[eio][server_session]") {
    session_under_test t(transport_kind::polling);
    CHECK(t.s.on_poll(milliseconds(0)) == server_session::poll_decision::hold);
    const auto e = t.effects();
    REQUIRE(e.size() == 1);
    CHECK(starts_with(e[0], "poll:0{\"sid\":\"sid1\",\"upgrades\":[\"websocket\"],\"pingInterval\":300"));
}

TEST_CASE("websocket: the open packet offers no upgrade", "[eio][server_session]") {
    session_under_test t(transport_kind::websocket);
    const auto out = t.output();
    REQUIRE(out.size() == 1);
    CHECK(starts_with(out[0], "0{\"sid\":\"sid1\",\"upgrades\":[],"));
    CHECK(t.effects().empty());
}

TEST_CASE("polling: a GET is held until there is output, output waits for the next GET", "[eio][server_session]") {
    session_under_test t(transport_kind::polling);
    t.s.on_poll(milliseconds(0));
    t.effects();
    CHECK(t.s.on_poll(milliseconds(1)) == server_session::poll_decision::hold);
    CHECK(t.effects().empty());
    t.send("a");
    CHECK(t.effects() == strings{"poll:4a"});
    t.send("b");
    t.send("c");
    CHECK(t.effects().empty());
    t.s.on_poll(milliseconds(2));
    CHECK(t.effects() == strings{"poll:4b|4c"});
}

TEST_CASE("polling: a POST delivers its packets in order, a bad one ends the session", "[eio][server_session]") {
    session_under_test t(transport_kind::polling);
    CHECK(t.s.on_post(milliseconds(0), "4one\x1e"
                                       "4two\x1e"
                                       "bAQID") == server_session::post_answer::ok);
    CHECK(t.effects() == strings{"text:one", "text:two", "binary:\x01\x02\x03"});

    CHECK(t.s.on_post(milliseconds(1), "4three\x1e"
                                       "9bad") == server_session::post_answer::bad_request);
    CHECK(t.effects() == strings{"text:three", "released", "closed:parse error"});
    CHECK(t.s.on_post(milliseconds(2), "4late") == server_session::post_answer::unknown_sid);
    CHECK(t.effects().empty());
}

TEST_CASE("polling: a second long-poll is refused and ends the session", "[eio][server_session]") {
    session_under_test t(transport_kind::polling);
    t.s.on_poll(milliseconds(0));
    t.s.on_poll(milliseconds(1));
    t.effects();
    CHECK(t.s.on_poll(milliseconds(2)) == server_session::poll_decision::refuse);
    CHECK(t.effects() == strings{"poll:1", "released", "closed:transport error"});
}

TEST_CASE("polling: the client leaving its long-poll ends the session", "[eio][server_session]") {
    session_under_test t(transport_kind::polling);
    t.s.on_poll(milliseconds(0));
    t.effects();
    t.s.on_poll_aborted(milliseconds(1)); // nothing held: nothing happens
    CHECK(t.effects().empty());
    t.s.on_poll(milliseconds(2));
    t.s.on_poll_aborted(milliseconds(3));
    CHECK(t.effects() == strings{"released", "closed:transport close"});
}

TEST_CASE("polling: a graceful close waits for the client's next GET, bounded", "[eio][server_session]") {
    session_under_test t(transport_kind::polling);
    t.s.on_poll(milliseconds(0));
    t.effects();
    t.send("bye");
    t.s.close(milliseconds(10));
    CHECK(t.effects() == strings{"closed:forced close"});
    CHECK(t.s.next_deadline() == milliseconds(10 + 300 + 200));
    t.s.on_poll(milliseconds(20));
    CHECK(t.effects() == strings{"poll:4bye|1", "released"});
    CHECK_FALSE(t.s.next_deadline());

    session_under_test gone(transport_kind::polling);
    gone.s.on_poll(milliseconds(0));
    gone.effects();
    gone.s.close(milliseconds(10));
    gone.effects();
    gone.s.on_timer(milliseconds(509)); // early
    CHECK(gone.effects().empty());
    gone.s.on_timer(milliseconds(900)); // late
    CHECK(gone.effects() == strings{"released"});
}

TEST_CASE("a client's close packet ends the held long-poll with a noop", "[eio][server_session]") {
    session_under_test t(transport_kind::polling);
    t.s.on_poll(milliseconds(0));
    t.s.on_poll(milliseconds(1));
    t.effects();
    t.s.on_post(milliseconds(2), "1");
    CHECK(t.effects() == strings{"poll:6", "released", "closed:transport close"});
}

TEST_CASE("websocket: input split at every byte delivers the same messages", "[eio][server_session]") {
    std::string stream =
        test::client_frame(test::fin | test::text_op, "4hello") + test::client_frame(test::fin | test::text_op, "3") +
        test::client_frame(test::fin | test::binary_op, "\x01\x02") + test::client_frame(test::text_op, "4frag") +
        test::client_frame(test::fin | 0, "mented") + test::client_frame(test::fin | test::text_op, "4last");
    const strings expected{"text:hello", "binary:\x01\x02", "text:fragmented", "text:last"};
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        session_under_test t(transport_kind::websocket);
        ws::reader reader(1000);
        auto on_event = [&](const ws::event& e) {
            if (e.type == ws::event::kind::text) t.s.on_text(milliseconds(1), e.payload);
            if (e.type == ws::event::kind::binary)
                t.s.on_binary(milliseconds(1), make_shared_bytes(std::string(e.payload)));
            return !t.s.closed();
        };
        std::string first = stream.substr(0, cut), second = stream.substr(cut);
        REQUIRE(reader.feed(first.data(), first.size(), on_event) == 0);
        REQUIRE(reader.feed(second.data(), second.size(), on_event) == 0);
        CHECK(t.effects() == expected);
    }
}

TEST_CASE("websocket: rule breaking ends the session with the protocol's reason", "[eio][server_session]") {
    session_under_test bad(transport_kind::websocket);
    bad.s.on_text(milliseconds(1), "x");
    CHECK(bad.effects() == strings{"close_transport:abort", "released", "closed:parse error"});
    bad.s.on_text(milliseconds(2), "4after"); // nothing after the end
    CHECK(bad.effects().empty());

    session_under_test pinger(transport_kind::websocket);
    pinger.s.on_text(milliseconds(1), "2");
    CHECK(pinger.effects() == strings{"close_transport:abort", "released", "closed:transport error"});

    session_under_test big(transport_kind::websocket);
    big.s.on_text(milliseconds(1), "4" + std::string(1001, 'x'));
    CHECK(big.effects().back() == "closed:parse error");
}

TEST_CASE("repeated close packets end the session once", "[eio][server_session]") {
    session_under_test t(transport_kind::websocket);
    t.s.on_text(milliseconds(1), "1");
    t.s.on_text(milliseconds(1), "1");
    t.s.on_transport_closed(milliseconds(2), eio::close_reason::transport_error);
    t.s.close(milliseconds(3));
    CHECK(t.effects() == strings{"close_transport:abort", "released", "closed:transport close"});
}

TEST_CASE("websocket: a graceful close sends what is queued, then the close packet", "[eio][server_session]") {
    session_under_test t(transport_kind::websocket);
    t.output();
    t.send("last");
    t.s.close(milliseconds(5));
    CHECK(t.effects() == strings{"close_transport:graceful", "released", "closed:forced close"});
    CHECK(t.output() == strings{"4last", "1"});
}

TEST_CASE("heartbeat: timers early do nothing, late ones do what fell due", "[eio][server_session]") {
    session_under_test t(transport_kind::websocket);
    t.output();
    CHECK(t.s.next_deadline() == milliseconds(300));
    t.s.on_timer(milliseconds(299));
    CHECK_FALSE(t.s.has_output());
    t.s.on_timer(milliseconds(450)); // late: the ping goes now, and its timeout counts from now
    CHECK(t.output() == strings{"2"});
    CHECK(t.s.next_deadline() == milliseconds(650));
    t.s.on_timer(milliseconds(649));
    t.s.on_text(milliseconds(640), "3");
    CHECK(t.s.next_deadline() == milliseconds(940));
    t.s.on_timer(milliseconds(650)); // the old deadline is gone
    CHECK(t.effects().empty());
    t.s.on_timer(milliseconds(940));
    CHECK(t.output() == strings{"2"});
    t.s.on_timer(milliseconds(1140)); // no pong
    CHECK(t.effects() == strings{"close_transport:abort", "released", "closed:ping timeout"});
    CHECK_FALSE(t.s.next_deadline());
}

TEST_CASE("heartbeat: a polling session's ping answers the held GET", "[eio][server_session]") {
    session_under_test t(transport_kind::polling);
    t.s.on_poll(milliseconds(0));
    t.s.on_poll(milliseconds(1));
    t.effects();
    t.s.on_timer(milliseconds(300));
    CHECK(t.effects() == strings{"poll:2"});
    CHECK(t.s.on_post(milliseconds(310), "3") == server_session::post_answer::ok);
    CHECK(t.s.next_deadline() == milliseconds(610));
}

namespace {

/// A polling session with its handshake GET answered and a long-poll held.
session_under_test polling_with_held_get() {
    session_under_test t(transport_kind::polling);
    t.s.on_poll(milliseconds(0));
    t.s.on_poll(milliseconds(1));
    t.effects();
    return t;
}

} // namespace

TEST_CASE("upgrade: 2probe, 3probe, noop to the long-poll, 5, then output over WebSocket", "[eio][server_session]") {
    auto t = polling_with_held_get();
    REQUIRE(t.s.on_probe(milliseconds(10)));
    CHECK_FALSE(t.s.on_probe(milliseconds(11))); // one probe at a time
    t.s.on_probe_text(milliseconds(12), "2probe");
    CHECK(t.effects() == strings{"probe:3probe", "poll:6"});
    t.s.on_poll(milliseconds(13)); // released at once while upgrading
    CHECK(t.effects() == strings{"poll:6"});
    t.send("during"); // waits for the next GET
    CHECK(t.effects().empty());
    t.s.on_poll(milliseconds(14));
    CHECK(t.effects() == strings{"poll:4during"});
    t.send("late");
    t.s.on_probe_text(milliseconds(16), "5");
    CHECK(t.effects() == strings{"upgraded"});
    CHECK(t.s.transport() == transport_kind::websocket);
    t.send("after");
    CHECK(t.output() == strings{"4late", "4after"}); // what polling did not take goes over WebSocket
    CHECK(t.s.on_poll(milliseconds(17)) == server_session::poll_decision::refuse); // no polling after
    CHECK(t.s.on_post(milliseconds(18), "4x") == server_session::post_answer::bad_request);
    CHECK_FALSE(t.s.closed());
}

TEST_CASE("upgrade: reordered or repeated probe packets drop the probe, not the session", "[eio][server_session]") {
    for (const auto& [first, second] : std::vector<std::pair<std::string, std::string>>{
             {"5", "2probe"}, {"2probe", "2probe"}, {"2probe", "4hi"}, {"2probe", "3probe"}, {"2nope", "5"}}) {
        CAPTURE(first, second);
        auto t = polling_with_held_get();
        REQUIRE(t.s.on_probe(milliseconds(10)));
        t.s.on_probe_text(milliseconds(11), first);
        t.s.on_probe_text(milliseconds(12), second);
        const auto e = t.effects();
        REQUIRE_FALSE(e.empty());
        CHECK(std::count(e.begin(), e.end(), "probe_drop") == 1);
        CHECK(std::count(e.begin(), e.end(), "upgraded") == 0);
        CHECK(t.s.transport() == transport_kind::polling);
        CHECK_FALSE(t.s.closed());
        t.send("still polling");
        t.s.on_poll(milliseconds(13));
        CHECK(t.effects().back() == "poll:4still polling");
    }
}

TEST_CASE("upgrade: a probe closing mid-upgrade leaves the session polling", "[eio][server_session]") {
    auto t = polling_with_held_get();
    REQUIRE(t.s.on_probe(milliseconds(10)));
    t.s.on_probe_text(milliseconds(11), "2probe");
    t.effects();
    t.s.on_probe_closed(milliseconds(12));
    CHECK(t.effects() == strings{"probe_drop"});
    t.s.on_poll(milliseconds(13)); // held again, not released with a noop
    CHECK(t.effects().empty());
    t.s.on_probe_text(milliseconds(14), "5"); // a late packet of the dropped probe
    CHECK(t.effects().empty());
    REQUIRE(t.s.on_probe(milliseconds(15))); // a new probe may come
    t.s.on_probe_binary(milliseconds(16));
    CHECK(t.effects() == strings{"probe_drop"});
}

TEST_CASE("upgrade: a probe that does not finish in time is dropped", "[eio][server_session]") {
    auto t = polling_with_held_get();
    REQUIRE(t.s.on_probe(milliseconds(100)));
    CHECK(t.s.next_deadline() == milliseconds(300)); // the ping comes first
    t.s.on_timer(milliseconds(300));
    t.effects();
    t.s.on_post(milliseconds(301), "3");
    CHECK(t.s.next_deadline() == milliseconds(601));
    t.s.on_probe_text(milliseconds(302), "2probe");
    t.effects();
    t.s.on_timer(milliseconds(601));
    t.s.on_post(milliseconds(602), "3");
    CHECK(t.s.next_deadline() == milliseconds(902));
    t.s.on_timer(milliseconds(1099)); // early for the upgrade
    t.effects();
    CHECK(t.s.upgrading());
    t.s.on_post(milliseconds(1099), "3");
    t.s.on_timer(milliseconds(1100));
    CHECK(t.effects() == strings{"probe_drop"});
    CHECK_FALSE(t.s.upgrading());
}

TEST_CASE("upgrade: refused for a closed or WebSocket session, and when not allowed", "[eio][server_session]") {
    session_under_test ws_session(transport_kind::websocket);
    CHECK_FALSE(ws_session.s.on_probe(milliseconds(1)));
    auto o = test_options();
    o.allow_upgrades = false;
    session_under_test no_upgrades(transport_kind::polling, o);
    CHECK_FALSE(no_upgrades.s.on_probe(milliseconds(1)));
    auto closed = polling_with_held_get();
    closed.s.close(milliseconds(2));
    CHECK_FALSE(closed.s.on_probe(milliseconds(3)));
}

TEST_CASE("the session ends with a probe in flight: the probe goes too", "[eio][server_session]") {
    auto t = polling_with_held_get();
    REQUIRE(t.s.on_probe(milliseconds(10)));
    t.s.on_post(milliseconds(11), "1");
    CHECK(t.effects() == strings{"probe_drop", "poll:6", "released", "closed:transport close"});
}

TEST_CASE("volatile frames go only when the transport can take them at once", "[eio][server_session]") {
    session_under_test ws_session(transport_kind::websocket);
    ws_session.s.send({eio::make_text_frame(eio::packet_type::message, "v")}, true); // the open packet waits
    CHECK(ws_session.output().size() == 1);
    ws_session.s.send({eio::make_text_frame(eio::packet_type::message, "v")}, true);
    CHECK(ws_session.output() == strings{"4v"});
    ws_session.send("big");
    ws_session.s.output_taken();
    ws_session.s.on_write_waiting(milliseconds(1), false);
    ws_session.s.send({eio::make_text_frame(eio::packet_type::message, "v")}, true);
    CHECK_FALSE(ws_session.s.has_output());

    session_under_test poll_session(transport_kind::polling);
    poll_session.s.send({eio::make_text_frame(eio::packet_type::message, "v")}, true); // no GET held
    poll_session.s.on_poll(milliseconds(1));
    CHECK(poll_session.effects().size() == 1); // the handshake only
    poll_session.s.on_poll(milliseconds(2));
    poll_session.s.send({eio::make_text_frame(eio::packet_type::message, "v")}, true);
    CHECK(poll_session.effects() == strings{"poll:4v"});
}

TEST_CASE("a peer that reads nothing is closed at the write deadline", "[eio][server_session]") {
    session_under_test t(transport_kind::websocket);
    t.s.output_taken();
    t.s.on_write_waiting(milliseconds(100), false);
    CHECK(t.s.next_deadline() == milliseconds(300)); // the ping is due first
    t.s.on_write_waiting(milliseconds(200), true);   // some bytes went: the deadline moves
    t.s.on_timer(milliseconds(300));
    t.s.on_text(milliseconds(301), "3");
    CHECK(t.s.next_deadline() == milliseconds(601));
    t.s.on_timer(milliseconds(601));
    t.s.on_text(milliseconds(602), "3");
    CHECK(t.s.next_deadline() == milliseconds(700));
    t.s.on_timer(milliseconds(699));
    CHECK(t.effects().empty());
    t.s.on_timer(milliseconds(700));
    CHECK(t.effects() == strings{"close_transport:abort", "released", "closed:transport error"});
}

TEST_CASE("more unsent bytes than the limit end the session", "[eio][server_session]") {
    session_under_test t(transport_kind::websocket);
    t.output(); // the open packet is written
    t.send(std::string(40, 'a'));
    t.s.output_taken(); // in flight, not yet written
    t.send(std::string(40, 'b'));
    CHECK(t.s.unsent_bytes() == 82);
    CHECK_FALSE(t.s.closed());
    t.send(std::string(40, 'c'));
    CHECK(t.s.closed());
    CHECK(t.effects() == strings{"close_transport:abort", "released", "closed:transport error"});
}

TEST_CASE("replaceable units: past max_queue_bytes the oldest queued go, whole, and the latest stay",
          "[eio][server_session]") {
    session_under_test t(transport_kind::websocket);
    t.output(); // the open packet is out
    t.effects();
    t.s.on_write_waiting(milliseconds(1), false); // the peer stops reading: output stays queued
    const auto unit = [](std::string text, bool attachment) {
        std::vector<eio::frame> frames{eio::make_text_frame(eio::packet_type::message, text)};
        if (attachment) frames.push_back(eio::make_binary_frame(make_shared_bytes(std::string(10, 'b'))));
        return frames;
    };
    t.send("reliable-1");                                                // 11 bytes, never dropped
    CHECK(t.s.send_replaceable(unit(std::string(30, '1'), true)) == 0);  // 31 + 10
    CHECK(t.s.send_replaceable(unit(std::string(30, '2'), false)) == 0); // 31: 83 in all
    CHECK(t.s.send_replaceable(unit(std::string(30, '3'), true)) == 1);  // 124 > 100: unit 1 (and its attachment) goes
    CHECK(t.s.unsent_bytes() == 83);
    CHECK_FALSE(t.s.closed());
    const auto out = t.output();
    REQUIRE(out.size() == 4);
    CHECK(out[0] == "4reliable-1");
    CHECK(out[1] == "4" + std::string(30, '2'));
    CHECK(out[2] == "4" + std::string(30, '3'));
    CHECK(out[3] == std::string(10, 'b'));
}

TEST_CASE("replaceable units make room for reliable ones, and reliable output alone past the bound closes",
          "[eio][server_session]") {
    session_under_test t(transport_kind::websocket);
    t.output();
    t.effects();
    t.s.on_write_waiting(milliseconds(1), false);
    t.s.send_replaceable({eio::make_text_frame(eio::packet_type::message, std::string(50, 'r'))});
    t.send(std::string(60, 'x')); // 61 + 51 > 100: the replaceable unit goes
    CHECK_FALSE(t.s.closed());
    CHECK(t.s.unsent_bytes() == 61);
    t.send(std::string(60, 'y')); // 122 of reliable output: too slow a consumer
    CHECK(t.s.closed());
}

TEST_CASE("list storage: taken only when drained, lent only where there is none, and the session works on",
          "[eio][server_session]") {
    session_under_test t(transport_kind::websocket);
    // The open packet waits in the output: its storage stays with the session.
    CHECK(t.s.take_output_storage().capacity() == 0);
    CHECK(t.output().size() == 1);
    auto output = t.s.take_output_storage(); // drained: given away
    CHECK(output.capacity() != 0);
    CHECK_FALSE(t.s.has_output_storage());

    t.s.on_text(milliseconds(10), "4hello");
    CHECK(t.s.take_effect_storage().capacity() == 0); // the delivery is not taken yet
    CHECK(t.effects() == strings{"text:hello"});
    auto effects = t.s.take_effect_storage();
    CHECK(effects.capacity() != 0);
    CHECK_FALSE(t.s.has_effect_storage());

    // Lent back, the storage is used; a second loan while the list has storage is refused.
    const auto* lent = output.data();
    t.s.lend_output_storage(std::move(output));
    CHECK(t.s.has_output_storage());
    std::vector<eio::frame> another;
    another.reserve(4);
    t.s.lend_output_storage(std::move(another));
    CHECK(another.capacity() == 4); // not taken
    t.send("a reply");
    CHECK(t.s.output().data() == lent);
    CHECK(t.output() == strings{"4a reply"});

    // Without storage, the session allocates its own: nothing depends on a loan.
    (void)t.s.take_output_storage();
    t.s.lend_effect_storage(std::move(effects));
    t.send("one");
    t.s.on_text(milliseconds(20), "4two");
    CHECK(t.output() == strings{"4one"});
    CHECK(t.effects() == strings{"text:two"});
}
