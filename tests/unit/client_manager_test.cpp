// The client's sans-I/O manager: what it sends and tells for what the server and the clock do.
#include <switchboard/client/manager.hpp>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace switchboard;
using namespace switchboard::client;
using ms = std::chrono::milliseconds;

namespace {

const std::string open_packet =
    R"(0{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000})";

/// Drives a manager and keeps what it produced, in a form easy to assert.
struct harness {
    manager m;
    std::vector<effect> effects;

    explicit harness(options o = {}) : m(o, 42) {}

    std::vector<effect>& pump() {
        effects = m.take_effects();
        return effects;
    }
    /// Every frame sent in the last batch, binary frames as "<bin:N bytes>".
    std::vector<std::string> sent() const {
        std::vector<std::string> out;
        for (const auto& e : effects)
            if (const auto* s = std::get_if<send_frames>(&e))
                for (const auto& f : s->frames)
                    out.push_back(f.binary ? "<bin:" + std::to_string(f.bytes->size()) + ">" : *f.bytes);
        return out;
    }
    template <class T>
    std::vector<T> all() const {
        std::vector<T> out;
        for (const auto& e : effects)
            if (const auto* t = std::get_if<T>(&e)) out.push_back(*t);
        return out;
    }
    template <class T>
    bool has() const {
        return !all<T>().empty();
    }

    /// open() and the server's handshake and CONNECT answer for "/".
    void connect_main(ms now = ms(0), boost::json::object auth = {}) {
        m.connect_socket(now, "/", std::move(auth));
        REQUIRE(std::holds_alternative<open_transport>(pump().at(0)));
        m.on_text(now, open_packet);
        pump();
        m.on_text(now, R"(40{"sid":"sock1"})");
        pump();
        REQUIRE(m.is_connected("/"));
    }
};

boost::json::array args(std::string_view json) { return boost::json::parse(json).as_array(); }

} // namespace

TEST_CASE("backoff: doubles from the minimum, capped, with jitter within the factor") {
    backoff plain(ms(1000), ms(5000), 0.0, 1);
    CHECK(plain.next() == ms(1000));
    CHECK(plain.next() == ms(2000));
    CHECK(plain.next() == ms(4000));
    CHECK(plain.next() == ms(5000));
    CHECK(plain.next() == ms(5000));
    plain.reset();
    CHECK(plain.next() == ms(1000));

    backoff jittered(ms(1000), ms(5000), 0.5, 7);
    for (int i = 0; i < 3; ++i) {
        const auto base = 1000 << i;
        const auto d = jittered.next().count();
        CHECK(d >= base / 2);
        CHECK(d <= std::min(5000, base * 3 / 2));
    }
}

TEST_CASE("client: handshake, CONNECT with auth per namespace, one connection for all") {
    harness h;
    h.m.connect_socket(ms(0), "/", {});
    h.m.connect_socket(ms(0), "/admin", {{"token", "x"}});
    REQUIRE(h.pump().size() == 1); // one transport for both namespaces
    CHECK(std::holds_alternative<open_transport>(h.effects[0]));
    h.m.on_text(ms(10), open_packet);
    h.pump();
    CHECK(h.sent() == std::vector<std::string>{"40", R"(40/admin,{"token":"x"})"});
    REQUIRE(h.m.handshake());
    CHECK(h.m.handshake()->ping_interval == 300);

    h.m.on_text(ms(20), R"(40/admin,{"sid":"a1"})");
    h.m.on_text(ms(20), R"(40{"sid":"m1"})");
    h.pump();
    const auto connected = h.all<socket_connected>();
    REQUIRE(connected.size() == 2);
    CHECK(connected[0].nsp == "/admin");
    CHECK(connected[0].id == "a1");
    CHECK(h.m.id_of("/") == "m1");
}

