// Engine.IO polling payload decoding. Whatever decodes must re-encode to a payload that decodes to
// the same packets.
#include <switchboard/eio/packet.hpp>

#include <cstdlib>

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    codec_limits limits;
    limits.max_payload = 1 << 16;
    const auto decoded = eio::decode_payload(input, limits);
    if (decoded.error) return 0;
    std::vector<eio::frame> frames;
    for (const auto& p : decoded.packets) frames.push_back(eio::encode_packet(p));
    const std::string payload = eio::encode_payload(frames);
    limits.max_payload = payload.size(); // base64 may grow it
    const auto again = eio::decode_payload(payload, limits);
    if (again.error || again.packets != decoded.packets) std::abort();
    return 0;
}
