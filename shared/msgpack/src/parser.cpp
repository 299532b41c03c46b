#include <switchboard/msgpack/json.hpp>
#include <switchboard/msgpack/parser.hpp>

#include <switchboard/json.hpp>

namespace switchboard::msgpack_parser {

namespace {

using msgpack_json::errc;

int wire_type(sio::packet_type t) {
    switch (t) {
    case sio::packet_type::binary_event: return static_cast<int>(sio::packet_type::event);
    case sio::packet_type::binary_ack: return static_cast<int>(sio::packet_type::ack);
    default: return static_cast<int>(t);
    }
}

// The attachments `data` refers to, renumbered in order: the reader numbers every bin of the map, and
// a client's packet carries more than its data (socket.io-client adds `options`).
void keep_referenced(boost::json::value& v, const std::vector<shared_bytes>& all, std::vector<shared_bytes>& kept) {
    if (auto* a = v.if_array()) {
        for (auto& item : *a) keep_referenced(item, all, kept);
        return;
    }
    auto* o = v.if_object();
    if (!o) return;
    const auto* placeholder = o->if_contains("_placeholder");
    const auto* num = o->if_contains("num");
    if (o->size() == 2 && placeholder && placeholder->is_bool() && num && (num->is_int64() || num->is_uint64())) {
        const auto i = num->is_int64() ? num->get_int64() : static_cast<std::int64_t>(num->get_uint64());
        if (i >= 0 && static_cast<std::size_t>(i) < all.size()) {
            (*o)["num"] = static_cast<std::int64_t>(kept.size());
            kept.push_back(all[static_cast<std::size_t>(i)]);
        }
        return;
    }
    for (auto& [key, item] : *o) keep_referenced(item, all, kept);
}

} // namespace

result<std::vector<eio::frame>> encode(const sio::packet& packet) {
    msgpack::sbuffer buffer;
    msgpack_json::packer out(buffer);
    const bool has_data = !packet.data.is_null();
    out.pack_map(2 + (has_data ? 1 : 0) + (packet.id ? 1 : 0));
    out.pack(std::string_view("type"));
    out.pack(wire_type(packet.type));
    if (has_data) {
        out.pack(std::string_view("data"));
        msgpack_json::pack_json(out, packet.data, packet.attachments);
    }
    out.pack(std::string_view("nsp"));
    out.pack(std::string_view(packet.nsp));
    if (packet.id) {
        out.pack(std::string_view("id"));
        out.pack(*packet.id);
    }
    std::vector<eio::frame> frames;
    frames.push_back(eio::make_binary_frame(make_shared_bytes(std::string(buffer.data(), buffer.size()))));
    return frames;
}

result<sio::packet> decode(std::string_view bytes, const codec_limits& limits) {
    auto decoded = msgpack_json::unpack_json(bytes, limits);
    if (!decoded) return decoded.error();
    const auto* map = decoded->value.if_object();
    if (!map) return errc::bad_shape;
    sio::packet p;
    const auto* type = map->if_contains("type");
    if (!type || !type->is_int64() || type->get_int64() < 0 || type->get_int64() > 4) return errc::bad_shape;
    p.type = static_cast<sio::packet_type>(type->get_int64());
    const auto* nsp = map->if_contains("nsp");
    if (!nsp || !nsp->is_string() || nsp->get_string().empty() || nsp->get_string().front() != '/')
        return errc::bad_shape;
    p.nsp = nsp->get_string();
    const auto* data = map->if_contains("data");
    switch (p.type) {
    case sio::packet_type::connect:
        if (data && !data->is_object()) return errc::bad_shape;
        break;
    case sio::packet_type::disconnect:
        if (data) return errc::bad_shape;
        break;
    case sio::packet_type::connect_error:
        if (!data || !(data->is_string() || data->is_object())) return errc::bad_shape;
        break;
    default:
        if (!data || !data->is_array()) return errc::bad_shape;
        if (p.type == sio::packet_type::event &&
            (data->get_array().empty() || !(data->get_array()[0].is_string() || data->get_array()[0].is_number())))
            return errc::bad_shape;
    }
    if (data) {
        p.data = *data;
        if (!decoded->attachments.empty()) keep_referenced(p.data, decoded->attachments, p.attachments);
    }
    if (const auto* id = map->if_contains("id")) {
        if (id->is_uint64())
            p.id = id->get_uint64();
        else if (id->is_int64() && id->get_int64() >= 0)
            p.id = static_cast<std::uint64_t>(id->get_int64());
        else
            return errc::bad_shape;
    }
    if (!p.attachments.empty())
        p.type = p.type == sio::packet_type::ack     ? sio::packet_type::binary_ack
                 : p.type == sio::packet_type::event ? sio::packet_type::binary_event
                                                     : p.type;
    return p;
}

result<std::vector<eio::frame>> client_parser::encode(const sio::raw_packet& raw) const {
    sio::packet packet;
    packet.type = raw.type;
    packet.nsp = raw.nsp;
    packet.id = raw.id;
    if (!raw.data.empty()) {
        // The payload is the application's JSON text (JSON.stringify's, in the WASM client).
        auto data = parse_json(raw.data, limits_.max_json_depth);
        if (!data) return data.error();
        packet.data = std::move(*data);
    }
    packet.attachments = raw.attachments;
    return msgpack_parser::encode(packet);
}

result<sio::raw_packet> client_parser::decode(std::string_view message, bool binary) const {
    if (!binary) return errc::malformed; // this parser's packets are binary messages only
    auto packet = msgpack_parser::decode(message, limits_);
    if (!packet) return packet.error();
    sio::raw_packet raw;
    raw.type = packet->type;
    raw.nsp = std::move(packet->nsp);
    raw.id = packet->id;
    if (!packet->data.is_null()) raw.data = stringify(packet->data);
    raw.attachments = std::move(packet->attachments);
    return raw;
}

} // namespace switchboard::msgpack_parser
