// A socket's description as it crosses between nodes: the handshake in socket.io's shape (what a Node
// node's RemoteSocket.handshake shows of our sockets), and read back from what other nodes send.
#include "adapter/cluster/describe.hpp"

#include <switchboard/json.hpp>

#include <catch2/catch.hpp>

using namespace switchboard;
using namespace switchboard::server;

namespace {
io::socket_description sample() {
    io::socket_description d;
    d.id = "WXWjHrhh6AO0mnGbAAAB";
    d.handshake.address = "127.0.0.1";
    d.handshake.url = "/socket.io/?EIO=4&transport=websocket&room=x";
    d.handshake.headers = {{"Host", "localhost:3000"}, {"X-Tag", "a"}, {"x-tag", "b"}};
    d.handshake.query = {{"EIO", "4"}, {"room", "x"}};
    d.handshake.auth = {{"token", "t"}};
    d.handshake.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764716961123));
    d.rooms = {"WXWjHrhh6AO0mnGbAAAB", "room1"};
    d.data = boost::json::object{{"nick", "ann"}, {"n", 1}};
    return d;
}
} // namespace

TEST_CASE("the handshake crosses in socket.io's shape", "[cluster][describe]") {
    const auto h = cluster::handshake_json(sample().handshake);
    CHECK(stringify(h.at("headers")) == R"({"host":"localhost:3000","x-tag":"a, b"})"); // as Node's req.headers
    CHECK(stringify(h.at("query")) == R"({"EIO":"4","room":"x"})");
    CHECK(h.at("time").as_string() == "Tue Dec 02 2025 23:09:21 GMT+0000 (Coordinated Universal Time)");
    CHECK(h.at("issued").as_int64() == 1764716961123);
    CHECK(h.at("address").as_string() == "127.0.0.1");
    CHECK(h.at("xdomain").as_bool() == false);
    CHECK(h.at("secure").as_bool() == false);
    CHECK(h.at("url").as_string() == "/socket.io/?EIO=4&transport=websocket&room=x");
    CHECK(stringify(h.at("auth")) == R"({"token":"t"})");
}

TEST_CASE("a description survives the round trip", "[cluster][describe]") {
    const auto in = sample();
    const auto out = cluster::description_from_json(cluster::describe_json(in));
    REQUIRE(out);
    CHECK(out->id == in.id);
    CHECK(out->rooms == in.rooms);
    CHECK(out->data == in.data);
    CHECK(out->handshake.address == in.handshake.address);
    CHECK(out->handshake.url == in.handshake.url);
    CHECK(out->handshake.query == in.handshake.query);
    CHECK(out->handshake.auth == in.handshake.auth);
    CHECK(out->handshake.time == in.handshake.time);
    CHECK(*out->handshake.header("X-TAG") == "a, b");
}

TEST_CASE("descriptions from other nodes are read as far as they have the expected shape", "[cluster][describe]") {
    CHECK_FALSE(cluster::description_from_json(boost::json::value(nullptr)));
    CHECK_FALSE(cluster::description_from_json(boost::json::object{{"rooms", boost::json::array{"r"}}})); // no id
    CHECK_FALSE(cluster::description_from_json(boost::json::object{{"id", 7}}));
    const auto odd = cluster::description_from_json(
        boost::json::object{{"id", "s1"}, {"rooms", boost::json::array{"r", 5}}, {"handshake", "nonsense"}});
    REQUIRE(odd);
    CHECK(odd->rooms == std::vector<std::string>{"r"});
    CHECK(odd->handshake.headers.empty());
    CHECK(odd->data.is_null());
}
