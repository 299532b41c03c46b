#include <switchboard/json.hpp>
#include <switchboard/sio/packet.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace switchboard;
using sio::packet;
using sio::packet_type;
namespace json = boost::json;

namespace {

packet make(packet_type type, std::string nsp, std::optional<std::uint64_t> id, std::string_view data_json) {
    packet p;
    p.type = type;
    p.nsp = std::move(nsp);
    p.id = id;
    if (!data_json.empty()) p.data = json::parse(data_json);
    return p;
}

// Decodes a text packet that must carry no attachments.
packet decode(std::string_view wire) {
    std::size_t attachments = 0;
    auto r = sio::decode_text(wire, {}, attachments);
    INFO(wire << " -> " << r.error().message());
    REQUIRE(r);
    CHECK(attachments == 0);
    return std::move(*r);
}

std::error_code decode_error(std::string_view wire, const codec_limits& limits = {}) {
    std::size_t attachments = 0;
    return sio::decode_text(wire, limits, attachments).error();
}

} // namespace

TEST_CASE("Socket.IO text packets: the socket.io-protocol examples, both ways", "[sio]") {
    const std::vector<std::pair<packet, std::string>> golden = {
        {make(packet_type::connect, "/", {}, ""), "0"},
        {make(packet_type::connect, "/admin", {}, ""), "0/admin,"},
        {make(packet_type::connect, "/", {}, R"({"token":"123"})"), R"(0{"token":"123"})"},
        {make(packet_type::connect, "/admin", {}, R"({"sid":"oSO0OpakMV_3jnilAAAA"})"),
         R"(0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"})"},
        {make(packet_type::disconnect, "/", {}, ""), "1"},
        {make(packet_type::disconnect, "/admin", {}, ""), "1/admin,"},
        {make(packet_type::event, "/", {}, R"(["hello",1])"), R"(2["hello",1])"},
        {make(packet_type::event, "/admin", 456, R"(["project:delete",123])"), R"(2/admin,456["project:delete",123])"},
        {make(packet_type::event, "/", 12, R"(["chat message",{"text":"hi"}])"),
         R"(212["chat message",{"text":"hi"}])"},
        {make(packet_type::event, "/", {}, R"([42,"numeric name"])"), R"(2[42,"numeric name"])"},
        {make(packet_type::ack, "/admin", 456, "[]"), "3/admin,456[]"},
        {make(packet_type::ack, "/", 0, R"(["ok",{"n":1.5}])"), R"(30["ok",{"n":1.5}])"},
        {make(packet_type::connect_error, "/", {}, R"({"message":"Not authorized"})"),
         R"(4{"message":"Not authorized"})"},
        {make(packet_type::connect_error, "/admin", {}, R"({"message":"Invalid namespace","data":{"x":1}})"),
         R"(4/admin,{"message":"Invalid namespace","data":{"x":1}})"},
        {make(packet_type::connect_error, "/", {}, R"("legacy string")"), R"(4"legacy string")"},
        // Unicode in namespaces, event names and data stays as UTF-8.
        {make(packet_type::connect, "/admin™", {}, R"({"token":"€"})"), R"(0/admin™,{"token":"€"})"},
        {make(packet_type::event, "/ñ", 7, R"(["😀",["日本",null,true]])"), R"(2/ñ,7["😀",["日本",null,true]])"},
    };
    for (const auto& [p, wire] : golden) {
        INFO(wire);
        const auto encoded = sio::encode_text(p);
        REQUIRE(encoded);
        CHECK(*encoded == wire);
        CHECK(decode(wire) == p);
    }
}

TEST_CASE("event names that are reserved are refused both ways", "[sio][errors]") {
    for (const char* name :
         {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}) {
        INFO(name);
        CHECK(sio::is_reserved_event(name));
        const auto p = sio::make_event("/", json::array{name, 1});
        CHECK(sio::encode_text(p).error() == sio::errc::reserved_event_name);
        CHECK(decode_error(std::string("2[\"") + name + "\"]") == sio::errc::reserved_event_name);
    }
    CHECK_FALSE(sio::is_reserved_event("connection"));
    CHECK(decode(R"(2["connection"])").data.get_array()[0] == "connection");
}

