#pragma once
/// @file
/// The adapter: a namespace's room index and the way its broadcasts reach sockets. The in-memory
/// adapter serves one process; a cluster adapter (Redis, as the official `@socket.io/redis-adapter`)
/// implements the same interface and also forwards broadcasts and operations to the other nodes.
/// The operations mirror the official adapter's (addAll, del, delAll, broadcast, broadcastWithAck,
/// sockets, socketRooms, fetchSockets, addSockets, delSockets, disconnectSockets, serverSideEmit), so
/// that what crosses the wire can match theirs.

#include <switchboard/eio/packet.hpp>
#include <switchboard/io/arguments.hpp>
#include <switchboard/sio/packet.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace switchboard::io {

/// What a client's connection request carried.
struct handshake_info {
    std::string address;                                      ///< the peer's address
    std::string url;                                          ///< path and query of the first request
    std::vector<std::pair<std::string, std::string>> headers; ///< as received
    std::vector<std::pair<std::string, std::string>> query;   ///< decoded
    boost::json::object auth;                                 ///< the CONNECT packet's payload
    std::chrono::system_clock::time_point time;               ///< when the socket was created
    bool xdomain = false;                                     ///< an Origin header was present

    /// A header's value (name compared case-insensitively), or null.
    const std::string* header(std::string_view name) const noexcept;
};

/// A socket as a cluster query finds it, on this node or another: a copy, taken on its own strand.
struct socket_description {
    std::string id;
    handshake_info handshake;
    std::vector<std::string> rooms;
    boost::json::value data;
};

/// Who answered a cluster-wide query that ran out of time (see broadcast_operator::partial()).
struct cluster_answers {
    std::size_t asked = 0;           ///< the other nodes the query waited for
    std::size_t answered = 0;        ///< how many of them answered in time
    std::vector<std::string> silent; ///< the ids of silent nodes this node knows (best effort: a node is
                                     ///< known once it has published something)
};
using partial_report = std::function<void(const cluster_answers&)>;

/// Which sockets a broadcast or an operation targets, and how.
struct broadcast_options {
    std::vector<std::string> rooms;  ///< sockets in any of these rooms; empty: every socket
    std::vector<std::string> except; ///< sockets in any of these rooms are left out (a socket id is a room)
    bool volatile_ = false;          ///< dropped for a recipient whose transport cannot take it now
    bool local = false;              ///< this node only (a cluster adapter does not forward it)
    std::optional<std::chrono::milliseconds> timeout; ///< how long a broadcast with ack waits
    /// Set: a cluster query that runs out of time hands over what arrived, after telling this who
    /// was silent. Unset: fetch_sockets fails whole at the timeout (as Socket.IO's does).
    std::shared_ptr<const partial_report> partial;
};

/// The answers to a cluster query: `ec` is errc::timeout when some node did not answer in time.
template <class T>
using cluster_callback = std::function<void(std::error_code ec, T result)>;

/// One socket of this node as an adapter that indexes rooms may keep it, so that a room's broadcast
/// reaches each member without a lookup by id: opaque, made by local_sockets::recipient() and read only
/// by that local_sockets' deliver_to() (a handle rather than an interface: a socket pays no vtable).
using local_recipient = std::shared_ptr<void>;

/// The sockets of a namespace on this node, as an adapter reaches them.
class local_sockets {
public:
    virtual ~local_sockets() = default;
    /// The packet as the server's parser writes it (the default one, or MessagePack): encode a broadcast
    /// with this, once, and deliver the frames to every recipient.
    virtual result<std::vector<eio::frame>> encode(const sio::packet& packet) { return sio::encode_frames(packet); }
    /// A broadcast's one encoding for its recipients on this node (`options` says which). With connection
    /// state recovery on, an event a disconnected socket may miss is also kept here for recovery, under
    /// this node's next offset, which the frames carry as its last argument: `delivered` then holds the
    /// packet as sent, which is what the recipients' outgoing listeners see.
    virtual result<std::vector<eio::frame>> encode_broadcast(const sio::packet& packet,
                                                             const broadcast_options& options,
                                                             std::optional<sio::packet>& delivered) {
        (void)options;
        (void)delivered;
        return encode(packet);
    }
    /// Whether connection state recovery keeps a disconnected socket that was in `room`: a cluster node
    /// must not drop the broadcasts to that room as one without members (it keeps them for recovery).
    virtual bool keeps_room(const std::string& room) {
        (void)room;
        return false;
    }
    /// Queues `frames` (`packet`, encoded once by the caller) on the socket `sid` if it is here; its
    /// outgoing listeners see `packet`.
    virtual void deliver(const std::string& sid, const sio::packet& packet, const std::vector<eio::frame>& frames,
                         bool droppable) = 0;
    /// The socket `sid` as a recipient, if it is here (null: deliver by id).
    virtual local_recipient recipient(const std::string& sid) {
        (void)sid;
        return nullptr;
    }
    /// As deliver(), to each of `recipients`, sockets recipient() gave (never called when it gives none):
    /// one call per broadcast, so that what is the same for every recipient is done once.
    virtual void deliver_to(std::span<const local_recipient> recipients, const sio::packet& packet,
                            const std::vector<eio::frame>& frames, bool droppable) {
        (void)recipients;
        (void)packet;
        (void)frames;
        (void)droppable;
    }
    /// Queues `frames` (`packet`, an EVENT with the broadcast's ack id, encoded once by the caller) on
    /// `sid`, which waits for the answer under that id: `on_ack` receives it if it comes within
    /// `timeout` (the socket forgets the wait then). A socket already waiting on that id for one of its
    /// own emits gets the packet under an id of its own. Returns false when no such socket is here.
    virtual bool deliver_with_ack(const std::string& sid, const sio::packet& packet,
                                  const std::vector<eio::frame>& frames, bool droppable,
                                  std::optional<std::chrono::milliseconds> timeout,
                                  std::function<void(arguments)> on_ack) = 0;
    /// Server-side disconnect of `sid`, if it is here.
    virtual void disconnect(const std::string& sid, bool close) = 0;
    /// Describes the sockets among `sids` that are here, each read on its own strand; `done` runs
    /// once, on any thread.
    virtual void describe(const std::vector<std::string>& sids,
                          std::function<void(std::vector<socket_description>)> done) = 0;
    /// Another node's server-side emit (`args`: [event, ...values]): the namespace's server-side
    /// handlers hear it; `answer` (null when no answer is expected) takes the first answer.
    virtual void server_side_event(arguments args, std::function<void(arguments)> answer) = 0;
};

