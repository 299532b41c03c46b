#include <switchboard/eio/packet.hpp>

#include <catch2/catch.hpp>

#include <vector>

using namespace switchboard;
using eio::packet;
using eio::packet_type;

namespace {
packet text(packet_type type, std::string data = {}) { return {type, false, std::move(data)}; }
packet binary(std::string bytes) { return {packet_type::message, true, std::move(bytes)}; }
const std::string bytes_1234("\x01\x02\x03\x04", 4);
} // namespace

TEST_CASE("every Engine.IO packet type has its digit on the wire", "[eio]") {
    const std::vector<std::pair<packet, std::string>> golden = {
        {text(packet_type::open, R"({"sid":"lv_VI97HAXpY6yYWAAAC"})"), R"(0{"sid":"lv_VI97HAXpY6yYWAAAC"})"},
        {text(packet_type::close), "1"},
        {text(packet_type::ping), "2"},
        {text(packet_type::ping, "probe"), "2probe"},
        {text(packet_type::pong), "3"},
        {text(packet_type::pong, "probe"), "3probe"},
        {text(packet_type::message, "hello"), "4hello"},
        {text(packet_type::message, "€ 😀"), "4€ 😀"},
        {text(packet_type::message), "4"},
        {text(packet_type::upgrade), "5"},
        {text(packet_type::noop), "6"},
    };
    for (const auto& [p, wire] : golden) {
        INFO(wire);
        const auto f = eio::encode_packet(p);
        CHECK_FALSE(f.binary);
        CHECK(*f.bytes == wire);
        const auto back = eio::decode_text(wire);
        REQUIRE(back);
        CHECK(*back == p);
    }
}

TEST_CASE("binary messages are raw bytes over WebSocket and b+base64 in text", "[eio]") {
    const auto f = eio::encode_packet(binary(bytes_1234));
    CHECK(f.binary);
    CHECK(*f.bytes == bytes_1234);
    const auto from_frame = eio::decode_binary(bytes_1234);
    REQUIRE(from_frame);
    CHECK(*from_frame == binary(bytes_1234));
    const auto from_text = eio::decode_text("bAQIDBA==");
    REQUIRE(from_text);
    CHECK(*from_text == binary(bytes_1234));
    const auto empty = eio::decode_text("b");
    REQUIRE(empty);
    CHECK(*empty == binary(""));
}

TEST_CASE("polling payloads: the engine.io-protocol examples both ways", "[eio][payload]") {
    const std::vector<eio::frame> frames = {
        eio::make_text_frame(packet_type::message, "hello"),
        eio::make_text_frame(packet_type::message, "€"),
    };
    CHECK(eio::encode_payload(frames) == "4hello\x1e"
                                         "4€");
    const std::vector<eio::frame> mixed = {
        eio::make_text_frame(packet_type::message, "€"),
        eio::make_binary_frame(make_shared_bytes(bytes_1234)),
    };
    CHECK(eio::encode_payload(mixed) == "4€\x1e"
                                        "bAQIDBA==");

    const auto decoded = eio::decode_payload("4€\x1e"
                                             "bAQIDBA==\x1e"
                                             "2\x1e"
                                             "6");
    CHECK_FALSE(decoded.error);
    CHECK(decoded.packets == std::vector<packet>{text(packet_type::message, "€"), binary(bytes_1234),
                                                 text(packet_type::ping), text(packet_type::noop)});
}

TEST_CASE("a client's next POST: the frames one payload within the limit holds, at least one", "[eio][payload]") {
    const std::vector<eio::frame> frames = {
        eio::make_text_frame(packet_type::message, "hello"),   // 6 bytes
        eio::make_text_frame(packet_type::message, "x"),       // + separator + 2
        eio::make_binary_frame(make_shared_bytes(bytes_1234)), // + separator + "bAQIDBA=="
    };
    const auto payload_size = [&](std::size_t n) {
        return eio::encode_payload(std::span<const eio::frame>(frames.data(), n)).size();
    };
    for (std::size_t limit : {0, 5, 6, 8, 9, 18, 19, 1000}) {
        const auto n = eio::frames_within(frames, limit);
        CHECK(n >= 1);
        if (n > 1) CHECK(payload_size(n) <= limit);                // it fits
        if (n < frames.size()) CHECK(payload_size(n + 1) > limit); // and one more would not
    }
    CHECK(eio::frames_within(frames, 9) == 2);
    CHECK(eio::frames_within(frames, 19) == 3);
    CHECK(eio::frames_within({}, 100) == 0);
}

