#include <switchboard/eio/handshake.hpp>
#include <switchboard/json.hpp>

#include <boost/json.hpp>

#include <charconv>

namespace switchboard::eio {

std::string encode_handshake(const handshake& h) {
    std::string out;
    out.reserve(96 + h.sid.size());
    out.append("{\"sid\":");
    stringify_string(out, h.sid);
    out.append(",\"upgrades\":[");
    for (std::size_t i = 0; i < h.upgrades.size(); ++i) {
        if (i) out.push_back(',');
        stringify_string(out, h.upgrades[i]);
    }
    char buf[24];
    const auto number = [&](std::string_view key, auto v) {
        out.append(key);
        out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
    };
    out.push_back(']');
    number(",\"pingInterval\":", h.ping_interval);
    number(",\"pingTimeout\":", h.ping_timeout);
    number(",\"maxPayload\":", h.max_payload);
    out.push_back('}');
    return out;
}

namespace {

template <class Int>
bool read_unsigned(const boost::json::object& o, std::string_view key, Int& out) {
    const auto* v = o.if_contains(key);
    if (!v) return false;
    if (v->is_uint64()) {
        out = static_cast<Int>(v->get_uint64());
        return v->get_uint64() <= std::numeric_limits<Int>::max();
    }
    if (v->is_int64()) {
        out = static_cast<Int>(v->get_int64());
        return v->get_int64() >= 0 && static_cast<std::uint64_t>(v->get_int64()) <= std::numeric_limits<Int>::max();
    }
    return false;
}

} // namespace

result<handshake> decode_handshake(std::string_view json) {
    auto parsed = parse_json(json, 4);
    if (!parsed || !parsed->is_object()) return errc::invalid_handshake;
    const auto& o = parsed->get_object();
    handshake h;
    const auto* sid = o.if_contains("sid");
    if (!sid || !sid->is_string()) return errc::invalid_handshake;
    h.sid = sid->get_string();
    if (const auto* upgrades = o.if_contains("upgrades")) {
        if (!upgrades->is_array()) return errc::invalid_handshake;
        for (const auto& u : upgrades->get_array()) {
            if (!u.is_string()) return errc::invalid_handshake;
            h.upgrades.emplace_back(u.get_string());
        }
    }
    if (!read_unsigned(o, "pingInterval", h.ping_interval) || !read_unsigned(o, "pingTimeout", h.ping_timeout))
        return errc::invalid_handshake;
    if (o.contains("maxPayload") && !read_unsigned(o, "maxPayload", h.max_payload)) return errc::invalid_handshake;
    return h;
}

} // namespace switchboard::eio
