#include <switchboard/base64.hpp>
#include <switchboard/eio/packet.hpp>

namespace switchboard::eio {

std::string_view to_string(packet_type type) noexcept {
    switch (type) {
    case packet_type::open: return "open";
    case packet_type::close: return "close";
    case packet_type::ping: return "ping";
    case packet_type::pong: return "pong";
    case packet_type::message: return "message";
    case packet_type::upgrade: return "upgrade";
    case packet_type::noop: return "noop";
    }
    return "unknown";
}

frame make_text_frame(packet_type type, std::string_view data) {
    std::string text;
    text.reserve(1 + data.size());
    text.push_back(static_cast<char>('0' + static_cast<int>(type)));
    text.append(data);
    return {make_shared_bytes(std::move(text)), false};
}

frame make_binary_frame(shared_bytes bytes) { return {std::move(bytes), true}; }

frame encode_packet(const packet& p) {
    if (p.binary) return make_binary_frame(copy_shared_bytes(p.data));
    return make_text_frame(p.type, p.data);
}

result<packet> decode_text(std::string_view text, const codec_limits& limits) {
    if (text.size() > limits.max_payload) return errc::payload_too_large;
    if (text.empty()) return errc::empty_packet;
    const char type = text.front();
    if (type == 'b') {
        auto bytes = base64_decode(text.substr(1));
        if (!bytes) return errc::invalid_base64;
        return packet{packet_type::message, true, std::move(*bytes)};
    }
    if (type < '0' || type > '6') return errc::unknown_packet_type;
    return packet{static_cast<packet_type>(type - '0'), false, std::string(text.substr(1))};
}

result<packet> decode_binary(std::string_view bytes, const codec_limits& limits) {
    if (bytes.size() > limits.max_payload) return errc::payload_too_large;
    return packet{packet_type::message, true, std::string(bytes)};
}

void append_to_payload(std::string& out, const frame& f) {
    if (!out.empty()) out.push_back(record_separator);
    if (f.binary) {
        out.push_back('b');
        base64_encode(out, *f.bytes);
    } else {
        out.append(*f.bytes);
    }
}

std::string encode_payload(std::span<const frame> frames) {
    std::string out;
    std::size_t size = 0;
    for (const auto& f : frames) size += 1 + (f.binary ? 1 + (f.bytes->size() + 2) / 3 * 4 : f.bytes->size());
    out.reserve(size);
    for (const auto& f : frames) {
        // An empty first text packet cannot exist (a packet always has its type digit), so an empty
        // `out` reliably means "nothing written yet".
        append_to_payload(out, f);
    }
    return out;
}

std::size_t frames_within(std::span<const frame> frames, std::size_t limit) {
    std::size_t take = 0;
    for (std::size_t size = 0; take < frames.size(); ++take) {
        const auto& f = frames[take];
        // A text frame is its type digit and data; a binary one is written "b" + base64.
        const std::size_t one = (take ? 1 : 0) + (f.binary ? 1 + (f.bytes->size() + 2) / 3 * 4 : f.bytes->size());
        if (take > 0 && size + one > limit) break;
        size += one;
    }
    return take;
}

payload_result decode_payload(std::string_view payload, const codec_limits& limits) {
    payload_result out;
    if (payload.size() > limits.max_payload) {
        out.error = make_error_code(errc::payload_too_large);
        return out;
    }
    while (true) {
        const std::size_t end = payload.find(record_separator);
        auto decoded = decode_text(payload.substr(0, end), limits);
        if (!decoded) {
            out.error = decoded.error();
            return out;
        }
        out.packets.push_back(std::move(*decoded));
        if (end == std::string_view::npos) return out;
        payload.remove_prefix(end + 1);
    }
}

} // namespace switchboard::eio