TEST_CASE("binary events and acks: placeholders in the data, bytes as attachments", "[sio][binary]") {
    packet p;
    p.type = packet_type::event;
    const auto bytes = make_shared_bytes(std::string("\x01\x02\x03", 3));
    p.data = json::array{"hello", sio::attach(p.attachments, bytes)};
    const auto text = sio::encode_text(p);
    REQUIRE(text);
    CHECK(*text == R"(51-["hello",{"_placeholder":true,"num":0}])");

    const auto frames = sio::encode_frames(p);
    REQUIRE(frames);
    REQUIRE(frames->size() == 2);
    CHECK(*frames->at(0).bytes == "4" + *text);
    CHECK_FALSE(frames->at(0).binary);
    CHECK(frames->at(1).binary);
    CHECK(frames->at(1).bytes == bytes); // the same buffer, not a copy

    packet ack;
    ack.type = packet_type::ack;
    ack.nsp = "/admin";
    ack.id = 456;
    json::object nested;
    nested["file"] = sio::attach(ack.attachments, make_shared_bytes("a"));
    nested["thumb"] = sio::attach(ack.attachments, make_shared_bytes("b"));
    ack.data = json::array{nested};
    CHECK(*sio::encode_text(ack) ==
          R"(62-/admin,456[{"file":{"_placeholder":true,"num":0},"thumb":{"_placeholder":true,"num":1}}])");
    CHECK(sio::placeholder_index(nested["thumb"]) == std::optional<std::size_t>(1));
    CHECK_FALSE(sio::placeholder_index(json::value("x")));
    CHECK_FALSE(sio::placeholder_index(json::parse(R"({"_placeholder":false,"num":0})")));
}

TEST_CASE("the packet type on the wire follows the attachments", "[sio][binary]") {
    // BINARY_EVENT without attachments is written as EVENT, so peers never see "50-".
    packet p = make(packet_type::binary_event, "/", {}, R"(["x"])");
    CHECK(*sio::encode_text(p) == R"(2["x"])");
    p = make(packet_type::binary_ack, "/", 3, R"([])");
    CHECK(*sio::encode_text(p) == "33[]");
    // Attachments on a type that cannot carry them are refused.
    p = make(packet_type::connect, "/", {}, "");
    sio::attach(p.attachments, make_shared_bytes("x"));
    CHECK(sio::encode_text(p).error() == sio::errc::invalid_payload);
}

TEST_CASE("encoding refuses what a peer would refuse", "[sio][errors]") {
    CHECK(sio::encode_text(make(packet_type::event, "admin", {}, R"(["x"])")).error() == sio::errc::invalid_namespace);
    CHECK(sio::encode_text(make(packet_type::event, "/a,b", {}, R"(["x"])")).error() == sio::errc::invalid_namespace);
    CHECK(sio::encode_text(make(packet_type::event, "", {}, R"(["x"])")).error() == sio::errc::invalid_namespace);
    CHECK(sio::encode_text(make(packet_type::event, "/", sio::max_ack_id + 1, R"(["x"])")).error() ==
          sio::errc::invalid_ack_id);
    CHECK(sio::encode_text(make(packet_type::event, "/", {}, R"([])")).error() == sio::errc::invalid_payload);
    CHECK(sio::encode_text(make(packet_type::event, "/", {}, R"({"x":1})")).error() == sio::errc::invalid_payload);
    CHECK(sio::encode_text(make(packet_type::event, "/", {}, R"([true])")).error() == sio::errc::invalid_payload);
    CHECK(sio::encode_text(make(packet_type::disconnect, "/", {}, R"({})")).error() == sio::errc::invalid_payload);
    CHECK(sio::encode_text(make(packet_type::connect, "/", {}, R"([1])")).error() == sio::errc::invalid_payload);
    CHECK(sio::encode_text(make(packet_type::ack, "/", 1, R"({})")).error() == sio::errc::invalid_payload);
    packet dangling = make(packet_type::event, "/", {}, R"(["x",{"_placeholder":true,"num":1}])");
    sio::attach(dangling.attachments, make_shared_bytes("only one"));
    CHECK(sio::encode_text(dangling).error() == sio::errc::invalid_placeholder);
}

