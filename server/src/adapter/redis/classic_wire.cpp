#include "classic_wire.hpp"

#include <switchboard/json.hpp>

#include <fmt/format.h>

namespace switchboard::server::redis_wire {

using cluster::errc;

void pack_string(cluster::msgpack_packer& out, std::string_view text) {
    out.pack_str(static_cast<std::uint32_t>(text.size()));
    out.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
}

namespace {

void pack_strings(cluster::msgpack_packer& out, const std::vector<std::string>& list) {
    out.pack_array(static_cast<std::uint32_t>(list.size()));
    for (const auto& s : list) pack_string(out, s);
}

} // namespace

result<std::vector<std::string>> read_rooms(const boost::json::value* v) {
    std::vector<std::string> out;
    if (!v || v->is_null()) return out;
    const auto* a = v->if_array();
    if (!a) return errc::bad_shape;
    out.reserve(a->size());
    for (const auto& room : *a) {
        if (const auto* s = room.if_string()) {
            out.emplace_back(*s);
        } else if (room.is_number()) {
            out.push_back(stringify(room));
        } else {
            return errc::bad_shape;
        }
    }
    return out;
}

void pack_options(cluster::msgpack_packer& out, const io::broadcast_options& options) {
    out.pack_map(3);
    pack_string(out, "rooms");
    pack_strings(out, options.rooms);
    pack_string(out, "except");
    pack_strings(out, options.except);
    pack_string(out, "flags");
    out.pack_map((options.volatile_ ? 1 : 0) + (options.timeout ? 1 : 0));
    if (options.volatile_) {
        pack_string(out, "volatile");
        out.pack_true();
    }
    if (options.timeout) {
        pack_string(out, "timeout");
        out.pack_int64(options.timeout->count());
    }
}

result<io::broadcast_options> read_options(const boost::json::value* v, bool* compress) {
    io::broadcast_options options;
    if (!v || v->is_null()) return options;
    const auto* opts = v->if_object();
    if (!opts) return errc::bad_shape;
    auto rooms = read_rooms(opts->if_contains("rooms"));
    auto except = read_rooms(opts->if_contains("except"));
    if (!rooms || !except) return errc::bad_shape;
    options.rooms = std::move(*rooms);
    options.except = std::move(*except);
    if (const auto* flags = opts->if_contains("flags"); flags && flags->is_object()) {
        const auto& f = flags->get_object();
        if (const auto* x = f.if_contains("volatile")) options.volatile_ = x->is_bool() && x->get_bool();
        if (const auto* x = f.if_contains("compress"); x && compress) *compress = !x->is_bool() || x->get_bool();
        if (const auto* x = f.if_contains("timeout"); x && x->is_number()) {
            boost::system::error_code ec;
            const auto ms = x->to_number<double>(ec);
            if (!ec && ms >= 0 && ms < 1e12) options.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(ms));
        }
    }
    return options;
}

std::string broadcast_channel(std::string_view key, std::string_view nsp, const std::vector<std::string>& rooms) {
    if (rooms.size() == 1) return fmt::format("{}#{}#{}#", key, nsp, rooms.front());
    return fmt::format("{}#{}#", key, nsp);
}

std::string broadcast_pattern(std::string_view key, std::string_view nsp) { return fmt::format("{}#{}#*", key, nsp); }
std::string request_channel(std::string_view key, std::string_view nsp) {
    return fmt::format("{}-request#{}#", key, nsp);
}
std::string response_channel(std::string_view key, std::string_view nsp) {
    return fmt::format("{}-response#{}#", key, nsp);
}

std::string encode_broadcast(std::string_view uid, const sio::packet& packet, const io::broadcast_options& options) {
    msgpack::sbuffer buffer;
    cluster::msgpack_packer out(buffer);
    out.pack_array(3);
    pack_string(out, uid);
    out.pack_map(3); // the packet, in the Node adapter's key order
    pack_string(out, "type");
    out.pack_int64(static_cast<int>(sio::packet_type::event)); // never BINARY_EVENT: Node's encoder decides
    pack_string(out, "data");
    cluster::pack_json(out, packet.data, packet.attachments);
    pack_string(out, "nsp");
    pack_string(out, packet.nsp);
    pack_options(out, options);
    return std::string(buffer.data(), buffer.size());
}

result<broadcast_message> decode_broadcast(std::string_view bytes, const codec_limits& limits) {
    auto decoded = cluster::unpack_json(bytes, limits);
    if (!decoded) return decoded.error();
    const auto* parts = decoded->value.if_array();
    if (!parts || parts->size() < 2) return errc::bad_shape;
    broadcast_message m;
    if (const auto* uid = (*parts)[0].if_string()) m.uid = *uid;
    const auto* packet = (*parts)[1].if_object();
    if (!packet) return errc::bad_shape;
    const auto* type = packet->if_contains("type");
    const auto* data = packet->if_contains("data");
    // EVENT, or BINARY_EVENT from an older sender: either way the attachments say which it is.
    if (!type || !type->is_int64() || (type->get_int64() != 2 && type->get_int64() != 5) || !data)
        return errc::bad_shape;
    m.packet.type = sio::packet_type::event;
    if (const auto* nsp = packet->if_contains("nsp"); nsp && nsp->is_string()) m.packet.nsp = nsp->get_string();
    m.packet.data = *data;
    m.packet.attachments = std::move(decoded->attachments);
    if (sio::validate(m.packet)) return errc::bad_shape; // an EVENT led by a name that is not reserved
    if (parts->size() > 2) {
        auto options = read_options(&(*parts)[2], &m.compress);
        if (!options) return options.error();
        m.options = std::move(*options);
    }
    return m;
}

} // namespace switchboard::server::redis_wire
