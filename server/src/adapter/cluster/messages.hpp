#pragma once
// What the nodes of a cluster ask and answer one another (private to server/), whatever the wire
// writes it as: the classic Redis wire's type codes are these (redis/classic_requests.hpp); the
// sharded wire maps its own codes onto them.

#include <switchboard/bytes.hpp>
#include <switchboard/io/adapter.hpp>
#include <switchboard/sio/packet.hpp>

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace switchboard::server::cluster {

/// The requests (and typed responses) between nodes.
enum class request_type {
    sockets = 0, ///< the ids of the matching sockets
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

/// A response: its request id, its type when it has one (8, 9, 6), and the whole decoded message.
struct response {
    std::string request_id;
    std::optional<request_type> type;
    boost::json::object body;
    std::vector<shared_bytes> attachments; ///< of a BROADCAST_ACK's `packet`
};

/// A response this node sends.
struct answer {
    request_type type = request_type::sockets; ///< the request it answers
    std::string request_id;
    std::string requester;                 ///< the asking node's uid
    std::vector<std::string> names;        ///< sockets: socket ids; all_rooms: rooms
    boost::json::array sockets;            ///< remote_fetch: [{id, handshake, rooms, data}]
    std::size_t client_count = 0;          ///< broadcast_client_count
    boost::json::value value;              ///< broadcast_ack, server_side_emit: the (first) answer
    std::vector<shared_bytes> attachments; ///< of `value`
};

} // namespace switchboard::server::cluster
