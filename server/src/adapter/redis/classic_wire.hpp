#pragma once
// The wire of @socket.io/redis-adapter's classic (PUBLISH/SUBSCRIBE) cluster, as ../shared's
// REDIS-WIRE.md §1 pins it down (private to server/): channel names and the broadcast message, a
// MessagePack array [uid, packet, opts] published on `K#N#` or `K#N#<room>#`.

#include "../cluster/msgpack_json.hpp"

#include <switchboard/io/adapter.hpp>
#include <switchboard/sio/packet.hpp>

#include <string>
#include <string_view>

namespace switchboard::server::redis_wire {

/// `K#N#`, or `K#N#<room>#` when the broadcast targets exactly one room (the receivers' pattern
/// subscription `K#N#*` matches both; a node without that room drops the message unread).
std::string broadcast_channel(std::string_view key, std::string_view nsp, const std::vector<std::string>& rooms);
/// `K#N#*`: what a node PSUBSCRIBEs to for a namespace's broadcasts.
std::string broadcast_pattern(std::string_view key, std::string_view nsp);
/// `K-request#N#` and `K-response#N#`.
std::string request_channel(std::string_view key, std::string_view nsp);
std::string response_channel(std::string_view key, std::string_view nsp);

/// A broadcast from another node (or from @socket.io/redis-emitter, uid "emitter").
struct broadcast_message {
    std::string uid;
    sio::packet packet; ///< an EVENT of the namespace, binary arguments as attachments
    io::broadcast_options options;
    bool compress = true;
};

/// The message for a broadcast of `packet` (an EVENT) from the node `uid`. Binary arguments are
/// MessagePack bin, inline, as the Node adapter writes them; the packet's type is always 2 (EVENT).
std::string encode_broadcast(std::string_view uid, const sio::packet& packet, const io::broadcast_options& options);

/// Reads a broadcast message. Fails on anything but [uid, {type: 2, data: [name, ...args], nsp?}, opts?]
/// with a string or numeric event name that is not reserved; rooms may be strings or numbers.
result<broadcast_message> decode_broadcast(std::string_view bytes, const codec_limits& limits = {});

// Shared by the messages of this wire (classic_requests.cpp).
void pack_string(cluster::msgpack_packer& out, std::string_view text);
/// `opts` as the Node adapter writes it: {rooms, except, flags: {volatile?, timeout?}}.
void pack_options(cluster::msgpack_packer& out, const io::broadcast_options& options);
/// Reads `opts` (absent: no rooms, no except); `compress`, if given, learns the compress flag.
result<io::broadcast_options> read_options(const boost::json::value* opts, bool* compress = nullptr);
/// Room names, strings or numbers (a room can be any value in JavaScript).
result<std::vector<std::string>> read_rooms(const boost::json::value* list);

} // namespace switchboard::server::redis_wire
