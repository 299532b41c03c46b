#pragma once
// Socket.IO packets as socket.io-msgpack-parser 3.x writes them, for the server (`--parser msgpack`)
// and the clients: each packet one binary message, a MessagePack map {type, nsp, data?, id?} (types
// 0 to 4: binary needs no types of its own, it is MessagePack's bin), written as notepack.io writes
// it. Placeholders and attachments stay Switchboard's way of holding binary in memory.

#include <switchboard/client/manager.hpp>
#include <switchboard/eio/packet.hpp>
#include <switchboard/limits.hpp>
#include <switchboard/result.hpp>
#include <switchboard/sio/packet.hpp>

#include <string_view>
#include <vector>

namespace switchboard::msgpack_parser {

/// The packet as one binary frame.
result<std::vector<eio::frame>> encode(const sio::packet& packet);

/// One binary message, checked as the Node parser checks it (type, namespace, payload by type, id).
result<sio::packet> decode(std::string_view bytes, const codec_limits& limits);

/// The parser for the client manager (client::options::parser): payloads in and out as JSON text.
class client_parser final : public client::packet_parser {
public:
    explicit client_parser(codec_limits limits = {}) : limits_(limits) {}
    result<std::vector<eio::frame>> encode(const sio::raw_packet& packet) const override;
    result<sio::raw_packet> decode(std::string_view message, bool binary) const override;

private:
    codec_limits limits_;
};

} // namespace switchboard::msgpack_parser
