#pragma once
// WebSocket framing (RFC 6455), server side, sans-I/O: the server reads its clients' frames through
// `ws::reader` and writes its own with `ws::write_header`. The server frames WebSockets itself (after
// Beast has done the HTTP upgrade) so that several queued frames go out in one gathered write and an
// idle connection holds no read buffer.
//
// Clients must mask every frame; servers never mask. The one extension is permessage-deflate (RFC 7692),
// when the server negotiated it: then RSV1 marks a compressed message on its first frame; the reader
// reports it (`compressed`) and the caller inflates. Other RSV bits must be clear. A message is a data frame
// (text/binary) with FIN, or a first frame without FIN followed by continuation frames; control frames (close, ping,
// pong) may come between fragments.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace switchboard::ws {

enum class opcode : std::uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

/// Close codes this implementation sends.
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t invalid_payload = 1007; // text that is not UTF-8
inline constexpr std::uint16_t too_big = 1009;
} // namespace close_code

/// The longest header of a server frame: 2 bytes + a 64-bit length (no mask).
inline constexpr std::size_t max_header_size = 10;

/// Writes the header of a final, unmasked frame of `payload_size` bytes at `out` (room for
/// max_header_size bytes); returns the header's size. `compressed`: RSV1 (permessage-deflate).
std::size_t write_header(unsigned char* out, opcode op, std::uint64_t payload_size, bool compressed = false) noexcept;

/// The payload of a close frame: the code, big-endian, then the reason.
std::string close_payload(std::uint16_t code, std::string_view reason = {});

/// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view text) noexcept;

/// A complete message or a control frame. `payload` is valid during the callback only.
struct event {
    enum class kind : std::uint8_t { text, binary, ping, pong, close };
    kind type = kind::text;
    std::string_view payload;     // the message; a ping/pong's data; a close frame's reason
    std::uint16_t close_code = 0; // close: the client's code (1005 when it gave none)
    bool compressed = false;      // a permessage-deflate message: `payload` is its DEFLATE data (a text one
                                  // is not checked for UTF-8 here: the caller checks what it inflates)
};

/// Reads the frames a client sends. Keeps nothing between calls unless a frame or a fragmented message
/// is incomplete, so an idle connection costs only this object.
class reader {
public:
    /// `max_message_size` above 4 GiB - 1 counts as that (the limit is kept in 32 bits: a reader is
    /// kept per connection).
    explicit reader(std::size_t max_message_size) noexcept
        : max_message_(static_cast<std::uint32_t>(std::min<std::size_t>(max_message_size, UINT32_MAX))) {}

    /// permessage-deflate was negotiated: RSV1 on a message's first frame is allowed (and reported).
    void allow_compression() noexcept { compression_ = true; }
    /// The largest message accepted (also the limit for what a compressed one inflates to).
    std::size_t max_message() const noexcept { return max_message_; }

    /// Parses the `size` bytes at `data`, unmasking in place, and calls `on_event(const event&)` for
    /// every complete message or control frame; `on_event` returns false to stop (the rest is
    /// dropped). Returns 0, or the close code the connection must be failed with (a protocol error,
    /// text that is not UTF-8, or a message larger than the limit — refused from its header alone).
    template <class OnEvent>
    std::uint16_t feed(char* data, std::size_t size, OnEvent&& on_event) {
        const bool buffered = partial_ && !partial_->pending.empty();
        if (buffered) {
            partial_->pending.append(data, size);
            data = partial_->pending.data();
            size = partial_->pending.size();
        }
        std::size_t pos = 0;
        std::uint16_t error = 0;
        bool more = true;
        while (more && pos < size) {
            const step s = next(data + pos, size - pos);
            if (s.error) {
                error = s.error;
                break;
            }
            if (s.consumed == 0) break; // an incomplete frame
            pos += s.consumed;
            if (s.has_event) more = on_event(s.ev);
            if (s.message_done) release_message();
        }
        keep_rest(buffered, data, pos, size, error == 0 && more);
        return error;
    }

    /// Bytes held for an incomplete frame or message.
    std::size_t buffered() const noexcept { return partial_ ? partial_->pending.size() + partial_->message.size() : 0; }

private:
    struct step {
        std::size_t consumed = 0; // 0: need more bytes
        std::uint16_t error = 0;
        bool has_event = false;
        bool message_done = false; // the event's payload is message_: release it after the callback
        event ev;
    };
    step next(char* data, std::size_t size);
    void release_message();
    void keep_rest(bool buffered, const char* data, std::size_t pos, std::size_t size, bool keep);

    /// What an incomplete frame or message leaves between calls; none at all between whole frames.
    struct partial {
        std::string pending; // the bytes of an incomplete frame
        std::string message; // the fragments of an unfinished message, unmasked
        bool in_message = false;
        bool message_is_text = false;
        bool message_compressed = false;
    };
    partial& state();
    void drop_state_if_empty() noexcept;

    std::uint32_t max_message_;
    bool compression_ = false;
    std::unique_ptr<partial> partial_;
};

} // namespace switchboard::ws
