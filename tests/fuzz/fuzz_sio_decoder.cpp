// Socket.IO decoding with binary reassembly. The input is cut into messages at 0x1E; a message whose
// first byte is 0x01 is fed as a binary message (the rest of it), any other as text. Every packet the
// decoder completes must encode and decode back to itself. The raw decoder (payload left as text) reads
// the same messages: it must accept any text message the full decoder accepts, and what it completes must
// encode and decode back to itself too.
#include <switchboard/sio/packet.hpp>

#include <cstdlib>

using namespace switchboard;

namespace {
// Decodes a packet's frames; aborts if they do not make exactly one packet.
sio::packet decode_frames(const std::vector<eio::frame>& frames, const codec_limits& limits) {
    sio::decoder d(limits);
    result<sio::decoder::progress> r = sio::decoder::progress::needs_attachments;
    for (const auto& f : frames) {
        r = f.binary ? d.feed_binary(f.bytes) : d.feed_text(std::string_view(*f.bytes).substr(1));
        if (!r) std::abort();
    }
    if (*r != sio::decoder::progress::packet_ready) std::abort();
    return d.take_packet();
}

bool same_bytes(const std::vector<eio::frame>& a, const std::vector<eio::frame>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].binary != b[i].binary || *a[i].bytes != *b[i].bytes) return false;
    return true;
}

// What we decoded we must be able to send, and sending what we decode from that must give the same
// bytes (numbers may change kind through JSON, e.g. 1.0 -> 1, so compare encodings, not values).
void check_round_trip(const sio::packet& p, const codec_limits& limits) {
    const auto frames = sio::encode_frames(p);
    if (!frames) std::abort();
    const auto again = sio::encode_frames(decode_frames(*frames, limits));
    if (!again || !same_bytes(*frames, *again)) std::abort();
}
void check_raw_round_trip(const sio::raw_packet& p, const codec_limits& limits) {
    const auto frames = sio::encode_raw_frames(p);
    if (!frames) std::abort();
    sio::raw_decoder d(limits);
    result<sio::decoder::progress> r = sio::decoder::progress::needs_attachments;
    for (const auto& f : *frames) {
        r = f.binary ? d.feed_binary(f.bytes) : d.feed_text(std::string_view(*f.bytes).substr(1));
        if (!r) std::abort();
    }
    if (*r != sio::decoder::progress::packet_ready) std::abort();
    const auto again = d.take_packet();
    if (again.type != p.type || again.nsp != p.nsp || again.id != p.id || again.data != p.data ||
        again.attachments.size() != p.attachments.size())
        std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    codec_limits limits;
    limits.max_payload = 1 << 16;
    limits.max_attachments = 4;
    limits.max_json_depth = 16;
    sio::decoder decoder(limits);
    sio::raw_decoder raw(limits);
    while (true) {
        const std::size_t end = input.find('\x1e');
        const std::string_view message = input.substr(0, end);
        const bool binary = !message.empty() && message.front() == '\x01';
        const auto r = binary ? decoder.feed_binary(copy_shared_bytes(message.substr(1))) : decoder.feed_text(message);
        const auto rr = binary ? raw.feed_binary(copy_shared_bytes(message.substr(1))) : raw.feed_text(message);
        // The raw decoder is never stricter about a text message (asked fresh: the streams may differ
        // in what they await, since the raw one accepts payloads the full one refuses).
        if (r && !binary && !sio::raw_decoder(limits).feed_text(message)) std::abort();
        if (r && *r == sio::decoder::progress::packet_ready) check_round_trip(decoder.take_packet(), limits);
        if (rr && *rr == sio::decoder::progress::packet_ready) check_raw_round_trip(raw.take_packet(), limits);
        if (end == std::string_view::npos) break;
        input.remove_prefix(end + 1);
    }
    return 0;
}