TEST_CASE("malformed Socket.IO text packets give the reason as a value", "[sio][errors]") {
    const std::vector<std::pair<std::string, sio::errc>> cases = {
        {"", sio::errc::empty_packet},
        {"7", sio::errc::unknown_packet_type},
        {"a", sio::errc::unknown_packet_type},
        {"5", sio::errc::invalid_attachment_count},
        {"5-[\"a\"]", sio::errc::invalid_attachment_count},
        {"50-[\"a\"]", sio::errc::invalid_attachment_count},
        {"5x-[\"a\"]", sio::errc::invalid_attachment_count},
        {"51[\"a\"]", sio::errc::invalid_attachment_count},
        {"511-[\"a\"]", sio::errc::too_many_attachments},
        {"59999999999-[\"a\"]", sio::errc::invalid_attachment_count},
        {"212345678901234567[\"a\"]", sio::errc::invalid_ack_id},
        {"29007199254740992[\"a\"]", sio::errc::invalid_ack_id},
        {"2[\"a\"", sio::errc::invalid_json},
        {"2{\"a\":}", sio::errc::invalid_json},
        {"2[\"a\"]garbage", sio::errc::invalid_json},
        {"2[\"\xff\"]", sio::errc::invalid_json},
        {"2", sio::errc::invalid_payload},
        {"2/admin,", sio::errc::invalid_payload},
        {"2[]", sio::errc::invalid_payload},
        {"2{}", sio::errc::invalid_payload},
        {"2\"a\"", sio::errc::invalid_payload},
        {"2[null]", sio::errc::invalid_payload},
        {"2[[\"a\"]]", sio::errc::invalid_payload},
        {"28[82e2525]", sio::errc::invalid_payload}, // a numeric name that overflows to infinity
        {"3", sio::errc::invalid_payload},
        {"31", sio::errc::invalid_payload},
        {"31{}", sio::errc::invalid_payload},
        {"0[]", sio::errc::invalid_payload},
        {"0\"x\"", sio::errc::invalid_payload},
        {"0null", sio::errc::invalid_payload},
        {"1{}", sio::errc::invalid_payload},
        {"1/admin,{}", sio::errc::invalid_payload},
        {"4", sio::errc::invalid_payload},
        {"4[]", sio::errc::invalid_payload},
        {"4 1", sio::errc::invalid_payload},
        {"51-[\"a\",{\"_placeholder\":true,\"num\":1}]", sio::errc::invalid_placeholder},
        {"51-[\"a\",{\"_placeholder\":true,\"num\":-1}]", sio::errc::invalid_placeholder},
        {"51-[\"a\",{\"_placeholder\":true,\"num\":\"0\"}]", sio::errc::invalid_placeholder},
        {"51-[\"a\",{\"_placeholder\":true}]", sio::errc::invalid_placeholder},
    };
    for (const auto& [wire, expected] : cases) {
        INFO(wire);
        CHECK(decode_error(wire) == expected);
    }
}

TEST_CASE("limits on size, attachments and depth are enforced", "[sio][limits]") {
    codec_limits limits;
    limits.max_payload = 16;
    limits.max_attachments = 2;
    limits.max_json_depth = 3;
    CHECK(decode_error(R"(2["0123456789ab"])", limits) == sio::errc::packet_too_large);
    CHECK_FALSE(decode_error(R"(2["0123456789a"])", limits));
    CHECK(decode_error(R"(53-["a"])", limits) == sio::errc::too_many_attachments);
    CHECK(decode_error(R"(2["a",[[[1]]]])", limits) == sio::errc::json_too_deep);
    CHECK_FALSE(decode_error(R"(2["a",[[1]]])", limits));
}

TEST_CASE("namespaces and ack ids are read exactly as socket.io-parser reads them", "[sio]") {
    // A namespace runs to the first comma or to the end.
    CHECK(decode("0/admin").nsp == "/admin");
    CHECK(decode("0/admin,").nsp == "/admin");
    CHECK(decode("0/a/b?c=d,").nsp == "/a/b?c=d");
    // An ack id is every digit after the namespace.
    CHECK(decode(R"(2/x,0["a"])").id == std::optional<std::uint64_t>(0));
    CHECK(decode(R"(29007199254740991["a"])").id == std::optional<std::uint64_t>(sio::max_ack_id));
    CHECK(decode(R"(2["a"])").id == std::nullopt);
    // JSON.parse allows whitespace around the payload.
    CHECK(decode("2 [\"a\"] ").data == json::parse(R"(["a"])"));
}

TEST_CASE("every prefix of a valid packet decodes or fails cleanly", "[sio][split]") {
    for (const std::string wire : {R"(2/admin™,456["project:delete",{"id":123,"tags":["a","€"]}])",
                                   R"(62-/admin,456[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])",
                                   R"(0/chat,{"token":"abc"})", R"(4{"message":"Not authorized","data":null})"}) {
        for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
            std::size_t attachments = 0;
            const auto r = sio::decode_text(std::string_view(wire).substr(0, cut), {}, attachments);
            if (r) {
                // Whatever a prefix decodes to, it must encode again to a packet that decodes the same.
                packet p = *r;
                for (std::size_t i = 0; i < attachments; ++i) p.attachments.push_back(make_shared_bytes("x"));
                const auto again = sio::encode_text(p);
                REQUIRE(again);
                std::size_t n = 0;
                const auto back = sio::decode_text(*again, {}, n);
                REQUIRE(back);
                CHECK(back->data == r->data);
                CHECK(n == attachments);
            }
        }
    }
}
