#include "classic_requests.hpp"

#include "classic_wire.hpp"

#include <switchboard/json.hpp>

namespace switchboard::server::redis_wire {

namespace {

using cluster::errc;

std::string string_field(const boost::json::object& o, std::string_view name) {
    const auto* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

boost::json::array string_array(const std::vector<std::string>& items) {
    boost::json::array out;
    out.reserve(items.size());
    for (const auto& s : items) out.emplace_back(s);
    return out;
}

boost::json::object opts_json(const io::broadcast_options& o) {
    return {{"rooms", string_array(o.rooms)}, {"except", string_array(o.except)}};
}

} // namespace

result<request> decode_request(std::string_view bytes, const codec_limits& limits) {
    auto decoded = cluster::read_message(bytes, limits);
    if (!decoded) return decoded.error();
    const auto& o = decoded->value.get_object();
    const auto* type = o.if_contains("type");
    if (!type || !type->is_int64() || type->get_int64() < 0 || type->get_int64() > 9) return errc::bad_shape;
    request r;
    r.type = static_cast<request_type>(type->get_int64());
    r.uid = string_field(o, "uid");
    r.request_id = string_field(o, "requestId");
    auto options = read_options(o.if_contains("opts"));
    if (!options) return options.error();
    r.options = std::move(*options);
    switch (r.type) {
    case request_type::sockets: break; // opts carries nothing here; `rooms` does
    case request_type::remote_join:
    case request_type::remote_leave: {
        r.sid = string_field(o, "sid"); // the legacy form: one socket and one room
        r.room = string_field(o, "room");
        auto rooms = read_rooms(o.if_contains("rooms"));
        if (!rooms) return rooms.error();
        r.rooms = std::move(*rooms);
        break;
    }
    case request_type::remote_disconnect:
        r.sid = string_field(o, "sid");
        if (const auto* c = o.if_contains("close")) r.close = c->is_bool() && c->get_bool();
        break;
    case request_type::server_side_emit: {
        const auto* data = o.if_contains("data");
        if (!data || !data->is_array() || data->get_array().empty()) return errc::bad_shape;
        r.packet.data = *data;
        r.packet.attachments = std::move(decoded->attachments);
        break;
    }
    case request_type::broadcast: {
        const auto* packet = o.if_contains("packet");
        const auto* p = packet ? packet->if_object() : nullptr;
        const auto* data = p ? p->if_contains("data") : nullptr;
        if (!data) return errc::bad_shape;
        r.packet.type = sio::packet_type::event;
        if (const auto* nsp = p->if_contains("nsp"); nsp && nsp->is_string()) r.packet.nsp = nsp->get_string();
        r.packet.data = *data;
        r.packet.attachments = std::move(decoded->attachments);
        if (sio::validate(r.packet)) return errc::bad_shape;
        break;
    }
    default: break;
    }
    if (r.type == request_type::sockets) {
        auto rooms = read_rooms(o.if_contains("rooms"));
        if (!rooms) return rooms.error();
        r.options.rooms = std::move(*rooms);
    }
    return r;
}

result<response> decode_response(std::string_view bytes, const codec_limits& limits) {
    auto decoded = cluster::read_message(bytes, limits);
    if (!decoded) return decoded.error();
    response r;
    r.body = std::move(decoded->value.get_object());
    r.request_id = string_field(r.body, "requestId");
    if (r.request_id.empty()) return errc::bad_shape;
    if (const auto* t = r.body.if_contains("type"); t && t->is_int64() && t->get_int64() >= 0 && t->get_int64() <= 9)
        r.type = static_cast<request_type>(t->get_int64());
    r.attachments = std::move(decoded->attachments);
    return r;
}

// --- requests ----------------------------------------------------------------------------------------

std::string encode_sockets_request(std::string_view uid, std::string_view request_id,
                                   const std::vector<std::string>& rooms) {
    return stringify(
        boost::json::object{{"uid", uid}, {"requestId", request_id}, {"type", 0}, {"rooms", string_array(rooms)}});
}

std::string encode_all_rooms_request(std::string_view uid, std::string_view request_id) {
    return stringify(boost::json::object{{"uid", uid}, {"requestId", request_id}, {"type", 1}});
}

std::string encode_fetch_request(std::string_view uid, std::string_view request_id, const io::broadcast_options& o) {
    return stringify(boost::json::object{{"uid", uid}, {"requestId", request_id}, {"type", 5}, {"opts", opts_json(o)}});
}

std::string encode_join_request(std::string_view uid, const io::broadcast_options& o,
                                const std::vector<std::string>& rooms, bool leave) {
    return stringify(boost::json::object{
        {"uid", uid}, {"type", leave ? 3 : 2}, {"opts", opts_json(o)}, {"rooms", string_array(rooms)}});
}

std::string encode_disconnect_request(std::string_view uid, const io::broadcast_options& o, bool close) {
    return stringify(boost::json::object{{"uid", uid}, {"type", 4}, {"opts", opts_json(o)}, {"close", close}});
}

std::string encode_server_side_emit(std::string_view uid, std::string_view request_id, const boost::json::array& data) {
    boost::json::object o{{"uid", uid}};
    if (!request_id.empty()) o["requestId"] = request_id;
    o["type"] = 6;
    o["data"] = data;
    return stringify(o);
}

std::string encode_broadcast_request(std::string_view uid, std::string_view request_id, const sio::packet& packet,
                                     const io::broadcast_options& o) {
    msgpack::sbuffer buffer;
    cluster::msgpack_packer out(buffer);
    out.pack_map(5);
    pack_string(out, "uid");
    pack_string(out, uid);
    pack_string(out, "requestId");
    pack_string(out, request_id);
    pack_string(out, "type");
    out.pack_int64(static_cast<int>(request_type::broadcast));
    pack_string(out, "packet");
    out.pack_map(3);
    pack_string(out, "type");
    out.pack_int64(static_cast<int>(sio::packet_type::event));
    pack_string(out, "data");
    cluster::pack_json(out, packet.data, packet.attachments);
    pack_string(out, "nsp");
    pack_string(out, packet.nsp);
    pack_string(out, "opts");
    pack_options(out, o);
    return std::string(buffer.data(), buffer.size());
}

// --- responses ---------------------------------------------------------------------------------------

namespace {
std::string with_responder(boost::json::object o, std::string_view responder) {
    if (!responder.empty()) o["uid"] = responder;
    return stringify(o);
}
} // namespace

std::string encode_rooms_response(std::string_view request_id, const std::vector<std::string>& rooms,
                                  std::string_view responder) {
    return with_responder({{"requestId", request_id}, {"rooms", string_array(rooms)}}, responder);
}

std::string encode_sockets_response(std::string_view request_id, const std::vector<std::string>& ids,
                                    std::string_view responder) {
    return with_responder({{"requestId", request_id}, {"sockets", string_array(ids)}}, responder);
}

std::string encode_fetch_response(std::string_view request_id, boost::json::array sockets, std::string_view responder) {
    return with_responder({{"requestId", request_id}, {"sockets", std::move(sockets)}}, responder);
}

std::string encode_client_count(std::string_view request_id, std::size_t count, std::string_view responder) {
    return with_responder({{"type", 8}, {"requestId", request_id}, {"clientCount", count}}, responder);
}

std::string encode_broadcast_ack(std::string_view request_id, const boost::json::value& first,
                                 const std::vector<shared_bytes>& attachments) {
    msgpack::sbuffer buffer;
    cluster::msgpack_packer out(buffer);
    out.pack_map(3);
    pack_string(out, "type");
    out.pack_int64(static_cast<int>(request_type::broadcast_ack));
    pack_string(out, "requestId");
    pack_string(out, request_id);
    pack_string(out, "packet");
    cluster::pack_json(out, first, attachments);
    return std::string(buffer.data(), buffer.size());
}

std::string encode_legacy_ack(std::string_view request_id) {
    return stringify(boost::json::object{{"requestId", request_id}});
}

std::string encode_server_side_ack(std::string_view request_id, const boost::json::value& value) {
    return stringify(boost::json::object{{"type", 6}, {"requestId", request_id}, {"data", value}});
}

} // namespace switchboard::server::redis_wire