TEST_CASE("client: answers pings, events and acks both ways, binary out and in") {
    harness h;
    h.connect_main();
    h.m.on_text(ms(100), "2");
    h.pump();
    CHECK(h.sent() == std::vector<std::string>{"3"});

    const auto id = h.m.emit(ms(100), "/", args(R"(["chat","hi"])"), {}, true);
    REQUIRE(id == 0u);
    h.pump();
    CHECK(h.sent() == std::vector<std::string>{R"(420["chat","hi"])"});
    h.m.on_text(ms(110), R"(430["ok",1])");
    h.pump();
    const auto acks = h.all<ack_received>();
    REQUIRE(acks.size() == 1);
    CHECK(acks[0].id == 0);
    CHECK(acks[0].packet.data == R"(["ok",1])"); // left as text for the application to parse

    std::vector<shared_bytes> attachments;
    auto placeholder = sio::attach(attachments, make_shared_bytes("\x01\x02\x03"));
    boost::json::array data{"file", boost::json::object{{"bytes", placeholder}}};
    h.m.emit(ms(120), "/", data, attachments);
    h.pump();
    CHECK(h.sent() == std::vector<std::string>{R"(451-["file",{"bytes":{"_placeholder":true,"num":0}}])", "<bin:3>"});

    h.m.on_text(ms(130), R"(451-7["blob",{"_placeholder":true,"num":0}])");
    CHECK(h.pump().empty()); // waiting for the attachment
    h.m.on_binary(ms(130), make_shared_bytes("xyz"));
    h.pump();
    const auto events = h.all<event_received>();
    REQUIRE(events.size() == 1);
    CHECK(events[0].packet.id == 7u);
    REQUIRE(events[0].packet.attachments.size() == 1);
    CHECK(*events[0].packet.attachments[0] == "xyz");
    CHECK(events[0].packet.data == R"(["blob",{"_placeholder":true,"num":0}])");

    h.m.ack("/", 7, std::string(R"(["thanks"])"), {});
    h.pump();
    CHECK(h.sent() == std::vector<std::string>{R"(437["thanks"])"});
}

TEST_CASE("client: emits from JSON values refuse what is not a named, non-reserved event") {
    harness h;
    h.connect_main();
    CHECK_FALSE(h.m.emit(ms(1), "/", args(R"(["disconnect"])"), {}, true));
    CHECK_FALSE(h.m.emit(ms(1), "/", args(R"([1,2])"), {}, true));
    CHECK_FALSE(h.m.emit(ms(1), "/", args(R"([])"), {}, true));
    CHECK(h.pump().empty());
    CHECK(h.m.emit(ms(1), "/", std::string(R"(["raw",{"a":1}])"), {}, true) == 0u);
    h.pump();
    CHECK(h.sent() == std::vector<std::string>{R"(420["raw",{"a":1}])"});
}

TEST_CASE("client: an ack that does not come in time is reported once, a late answer is ignored") {
    harness h;
    h.connect_main();
    h.m.on_text(ms(1000), "2"); // the server is alive: no silence deadline before the ack's
    const auto id = h.m.emit(ms(1000), "/", args(R"(["slow"])"), {}, true, ms(150));
    h.pump();
    REQUIRE(h.m.next_deadline() == ms(1000 + 150));
    h.m.on_timer(ms(1100));
    CHECK(h.pump().empty());
    h.m.on_timer(ms(1150));
    h.pump();
    const auto timeouts = h.all<ack_timed_out>();
    REQUIRE(timeouts.size() == 1);
    CHECK(timeouts[0].id == *id);
    h.m.on_text(ms(1200), R"(430["late"])");
    CHECK(!h.pump().size());
}

TEST_CASE("client: connect_error carries the server's message and data, the namespace stays down") {
    harness h;
    h.connect_main();
    h.m.connect_socket(ms(0), "/admin", {});
    h.pump();
    h.m.on_text(ms(5), R"(44/admin,{"message":"not authorized","data":{"code":403}})");
    h.pump();
    const auto errors = h.all<connect_failed>();
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].nsp == "/admin");
    CHECK(errors[0].message == "not authorized");
    CHECK(errors[0].data == boost::json::parse(R"({"code":403})"));
    CHECK_FALSE(h.m.is_connected("/admin"));
    CHECK(h.m.is_connected("/"));
}

TEST_CASE("client: reconnects with backoff after the transport drops, buffered emits go out once") {
    harness h;
    h.connect_main();
    h.m.on_transport_closed(ms(1000), sio::disconnect_reason::transport_close);
    const auto effects = h.pump();
    const auto gone = h.all<socket_disconnected>();
    REQUIRE(gone.size() == 1);
    CHECK(gone[0].reason == "transport close");
    // The manager's "close", once, after its sockets' "disconnect" (socket.io-client's order).
    REQUIRE(h.all<engine_closed>().size() == 1);
    CHECK(h.all<engine_closed>()[0].reason == "transport close");
    CHECK(std::holds_alternative<engine_closed>(effects.back()));

    // While disconnected: a normal emit is kept, a volatile one dropped.
    h.m.emit(ms(1001), "/", args(R"(["kept"])"), {});
    h.m.emit(ms(1001), "/", args(R"(["dropped"])"), {}, false, {}, true);
    CHECK(h.pump().empty());

    const auto at = h.m.next_deadline();
    REQUIRE(at);
    CHECK(*at >= ms(1000 + 500));
    CHECK(*at <= ms(1000 + 1500));
    h.m.on_timer(*at);
    h.pump();
    REQUIRE(h.all<reconnect_attempt>().size() == 1);
    CHECK(h.all<reconnect_attempt>()[0].attempt == 1);
    CHECK(h.has<open_transport>());

    h.m.on_text(*at + ms(10), open_packet);
    h.pump();
    CHECK(h.all<reconnected>().at(0).attempts == 1);
    CHECK(h.sent() == std::vector<std::string>{"40"});
    h.m.on_text(*at + ms(20), R"(40{"sid":"sock2"})");
    h.pump();
    CHECK(h.sent() == std::vector<std::string>{R"(42["kept"])"});
    CHECK(h.m.id_of("/") == "sock2");
}

