#include "sharded_wire.hpp"

#include "classic_wire.hpp"

#include <switchboard/json.hpp>

#include <fmt/format.h>

namespace switchboard::server::sharded_wire {

namespace {

using cluster::errc;
using cluster::request_type;

boost::json::array string_array(const std::vector<std::string>& items) {
    return boost::json::array(items.begin(), items.end());
}

boost::json::object options_json(const io::broadcast_options& o) {
    boost::json::object flags;
    if (o.volatile_) flags["volatile"] = true;
    if (o.timeout) flags["timeout"] = o.timeout->count();
    return {{"rooms", string_array(o.rooms)}, {"except", string_array(o.except)}, {"flags", std::move(flags)}};
}

/// `{type, data, uid, nsp}` in the Node adapter's key order: JSON, or MessagePack when `attachments`
/// (what the placeholders in `data` stand for) is not empty.
std::string message(message_type type, boost::json::object data, std::string_view uid, std::string_view nsp,
                    const std::vector<shared_bytes>& attachments = {}) {
    boost::json::object m{{"type", static_cast<int>(type)}, {"data", std::move(data)}, {"uid", uid}, {"nsp", nsp}};
    if (attachments.empty()) return stringify(m);
    msgpack::sbuffer buffer;
    cluster::msgpack_packer out(buffer);
    cluster::pack_json(out, m, attachments);
    return std::string(buffer.data(), buffer.size());
}

std::string string_field(const boost::json::object& o, std::string_view name) {
    const auto* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

} // namespace

std::string main_channel(std::string_view prefix, std::string_view nsp) { return fmt::format("{}#{}#", prefix, nsp); }
std::string node_channel(std::string_view prefix, std::string_view nsp, std::string_view uid) {
    return fmt::format("{}#{}#{}#", prefix, nsp, uid);
}
std::string room_channel(std::string_view prefix, std::string_view nsp, std::string_view room) {
    return fmt::format("{}#{}#{}#", prefix, nsp, room);
}

bool room_has_channel(std::string_view room) { return room.size() != 20; }

std::string broadcast_channel(std::string_view prefix, std::string_view nsp, const io::broadcast_options& options) {
    if (options.rooms.size() == 1 && room_has_channel(options.rooms.front()))
        return room_channel(prefix, nsp, options.rooms.front());
    return main_channel(prefix, nsp);
}

std::string encode_broadcast(std::string_view uid, std::string_view nsp, const sio::packet& packet,
                             const io::broadcast_options& options) {
    // The inner packet carries no nsp: the receiver takes the message's.
    boost::json::object data{{"packet", {{"type", 2}, {"data", packet.data}}}, {"opts", options_json(options)}};
    return message(message_type::broadcast, std::move(data), uid, nsp, packet.attachments);
}

std::string encode_request(std::string_view nsp, const cluster::request& r) {
    switch (r.type) {
    case request_type::broadcast: {
        boost::json::object data{{"packet", {{"type", 2}, {"data", r.packet.data}}},
                                 {"opts", options_json(r.options)},
                                 {"requestId", r.request_id}};
        return message(message_type::broadcast, std::move(data), r.uid, nsp, r.packet.attachments);
    }
    case request_type::remote_join:
    case request_type::remote_leave:
        return message(r.type == request_type::remote_join ? message_type::sockets_join : message_type::sockets_leave,
                       {{"opts", options_json(r.options)}, {"rooms", string_array(r.rooms)}}, r.uid, nsp);
    case request_type::remote_disconnect:
        return message(message_type::disconnect_sockets, {{"opts", options_json(r.options)}, {"close", r.close}}, r.uid,
                       nsp);
    case request_type::remote_fetch:
        return message(message_type::fetch_sockets, {{"opts", options_json(r.options)}, {"requestId", r.request_id}},
                       r.uid, nsp);
    case request_type::server_side_emit: {
        boost::json::object data{{"packet", r.packet.data}};
        if (!r.request_id.empty()) data["requestId"] = r.request_id;
        return message(message_type::server_side_emit, std::move(data), r.uid, nsp, r.packet.attachments);
    }
    default: return {}; // sockets, all_rooms: no such message here
    }
}

std::string encode_answer(std::string_view uid, std::string_view nsp, const cluster::answer& a) {
    switch (a.type) {
    case request_type::remote_fetch:
        return message(message_type::fetch_sockets_response, {{"requestId", a.request_id}, {"sockets", a.sockets}}, uid,
                       nsp);
    case request_type::broadcast_client_count:
        return message(message_type::broadcast_client_count,
                       {{"requestId", a.request_id}, {"clientCount", a.client_count}}, uid, nsp);
    case request_type::broadcast_ack:
        return message(message_type::broadcast_ack, {{"requestId", a.request_id}, {"packet", a.value}}, uid, nsp,
                       a.attachments);
    case request_type::server_side_emit:
        return message(message_type::server_side_emit_response, {{"requestId", a.request_id}, {"packet", a.value}}, uid,
                       nsp, a.attachments);
    default: return {};
    }
}

result<incoming> decode(std::string_view bytes, const codec_limits& limits) {
    auto read = cluster::read_message(bytes, limits);
    if (!read) return read.error();
    auto& decoded = *read;
    auto* m = decoded.value.if_object();
    const auto* type = m ? m->if_contains("type") : nullptr;
    if (!type || !type->is_int64()) return errc::bad_shape;
    incoming in;
    in.uid = string_field(*m, "uid");
    in.nsp = string_field(*m, "nsp");
    static const boost::json::object none;
    const auto* data_value = m->if_contains("data");
    const auto& data = data_value && data_value->is_object() ? data_value->get_object() : none;
    const auto request_id = string_field(data, "requestId");
    const auto options = [&]() { return redis_wire::read_options(data.if_contains("opts")); };

    auto& r = in.request;
    r.uid = in.uid;
    r.request_id = request_id;
    switch (static_cast<message_type>(type->get_int64())) {
    case message_type::broadcast: {
        const auto* packet = data.if_contains("packet");
        const auto* p = packet ? packet->if_object() : nullptr;
        const auto* args = p ? p->if_contains("data") : nullptr;
        if (!args) return errc::bad_shape;
        auto opts = options();
        if (!opts) return opts.error();
        sio::packet event;
        event.nsp = in.nsp.empty() ? "/" : in.nsp;
        event.data = *args;
        event.attachments = std::move(decoded.attachments);
        if (sio::validate(event)) return errc::bad_shape;
        if (request_id.empty()) {
            in.what = incoming::kind::broadcast;
            in.packet = std::move(event);
            in.options = std::move(*opts);
        } else {
            in.what = incoming::kind::request;
            r.type = request_type::broadcast;
            r.packet = std::move(event);
            r.options = std::move(*opts);
        }
        return in;
    }
    case message_type::sockets_join:
    case message_type::sockets_leave: {
        auto opts = options();
        auto rooms = redis_wire::read_rooms(data.if_contains("rooms"));
        if (!opts || !rooms) return errc::bad_shape;
        in.what = incoming::kind::request;
        r.type = type->get_int64() == 4 ? request_type::remote_join : request_type::remote_leave;
        r.options = std::move(*opts);
        r.rooms = std::move(*rooms);
        return in;
    }
    case message_type::disconnect_sockets: {
        auto opts = options();
        if (!opts) return opts.error();
        in.what = incoming::kind::request;
        r.type = request_type::remote_disconnect;
        r.options = std::move(*opts);
        if (const auto* c = data.if_contains("close")) r.close = c->is_bool() && c->get_bool();
        return in;
    }
    case message_type::fetch_sockets: {
        auto opts = options();
        if (!opts || request_id.empty()) return errc::bad_shape;
        in.what = incoming::kind::request;
        r.type = request_type::remote_fetch;
        r.options = std::move(*opts);
        return in;
    }
    case message_type::server_side_emit: {
        const auto* packet = data.if_contains("packet");
        if (!packet || !packet->is_array() || packet->get_array().empty()) return errc::bad_shape;
        in.what = incoming::kind::request;
        r.type = request_type::server_side_emit;
        r.packet.data = *packet;
        r.packet.attachments = std::move(decoded.attachments);
        return in;
    }
    case message_type::fetch_sockets_response:
    case message_type::server_side_emit_response:
    case message_type::broadcast_client_count:
    case message_type::broadcast_ack: {
        if (request_id.empty()) return errc::bad_shape;
        in.what = incoming::kind::response;
        auto& resp = in.response;
        resp.request_id = request_id;
        resp.body = data;
        resp.body["uid"] = in.uid; // every answer here names its node
        resp.attachments = std::move(decoded.attachments);
        switch (static_cast<message_type>(type->get_int64())) {
        case message_type::server_side_emit_response:
            resp.type = request_type::server_side_emit;
            if (const auto* p = data.if_contains("packet")) resp.body["data"] = *p; // as the classic wire has it
            break;
        case message_type::broadcast_client_count: resp.type = request_type::broadcast_client_count; break;
        case message_type::broadcast_ack: resp.type = request_type::broadcast_ack; break;
        default: break; // a fetch's answer: untyped, as on the classic wire
        }
        return in;
    }
    }
    return in; // heartbeats and the rest: nothing to do
}

} // namespace switchboard::server::sharded_wire
