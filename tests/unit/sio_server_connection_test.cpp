// The server's Socket.IO connection state machine: namespace connect, routing, binary reassembly and
// the connect timeout, with packets repeated, reordered and out of place.
#include <switchboard/sio/server_connection.hpp>

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace switchboard;
using sio::server_connection;
using std::chrono::milliseconds;

namespace {

const codec_limits limits; // shared, as the server's are

server_connection make_connection() { return server_connection(limits, milliseconds(1000), milliseconds(500)); }

/// The action as a short string: "connect /nsp {auth}", "packet EVENT /nsp [..]", "leave /nsp", "violation: …", "none".
std::string describe(const sio::server_action& action) {
    return std::visit(
        [](const auto& a) -> std::string {
            using T = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<T, sio::no_action>) return "none";
            if constexpr (std::is_same_v<T, sio::connect_request>)
                return "connect " + a.nsp + " " + boost::json::serialize(a.auth);
            if constexpr (std::is_same_v<T, sio::socket_packet>) {
                std::string s = "packet " + std::string(sio::to_string(a.value.type)) + " " + a.value.nsp;
                if (a.value.id) s.append(" #").append(std::to_string(*a.value.id));
                s.append(" ").append(boost::json::serialize(a.value.data));
                if (!a.value.attachments.empty()) s.append(" +").append(std::to_string(a.value.attachments.size()));
                return s;
            }
            if constexpr (std::is_same_v<T, sio::leave_request>) return "leave " + a.nsp;
            if constexpr (std::is_same_v<T, sio::protocol_violation>) return "violation: " + a.why;
        },
        action);
}

bool is_violation(const sio::server_action& a) { return std::holds_alternative<sio::protocol_violation>(a); }

} // namespace

TEST_CASE("a CONNECT asks for the middleware once, however often it is repeated", "[sio][server_connection]") {
    auto c = make_connection();
    CHECK(describe(c.on_text("0/chat,{\"token\":\"t\"}")) == "connect /chat {\"token\":\"t\"}");
    CHECK(c.is_connecting("/chat"));
    CHECK(describe(c.on_text("0/chat,")) == "none"); // repeated while the middleware runs
    c.connected("/chat");
    CHECK(c.is_connected("/chat"));
    CHECK_FALSE(c.is_connecting("/chat"));
    CHECK(describe(c.on_text("0/chat,")) == "none"); // repeated once connected
    CHECK(describe(c.on_text("0")) == "connect / {}");
    CHECK(is_violation(c.on_text("0/x,\"not an object\""))); // socket.io-parser refuses it too
}

TEST_CASE("packets reach connected namespaces only, out-of-place ones are violations", "[sio][server_connection]") {
    auto c = make_connection();
    CHECK(is_violation(c.on_text("2[\"early\"]"))); // before any CONNECT
    c.on_text("0");
    CHECK(is_violation(c.on_text("2[\"still early\"]"))); // while the middleware runs
    c.connected("/");
    CHECK(describe(c.on_text("2[\"hi\",1]")) == "packet EVENT / [\"hi\",1]");
    CHECK(describe(c.on_text("27[\"ask\"]")) == "packet EVENT / #7 [\"ask\"]");
    CHECK(describe(c.on_text("31[2]")) == "packet ACK / #1 [2]");
    CHECK(describe(c.on_text("3[2]")) == "violation: an ACK without an ack id");
    CHECK(describe(c.on_text("4{\"message\":\"x\"}")) == "violation: a CONNECT_ERROR from the client");
    CHECK(describe(c.on_text("2/other,[\"hi\"]")) ==
          "violation: a packet for a namespace the client is not connected to");
    CHECK(is_violation(c.on_text("2[1"))); // undecodable
    CHECK(is_violation(c.on_text("")));    // empty
}