TEST_CASE("client: server silence past pingInterval + pingTimeout closes and reconnects") {
    harness h;
    h.connect_main(ms(0));
    REQUIRE(h.m.next_deadline() == ms(500));
    h.m.on_timer(ms(499));
    CHECK(h.pump().empty());
    h.m.on_timer(ms(500));
    h.pump();
    CHECK(h.has<close_transport>());
    CHECK(h.all<socket_disconnected>().at(0).reason == "ping timeout");
    CHECK(h.m.next_deadline()); // a reconnection is scheduled
}

TEST_CASE("client: gives up after the configured attempts, a handshake that never comes times out") {
    options o;
    o.reconnection_attempts = 2;
    o.timeout = ms(100);
    harness h(o);
    h.connect_main();
    h.m.on_transport_closed(ms(0), sio::disconnect_reason::transport_close);
    int attempts = 0;
    bool failed = false;
    for (int step = 0; step < 10 && !failed; ++step) {
        const auto at = h.m.next_deadline();
        REQUIRE(at);
        h.m.on_timer(*at);
        h.pump();
        attempts += static_cast<int>(h.all<reconnect_attempt>().size());
        if (h.has<open_transport>()) {
            h.m.on_transport_closed(*at, sio::disconnect_reason::transport_error); // the server is down
            h.pump();
            CHECK(h.all<transport_error>().at(0).message == "transport error");
        }
        failed = h.has<reconnect_failed>();
    }
    CHECK(attempts == 2);
    CHECK(failed);
    CHECK_FALSE(h.m.next_deadline());

    harness slow(o);
    slow.m.connect_socket(ms(0), "/", {});
    slow.pump();
    slow.m.on_timer(ms(100));
    slow.pump();
    CHECK(slow.all<transport_error>().at(0).message == "timeout");
    CHECK(slow.has<close_transport>());
}

TEST_CASE("client: the server's DISCONNECT and the application's close end without reconnection") {
    harness h;
    h.connect_main();
    h.m.on_text(ms(10), "41");
    h.pump();
    CHECK(h.all<socket_disconnected>().at(0).reason == "io server disconnect");

    harness c;
    c.connect_main();
    c.m.close(ms(10));
    c.pump();
    CHECK(c.all<socket_disconnected>().at(0).reason == "io client disconnect");
    CHECK(c.all<engine_closed>().at(0).reason == "forced close");
    CHECK(c.sent() == std::vector<std::string>{"1"});
    CHECK(c.has<close_transport>());
    CHECK_FALSE(c.m.next_deadline());
    c.m.on_transport_closed(ms(20), sio::disconnect_reason::transport_close);
    CHECK(c.pump().empty());
}

TEST_CASE("client: a malformed frame from the server closes the transport as a parse error") {
    harness h;
    h.connect_main();
    h.m.on_text(ms(10), "4"
                        "9{}");
    h.pump();
    CHECK(h.has<close_transport>());
    CHECK(h.all<socket_disconnected>().at(0).reason == "parse error");
    h.m.on_text(ms(20), "x");
    CHECK(h.pump().empty()); // the old transport no longer counts
}

TEST_CASE("client: packets of a polling payload, binary ones included, drive it as frames do") {
    harness h;
    h.m.connect_socket(ms(0), "/", {});
    h.pump();
    auto payload = eio::decode_payload(open_packet + "\x1e"
                                                     "40{\"sid\":\"p1\"}");
    REQUIRE(!payload.error);
    for (auto& p : payload.packets) h.m.on_packet(ms(1), std::move(p));
    h.pump();
    CHECK(h.m.id_of("/") == "p1");
    auto binary = eio::decode_payload("451-[\"b\",{\"_placeholder\":true,\"num\":0}]\x1e"
                                      "bAQID");
    REQUIRE(!binary.error);
    for (auto& p : binary.packets) h.m.on_packet(ms(2), std::move(p));
    h.pump();
    const auto events = h.all<event_received>();
    REQUIRE(events.size() == 1);
    CHECK(*events[0].packet.attachments.at(0) == "\x01\x02\x03");
}

