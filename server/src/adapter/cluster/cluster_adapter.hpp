#pragma once
// A namespace's adapter in a cluster (private to server/), in the spirit of socket.io-adapter's
// ClusterAdapter: the room index stays in memory (the in-memory adapter), broadcasts and operators
// also go to the other nodes, and queries (fetch_sockets, rooms, socket ids, server-side emits with
// answers, broadcasts with acks) ask them and gather their answers, counting on as many answers as
// the transport says there are other nodes, for at most the request timeout.
//
// What moves the messages is a `transport` (classic Redis pub/sub, sharded pub/sub): it writes them
// in its wire's form, and hands what arrives to the node on its strand, where every piece of this
// adapter's cluster state lives (so none of it needs a lock).

#include "messages.hpp"

#include <switchboard/io/adapter.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace switchboard::server::cluster {

class node;

/// What a cluster adapter needs of its wire. Callable from any thread; callbacks run on the strand.
class transport {
public:
    virtual ~transport() = default;
    /// Runs `task` on the transport's strand.
    virtual void post(std::function<void()> task) = 0;
    /// Runs `task` on the strand after `delay`; the returned function cancels it (on the strand).
    virtual std::function<void()> after(std::chrono::milliseconds delay, std::function<void()> task) = 0;
    /// Whether the other nodes can be reached now (any thread).
    virtual bool connected() const = 0;
    /// How many nodes serve `nsp`, this one included; nothing when the transport cannot tell now.
    virtual void count_nodes(const std::string& nsp, std::function<void(std::optional<std::size_t>)> done) = 0;

    virtual void publish_broadcast(const std::string& nsp, const std::string& uid, const sio::packet& packet,
                                   const io::broadcast_options& options) = 0;
    virtual void publish_request(const std::string& nsp, const request& r) = 0;
    virtual void publish_answer(const std::string& nsp, const std::string& uid, const answer& a) = 0;

    /// `n` hears what arrives for its namespace from now on (on the strand), until detach().
    virtual void attach(const std::string& nsp, std::shared_ptr<node> n) = 0;
    virtual void detach(const std::string& nsp) = 0;

    /// A new node id, in this wire's form.
    virtual std::string new_uid() = 0;
    /// Whether this wire has the request (the sharded one has no `sockets` and `all_rooms`: the
    /// adapter asks with a fetch instead).
    virtual bool carries(request_type) const { return true; }
    /// Whether it wants to hear of rooms that may have appeared or gone here (room_changed()).
    virtual bool follows_rooms() const { return false; }
    /// `room` of `nsp` may have appeared or gone: the transport checks node::has_room on its strand.
    virtual void room_changed(const std::string& /*nsp*/, const std::string& /*room*/) {}
};

/// Settings shared by every namespace's adapter.
struct cluster_settings {
    std::chrono::milliseconds requests_timeout{5000}; ///< the longest a query waits for the other nodes
};

/// The adapter of namespace `nsp` on `t`.
std::unique_ptr<io::adapter> make_cluster_adapter(std::shared_ptr<transport> t, const cluster_settings& settings,
                                                  std::string nsp, io::local_sockets& sockets);

/// What the transport hands a node (on the strand).
class node {
public:
    virtual ~node() = default;
    /// Its id in the cluster (from transport::new_uid()).
    virtual const std::string& uid() const noexcept = 0;
    /// A broadcast from node `uid` (already filtered by room channel where the wire does that).
    virtual void on_broadcast(const std::string& uid, sio::packet packet, io::broadcast_options options) = 0;
    virtual void on_request(request r) = 0;
    virtual void on_response(response r) = 0;
    /// Whether `room` has a member here (a transport drops a room channel's message unread otherwise).
    virtual bool has_room(const std::string& room) = 0;
};

} // namespace switchboard::server::cluster
