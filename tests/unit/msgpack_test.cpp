// socket.io-msgpack-parser's packets (shared/msgpack): read as that parser (notepack.io 2.2) writes them,
// written as it reads them, and through the client manager, natively and in WebAssembly.
#include "../support/hex.hpp"

#include <switchboard/client/manager.hpp>
#include <switchboard/json.hpp>
#include <switchboard/msgpack/json.hpp>
#include <switchboard/msgpack/parser.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <string>

using namespace switchboard;

namespace {

using switchboard::testing::from_hex;

// socket.emit("e", new Uint8Array([0]).buffer, Buffer.from([1, 2]), new Date(1500), {u: undefined, k: 1},
// new Uint8Array(300).fill(7).buffer) with an ack, as socket.io-msgpack-parser 3.0.2's Encoder wrote it:
// an ArrayBuffer is ext 8/16 of type 0 (a 1-byte one looks like `undefined` but for its format byte), a
// Buffer bin, a Date fixext 8 of type 0, undefined fixext 1 of type 0.
std::string captured_event() {
    std::string hex = "84a47479706502a36e7370a12fa46461746196a165c7010000c4020102d70000000000000005dc82a175d40000a16b01"
                      "c8012c00";
    for (int i = 0; i < 300; ++i) hex += "07";
    return from_hex(hex + "a2696403");
}

} // namespace

TEST_CASE("msgpack parser: notepack's ArrayBuffer, Buffer, Date and undefined", "[msgpack]") {
    auto p = msgpack_parser::decode(captured_event(), {});
    REQUIRE(p);
    CHECK(p->type == sio::packet_type::binary_event);
    CHECK(p->nsp == "/");
    CHECK(p->id == 3u);
    CHECK(stringify(p->data) == R"(["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},)"
                                R"("1970-01-01T00:00:01.500Z",{"k":1},{"_placeholder":true,"num":2}])");
    REQUIRE(p->attachments.size() == 3);
    CHECK(*p->attachments[0] == std::string(1, '\0'));
    CHECK(*p->attachments[1] == "\x01\x02");
    CHECK(*p->attachments[2] == std::string(300, '\x07'));
}

TEST_CASE("msgpack parser: what we write reads back the same, binary as bin", "[msgpack]") {
    auto p = msgpack_parser::decode(captured_event(), {});
    REQUIRE(p);
    auto frames = msgpack_parser::encode(*p);
    REQUIRE(frames);
    REQUIRE(frames->size() == 1);
    CHECK((*frames)[0].binary);
    const auto& bytes = *(*frames)[0].bytes;
    CHECK(bytes.find(from_hex("c4020102")) != std::string::npos); // the Buffer, as bin 8
    auto again = msgpack_parser::decode(bytes, {});
    REQUIRE(again);
    CHECK(stringify(again->data) == stringify(p->data));
    CHECK(again->attachments.size() == 3);
}

TEST_CASE("msgpack parser: refused, never thrown", "[msgpack]") {
    CHECK_FALSE(msgpack_parser::decode(from_hex("84a474797065"), {}));               // cut short
    CHECK_FALSE(msgpack_parser::decode(from_hex("82a47479706509a36e7370a12f"), {})); // type 9
    CHECK_FALSE(msgpack_parser::decode(from_hex("82a47479706502a36e7370a12f"), {})); // an EVENT without data
    CHECK_FALSE(msgpack_parser::decode(captured_event() + std::string(1, 0), {}));   // bytes after the packet
    // ["m\xd3s"]: a string that is not UTF-8, refused as our JSON parser refuses it.
    CHECK_FALSE(msgpack_parser::decode(from_hex("83a47479706502a46461746191a36dd373a36e7370a12f"), {}));
    CHECK(msgpack_parser::decode(from_hex("83a47479706502a46461746191a36dc3a9a36e7370a12f"), {})); // ["mé"]
    const msgpack_parser::client_parser client;
    CHECK_FALSE(client.decode("2[\"e\"]", false)); // a text message: not this parser's
}