TEST_CASE(
    "client: connection state recovery, pid and the last offset in the next CONNECT, replayed events after connect") {
    harness h;
    h.m.connect_socket(ms(0), "/", boost::json::object{{"token", "t"}});
    h.pump();
    h.m.on_text(ms(0), open_packet);
    h.pump();
    h.m.on_text(ms(0), R"(40{"sid":"sock1","pid":"p1"})");
    h.pump();
    CHECK_FALSE(h.all<socket_connected>().at(0).recovered);
    // The offset: the last argument of an event without an ack id, when it is a string.
    h.m.on_text(ms(1), R"(42["news",{"a":"\"]"},"7"])");
    h.m.on_text(ms(1), R"(421["asked","not an offset"])");
    h.m.on_text(ms(1), R"(42["count",3])");
    h.pump();
    h.m.on_transport_closed(ms(1000), sio::disconnect_reason::transport_close);
    h.pump();
    const auto at = *h.m.next_deadline();
    h.m.on_timer(at);
    h.pump();
    h.m.on_text(at, open_packet);
    h.pump();
    REQUIRE(h.sent().size() == 1);
    CHECK(boost::json::parse(h.sent()[0].substr(2)) == boost::json::parse(R"({"pid":"p1","offset":"7","token":"t"})"));
    // The replay comes before the CONNECT answer; the application hears connect first, then the events.
    h.m.on_text(at, R"(42["missed","8"])");
    CHECK(h.pump().empty());
    h.m.on_text(at, R"(40{"sid":"sock1","pid":"p1"})");
    h.pump();
    REQUIRE(h.effects.size() == 2);
    REQUIRE(std::holds_alternative<socket_connected>(h.effects[0]));
    CHECK(std::get<socket_connected>(h.effects[0]).recovered);
    REQUIRE(std::holds_alternative<event_received>(h.effects[1]));
    CHECK(std::get<event_received>(h.effects[1]).packet.data == R"(["missed","8"])");

    // A session the server did not recover: a new pid, not recovered, and the old offset is dropped.
    h.m.on_transport_closed(at + ms(10), sio::disconnect_reason::transport_close);
    h.pump();
    const auto again = *h.m.next_deadline();
    h.m.on_timer(again);
    h.pump();
    h.m.on_text(again, open_packet);
    h.pump();
    CHECK(boost::json::parse(h.sent()[0].substr(2)) == boost::json::parse(R"({"pid":"p1","offset":"8","token":"t"})"));
    h.m.on_text(again, R"(40{"sid":"sock2","pid":"p2"})");
    h.pump();
    CHECK_FALSE(h.all<socket_connected>().at(0).recovered);
}

TEST_CASE("client: an auth asked before every CONNECT (socket.io-client's auth function)") {
    harness h;
    h.m.connect_socket(ms(0), "/", {}, true);
    REQUIRE(std::holds_alternative<open_transport>(h.pump().at(0)));
    h.m.on_text(ms(0), open_packet);
    h.pump();
    CHECK(h.sent().empty());       // no CONNECT before the application answers
    CHECK(h.has<engine_opened>()); // the manager's "open"
    REQUIRE(h.all<auth_needed>().size() == 1);
    CHECK(h.all<auth_needed>()[0].nsp == "/");
    h.m.connect_socket(ms(1), "/", boost::json::object{{"token", 1}}, true);
    h.pump();
    CHECK(h.sent() == std::vector<std::string>{R"(40{"token":1})"});
    h.m.on_text(ms(2), R"(40{"sid":"sock1"})");
    h.pump();
    REQUIRE(h.m.is_connected("/"));

    // The connection drops; the reconnection asks again, and the new answer is what is sent.
    h.m.on_transport_closed(ms(3), sio::disconnect_reason::transport_close);
    h.pump();
    h.m.on_timer(ms(10000));
    h.pump();
    REQUIRE(h.has<open_transport>());
    h.m.on_text(ms(10001), open_packet);
    h.pump();
    CHECK(h.sent().empty());
    REQUIRE(h.all<auth_needed>().size() == 1);
    h.m.connect_socket(ms(10002), "/", boost::json::object{{"token", 2}}, true);
    h.pump();
    CHECK(h.sent() == std::vector<std::string>{R"(40{"token":2})"});
}
