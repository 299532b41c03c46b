#include <switchboard/sio/packet.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace switchboard;
using progress = sio::decoder::progress;
namespace json = boost::json;

TEST_CASE("the decoder delivers plain packets at once", "[sio][decoder]") {
    sio::decoder d;
    const auto r = d.feed_text(R"(2/chat,3["msg","hi"])");
    REQUIRE(r);
    CHECK(*r == progress::packet_ready);
    const auto p = d.take_packet();
    CHECK(p.type == sio::packet_type::event);
    CHECK(p.nsp == "/chat");
    CHECK(p.id == std::optional<std::uint64_t>(3));
    CHECK(p.data == json::parse(R"(["msg","hi"])"));
    CHECK(d.pending_attachments() == 0);
}

TEST_CASE("binary packets are reassembled from their attachments in order", "[sio][decoder][binary]") {
    sio::decoder d;
    auto r = d.feed_text(R"(52-/files,9["upload",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}])");
    REQUIRE(r);
    CHECK(*r == progress::needs_attachments);
    CHECK(d.pending_attachments() == 2);
    const auto first = make_shared_bytes(std::string("\x00\x01", 2));
    r = d.feed_binary(first);
    REQUIRE(r);
    CHECK(*r == progress::needs_attachments);
    CHECK(d.pending_attachments() == 1);
    r = d.feed_binary(make_shared_bytes(std::string(70000, '\xab')));
    REQUIRE(r);
    CHECK(*r == progress::packet_ready);
    const auto p = d.take_packet();
    CHECK(p.type == sio::packet_type::event); // delivered as an EVENT with attachments
    CHECK(p.nsp == "/files");
    REQUIRE(p.attachments.size() == 2);
    CHECK(p.attachments[0] == first); // the buffer handed in, not a copy
    CHECK(p.attachments[1]->size() == 70000);
    const auto& args = p.data.get_array();
    CHECK(sio::placeholder_index(args[1]) == std::optional<std::size_t>(1));
    CHECK(sio::placeholder_index(args[2]) == std::optional<std::size_t>(0));

    // And it is ready for the next packet.
    r = d.feed_text(R"(3/files,9["done"])");
    REQUIRE(r);
    CHECK(*r == progress::packet_ready);
    CHECK(d.take_packet().type == sio::packet_type::ack);
}

TEST_CASE("encoder output fed to the decoder gives the packet back", "[sio][decoder][roundtrip]") {
    sio::packet p;
    p.type = sio::packet_type::ack;
    p.nsp = "/ünï";
    p.id = 77;
    json::object meta{{"name", "a.bin"}, {"size", 3}};
    meta["blob"] = sio::attach(p.attachments, make_shared_bytes(std::string("\0\0\0", 3)));
    p.data = json::array{meta, sio::attach(p.attachments, make_shared_bytes(""))};
    const auto frames = sio::encode_frames(p);
    REQUIRE(frames);
    sio::decoder d;
    result<progress> r = progress::needs_attachments;
    for (const auto& f : *frames) {
        r = f.binary ? d.feed_binary(f.bytes) : d.feed_text(std::string_view(*f.bytes).substr(1));
        REQUIRE(r);
    }
    CHECK(*r == progress::packet_ready);
    CHECK(d.take_packet() == p);
}

TEST_CASE("frames out of order are protocol errors", "[sio][decoder][errors]") {
    sio::decoder d;
    CHECK(d.feed_binary(make_shared_bytes("x")).error() == sio::errc::unexpected_binary);
    REQUIRE(d.feed_text(R"(51-["a",{"_placeholder":true,"num":0}])"));
    CHECK(d.feed_text(R"(2["b"])").error() == sio::errc::unexpected_text);
    // The failed packet is dropped; the decoder starts over cleanly.
    CHECK(d.pending_attachments() == 0);
    REQUIRE(d.feed_text(R"(2["c"])"));
    CHECK(d.take_packet().data.get_array()[0] == "c");
}

TEST_CASE("an oversize attachment is refused", "[sio][decoder][limits]") {
    codec_limits limits;
    limits.max_payload = 40;
    sio::decoder d(limits);
    REQUIRE(d.feed_text(R"(51-[0,{"_placeholder":true,"num":0}])"));
    CHECK(d.feed_binary(make_shared_bytes(std::string(41, 'x'))).error() == sio::errc::packet_too_large);
    CHECK(d.pending_attachments() == 0);
}

TEST_CASE("raw packets: the header is checked, the payload handed over as text, encoding writes it as given") {
    sio::raw_decoder d;
    auto p = d.feed_text(R"(2/chat,12["msg",{"x":[1,2]}])");
    REQUIRE(p);
    CHECK(*p == sio::decoder::progress::packet_ready);
    auto packet = d.take_packet();
    CHECK(packet.type == sio::packet_type::event);
    CHECK(packet.nsp == "/chat");
    CHECK(packet.id == 12u);
    CHECK(packet.data == R"(["msg",{"x":[1,2]}])");

    p = d.feed_text(R"(61-/chat,3[{"_placeholder":true,"num":0}])");
    REQUIRE(p);
    CHECK(*p == sio::decoder::progress::needs_attachments);
    CHECK(d.feed_binary(make_shared_bytes("\x01")).value() == sio::decoder::progress::packet_ready);
    packet = d.take_packet();
    CHECK(packet.type == sio::packet_type::ack);
    CHECK(packet.attachments.size() == 1);

    for (const char* bad : {"", "9", "5-[]", "50-[\"a\"]", "2", "3", "2/chat,99999999999999999[]"}) {
        sio::raw_decoder fresh;
        CHECK_FALSE(fresh.feed_text(bad));
    }
    CHECK_FALSE(d.feed_binary(make_shared_bytes("x"))); // no packet awaits attachments

    sio::raw_packet out{
        sio::packet_type::event, "/chat", 5, R"(["a",{"_placeholder":true,"num":0}])", {make_shared_bytes("\x02")}};
    auto frames = sio::encode_raw_frames(out);
    REQUIRE(frames);
    REQUIRE(frames->size() == 2);
    CHECK(*frames->at(0).bytes == R"(451-/chat,5["a",{"_placeholder":true,"num":0}])");
    CHECK(frames->at(1).binary);
    out.nsp = "chat";
    CHECK_FALSE(sio::encode_raw_frames(out));
}
