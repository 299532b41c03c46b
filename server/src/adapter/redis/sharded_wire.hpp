#pragma once
// The wire of @socket.io/redis-adapter's sharded cluster (createShardedAdapter, Redis 7 SPUBLISH /
// SSUBSCRIBE; ../shared's REDIS-WIRE.md §3), private to server/: socket.io-adapter's ClusterMessage
// `{type, data, uid, nsp}`, JSON unless its data carries binary (then MessagePack), on the namespace's
// channel `P#N#`, a node's own `P#N#<uid>#` (answers), and a room's `P#N#<room>#` (dynamic mode).

#include "../cluster/messages.hpp"
#include "../cluster/msgpack_json.hpp"

#include <switchboard/io/adapter.hpp>
#include <switchboard/sio/packet.hpp>

#include <string>
#include <string_view>

namespace switchboard::server::sharded_wire {

/// socket.io-adapter's ClusterAdapter message types (the heartbeats, 1, 2 and 13, are not used here).
enum class message_type {
    broadcast = 3,
    sockets_join = 4,
    sockets_leave = 5,
    disconnect_sockets = 6,
    fetch_sockets = 7,
    fetch_sockets_response = 8,
    server_side_emit = 9,
    server_side_emit_response = 10,
    broadcast_client_count = 11,
    broadcast_ack = 12,
};

std::string main_channel(std::string_view prefix, std::string_view nsp);                        ///< `P#N#`
std::string node_channel(std::string_view prefix, std::string_view nsp, std::string_view uid);  ///< `P#N#U#`
std::string room_channel(std::string_view prefix, std::string_view nsp, std::string_view room); ///< `P#N#R#`

/// Whether a room has a channel of its own (dynamic mode): not a socket id (20 characters, the Node
/// adapter's heuristic).
bool room_has_channel(std::string_view room);
/// Where a broadcast without acks goes: its room's channel when it targets exactly one such room.
std::string broadcast_channel(std::string_view prefix, std::string_view nsp, const io::broadcast_options& options);

/// A message from another node, as the cluster adapter takes it.
struct incoming {
    enum class kind { broadcast, request, response, other } what = kind::other;
    std::string uid, nsp;
    sio::packet packet; ///< broadcast
    io::broadcast_options options;
    cluster::request request;
    cluster::response response; ///< body as the classic wire's (`data` of a server-side answer), with `uid`
};
result<incoming> decode(std::string_view bytes, const codec_limits& limits = {});

/// A broadcast without acks.
std::string encode_broadcast(std::string_view uid, std::string_view nsp, const sio::packet& packet,
                             const io::broadcast_options& options);
/// A request; empty for the types this wire has not (sockets, all rooms: ask with a fetch instead).
std::string encode_request(std::string_view nsp, const cluster::request& r);
/// An answer, for the asking node's channel.
std::string encode_answer(std::string_view uid, std::string_view nsp, const cluster::answer& a);

} // namespace switchboard::server::sharded_wire