TEST_CASE("DISCONNECT leaves, the namespace may be joined again", "[sio][server_connection]") {
    auto c = make_connection();
    c.on_text("0/a,");
    c.connected("/a");
    CHECK(describe(c.on_text("1/a,")) == "leave /a");
    c.left("/a");
    CHECK(is_violation(c.on_text("2/a,[\"gone\"]")));
    CHECK(describe(c.on_text("0/a,")) == "connect /a {}");
    c.refused("/a");
    CHECK_FALSE(c.is_connecting("/a"));
    CHECK(describe(c.on_text("0/a,")) == "connect /a {}"); // a refused client may try again
}

TEST_CASE("binary packets are reassembled, attachments out of order are violations", "[sio][server_connection]") {
    auto c = make_connection();
    c.on_text("0");
    c.connected("/");
    CHECK(describe(c.on_text("52-[\"file\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]")) ==
          "none");
    CHECK(describe(c.on_binary(make_shared_bytes(std::string("a")))) == "none");
    const auto done = c.on_binary(make_shared_bytes(std::string("b")));
    INFO(describe(done));
    REQUIRE(std::holds_alternative<sio::socket_packet>(done));
    const auto& p = std::get<sio::socket_packet>(done).value;
    CHECK(p.type == sio::packet_type::event); // the decoder hands binary packets over as EVENT + attachments
    REQUIRE(p.attachments.size() == 2);
    CHECK(std::string(p.attachments[1]->begin(), p.attachments[1]->end()) == "b");

    CHECK(describe(c.on_binary(make_shared_bytes(std::string("x")))) == "violation: an attachment no packet announced");
    c.on_text("51-[\"f\",{\"_placeholder\":true,\"num\":0}]");
    CHECK(describe(c.on_text("2[\"between\"]")) ==
          "violation: a text packet while a binary packet's attachments were due");
}

TEST_CASE("the connect timeout: early timers do nothing, the first namespace cancels it", "[sio][server_connection]") {
    auto idle = make_connection();
    CHECK(idle.next_deadline() == milliseconds(1500));
    CHECK_FALSE(idle.on_timer(milliseconds(1499)));
    CHECK(idle.on_timer(milliseconds(1500)));
    CHECK(idle.on_timer(milliseconds(9000))); // late

    auto refused = make_connection();
    refused.on_text("0");
    refused.refused("/");
    CHECK(refused.on_timer(milliseconds(1500))); // a refusal does not count as joining

    auto joined = make_connection();
    joined.on_text("0");
    joined.connected("/");
    CHECK_FALSE(joined.next_deadline());
    joined.on_text("1");
    joined.left("/");
    CHECK_FALSE(joined.on_timer(milliseconds(9000))); // cancelled for good, as the reference server
}

TEST_CASE("namespaces joined and left in any order, names that contain one another, long and odd names",
          "[sio][server_connection]") {
    auto c = make_connection();
    const std::string long_name = "/" + std::string(300, 'n'); // past any inline buffer
    const std::string odd_name("/a\0b", 4);                    // bytes a name may carry
    const std::vector<std::string> names{"/", "/c", "/chat", "/ch", long_name, odd_name};
    for (const auto& n : names) {
        CHECK_FALSE(c.is_connected(n));
        c.connected(n);
        c.connected(n); // twice: still once
    }
    for (const auto& n : names) CHECK(c.is_connected(n));
    CHECK_FALSE(c.is_connected("/cha"));
    CHECK_FALSE(c.is_connected(std::string_view("/a", 2)));
    c.left("/ch");
    CHECK_FALSE(c.is_connected("/ch"));
    CHECK(c.is_connected("/chat"));
    CHECK(c.is_connected("/c"));
    c.left(long_name);
    c.left("/");
    CHECK(c.is_connected(odd_name));
    CHECK(c.is_connected("/chat"));
    CHECK_FALSE(c.is_connected("/"));
    CHECK(describe(c.on_text("2/chat,[\"hi\"]")) == "packet EVENT /chat [\"hi\"]");
    CHECK(is_violation(c.on_text("2/ch,[\"hi\"]")));
    for (const auto& n : names) c.left(n);
    for (const auto& n : names) CHECK_FALSE(c.is_connected(n));
    c.connected("/");
    CHECK(c.is_connected("/"));
}
