#pragma once
// The requests and responses of @socket.io/redis-adapter's classic cluster (../shared/REDIS-WIRE.md
// §1.4; private to server/): published on `K-request#N#` and `K-response#N#`, JSON unless they may carry
// binary (BROADCAST and BROADCAST_ACK: MessagePack); a receiver tells them apart by a first byte `{`.

#include "../cluster/messages.hpp"
#include "../cluster/msgpack_json.hpp"

#include <switchboard/io/adapter.hpp>
#include <switchboard/sio/packet.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::server::redis_wire {

// The messages themselves are the cluster's (cluster/messages.hpp): this wire's type codes are theirs.
using cluster::request;
using cluster::request_type;
using cluster::response;

/// Reads a request (JSON or MessagePack). Fails on an unknown type or a field of the wrong shape.
result<request> decode_request(std::string_view bytes, const codec_limits& limits = {});

result<response> decode_response(std::string_view bytes, const codec_limits& limits = {});

// What this node sends, in the Node adapter's key order (so that the bytes match its own).
std::string encode_sockets_request(std::string_view uid, std::string_view request_id,
                                   const std::vector<std::string>& rooms);
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

// `responder`: this node's uid, added (when not empty) so that a requester can tell who answered; the
// Node adapter reads past fields it does not know.
std::string encode_rooms_response(std::string_view request_id, const std::vector<std::string>& rooms,
                                  std::string_view responder = {});
std::string encode_sockets_response(std::string_view request_id, const std::vector<std::string>& ids,
                                    std::string_view responder = {});
/// `sockets`: [{id, handshake, rooms, data}] as the answering node describes them.
std::string encode_fetch_response(std::string_view request_id, boost::json::array sockets,
                                  std::string_view responder = {});
std::string encode_client_count(std::string_view request_id, std::size_t count, std::string_view responder = {});
/// MessagePack: the first argument of a client's ack (only it crosses, as with the Node adapter).
std::string encode_broadcast_ack(std::string_view request_id, const boost::json::value& first,
                                 const std::vector<shared_bytes>& attachments);
/// `{requestId}`: the answer to a legacy one-socket join, leave or disconnect.
std::string encode_legacy_ack(std::string_view request_id);
std::string encode_server_side_ack(std::string_view request_id, const boost::json::value& value);

} // namespace switchboard::server::redis_wire
