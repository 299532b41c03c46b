#pragma once
/// @file
/// Socket.IO v5 packets (socket.io-protocol, "Packet format").
///
/// `<type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]`
///
/// | type          | digit | data                                         |
/// |---------------|-------|----------------------------------------------|
/// | CONNECT       | 0     | client: optional auth object; server: {"sid"} |
/// | DISCONNECT    | 1     | none                                         |
/// | EVENT         | 2     | array, first element the event name          |
/// | ACK           | 3     | array                                        |
/// | CONNECT_ERROR | 4     | object {"message", "data"?} (or a string)    |
/// | BINARY_EVENT  | 5     | as EVENT, with binary attachments            |
/// | BINARY_ACK    | 6     | as ACK, with binary attachments              |
///
/// ## Binary values
/// Boost.JSON has no binary type, so a binary value inside `data` is written the way the protocol
/// itself writes it: the placeholder object `{"_placeholder":true,"num":i}`, whose bytes are
/// `attachments[i]`. Encoding therefore needs no rewriting of the JSON, and decoding hands the
/// placeholders and the attachment bytes over as received. `attach()` adds bytes and returns their
/// placeholder; `placeholder_index()` recognises one. The server API and the WASM client (which maps
/// placeholders to ArrayBuffer / Uint8Array) use this same representation.

#include <switchboard/bytes.hpp>
#include <switchboard/eio/packet.hpp>
#include <switchboard/limits.hpp>
#include <switchboard/result.hpp>
#include <switchboard/sio/error.hpp>

#include <boost/json/value.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::sio {

enum class packet_type : std::uint8_t {
    connect = 0,
    disconnect,
    event,
    ack,
    connect_error,
    binary_event,
    binary_ack,
};

/// The packet type's name as the protocol spells it ("CONNECT", "BINARY_EVENT", …).
std::string_view to_string(packet_type type) noexcept;

/// Largest ack id: JavaScript's Number.MAX_SAFE_INTEGER.
inline constexpr std::uint64_t max_ack_id = (std::uint64_t{1} << 53) - 1;

struct packet {
    packet_type type = packet_type::event;
    /// The namespace, `/` by default; always starts with `/`.
    std::string nsp = "/";
    /// The ack id, when the sender wants an acknowledgement (EVENT) or answers one (ACK).
    std::optional<std::uint64_t> id;
    /// The JSON payload; null when the packet has none.
    boost::json::value data;
    /// Binary attachments referenced by placeholders in `data`.
    std::vector<shared_bytes> attachments;

    friend bool operator==(const packet& a, const packet& b);
};

/// Event names the protocol reserves; an EVENT may not use them. This list is the only one: the WASM
/// client's JavaScript gets its copy from it at build time (wasm-client/CMakeLists.txt).
inline constexpr std::array<std::string_view, 6> reserved_event_names = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"};
bool is_reserved_event(std::string_view name) noexcept;

/// Adds `bytes` as the next attachment and returns the placeholder to put in the packet's data.
boost::json::value attach(std::vector<shared_bytes>& attachments, shared_bytes bytes);

/// The attachment index if `value` is a placeholder object (`{"_placeholder":true,"num":i}`).
std::optional<std::size_t> placeholder_index(const boost::json::value& value) noexcept;

/// Convenience constructors.
packet make_event(std::string_view nsp, boost::json::array args, std::optional<std::uint64_t> id = {});
packet make_ack(std::string_view nsp, std::uint64_t id, boost::json::array args);

/// Checks what a sender must respect: the namespace form, an ack id within range, the data's shape
/// for the type (EVENT: an array led by a non-reserved name), and placeholders that name attachments.
std::error_code validate(const packet& p);

/// Encodes the packet's text part. EVENT/ACK with attachments are written as BINARY_EVENT/BINARY_ACK
/// and BINARY_* without attachments as EVENT/ACK, so the type always agrees with the attachments.
result<std::string> encode_text(const packet& p);

/// Encodes the packet as the Engine.IO frames to send: the message `4<text>` followed by one binary
/// frame per attachment (the attachment bytes themselves, shared, not copied). Encode a broadcast
/// once and queue these same frames on every recipient.
result<std::vector<eio::frame>> encode_frames(const packet& p);

// --- packets whose JSON payload stays text ---------------------------------------------------------------
//
// A peer that only hands payloads on (the WASM client gives them to JavaScript's JSON.parse and gets
// them from JSON.stringify) needs the header, not a parsed payload. These skip the JSON work: the
// payload is not parsed on decode, and is trusted to be valid JSON on encode.

/// A packet with its payload as JSON text ("" when it has none).
struct raw_packet {
    packet_type type = packet_type::event;
    std::string nsp = "/";
    std::optional<std::uint64_t> id;
    std::string data;
    std::vector<shared_bytes> attachments;
};

/// Encodes as encode_frames() does, the payload written as given. Checks the namespace and ack id;
/// the type follows the attachments (EVENT with attachments is sent as BINARY_EVENT and so on).
result<std::vector<eio::frame>> encode_raw_frames(const raw_packet& p);
/// The Engine.IO message frame of a packet without attachments, written once from its parts (no
/// raw_packet, no copy of `data` before it goes into the frame): a client's emit.
result<eio::frame> encode_raw_text_frame(packet_type type, std::string_view nsp, std::optional<std::uint64_t> id,
                                         std::string_view data);

/// What feeding one message to a decoder produced.
enum class decode_progress {
    packet_ready,      ///< take_packet() returns a complete packet
    needs_attachments, ///< a binary packet awaits pending_attachments() more binary messages
};

/// Decodes Socket.IO packets from Engine.IO messages, reassembling binary packets: a BINARY_EVENT or
/// BINARY_ACK is complete only once its announced attachments have arrived as binary messages.
/// One decoder per Engine.IO session; after an error the session should be closed.
/// `Packet` is `packet` (`decoder`: the payload parsed and checked as socket.io-parser checks it) or
/// `raw_packet` (`raw_decoder`: the header checked as the reference parser checks it — type,
/// attachment count, namespace, ack id, a payload where one is due — and the payload left as text).
template <class Packet>
class basic_decoder {
public:
    using progress = decode_progress;

    explicit basic_decoder(codec_limits limits = {}) : limits_(limits) {}

    /// Feeds the data of a text message (without the Engine.IO `4`).
    result<progress> feed_text(std::string_view text);
    /// Feeds a binary message: the next attachment of the packet being reassembled.
    result<progress> feed_binary(shared_bytes bytes);

    /// The packet completed by the last feed (moves it out).
    Packet take_packet() { return std::move(packet_); }
    /// Attachments still expected by the packet being reassembled (0 when none is).
    std::size_t pending_attachments() const noexcept { return pending_; }
    /// Drops any half-reassembled packet.
    void reset() noexcept;

private:
    codec_limits limits_;
    Packet packet_;
    std::size_t pending_ = 0;
};

using decoder = basic_decoder<packet>;
using raw_decoder = basic_decoder<raw_packet>;
extern template class basic_decoder<packet>;
extern template class basic_decoder<raw_packet>;

/// Decodes one complete text packet (no attachments follow it; for BINARY_* types the attachments
/// are left empty and the caller supplies them). Used by `decoder`; exposed for tools and tests.
result<packet> decode_text(std::string_view text, const codec_limits& limits, std::size_t& attachment_count);

} // namespace switchboard::sio
