#pragma once
/// @file
/// Engine.IO v4 packets (engine.io-protocol, "Packet encoding" and "Payload encoding").
///
/// | type    | digit | direction                        |
/// |---------|-------|----------------------------------|
/// | open    | 0     | server → client, handshake JSON  |
/// | close   | 1     | both                             |
/// | ping    | 2     | server → client (and `2probe`)   |
/// | pong    | 3     | client → server (and `3probe`)   |
/// | message | 4     | both; text or binary             |
/// | upgrade | 5     | client → server                  |
/// | noop    | 6     | server → client                  |
///
/// Over WebSocket each packet is one frame: text packets are the digit plus the data, binary messages
/// are binary frames holding the raw bytes. Over HTTP long-polling packets are joined with the record
/// separator 0x1E and binary messages are written as `b` followed by base64.

#include <switchboard/bytes.hpp>
#include <switchboard/eio/error.hpp>
#include <switchboard/limits.hpp>
#include <switchboard/result.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::eio {

enum class packet_type : std::uint8_t { open = 0, close, ping, pong, message, upgrade, noop };

/// The packet type's name as the reference implementation spells it ("open", "message", …).
std::string_view to_string(packet_type type) noexcept;

/// The record separator between packets of a polling payload.
inline constexpr char record_separator = '\x1e';

/// A decoded packet.
struct packet {
    packet_type type = packet_type::noop;
    /// True for a message carrying bytes (a binary WebSocket frame, or `b` + base64 in text).
    bool binary = false;
    /// Text after the type digit, or the raw bytes of a binary message.
    std::string data;

    friend bool operator==(const packet&, const packet&) = default;
};

/// One encoded packet, ready for a WebSocket frame or a polling payload. The bytes are shared and
/// immutable so the same frame can be queued on many sessions.
struct frame {
    shared_bytes bytes;
    bool binary = false;
    bool replaceable = false; ///< queued "latest wins": the oldest such units go first when the queue is full
    /// The same bytes compressed for WebSocket's permessage-deflate (raw DEFLATE, no context kept, the
    /// final empty block's 00 00 FF FF removed), when the server compresses them: once for all recipients.
    shared_bytes deflated;
};

/// A text frame: the type digit followed by `data`.
frame make_text_frame(packet_type type, std::string_view data = {});
/// A binary message frame holding `bytes` as they are (no copy).
frame make_binary_frame(shared_bytes bytes);

/// Encodes a packet as a frame (text: digit + data; binary message: the raw bytes).
frame encode_packet(const packet& p);

/// Decodes a WebSocket text frame or one element of a polling payload. A leading `b` means a binary
/// message in base64. Fails on an empty input, an unknown type or bad base64.
result<packet> decode_text(std::string_view text, const codec_limits& limits = {});

/// Decodes a WebSocket binary frame: always a binary message with these bytes.
result<packet> decode_binary(std::string_view bytes, const codec_limits& limits = {});

/// Appends `f` to a polling payload being built in `out` (separator first unless `out` is empty;
/// binary frames as `b` + base64).
void append_to_payload(std::string& out, const frame& f);

/// Encodes frames as one polling payload.
std::string encode_payload(std::span<const frame> frames);

/// How many of `frames`, from the first, one payload of at most `limit` bytes holds (at least one, as
/// engine.io-client sends a packet larger than the server's maxPayload alone): a client's next POST.
std::size_t frames_within(std::span<const frame> frames, std::size_t limit);

/// The packets of a polling payload. Like engine.io-parser, decoding stops at the first bad packet:
/// `packets` holds those before it and `error` says why it stopped.
struct payload_result {
    std::vector<packet> packets;
    std::error_code error;
};

/// Decodes a polling payload (an HTTP POST body from a client, or a GET response from a server).
payload_result decode_payload(std::string_view payload, const codec_limits& limits = {});

} // namespace switchboard::eio
