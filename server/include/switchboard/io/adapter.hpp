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

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace switchboard::io {

class socket;

/// Which sockets a broadcast or an operation targets, and how.
struct broadcast_options {
    std::vector<std::string> rooms;  ///< sockets in any of these rooms; empty: every socket
    std::vector<std::string> except; ///< sockets in any of these rooms are left out (a socket id is a room)
    bool volatile_ = false;          ///< dropped for a recipient whose transport cannot take it now
    bool local = false;              ///< this node only (a cluster adapter does not forward it)
    std::optional<std::chrono::milliseconds> timeout; ///< how long a broadcast with ack waits
};

/// The sockets of a namespace on this node, as an adapter reaches them.
class local_sockets {
public:
    virtual ~local_sockets() = default;
    /// Queues `frames` (`packet`, encoded once by the caller) on the socket `sid` if it is here; its
    /// outgoing listeners see `packet`.
    virtual void deliver(const std::string& sid, const sio::packet& packet, const std::vector<eio::frame>& frames,
                         bool droppable) = 0;
    /// Sends `packet` (an EVENT) to `sid` with an ack id of that socket; `on_ack` receives its answer.
    /// Returns false when no such socket is here.
    virtual bool deliver_with_ack(const std::string& sid, const sio::packet& packet, bool droppable,
                                  std::function<void(arguments)> on_ack) = 0;
    /// A handle to the socket `sid`, if it is here.
    virtual std::optional<socket> find(const std::string& sid) = 0;
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
    /// The ids of the sockets in any of `rooms` (all sockets when empty), on this node.
    virtual std::vector<std::string> sockets(const std::vector<std::string>& rooms) = 0;
    /// Every room that has a member on this node.
    virtual std::vector<std::string> all_rooms() = 0;
    /// Whether `room` has a member on this node (a socket id is a room).
    virtual bool has_room(const std::string& room) { return !sockets({room}).empty(); }

    /// Sends `packet` (an EVENT, possibly with attachments) to the targeted sockets, each once.
    /// The packet is encoded once for all of them.
    virtual void broadcast(const sio::packet& packet, const broadcast_options& options) = 0;
    /// As broadcast, each recipient asked for an ack: `on_client_count` learns how many were sent to
    /// (once per node), `on_ack` receives each answer.
    virtual void broadcast_with_ack(const sio::packet& packet, const broadcast_options& options,
                                    std::function<void(std::size_t)> on_client_count,
                                    std::function<void(arguments)> on_ack) = 0;

    /// Operators on the targeted sockets.
    virtual void add_sockets(const broadcast_options& options, const std::vector<std::string>& rooms) = 0;
    virtual void del_sockets(const broadcast_options& options, const std::vector<std::string>& rooms) = 0;
    virtual void disconnect_sockets(const broadcast_options& options, bool close) = 0;
    virtual void fetch_sockets(const broadcast_options& options, std::function<void(std::vector<socket>)> done) = 0;

    /// An event for the other nodes' namespace of the same name (none with the in-memory adapter).
    virtual void server_side_emit(const arguments& args) = 0;
};

/// Makes the adapter of one namespace.
using adapter_factory = std::function<std::unique_ptr<adapter>(const std::string& nsp, local_sockets& sockets)>;

/// The single-process adapter (the default).
std::unique_ptr<adapter> make_in_memory_adapter(local_sockets& sockets);

} // namespace switchboard::io
