#include "client_frames.hpp"

#include <switchboard/ws/frame.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace switchboard;

namespace {

using test::client_frame;
using test::fin, test::text_op, test::binary_op, test::close_op, test::ping_op;

struct seen {
    ws::event::kind type;
    std::string payload;
    std::uint16_t code;
    bool operator==(const seen&) const = default;
};

// Feeds `wire` in pieces of `chunk` bytes; returns the events and the first error.
std::pair<std::vector<seen>, std::uint16_t> read_all(std::string wire, std::size_t chunk, std::size_t max = 1 << 20) {
    ws::reader reader(max);
    std::vector<seen> events;
    for (std::size_t pos = 0; pos < wire.size(); pos += chunk) {
        std::string piece = wire.substr(pos, chunk);
        const auto error = reader.feed(piece.data(), piece.size(), [&](const ws::event& e) {
            events.push_back({e.type, std::string(e.payload), e.close_code});
            return true;
        });
        if (error) return {events, error};
    }
    return {events, 0};
}

} // namespace

TEST_CASE("server frame headers use the shortest length form", "[ws]") {
    unsigned char h[ws::max_header_size];
    CHECK(ws::write_header(h, ws::opcode::text, 125) == 2);
    CHECK(h[0] == 0x81);
    CHECK(h[1] == 125);
    CHECK(ws::write_header(h, ws::opcode::binary, 126) == 4);
    CHECK((h[0] == 0x82 && h[1] == 126 && h[2] == 0 && h[3] == 126));
    CHECK(ws::write_header(h, ws::opcode::text, 65535) == 4);
    CHECK(ws::write_header(h, ws::opcode::text, 65536) == 10);
    CHECK((h[1] == 127 && h[7] == 1 && h[8] == 0 && h[9] == 0));
    CHECK(ws::close_payload(1000, "bye") == std::string("\x03\xE8"
                                                        "bye",
                                                        5));
}

TEST_CASE("masked client frames are read whole or byte by byte", "[ws]") {
    const std::string big(70000, 'x');
    const std::string wire = client_frame(fin | text_op, "4hello") +
                             client_frame(fin | binary_op, std::string("\0\1\2", 3)) +
                             client_frame(fin | text_op, big) + client_frame(fin | text_op, "");
    const std::vector<seen> expected = {{ws::event::kind::text, "4hello", 0},
                                        {ws::event::kind::binary, std::string("\0\1\2", 3), 0},
                                        {ws::event::kind::text, big, 0},
                                        {ws::event::kind::text, "", 0}};
    for (std::size_t chunk : {wire.size(), std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
        const auto [events, error] = read_all(wire, chunk);
        CHECK(error == 0);
        CHECK(events == expected);
    }
}

TEST_CASE("fragments join into one message, control frames may come between them", "[ws]") {
    const std::string wire = client_frame(text_op, "4he") + client_frame(fin | ping_op, "p") + client_frame(0, "ll") +
                             client_frame(fin | 0, "o €");
    for (std::size_t chunk : {wire.size(), std::size_t{1}, std::size_t{3}}) {
        const auto [events, error] = read_all(wire, chunk);
        CHECK(error == 0);
        CHECK(events == std::vector<seen>{{ws::event::kind::ping, "p", 0}, {ws::event::kind::text, "4hello €", 0}});
    }
    // A UTF-8 character split across fragments is fine; the whole message is checked.
    const std::string euro = "€";
    const auto [events, error] =
        read_all(client_frame(text_op, euro.substr(0, 1)) + client_frame(fin | 0, euro.substr(1)), 64);
    CHECK(error == 0);
    CHECK(events == std::vector<seen>{{ws::event::kind::text, euro, 0}});
}

TEST_CASE("close frames carry the client's code and reason", "[ws]") {
    CHECK(read_all(client_frame(fin | close_op, ws::close_payload(1001, "away")), 100).first ==
          std::vector<seen>{{ws::event::kind::close, "away", 1001}});
    CHECK(read_all(client_frame(fin | close_op, ""), 100).first ==
          std::vector<seen>{{ws::event::kind::close, "", 1005}});
    CHECK(read_all(client_frame(fin | close_op, "x"), 100).second == ws::close_code::protocol_error);
    CHECK(read_all(client_frame(fin | close_op, ws::close_payload(1005)), 100).second ==
          ws::close_code::protocol_error);
}

TEST_CASE("protocol violations fail the connection with the RFC's close code", "[ws]") {
    const auto error_of = [](const std::string& wire) { return read_all(wire, wire.size() ? wire.size() : 1).second; };
    CHECK(error_of(client_frame(fin | text_op, "4hi", false)) == ws::close_code::protocol_error); // unmasked
    CHECK(error_of(client_frame(fin | 0x40 | text_op, "4hi")) == ws::close_code::protocol_error); // RSV1
    CHECK(error_of(client_frame(fin | 3, "x")) == ws::close_code::protocol_error);                // unknown opcode
    CHECK(error_of(client_frame(fin | 0, "x")) == ws::close_code::protocol_error); // continuation of nothing
    CHECK(error_of(client_frame(text_op, "a") + client_frame(fin | text_op, "b")) == ws::close_code::protocol_error);
    CHECK(error_of(client_frame(ping_op, "p")) == ws::close_code::protocol_error); // fragmented control frame
    CHECK(error_of(client_frame(fin | ping_op, std::string(126, 'p'))) == ws::close_code::protocol_error);
    CHECK(error_of(client_frame(fin | text_op, "\xC0\xAF")) == ws::close_code::invalid_payload);     // overlong
    CHECK(error_of(client_frame(fin | text_op, "\xED\xA0\x80")) == ws::close_code::invalid_payload); // surrogate
}

TEST_CASE("an oversize message is refused from its header, before its payload arrives", "[ws]") {
    const std::string header_only = client_frame(fin | text_op, std::string(2000, 'x')).substr(0, 8);
    const auto [events, error] = read_all(header_only, header_only.size(), 1000);
    CHECK(events.empty());
    CHECK(error == ws::close_code::too_big);
    // Fragments count together.
    CHECK(read_all(client_frame(text_op, std::string(600, 'a')) + client_frame(fin | 0, std::string(600, 'b')), 4096,
                   1000)
              .second == ws::close_code::too_big);
}

TEST_CASE("an idle reader holds no bytes", "[ws]") {
    ws::reader reader(1 << 20);
    std::string wire = client_frame(fin | text_op, "4hello");
    const auto on_event = [](const ws::event&) { return true; };
    reader.feed(wire.data(), 3, on_event);
    CHECK(reader.buffered() == 3);
    reader.feed(wire.data() + 3, wire.size() - 3, on_event);
    CHECK(reader.buffered() == 0);
}

TEST_CASE("UTF-8 validation", "[ws]") {
    CHECK(ws::is_valid_utf8("plain ascii, long enough to take the fast path"));
    CHECK(ws::is_valid_utf8("€ 😀 é"));
    CHECK_FALSE(ws::is_valid_utf8("\xFF"));
    CHECK_FALSE(ws::is_valid_utf8("abc\xE2\x82"));      // truncated
    CHECK_FALSE(ws::is_valid_utf8("\xF4\x90\x80\x80")); // past U+10FFFF
    CHECK_FALSE(ws::is_valid_utf8("\xE0\x80\xAF"));     // overlong
}
