// The sharded Redis adapter's ClusterMessage (../shared/REDIS-WIRE.md §3), against the lines captured
// from Node nodes: read as sent, and written as Node writes them.
#include "adapter/redis/sharded_wire.hpp"

#include <switchboard/json.hpp>

#include <catch2/catch.hpp>

using namespace switchboard;
using namespace switchboard::server;
using sharded_wire::incoming;

TEST_CASE("a Node node's sharded broadcast is read as sent, and ours is written as Node writes it",
          "[redis][sharded]") {
    const std::string captured =
        R"({"type":3,"data":{"packet":{"type":2,"data":["news",1]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"b03698b9f1f56f65","nsp":"/"})";
    auto m = sharded_wire::decode(captured);
    REQUIRE(m);
    CHECK(m->what == incoming::kind::broadcast);
    CHECK(m->uid == "b03698b9f1f56f65");
    CHECK(m->packet.nsp == "/"); // the inner packet has none: the message's
    CHECK(stringify(m->packet.data) == R"(["news",1])");
    CHECK(sharded_wire::encode_broadcast(m->uid, m->nsp, m->packet, m->options) == captured);
}

TEST_CASE("binary makes a sharded message MessagePack, and it comes back as attachments", "[redis][sharded]") {
    sio::packet p;
    p.nsp = "/chat";
    boost::json::array data{"blob"};
    data.push_back(sio::attach(p.attachments, make_shared_bytes(std::string("\x00\xff", 2))));
    p.data = std::move(data);
    const auto bytes = sharded_wire::encode_broadcast("0123456789abcdef", "/chat", p, {});
    CHECK(bytes.front() != '{');
    auto m = sharded_wire::decode(bytes);
    REQUIRE(m);
    CHECK(m->nsp == "/chat");
    REQUIRE(m->packet.attachments.size() == 1);
    CHECK(*m->packet.attachments[0] == std::string("\x00\xff", 2));
}

TEST_CASE("requests and answers map onto the cluster's", "[redis][sharded]") {
    auto fetch = sharded_wire::decode(
        R"({"type":7,"data":{"opts":{"rooms":["r"],"except":[],"flags":{}},"requestId":"abc"},"uid":"u1","nsp":"/"})");
    REQUIRE(fetch);
    CHECK(fetch->what == incoming::kind::request);
    CHECK(fetch->request.type == cluster::request_type::remote_fetch);
    CHECK(fetch->request.request_id == "abc");
    CHECK(fetch->request.options.rooms == std::vector<std::string>{"r"});

    auto ack = sharded_wire::decode(R"({"type":10,"data":{"requestId":"abc","packet":"pong"},"uid":"u2","nsp":"/"})");
    REQUIRE(ack);
    CHECK(ack->what == incoming::kind::response);
    CHECK(ack->response.type == cluster::request_type::server_side_emit);
    CHECK(ack->response.body.at("data").as_string() == "pong"); // where the classic wire has it
    CHECK(ack->response.body.at("uid").as_string() == "u2");

    cluster::answer count;
    count.type = cluster::request_type::broadcast_client_count;
    count.request_id = "abc";
    count.client_count = 3;
    CHECK(sharded_wire::encode_answer("u3", "/", count) ==
          R"({"type":11,"data":{"requestId":"abc","clientCount":3},"uid":"u3","nsp":"/"})");
    cluster::request rooms;
    rooms.type = cluster::request_type::all_rooms; // not on this wire: the adapter asks with a fetch
    CHECK(sharded_wire::encode_request("/", rooms).empty());
}

TEST_CASE("a broadcast to one room goes to its channel, unless the room looks like a socket id", "[redis][sharded]") {
    io::broadcast_options o;
    CHECK(sharded_wire::broadcast_channel("socket.io", "/", o) == "socket.io#/#");
    o.rooms = {"room1"};
    CHECK(sharded_wire::broadcast_channel("socket.io", "/", o) == "socket.io#/#room1#");
    o.rooms = {"WXWjHrhh6AO0mnGbAAAB"}; // 20 characters: a socket id is never published on a room channel
    CHECK(sharded_wire::broadcast_channel("socket.io", "/", o) == "socket.io#/#");
    o.rooms = {"a", "b"};
    CHECK(sharded_wire::broadcast_channel("socket.io", "/", o) == "socket.io#/#");
}

TEST_CASE("misshapen sharded messages are refused", "[redis][sharded]") {
    CHECK_FALSE(sharded_wire::decode("{"));
    CHECK_FALSE(sharded_wire::decode(R"({"data":{}})"));                                         // no type
    CHECK_FALSE(sharded_wire::decode(R"({"type":3,"data":{"packet":{}},"uid":"u","nsp":"/"})")); // no data
    CHECK_FALSE(sharded_wire::decode(R"({"type":3,"data":{"packet":{"type":2,"data":["connect"]}},"nsp":"/"})"));
    CHECK_FALSE(sharded_wire::decode(R"({"type":7,"data":{"opts":{}},"uid":"u","nsp":"/"})")); // no request id
    auto heartbeat = sharded_wire::decode(R"({"type":2,"uid":"u","nsp":"/"})");
    REQUIRE(heartbeat);
    CHECK(heartbeat->what == incoming::kind::other);
}
