#include <switchboard/json.hpp>
#include <switchboard/sio/packet.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

namespace switchboard::sio {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool is_binary_type(packet_type t) noexcept { return t == packet_type::binary_event || t == packet_type::binary_ack; }

// The event name may be a string (not a reserved one) or, as socket.io-parser allows, a number.
std::error_code check_event_args(const boost::json::value& data) {
    if (!data.is_array() || data.get_array().empty()) return errc::invalid_payload;
    const auto& name = data.get_array().front();
    // A name that overflowed to infinity would be written back as null, so it is no name at all.
    if (name.is_double()) return std::isfinite(name.get_double()) ? std::error_code{} : errc::invalid_payload;
    if (name.is_number()) return {};
    if (!name.is_string()) return errc::invalid_payload;
    if (is_reserved_event(name.get_string())) return errc::reserved_event_name;
    return {};
}

// The shape socket.io-parser requires of each type's payload (null = no payload).
std::error_code check_payload(packet_type type, const boost::json::value& data) {
    switch (type) {
    case packet_type::connect: return data.is_null() || data.is_object() ? std::error_code{} : errc::invalid_payload;
    case packet_type::disconnect: return data.is_null() ? std::error_code{} : errc::invalid_payload;
    case packet_type::event:
    case packet_type::binary_event: return check_event_args(data);
    case packet_type::ack:
    case packet_type::binary_ack: return data.is_array() ? std::error_code{} : errc::invalid_payload;
    case packet_type::connect_error:
        return data.is_string() || data.is_object() ? std::error_code{} : errc::invalid_payload;
    }
    return errc::unknown_packet_type;
}

// Every placeholder must name one of the `count` attachments.
bool placeholders_in_range(const boost::json::value& v, std::size_t count) {
    if (v.is_array()) {
        for (const auto& e : v.get_array())
            if (!placeholders_in_range(e, count)) return false;
        return true;
    }
    if (!v.is_object()) return true;
    const auto& o = v.get_object();
    if (const auto* flag = o.if_contains("_placeholder"); flag && flag->is_bool() && flag->get_bool()) {
        const auto index = placeholder_index(v);
        return index && *index < count;
    }
    for (const auto& member : o)
        if (!placeholders_in_range(member.value(), count)) return false;
    return true;
}

bool is_valid_namespace(std::string_view nsp) noexcept {
    return !nsp.empty() && nsp.front() == '/' && nsp.find(',') == std::string_view::npos;
}

// The type written on the wire: EVENT/ACK become BINARY_* when they carry attachments and back.
packet_type wire_type(packet_type type, bool has_attachments) noexcept {
    switch (type) {
    case packet_type::event:
    case packet_type::binary_event: return has_attachments ? packet_type::binary_event : packet_type::event;
    case packet_type::ack:
    case packet_type::binary_ack: return has_attachments ? packet_type::binary_ack : packet_type::ack;
    default: return type;
    }
}

// Everything before the payload: `<type>[<attachments>-][<nsp>,][<id>]`. The short parts are written
// into a buffer on the stack and appended together (every packet sent goes through here).
void append_header(std::string& out, packet_type type, std::size_t attachments, std::string_view nsp,
                   std::optional<std::uint64_t> id) {
    type = wire_type(type, attachments != 0);
    char head[48]; // type, up to 20 digits and '-', up to 20 digits
    char* end = head;
    *end++ = static_cast<char>('0' + static_cast<int>(type));
    if (is_binary_type(type)) {
        end = std::to_chars(end, head + sizeof head, attachments).ptr;
        *end++ = '-';
    }
    if (nsp.size() != 1 || nsp.front() != '/') { // not the main namespace (no memcmp call for the usual one)
        out.append(head, end);
        out.append(nsp);
        out.push_back(',');
        end = head;
    }
    if (id) end = std::to_chars(end, head + sizeof head, *id).ptr;
    out.append(head, end);
}

std::error_code encode_into(std::string& out, const packet& p) {
    if (auto ec = validate(p)) return ec;
    append_header(out, p.type, p.attachments.size(), p.nsp, p.id);
    if (!p.data.is_null()) stringify(out, p.data);
    return {};
}

// The Engine.IO message `4<text>` followed by one binary frame per attachment (shared, not copied).
std::vector<eio::frame> frames_of(std::string text, const std::vector<shared_bytes>& attachments) {
    std::vector<eio::frame> frames;
    frames.reserve(1 + attachments.size());
    frames.emplace_back().bytes = make_shared_bytes(std::move(text));
    for (const auto& bytes : attachments) frames.push_back(eio::make_binary_frame(bytes));
    return frames;
}

} // namespace

std::string_view to_string(packet_type type) noexcept {
    switch (type) {
    case packet_type::connect: return "CONNECT";
    case packet_type::disconnect: return "DISCONNECT";
    case packet_type::event: return "EVENT";
    case packet_type::ack: return "ACK";
    case packet_type::connect_error: return "CONNECT_ERROR";
    case packet_type::binary_event: return "BINARY_EVENT";
    case packet_type::binary_ack: return "BINARY_ACK";
    }
    return "UNKNOWN";
}