class adapter {
public:
    virtual ~adapter() = default;

    /// Room membership (every socket is also in the room named by its own id).
    virtual void add_all(const std::string& sid, const std::vector<std::string>& rooms) = 0;
    virtual void del(const std::string& sid, const std::string& room) = 0;
    virtual void del_all(const std::string& sid) = 0;
    /// The rooms `sid` is in.
    virtual std::vector<std::string> socket_rooms(const std::string& sid) = 0;
    /// How many (socket.join's cap asks on every join: an adapter with an index answers in O(1)).
    virtual std::size_t socket_room_count(const std::string& sid) { return socket_rooms(sid).size(); }
    /// The ids of the sockets in any of `rooms` (all sockets when empty), on this node.
    virtual std::vector<std::string> sockets(const std::vector<std::string>& rooms) = 0;
    /// Every room that has a member on this node.
    virtual std::vector<std::string> all_rooms() = 0;
    /// Whether `room` has a member on this node (a socket id is a room).
    virtual bool has_room(const std::string& room) { return !sockets({room}).empty(); }

    /// How many rooms have a member on this node, the sockets' own rooms not counted (for /metrics).
    virtual std::size_t room_count() { return all_rooms().size(); }
    /// Whether the rest of the cluster can be reached now (/readyz); always, for a single process.
    virtual bool connected() const { return true; }

    /// Hears every room change of this node's sockets: (room, sid, joined), called on the thread that
    /// made it, after the index is updated (socket.io-adapter's "join-room" and "leave-room"). One
    /// listener; an adapter that keeps no index of its own may not call it.
    using membership_listener = std::function<void(const std::string& room, const std::string& sid, bool joined)>;
    virtual void on_membership(membership_listener listener) { (void)listener; }

    /// This node's id in the cluster (as other nodes name it); empty for a single process.
    virtual std::string node_id() const { return {}; }

    /// How many nodes share this namespace (this one included): the number of client counts a
    /// broadcast with ack reports.
    virtual void server_count(std::function<void(std::size_t)> done) { done(1); }

    /// Sends `packet` (an EVENT, possibly with attachments) to the targeted sockets, each once.
    /// The packet is encoded once for all of them.
    virtual void broadcast(const sio::packet& packet, const broadcast_options& options) = 0;
    /// As broadcast, each recipient asked for an ack: `on_client_count` learns how many were sent to
    /// (once per node, server_count() times in all), `on_ack` receives each answer.
    virtual void broadcast_with_ack(const sio::packet& packet, const broadcast_options& options,
                                    std::function<void(std::size_t)> on_client_count,
                                    std::function<void(arguments)> on_ack) = 0;

    /// Operators on the targeted sockets, on every node.
    virtual void add_sockets(const broadcast_options& options, const std::vector<std::string>& rooms) = 0;
    virtual void del_sockets(const broadcast_options& options, const std::vector<std::string>& rooms) = 0;
    virtual void disconnect_sockets(const broadcast_options& options, bool close) = 0;

    /// Queries over every node (callbacks on any thread).
    virtual void fetch_sockets(const broadcast_options& options,
                               cluster_callback<std::vector<socket_description>> done) = 0;
    /// The ids of the sockets in any of `rooms` (all when empty).
    virtual void fetch_socket_ids(const std::vector<std::string>& rooms,
                                  cluster_callback<std::vector<std::string>> done) {
        done({}, sockets(rooms));
    }
    /// Every room with a member on some node.
    virtual void fetch_rooms(cluster_callback<std::vector<std::string>> done) { done({}, all_rooms()); }

    /// An event for the other nodes' namespace of the same name (`args`: [event, ...values]). With
    /// `on_answers`, each node's answer is collected (errc::timeout when some did not come in time).
    virtual void server_side_emit(const arguments& args, cluster_callback<std::vector<arguments>> on_answers) = 0;
};

/// Makes the adapter of one namespace.
using adapter_factory = std::function<std::unique_ptr<adapter>(const std::string& nsp, local_sockets& sockets)>;

/// The single-process adapter (the default).
std::unique_ptr<adapter> make_in_memory_adapter(local_sockets& sockets);

} // namespace switchboard::io