TEST_CASE("a single packet is a payload of one, with no separator", "[eio][payload]") {
    const std::vector<eio::frame> one = {eio::make_text_frame(packet_type::noop)};
    CHECK(eio::encode_payload(one) == "6");
    CHECK(eio::encode_payload({}) == "");
    const auto decoded = eio::decode_payload("4x");
    CHECK_FALSE(decoded.error);
    CHECK(decoded.packets == std::vector<packet>{text(packet_type::message, "x")});
}

TEST_CASE("malformed Engine.IO input gives error values", "[eio][errors]") {
    CHECK(eio::decode_text("").error() == eio::errc::empty_packet);
    CHECK(eio::decode_text("7").error() == eio::errc::unknown_packet_type);
    CHECK(eio::decode_text("x4").error() == eio::errc::unknown_packet_type);
    CHECK(eio::decode_text("\xff").error() == eio::errc::unknown_packet_type);
    CHECK(eio::decode_text("b!!!").error() == eio::errc::invalid_base64);
    CHECK(eio::decode_text("bA").error() == eio::errc::invalid_base64);
    CHECK(eio::decode_text("b!!!").error().message() == "invalid base64 in binary packet");
    CHECK(std::string(eio::decode_text("").error().category().name()) == "engine.io");
}

TEST_CASE("a bad packet stops payload decoding, earlier packets are kept", "[eio][payload][errors]") {
    const auto r = eio::decode_payload("4a\x1e"
                                       "9b\x1e"
                                       "4c");
    CHECK(r.error == eio::errc::unknown_packet_type);
    CHECK(r.packets == std::vector<packet>{text(packet_type::message, "a")});
    CHECK(eio::decode_payload("").error == eio::errc::empty_packet);
    CHECK(eio::decode_payload("4a\x1e").error == eio::errc::empty_packet);
    CHECK(eio::decode_payload("\x1e"
                              "4a")
              .error == eio::errc::empty_packet);
}

TEST_CASE("the payload limit is enforced before any decoding", "[eio][limits]") {
    codec_limits limits;
    limits.max_payload = 8;
    CHECK(eio::decode_text("412345678", limits).error() == eio::errc::payload_too_large);
    CHECK(eio::decode_text("41234567", limits));
    CHECK(eio::decode_binary(std::string(9, 'x'), limits).error() == eio::errc::payload_too_large);
    CHECK(eio::decode_payload("4a\x1e"
                              "4bcdef",
                              limits)
              .error == eio::errc::payload_too_large);
}

TEST_CASE("a payload split at every byte boundary never breaks the decoder", "[eio][payload][split]") {
    const std::vector<eio::frame> frames = {
        eio::make_text_frame(packet_type::message, "hé"),
        eio::make_binary_frame(make_shared_bytes(std::string("\x00\xff\x10", 3))),
        eio::make_text_frame(packet_type::ping, "probe"),
        eio::make_text_frame(packet_type::message, "{\"a\":[1,2]}"),
    };
    const std::string payload = eio::encode_payload(frames);
    const auto whole = eio::decode_payload(payload);
    REQUIRE_FALSE(whole.error);
    REQUIRE(whole.packets.size() == frames.size());
    for (std::size_t cut = 0; cut <= payload.size(); ++cut) {
        INFO("cut at " << cut);
        const auto head = eio::decode_payload(std::string_view(payload).substr(0, cut));
        const auto tail = eio::decode_payload(std::string_view(payload).substr(cut));
        // Each half decodes to a prefix of the packets or stops with an error; never more packets
        // than the whole, and a cut on a separator boundary gives back exactly the whole.
        CHECK(head.packets.size() + tail.packets.size() <= frames.size() + 1);
        if (!head.error && !tail.error) {
            std::vector<packet> joined = head.packets;
            joined.insert(joined.end(), tail.packets.begin(), tail.packets.end());
            if (joined.size() == whole.packets.size() && cut > 0 && payload[cut - 1] == '\x1e') {
                CHECK(joined == whole.packets);
            }
        }
    }
}
