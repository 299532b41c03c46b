// Reads one JSON request per line and answers one JSON line each, so that a Node.js test can drive
// our codec beside engine.io-parser and socket.io-parser. Binary travels as base64; Socket.IO data
// travels as JSON text (ours is produced by switchboard::stringify, so it is under test too).
//
// Requests ("op"):
//   sio.encode        {packet:{type,nsp,id?,data?,attachments:[b64]}}  -> {frames:[{text}|{binary}]}
//   sio.decode        {frames:[{text}|{binary}]}                      -> {packets:[{type,nsp,id?,data?,attachments}]}
//   eio.encode        {packet:{type,text?|binary?}}                   -> {frame:{text}|{binary}}
//   eio.decode        {frame:{text}|{binary}}                         -> {packet:{type,text?|binary?}}
//   eio.encode_payload {packets:[…]}                                  -> {payload}
//   eio.decode_payload {payload}                                      -> {packets:[…], error?}
// Any refusal answers {error:"<category>: <message>"}.

#include <switchboard/base64.hpp>
#include <switchboard/eio/packet.hpp>
#include <switchboard/json.hpp>
#include <switchboard/sio/packet.hpp>

#include <boost/json.hpp>

#include <iostream>
#include <string>

using namespace switchboard;
namespace json = boost::json;

namespace {

std::string b64(std::string_view bytes) {
    std::string out;
    base64_encode(out, bytes);
    return out;
}

json::object error_reply(std::error_code ec) {
    return {{"error", std::string(ec.category().name()) + ": " + ec.message()}};
}

json::object frame_to_json(const eio::frame& f) {
    if (f.binary) return {{"binary", b64(*f.bytes)}};
    return {{"text", *f.bytes}};
}

json::object eio_packet_to_json(const eio::packet& p) {
    json::object o{{"type", eio::to_string(p.type)}};
    if (p.binary) {
        o["binary"] = b64(p.data);
    } else if (!p.data.empty()) {
        o["text"] = p.data;
    }
    return o;
}

std::optional<eio::packet> eio_packet_from_json(const json::object& o) {
    static const char* names[] = {"open", "close", "ping", "pong", "message", "upgrade", "noop"};
    eio::packet p;
    const auto type = json::value_to<std::string>(o.at("type"));
    bool found = false;
    for (int i = 0; i < 7; ++i) {
        if (type == names[i]) {
            p.type = static_cast<eio::packet_type>(i);
            found = true;
        }
    }
    if (!found) return std::nullopt;
    if (const auto* bin = o.if_contains("binary")) {
        auto bytes = base64_decode(bin->as_string());
        if (!bytes) return std::nullopt;
        p.binary = true;
        p.data = std::move(*bytes);
    } else if (const auto* text = o.if_contains("text")) {
        p.data = text->as_string();
    }
    return p;
}

json::object sio_packet_to_json(const sio::packet& p) {
    json::object o{{"type", static_cast<int>(p.type)}, {"nsp", p.nsp}};
    if (p.id) o["id"] = *p.id;
    if (!p.data.is_null()) o["data"] = stringify(p.data);
    json::array attachments;
    for (const auto& a : p.attachments) attachments.emplace_back(b64(*a));
    o["attachments"] = std::move(attachments);
    return o;
}

json::object handle(const json::object& req) {
    const auto op = json::value_to<std::string>(req.at("op"));
    if (op == "sio.encode") {
        const auto& in = req.at("packet").as_object();
        sio::packet p;
        p.type = static_cast<sio::packet_type>(in.at("type").to_number<int>());
        p.nsp = in.at("nsp").as_string();
        if (const auto* id = in.if_contains("id")) p.id = id->to_number<std::uint64_t>();
        if (const auto* data = in.if_contains("data")) {
            auto parsed = parse_json(data->as_string(), 64);
            if (!parsed) return error_reply(parsed.error());
            p.data = std::move(*parsed);
        }
        for (const auto& a : in.at("attachments").as_array())
            p.attachments.push_back(make_shared_bytes(*base64_decode(a.as_string())));
        auto frames = sio::encode_frames(p);
        if (!frames) return error_reply(frames.error());
        json::array out;
        for (const auto& f : *frames) {
            if (f.binary) {
                out.push_back(frame_to_json(f));
            } else {
                out.push_back(json::object{{"text", std::string_view(*f.bytes).substr(1)}}); // without Engine.IO's '4'
            }
        }
        return {{"frames", std::move(out)}};
    }
    if (op == "sio.decode") {
        sio::decoder decoder;
        json::array packets;
        for (const auto& f : req.at("frames").as_array()) {
            const auto& o = f.as_object();
            result<sio::decoder::progress> r = sio::decoder::progress::needs_attachments;
            if (const auto* bin = o.if_contains("binary")) {
                r = decoder.feed_binary(make_shared_bytes(*base64_decode(bin->as_string())));
            } else {
                r = decoder.feed_text(o.at("text").as_string());
            }
            if (!r) return error_reply(r.error());
            if (*r == sio::decoder::progress::packet_ready)
                packets.push_back(sio_packet_to_json(decoder.take_packet()));
        }
        json::object reply{{"packets", std::move(packets)}};
        if (decoder.pending_attachments()) reply["pending"] = decoder.pending_attachments();
        return reply;
    }
    if (op == "eio.encode") {
        const auto p = eio_packet_from_json(req.at("packet").as_object());
        if (!p) return {{"error", "bad request"}};
        return {{"frame", frame_to_json(eio::encode_packet(*p))}};
    }
    if (op == "eio.decode") {
        const auto& f = req.at("frame").as_object();
        auto r = f.contains("binary") ? eio::decode_binary(*base64_decode(f.at("binary").as_string()))
                                      : eio::decode_text(f.at("text").as_string());
        if (!r) return error_reply(r.error());
        return {{"packet", eio_packet_to_json(*r)}};
    }
    if (op == "eio.encode_payload") {
        std::vector<eio::frame> frames;
        for (const auto& p : req.at("packets").as_array()) {
            const auto packet = eio_packet_from_json(p.as_object());
            if (!packet) return {{"error", "bad request"}};
            frames.push_back(eio::encode_packet(*packet));
        }
        return {{"payload", eio::encode_payload(frames)}};
    }
    if (op == "eio.decode_payload") {
        const auto r = eio::decode_payload(req.at("payload").as_string());
        json::array packets;
        for (const auto& p : r.packets) packets.push_back(eio_packet_to_json(p));
        json::object reply{{"packets", std::move(packets)}};
        if (r.error) reply["error"] = std::string(r.error.category().name()) + ": " + r.error.message();
        return reply;
    }
    return {{"error", "unknown op " + op}};
}

} // namespace

int main() {
    std::ios::sync_with_stdio(false);
    std::string line;
    while (std::getline(std::cin, line)) {
        json::object reply;
        try {
            reply = handle(json::parse(line).as_object());
        } catch (const std::exception& e) {
            reply = {{"error", std::string("bad request: ") + e.what()}};
        }
        std::cout << json::serialize(reply) << '\n';
    }
    std::cout.flush();
    return 0;
}
