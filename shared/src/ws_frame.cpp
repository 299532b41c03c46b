#include <switchboard/ws/frame.hpp>

#include <cstring>

namespace switchboard::ws {

std::size_t write_header(unsigned char* out, opcode op, std::uint64_t payload_size, bool compressed) noexcept {
    out[0] = static_cast<unsigned char>(0x80 | (compressed ? 0x40 : 0) | static_cast<unsigned>(op)); // FIN, RSV1
    if (payload_size < 126) {
        out[1] = static_cast<unsigned char>(payload_size);
        return 2;
    }
    if (payload_size <= 0xFFFF) {
        out[1] = 126;
        out[2] = static_cast<unsigned char>(payload_size >> 8);
        out[3] = static_cast<unsigned char>(payload_size);
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<unsigned char>(payload_size >> (56 - 8 * i));
    return 10;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
    std::string out;
    out.reserve(2 + reason.size());
    out.push_back(static_cast<char>(code >> 8));
    out.push_back(static_cast<char>(code & 0xFF));
    out.append(reason);
    return out;
}

bool is_valid_utf8(std::string_view text) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        // ASCII runs, eight bytes at a time.
        while (end - p >= 8) {
            std::uint64_t chunk;
            std::memcpy(&chunk, p, 8);
            if (chunk & 0x8080808080808080ULL) break;
            p += 8;
        }
        if (p == end) break;
        const unsigned c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        int extra;
        unsigned min, cp;
        if ((c & 0xE0) == 0xC0) {
            extra = 1, min = 0x80, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2, min = 0x800, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if (end - p <= extra) return false;
        for (int i = 1; i <= extra; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        p += extra + 1;
    }
    return true;
}

namespace {

bool is_valid_close_code(unsigned code) {
    // RFC 6455 7.4: the codes an endpoint may send; 1004-1006 and 1015 are reserved for reporting.
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

void unmask(char* data, std::size_t size, const unsigned char key[4]) {
    std::uint64_t wide_key;
    unsigned char k8[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
    std::memcpy(&wide_key, k8, 8);
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        std::uint64_t chunk;
        std::memcpy(&chunk, data + i, 8);
        chunk ^= wide_key;
        std::memcpy(data + i, &chunk, 8);
    }
    for (; i < size; ++i) data[i] = static_cast<char>(data[i] ^ key[i % 4]);
}

} // namespace

reader::step reader::next(char* data, std::size_t size) {
    step s;
    if (size < 2) return s;
    const auto* h = reinterpret_cast<const unsigned char*>(data);
    const bool fin = h[0] & 0x80;
    const unsigned op = h[0] & 0x0F;
    const bool rsv1 = h[0] & 0x40;
    // RSV1 only with permessage-deflate, on a message's first frame; RSV2/3 never; clients must mask.
    if ((h[0] & 0x30) != 0 || !(h[1] & 0x80) || (rsv1 && (!compression_ || op == 0 || op >= 8))) {
        s.error = close_code::protocol_error;
        return s;
    }
    std::uint64_t length = h[1] & 0x7F;
    std::size_t header = 2;
    if (length == 126) {
        if (size < 4) return s;
        length = (std::uint64_t{h[2]} << 8) | h[3];
        header = 4;
    } else if (length == 127) {
        if (size < 10) return s;
        length = 0;
        for (int i = 0; i < 8; ++i) length = (length << 8) | h[2 + i];
        if (length >> 63) {
            s.error = close_code::protocol_error;
            return s;
        }
        header = 10;
    }
    const bool control = op >= 8;
    if (control) {
        if (op > 10 || !fin || length > 125) {
            s.error = close_code::protocol_error;
            return s;
        }
    } else {
        const bool in_message = partial_ && partial_->in_message;
        if (op > 2 || (op == 0) != in_message) { // unknown, or a continuation out of place
            s.error = close_code::protocol_error;
            return s;
        }
        // Refused from the header: an oversize message is never buffered.
        if (length > max_message_ || (in_message && partial_->message.size() + length > max_message_)) {
            s.error = close_code::too_big;
            return s;
        }
    }
    if (size < header + 4) return s;
    unsigned char key[4];
    std::memcpy(key, h + header, 4);
    header += 4;
    if (size - header < length) return s;

    char* payload = data + header;
    const auto n = static_cast<std::size_t>(length);
    unmask(payload, n, key);
    s.consumed = header + n;
    const std::string_view body(payload, n);

    if (control) {
        s.has_event = true;
        s.ev.payload = body;
        if (op == static_cast<unsigned>(opcode::ping)) {
            s.ev.type = event::kind::ping;
        } else if (op == static_cast<unsigned>(opcode::pong)) {
            s.ev.type = event::kind::pong;
        } else {
            s.ev.type = event::kind::close;
            if (n == 0) {
                s.ev.close_code = 1005; // no status
            } else {
                const unsigned code =
                    n < 2 ? 0 : (static_cast<unsigned char>(body[0]) << 8) | static_cast<unsigned char>(body[1]);
                if (!is_valid_close_code(code)) {
                    s.error = close_code::protocol_error;
                    return s;
                }
                s.ev.payload = body.substr(2);
                if (!is_valid_utf8(s.ev.payload)) {
                    s.error = close_code::invalid_payload;
                    return s;
                }
                s.ev.close_code = static_cast<std::uint16_t>(code);
            }
        }
        return s;
    }

    if (fin && !(partial_ && partial_->in_message)) { // the common case: a whole frame, delivered in place
        const bool text = op == static_cast<unsigned>(opcode::text);
        s.ev.compressed = rsv1;
        if (text && !rsv1 && !is_valid_utf8(body)) {
            s.error = close_code::invalid_payload;
            return s;
        }
        s.has_event = true;
        s.ev.type = text ? event::kind::text : event::kind::binary;
        s.ev.payload = body;
        return s;
    }
    auto& st = state();
    if (!st.in_message) {
        st.in_message = true;
        st.message_is_text = op == static_cast<unsigned>(opcode::text);
        st.message_compressed = rsv1;
    }
    st.message.append(body);
    if (fin) {
        if (st.message_is_text && !st.message_compressed && !is_valid_utf8(st.message)) {
            s.error = close_code::invalid_payload;
            return s;
        }
        s.has_event = true;
        s.message_done = true;
        s.ev.compressed = st.message_compressed;
        s.ev.type = st.message_is_text ? event::kind::text : event::kind::binary;
        s.ev.payload = st.message;
    }
    return s;
}

void reader::release_message() {
    if (!partial_) return;
    partial_->message = std::string();
    partial_->in_message = false;
    drop_state_if_empty();
}

reader::partial& reader::state() {
    if (!partial_) partial_ = std::make_unique<partial>();
    return *partial_;
}

void reader::drop_state_if_empty() noexcept {
    // An idle connection holds nothing here.
    if (partial_ && partial_->pending.empty() && !partial_->in_message) partial_.reset();
}

void reader::keep_rest(bool buffered, const char* data, std::size_t pos, std::size_t size, bool keep) {
    if (!keep) {
        if (partial_) partial_->pending = std::string();
    } else if (buffered) {
        if (pos == size) {
            partial_->pending = std::string();
        } else {
            partial_->pending.erase(0, pos);
        }
    } else if (pos < size) {
        state().pending.assign(data + pos, size - pos);
    }
    drop_state_if_empty();
}

} // namespace switchboard::ws
