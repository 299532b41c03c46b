// The classic Redis adapter's broadcast message, against bytes captured from the Node adapter
// (../shared/REDIS-WIRE.md §1.3), and the MessagePack reading of what other nodes may send.
#include "../support/hex.hpp"
#include "adapter/redis/classic_wire.hpp"

#include <switchboard/json.hpp>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace switchboard;
using namespace switchboard::server;

namespace {

using switchboard::testing::from_hex;

std::string to_hex(std::string_view bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out;
}

// io.emit("news", 1, "two", {three: 3}) on namespace "/", from the node "GUYEir" (captured, 68 bytes).
constexpr std::string_view captured_emit =
    "93a647555945697283a47479706502a46461746194a46e65777301a374776f81a5746872656503a36e7370a12f83a5726f6f6d7390a6"
    "65786365707490a5666c61677380";

sio::packet event(std::string_view json) {
    sio::packet p;
    p.type = sio::packet_type::event;
    p.data = boost::json::parse(json);
    return p;
}

} // namespace

TEST_CASE("a Node adapter's broadcast is read as it was sent", "[redis][wire]") {
    auto m = redis_wire::decode_broadcast(from_hex(captured_emit));
    REQUIRE(m);
    CHECK(m->uid == "GUYEir");
    CHECK(m->packet.nsp == "/");
    CHECK(stringify(m->packet.data) == R"(["news",1,"two",{"three":3}])");
    CHECK(m->packet.attachments.empty());
    CHECK(m->options.rooms.empty());
    CHECK(m->options.except.empty());
    CHECK_FALSE(m->options.volatile_);
}

TEST_CASE("our broadcast is byte for byte the Node adapter's", "[redis][wire]") {
    const auto bytes = redis_wire::encode_broadcast("GUYEir", event(R"(["news",1,"two",{"three":3}])"), {});
    CHECK(to_hex(bytes) == captured_emit);
}

TEST_CASE("binary arguments travel inline as bin and come back as attachments", "[redis][wire]") {
    auto p = event(R"(["file"])");
    p.nsp = "/chat";
    p.data.as_array().push_back(sio::attach(p.attachments, make_shared_bytes(std::string("\x00\x01\xff", 3))));
    p.data.as_array().push_back(boost::json::parse(R"({"nested":[1.5,-2,null,true]})"));
    io::broadcast_options o;
    o.rooms = {"r1", "r2"};
    o.except = {"abc"};
    o.volatile_ = true;
    o.timeout = std::chrono::milliseconds(1500);
    const auto bytes = redis_wire::encode_broadcast("me", p, o);
    CHECK(bytes.find("\xc4\x03\x00\x01\xff", 0, 5) != std::string::npos); // bin8 of 3 bytes
    auto m = redis_wire::decode_broadcast(bytes);
    REQUIRE(m);
    CHECK(m->packet.nsp == "/chat");
    REQUIRE(m->packet.attachments.size() == 1);
    CHECK(*m->packet.attachments[0] == *p.attachments[0]);
    CHECK(m->packet.data == p.data);
    CHECK(m->options.rooms == o.rooms);
    CHECK(m->options.except == o.except);
    CHECK(m->options.volatile_);
    CHECK(m->options.timeout == std::chrono::milliseconds(1500));
}

TEST_CASE("broadcast channels: one room gets its own channel", "[redis][wire]") {
    CHECK(redis_wire::broadcast_channel("socket.io", "/", {}) == "socket.io#/#");
    CHECK(redis_wire::broadcast_channel("socket.io", "/", {"room1"}) == "socket.io#/#room1#");
    CHECK(redis_wire::broadcast_channel("k", "/chat", {"a", "b"}) == "k#/chat#");
    CHECK(redis_wire::broadcast_pattern("socket.io", "/chat") == "socket.io#/chat#*");
    CHECK(redis_wire::request_channel("socket.io", "/") == "socket.io-request#/#");
    CHECK(redis_wire::response_channel("socket.io", "/") == "socket.io-response#/#");
}

TEST_CASE("what other writers may send: numeric rooms, float32, dates, undefined", "[redis][wire]") {
    // ["emitter", {type:2, data:["t", 1.5f32, Date(0), {u: undefined, k: 1}], nsp:"/"}, {rooms:[7], flags:{}}]
    std::string b =
        from_hex("93a7656d697474657283a47479706502a46461746194a174ca3fc00000d6ff0000000082a175d40000a16b01a36e7370a12f"
                 "82a5726f6f6d739107a5666c61677380");
    auto m = redis_wire::decode_broadcast(b);
    REQUIRE(m);
    CHECK(m->uid == "emitter");
    CHECK(stringify(m->packet.data) == R"(["t",1.5,"1970-01-01T00:00:00.000Z",{"k":1}])");
    CHECK(m->options.rooms == std::vector<std::string>{"7"});
}

TEST_CASE("malformed or misshapen messages are refused, never thrown", "[redis][wire]") {
    const auto good = from_hex(captured_emit);
    CHECK(redis_wire::decode_broadcast(good.substr(0, good.size() - 1)).error() == cluster::errc::malformed);
    CHECK(redis_wire::decode_broadcast(good + "\x01").error() == cluster::errc::malformed);
    CHECK(redis_wire::decode_broadcast("").error() == cluster::errc::malformed);
    CHECK(redis_wire::decode_broadcast("\xc1").error() == cluster::errc::malformed);             // never used
    CHECK(redis_wire::decode_broadcast(from_hex("810102")).error() == cluster::errc::bad_shape); // {1: 2}
    // Reserved event name, wrong packet type, no data.
    for (auto json : {R"(["connect"])", R"([])", R"({"a":1})"}) {
        CAPTURE(json);
        auto bytes = redis_wire::encode_broadcast("x", event(json), {});
        CHECK(redis_wire::decode_broadcast(bytes).error() == cluster::errc::bad_shape);
    }
    // Empty strings and keys (msgpack-cxx hands them over without a pointer; found by fuzz_redis_wire).
    auto empty = cluster::unpack_json(from_hex("82a0a0a161c400"));
    REQUIRE(empty);
    CHECK(stringify(empty->value) == R"({"":"","a":{"_placeholder":true,"num":0}})");
    CHECK(empty->attachments.at(0)->empty());
    // {"_placeholder": true, "num": 0}: a peer's object that our representation would take for binary.
    CHECK(cluster::unpack_json(from_hex("82ac5f706c616365686f6c646572c3a36e756d00")).error() ==
          cluster::errc::bad_shape);
    std::string deep(100, '\x91'); // [[[[...]]]]
    deep.push_back('\xc0');
    CHECK(cluster::unpack_json(deep).error() == cluster::errc::too_deep);
    codec_limits small;
    small.max_payload = 10;
    CHECK(redis_wire::decode_broadcast(good, small).error() == cluster::errc::too_large);
}
