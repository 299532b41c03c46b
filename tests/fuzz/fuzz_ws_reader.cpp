// WebSocket frame reading: any bytes, fed whole and fed in pieces (the first byte picks the piece
// size, and whether permessage-deflate was negotiated), must give the same messages and the same close
// code; text messages must be UTF-8 (unless compressed: the caller checks what it inflates), no
// message may pass the size limit, and nothing is reported compressed without the negotiation.
#include <switchboard/ws/frame.hpp>

#include <cstdlib>
#include <string>
#include <vector>

using namespace switchboard;

namespace {

struct outcome {
    std::vector<std::pair<int, std::string>> events;
    std::uint16_t error = 0;
    bool operator==(const outcome&) const = default;
};

constexpr std::size_t max_message = 1024;

outcome read(std::string bytes, std::size_t piece, bool compression) {
    ws::reader reader(max_message);
    if (compression) reader.allow_compression();
    outcome out;
    for (std::size_t pos = 0; pos < bytes.size() && !out.error; pos += piece) {
        const auto n = std::min(piece, bytes.size() - pos);
        out.error = reader.feed(bytes.data() + pos, n, [&](const ws::event& e) {
            if (e.compressed && !compression) std::abort();
            if (e.type == ws::event::kind::text && !e.compressed && !ws::is_valid_utf8(e.payload)) std::abort();
            if (e.payload.size() > max_message) std::abort();
            out.events.emplace_back(static_cast<int>(e.type) * 100000 + e.close_code + (e.compressed ? 50000 : 0),
                                    std::string(e.payload));
            return true;
        });
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t piece = data[0] % 16 + 1;
    const bool compression = data[0] & 0x80;
    const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    const auto whole = read(bytes, bytes.size() ? bytes.size() : 1, compression);
    const auto pieces = read(bytes, piece, compression);
    if (!(whole == pieces)) std::abort();
    return 0;
}