bool operator==(const packet& a, const packet& b) {
    if (a.type != b.type || a.nsp != b.nsp || a.id != b.id || a.data != b.data) return false;
    return std::equal(a.attachments.begin(), a.attachments.end(), b.attachments.begin(), b.attachments.end(),
                      [](const shared_bytes& x, const shared_bytes& y) { return *x == *y; });
}

bool is_reserved_event(std::string_view name) noexcept {
    return std::find(reserved_event_names.begin(), reserved_event_names.end(), name) != reserved_event_names.end();
}

boost::json::value attach(std::vector<shared_bytes>& attachments, shared_bytes bytes) {
    boost::json::object placeholder;
    placeholder.reserve(2);
    placeholder.emplace("_placeholder", true);
    placeholder.emplace("num", attachments.size());
    attachments.push_back(std::move(bytes));
    return placeholder;
}

std::optional<std::size_t> placeholder_index(const boost::json::value& value) noexcept {
    const auto* o = value.if_object();
    if (!o) return std::nullopt;
    const auto* flag = o->if_contains("_placeholder");
    if (!flag || !flag->is_bool() || !flag->get_bool()) return std::nullopt;
    const auto* num = o->if_contains("num");
    if (!num) return std::nullopt;
    if (num->is_uint64()) return static_cast<std::size_t>(num->get_uint64());
    if (num->is_int64() && num->get_int64() >= 0) return static_cast<std::size_t>(num->get_int64());
    return std::nullopt;
}

packet make_event(std::string_view nsp, boost::json::array args, std::optional<std::uint64_t> id) {
    packet p;
    p.type = packet_type::event;
    p.nsp = nsp;
    p.id = id;
    p.data = std::move(args);
    return p;
}

packet make_ack(std::string_view nsp, std::uint64_t id, boost::json::array args) {
    packet p;
    p.type = packet_type::ack;
    p.nsp = nsp;
    p.id = id;
    p.data = std::move(args);
    return p;
}

std::error_code validate(const packet& p) {
    if (!is_valid_namespace(p.nsp)) return errc::invalid_namespace;
    if (p.id && *p.id > max_ack_id) return errc::invalid_ack_id;
    const packet_type type = wire_type(p.type, !p.attachments.empty());
    if (auto ec = check_payload(type, p.data)) return ec;
    if (!p.attachments.empty()) {
        if (!is_binary_type(type)) return errc::invalid_payload;
        if (!placeholders_in_range(p.data, p.attachments.size())) return errc::invalid_placeholder;
    }
    return {};
}

result<std::string> encode_text(const packet& p) {
    std::string out;
    if (auto ec = encode_into(out, p)) return ec;
    return out;
}

result<std::vector<eio::frame>> encode_frames(const packet& p) {
    std::string text;
    text.push_back('4'); // Engine.IO message
    if (auto ec = encode_into(text, p)) return ec;
    return frames_of(std::move(text), p.attachments);
}

namespace {

/// The header of a text packet: everything before the JSON payload.
struct header {
    packet_type type = packet_type::event; // as written (BINARY_* included)
    std::string_view nsp = "/";
    std::optional<std::uint64_t> id;
    std::size_t attachments = 0;
    std::string_view payload; // the rest: the JSON text, possibly empty
};

result<header> decode_header(std::string_view text, const codec_limits& limits) {
    if (text.size() > limits.max_payload) return errc::packet_too_large;
    if (text.empty()) return errc::empty_packet;
    if (text[0] < '0' || text[0] > '6') return errc::unknown_packet_type;

    header h;
    h.type = static_cast<packet_type>(text[0] - '0');
    const auto type = h.type;
    std::size_t i = 1;

    if (is_binary_type(type)) {
        // "<count>-": at least one attachment, digits only.
        const std::size_t dash = text.find('-', i);
        if (dash == std::string_view::npos || dash == i || dash - i > 9) return errc::invalid_attachment_count;
        std::size_t count = 0;
        for (; i < dash; ++i) {
            if (!is_digit(text[i])) return errc::invalid_attachment_count;
            count = count * 10 + static_cast<std::size_t>(text[i] - '0');
        }
        if (count == 0) return errc::invalid_attachment_count;
        if (count > limits.max_attachments) return errc::too_many_attachments;
        h.attachments = count;
        i = dash + 1;
    }

    if (i < text.size() && text[i] == '/') {
        const std::size_t comma = text.find(',', i);
        if (comma == std::string_view::npos) {
            h.nsp = text.substr(i);
            i = text.size();
        } else {
            h.nsp = text.substr(i, comma - i);
            i = comma + 1;
        }
    }

    if (i < text.size() && is_digit(text[i])) {
        std::uint64_t id = 0;
        std::size_t digits = 0;
        for (; i < text.size() && is_digit(text[i]); ++i, ++digits) {
            if (digits == 16) return errc::invalid_ack_id; // beyond any safe JavaScript integer
            id = id * 10 + static_cast<std::uint64_t>(text[i] - '0');
        }
        if (id > max_ack_id) return errc::invalid_ack_id;
        h.id = id;
    }
    h.payload = text.substr(i);
    // Whatever follows the header must at least start like JSON; otherwise a payload beginning with
    // '/' would read back as a namespace once re-encoded (the raw path never parses it).
    if (!h.payload.empty() &&
        std::string_view("[{\"-0123456789tfn \t\r\n").find(h.payload.front()) == std::string_view::npos)
        return errc::invalid_json;
    // socket.io-parser lets packets other than CONNECT and DISCONNECT through without a payload;
    // nothing can act on such a packet.
    if (h.payload.empty() && type != packet_type::connect && type != packet_type::disconnect)
        return errc::invalid_payload;
    return h;
}

packet_type in_memory_type(packet_type type) noexcept {
    // In memory the binary types are EVENT/ACK with attachments, as socket.io-parser delivers them.
    return type == packet_type::binary_event ? packet_type::event
           : type == packet_type::binary_ack ? packet_type::ack
                                             : type;
}

} // namespace

