// Engine.IO packet decoding: any bytes as a text frame and as a binary frame. A decoded packet must
// encode to a frame that decodes back to the same packet.
#include <switchboard/eio/packet.hpp>

#include <cstdlib>

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    codec_limits limits;
    limits.max_payload = 4096;
    for (const bool binary : {false, true}) {
        const auto decoded = binary ? eio::decode_binary(input, limits) : eio::decode_text(input, limits);
        if (!decoded) continue;
        const auto frame = eio::encode_packet(*decoded);
        const auto again =
            frame.binary ? eio::decode_binary(*frame.bytes, limits) : eio::decode_text(*frame.bytes, limits);
        if (!again || !(*again == *decoded)) std::abort();
        if (!binary && !decoded->binary && *frame.bytes != input) std::abort(); // text packets are kept verbatim
    }
    return 0;
}
