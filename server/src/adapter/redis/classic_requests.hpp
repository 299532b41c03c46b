#pragma once
// The requests and responses of @socket.io/redis-adapter's classic cluster (../shared/REDIS-WIRE.md
// §1.4; private to server/): published on `K-request#N#` and `K-response#N#`, JSON unless they may carry
// binary (BROADCAST and BROADCAST_ACK: MessagePack); a receiver tells them apart by a first byte `{`.

#include "../cluster/msgpack_json.hpp"

#include <switchboard/io/adapter.hpp>
#include <switchboard/sio/packet.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::server::redis_wire {

/// The classic adapter's request (and typed response) codes.
enum class request_type {
    sockets = 0, ///< legacy: the ids of the matching sockets
    all_rooms = 1,
    remote_join = 2,
    remote_leave = 3,
    remote_disconnect = 4,
    remote_fetch = 5,
    server_side_emit = 6, ///< also the type of its ack's response
    broadcast = 7,        ///< a broadcast with acks
    broadcast_client_count = 8,
    broadcast_ack = 9,
};

/// A request from another node, or from @socket.io/redis-emitter (which sends no uid).
struct request {
    request_type type = request_type::sockets;
    std::string uid;                ///< the sender; empty from the emitter
    std::string request_id;         ///< empty when no answer is expected
    io::broadcast_options options;  ///< `opts`: rooms, except (and a broadcast's flags)
    std::vector<std::string> rooms; ///< join / leave (current form): the rooms to join or leave
    std::string sid, room;          ///< join / leave / disconnect (legacy form): one socket
    bool close = false;             ///< disconnect: the Engine.IO connection too
    sio::packet packet;             ///< broadcast: the event; server-side emit: data = [event, ...args]
};

/// Reads a request (JSON or MessagePack). Fails on an unknown type or a field of the wrong shape.
result<request> decode_request(std::string_view bytes, const codec_limits& limits = {});

/// A response: its request id, its type when it has one (8, 9, 6), and the whole decoded message.
struct response {
    std::string request_id;
    std::optional<request_type> type;
    boost::json::object body;
    std::vector<shared_bytes> attachments; ///< of a BROADCAST_ACK's `packet`
};
result<response> decode_response(std::string_view bytes, const codec_limits& limits = {});

// What this node sends, in the Node adapter's key order (so that the bytes match its own).
std::string encode_all_rooms_request(std::string_view uid, std::string_view request_id);
std::string encode_fetch_request(std::string_view uid, std::string_view request_id, const io::broadcast_options& o);
std::string encode_join_request(std::string_view uid, const io::broadcast_options& o,
                                const std::vector<std::string>& rooms, bool leave);
std::string encode_disconnect_request(std::string_view uid, const io::broadcast_options& o, bool close);
/// JSON, as the Node adapter sends it (binary values do not survive it there either).
std::string encode_server_side_emit(std::string_view uid, std::string_view request_id, const boost::json::array& data);
/// MessagePack, binary arguments inline.
std::string encode_broadcast_request(std::string_view uid, std::string_view request_id, const sio::packet& packet,
                                     const io::broadcast_options& o);

std::string encode_rooms_response(std::string_view request_id, const std::vector<std::string>& rooms);
std::string encode_sockets_response(std::string_view request_id, const std::vector<std::string>& ids);
/// `sockets`: [{id, handshake, rooms, data}] as the answering node describes them.
std::string encode_fetch_response(std::string_view request_id, boost::json::array sockets);
std::string encode_client_count(std::string_view request_id, std::size_t count);
/// MessagePack: the first argument of a client's ack (only it crosses, as with the Node adapter).
std::string encode_broadcast_ack(std::string_view request_id, const boost::json::value& first,
                                 const std::vector<shared_bytes>& attachments);
std::string encode_server_side_ack(std::string_view request_id, const boost::json::value& value);

} // namespace switchboard::server::redis_wire