result<packet> decode_text(std::string_view text, const codec_limits& limits, std::size_t& attachment_count) {
    attachment_count = 0;
    auto h = decode_header(text, limits);
    if (!h) return h.error();
    const auto type = h->type;
    packet p;
    p.nsp = h->nsp;
    p.id = h->id;
    attachment_count = h->attachments;

    if (!h->payload.empty()) {
        auto data = parse_json(h->payload, limits.max_json_depth);
        if (!data) return data.error() == boost::json::error::too_deep ? errc::json_too_deep : errc::invalid_json;
        p.data = std::move(*data);
        // A payload that is present must have the type's shape: an explicit `null` does not count as
        // "no payload" (socket.io-parser refuses `0null` and `1{}`).
        if (p.data.is_null()) return errc::invalid_payload;
    }
    if (auto ec = check_payload(type, p.data)) return ec;
    if (attachment_count && !placeholders_in_range(p.data, attachment_count)) return errc::invalid_placeholder;
    p.type = in_memory_type(type);
    return p;
}

// --- raw packets -----------------------------------------------------------------------------------------

namespace {

// `4<header><data>`: the Engine.IO message holding a raw packet's text.
result<std::string> raw_text(packet_type type, std::size_t attachments, std::string_view nsp,
                             std::optional<std::uint64_t> id, std::string_view data) {
    if (!is_valid_namespace(nsp)) return errc::invalid_namespace;
    if (id && *id > max_ack_id) return errc::invalid_ack_id;
    std::string text;
    text.reserve(data.size() + nsp.size() + 24);
    text.push_back('4'); // Engine.IO message
    append_header(text, type, attachments, nsp, id);
    text.append(data);
    return text;
}

} // namespace

result<std::vector<eio::frame>> encode_raw_frames(const raw_packet& p) {
    auto text = raw_text(p.type, p.attachments.size(), p.nsp, p.id, p.data);
    if (!text) return text.error();
    return frames_of(std::move(*text), p.attachments);
}

result<eio::frame> encode_raw_text_frame(packet_type type, std::string_view nsp, std::optional<std::uint64_t> id,
                                         std::string_view data) {
    auto text = raw_text(type, 0, nsp, id, data);
    if (!text) return text.error();
    eio::frame frame;
    frame.bytes = make_shared_bytes(std::move(*text));
    return frame;
}

// --- reassembly (both decoders) -------------------------------------------------------------------------

namespace {

result<packet> decode_one(std::string_view text, const codec_limits& limits, std::size_t& count, packet*) {
    return decode_text(text, limits, count);
}

result<raw_packet> decode_one(std::string_view text, const codec_limits& limits, std::size_t& count, raw_packet*) {
    auto h = decode_header(text, limits);
    if (!h) return h.error();
    count = h->attachments;
    return raw_packet{in_memory_type(h->type), std::string(h->nsp), h->id, std::string(h->payload), {}};
}

} // namespace

template <class Packet>
result<decode_progress> basic_decoder<Packet>::feed_text(std::string_view text) {
    if (pending_ != 0) {
        reset();
        return errc::unexpected_text;
    }
    std::size_t count = 0;
    auto decoded = decode_one(text, limits_, count, static_cast<Packet*>(nullptr));
    if (!decoded) return decoded.error();
    packet_ = std::move(*decoded);
    pending_ = count;
    if (count == 0) return progress::packet_ready;
    packet_.attachments.reserve(count);
    return progress::needs_attachments;
}

template <class Packet>
result<decode_progress> basic_decoder<Packet>::feed_binary(shared_bytes bytes) {
    if (pending_ == 0) return errc::unexpected_binary;
    if (!bytes || bytes->size() > limits_.max_payload) {
        reset();
        return errc::packet_too_large;
    }
    packet_.attachments.push_back(std::move(bytes));
    return --pending_ == 0 ? progress::packet_ready : progress::needs_attachments;
}

template <class Packet>
void basic_decoder<Packet>::reset() noexcept {
    packet_ = Packet{};
    pending_ = 0;
}

template class basic_decoder<packet>;
template class basic_decoder<raw_packet>;

} // namespace switchboard::sio