TEST_CASE("msgpack parser: the client manager speaks it", "[msgpack][client]") {
    client::options o;
    o.parser = std::make_shared<msgpack_parser::client_parser>();
    client::manager m(o, 42);
    m.connect_socket(client::duration(0), "/", boost::json::object{{"token", "t"}});
    m.take_effects();
    m.on_text(client::duration(0),
              R"(0{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000})");
    auto effects = m.take_effects();
    REQUIRE(effects.size() == 2);
    CHECK(std::holds_alternative<client::engine_opened>(effects[0]));
    const auto& connect = std::get<client::send_frames>(effects[1]).frames;
    REQUIRE(connect.size() == 1);
    CHECK(connect[0].binary);
    auto sent = msgpack_parser::decode(*connect[0].bytes, {});
    REQUIRE(sent);
    CHECK(sent->type == sio::packet_type::connect);
    CHECK(stringify(sent->data) == R"({"token":"t"})");

    sio::packet answer;
    answer.type = sio::packet_type::connect;
    answer.data = boost::json::object{{"sid", "s1"}};
    m.on_binary(client::duration(1), (*msgpack_parser::encode(answer))[0].bytes);
    m.take_effects();
    REQUIRE(m.is_connected("/"));

    m.on_binary(client::duration(2), copy_shared_bytes(captured_event()));
    effects = m.take_effects();
    REQUIRE(effects.size() == 1);
    const auto& event = std::get<client::event_received>(effects[0]);
    CHECK(event.packet.id == 3u);
    CHECK(event.packet.attachments.size() == 3);
    CHECK(event.packet.data.rfind(R"(["e",{"_placeholder":true,"num":0})", 0) == 0);

    const auto id =
        m.emit(client::duration(3), "/", R"(["up",{"_placeholder":true,"num":0}])", {make_shared_bytes("xyz")}, true);
    REQUIRE(id);
    effects = m.take_effects();
    const auto& frames = std::get<client::send_frames>(effects.at(0)).frames;
    REQUIRE(frames.size() == 1);
    auto up = msgpack_parser::decode(*frames[0].bytes, {});
    REQUIRE(up);
    CHECK(up->id == *id);
    CHECK(stringify(up->data) == R"(["up",{"_placeholder":true,"num":0}])");
    REQUIRE(up->attachments.size() == 1);
    CHECK(*up->attachments[0] == "xyz");

    m.on_text(client::duration(4), "42[\"text\"]"); // the default parser's packet: the connection is dropped
    effects = m.take_effects();
    CHECK_FALSE(m.is_connected("/"));
    CHECK(std::holds_alternative<client::close_transport>(effects.at(0)));
}

// fuzz_redis_wire found it (UBSan): a float32 of exactly 2^64 read back and written again went through
// msgpack-cxx's pack_double, whose conversion of 2^64 to uint64_t is undefined behaviour.
TEST_CASE("msgpack values: 2^64 and beyond are written as float64 and read back the same", "[msgpack]") {
    for (const auto& input : {from_hex("ca5f800000"), from_hex("cb43f0000000000000"), from_hex("cb4415af1d78b58c40")}) {
        auto value = msgpack_json::unpack_json(input);
        REQUIRE(value);
        msgpack::sbuffer buffer;
        msgpack_json::packer out(buffer);
        msgpack_json::pack_json(out, value->value, value->attachments);
        const std::string written(buffer.data(), buffer.size());
        CHECK(static_cast<unsigned char>(written[0]) == 0xcb);
        auto again = msgpack_json::unpack_json(written);
        REQUIRE(again);
        CHECK(again->value.as_double() == value->value.as_double());
    }
    // Below 2^64 an integral double stays an integer on the wire, as notepack writes it.
    msgpack::sbuffer buffer;
    msgpack_json::packer out(buffer);
    msgpack_json::pack_json(out, boost::json::value(0x1p63), {});
    CHECK(static_cast<unsigned char>(buffer.data()[0]) == 0xcf); // uint64
}
