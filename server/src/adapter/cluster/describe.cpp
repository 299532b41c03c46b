#include "describe.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace switchboard::server::cluster {

namespace {

std::string lowercase(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string string_of(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

/// A JSON object's string members as pairs (other values are left out).
std::vector<std::pair<std::string, std::string>> pairs_of(const boost::json::value* v) {
    std::vector<std::pair<std::string, std::string>> out;
    if (!v || !v->is_object()) return out;
    for (const auto& [key, value] : v->get_object())
        if (value.is_string()) out.emplace_back(key, value.get_string());
    return out;
}

} // namespace

boost::json::object handshake_json(const io::handshake_info& h) {
    // Header names lowercased and repeated headers joined, as Node's IncomingMessage.headers has them.
    boost::json::object headers;
    for (const auto& [name, value] : h.headers) {
        auto key = lowercase(name);
        if (auto* existing = headers.if_contains(key); existing && existing->is_string()) {
            existing->get_string().append(", ").append(value);
        } else {
            headers[key] = value;
        }
    }
    boost::json::object query;
    for (const auto& [name, value] : h.query) query[name] = value;
    const auto issued = std::chrono::duration_cast<std::chrono::milliseconds>(h.time.time_since_epoch()).count();
    const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(h.time);
    return {
        {"headers", std::move(headers)},
        {"time", fmt::format("{:%a %b %d %Y %H:%M:%S} GMT+0000 (Coordinated Universal Time)", seconds)},
        {"address", h.address},
        {"xdomain", h.xdomain},
        {"secure", false},
        {"issued", issued},
        {"url", h.url},
        {"query", std::move(query)},
        {"auth", h.auth},
    };
}

io::handshake_info handshake_from_json(const boost::json::object& o) {
    io::handshake_info h;
    h.address = string_of(o, "address");
    h.url = string_of(o, "url");
    h.headers = pairs_of(o.if_contains("headers"));
    h.query = pairs_of(o.if_contains("query"));
    if (const auto* auth = o.if_contains("auth"); auth && auth->is_object()) h.auth = auth->get_object();
    if (const auto* x = o.if_contains("xdomain"); x && x->is_bool()) h.xdomain = x->get_bool();
    if (const auto* issued = o.if_contains("issued"); issued && issued->is_number()) {
        std::error_code ec;
        const auto ms = issued->to_number<std::int64_t>(ec);
        if (!ec) h.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
    }
    return h;
}

boost::json::object describe_json(const io::socket_description& d) {
    boost::json::array rooms;
    for (const auto& r : d.rooms) rooms.emplace_back(r);
    return {{"id", d.id}, {"handshake", handshake_json(d.handshake)}, {"rooms", std::move(rooms)}, {"data", d.data}};
}

std::optional<io::socket_description> description_from_json(const boost::json::value& v) {
    const auto* o = v.if_object();
    if (!o) return std::nullopt;
    io::socket_description d;
    d.id = string_of(*o, "id");
    if (d.id.empty()) return std::nullopt;
    if (const auto* h = o->if_contains("handshake"); h && h->is_object())
        d.handshake = handshake_from_json(h->get_object());
    if (const auto* rooms = o->if_contains("rooms"); rooms && rooms->is_array())
        for (const auto& r : rooms->get_array())
            if (r.is_string()) d.rooms.emplace_back(r.get_string());
    if (const auto* data = o->if_contains("data")) d.data = *data;
    return d;
}

} // namespace switchboard::server::cluster
