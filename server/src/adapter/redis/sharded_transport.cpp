// The sharded Redis transport of the cluster adapter (@socket.io/redis-adapter's createShardedAdapter,
// subscription mode "dynamic"; Redis 7): each namespace's node SSUBSCRIBEs to `P#N#` (broadcasts and
// requests) and its own `P#N#<uid>#` (answers), and to `P#N#<room>#` while the room has a member here
// (a socket id has no channel); the node count is `PUBSUB SHARDNUMSUB P#N#`. This wire has no
// `sockets` and `all_rooms` requests: the adapter asks those with a fetch.
#include "../../util/log.hpp"
#include "sharded_wire.hpp"
#include "transport.hpp"

#include <random>
#include <set>
#include <unordered_map>

namespace switchboard::server::redis {

namespace {

using cluster::request_type;

std::string random_uid() { // 16 lowercase hex characters, as the Node sharded adapter's
    thread_local std::mt19937_64 rng(std::random_device{}());
    return fmt::format("{:016x}", rng());
}

class sharded_transport final : public pubsub_transport {
public:
    sharded_transport(const address& at, std::string prefix) : pubsub_transport(at), prefix_(std::move(prefix)) {}
    ~sharded_transport() override { shutdown(); }

    std::string new_uid() override { return random_uid(); }
    bool carries(request_type type) const override {
        return type != request_type::sockets && type != request_type::all_rooms;
    }
    bool follows_rooms() const override { return true; }

    void count_nodes(const std::string& nsp, std::function<void(std::optional<std::size_t>)> done) override {
        count_subscribers("SHARDNUMSUB", sharded_wire::main_channel(prefix_, nsp), std::move(done));
    }

    void publish_broadcast(const std::string& nsp, const std::string& uid, const sio::packet& packet,
                           const io::broadcast_options& options) override {
        publish("SPUBLISH", sharded_wire::broadcast_channel(prefix_, nsp, options),
                sharded_wire::encode_broadcast(uid, nsp, packet, options));
    }
    void publish_request(const std::string& nsp, const cluster::request& r) override {
        publish("SPUBLISH", sharded_wire::main_channel(prefix_, nsp), sharded_wire::encode_request(nsp, r));
    }
    void publish_answer(const std::string& nsp, const std::string& uid, const cluster::answer& a) override {
        publish("SPUBLISH", sharded_wire::node_channel(prefix_, nsp, a.requester),
                sharded_wire::encode_answer(uid, nsp, a));
    }

    void attach(const std::string& nsp, std::shared_ptr<cluster::node> n) override {
        const auto channels =
            std::vector{sharded_wire::main_channel(prefix_, nsp), sharded_wire::node_channel(prefix_, nsp, n->uid())};
        {
            std::lock_guard lock(mutex_);
            auto& s = nodes_[nsp];
            s.node = std::move(n);
            for (const auto& c : channels) {
                s.channels.insert(c);
                by_channel_[c] = nsp;
            }
        }
        net::post(strand_, [this, channels] {
            for (const auto& c : channels) subscriber_->send({"SSUBSCRIBE", c});
        });
    }

    void detach(const std::string& nsp) override {
        std::lock_guard lock(mutex_);
        const auto it = nodes_.find(nsp);
        if (it == nodes_.end()) return;
        for (const auto& c : it->second.channels) by_channel_.erase(c);
        nodes_.erase(it);
    }

    void room_changed(const std::string& nsp, const std::string& room) override {
        if (!sharded_wire::room_has_channel(room)) return;
        // On the strand, after the change that called this: whether the room is here decides.
        net::post(strand_, [this, nsp, room] {
            std::shared_ptr<cluster::node> node;
            {
                std::lock_guard lock(mutex_);
                if (const auto it = nodes_.find(nsp); it != nodes_.end()) node = it->second.node;
            }
            if (!node) return;
            const bool wanted = node->has_room(room);
            const auto channel = sharded_wire::room_channel(prefix_, nsp, room);
            {
                std::lock_guard lock(mutex_);
                auto& s = nodes_[nsp];
                if (wanted == (s.channels.count(channel) != 0)) return;
                if (wanted) {
                    s.channels.insert(channel);
                    by_channel_[channel] = nsp;
                } else {
                    s.channels.erase(channel);
                    by_channel_.erase(channel);
                }
            }
            subscriber_->send({wanted ? "SSUBSCRIBE" : "SUNSUBSCRIBE", channel});
        });
    }

private:
    struct subscription {
        std::shared_ptr<cluster::node> node;
        std::set<std::string> channels; // main, own, and the rooms here
    };

    void resubscribe() override {
        std::vector<std::string> all;
        {
            std::lock_guard lock(mutex_);
            for (const auto& [nsp, s] : nodes_) all.insert(all.end(), s.channels.begin(), s.channels.end());
        }
        // One command per channel: in a Redis cluster, channels of different slots cannot share one.
        for (const auto& c : all) subscriber_->send({"SSUBSCRIBE", c});
    }

    void on_push(const reply& r) override {
        // ["smessage", channel, data]; confirmations are not messages.
        if (r.elements.size() != 3 || r.elements[0].text != "smessage") return;
        const auto& channel = r.elements[1].text;
        std::shared_ptr<cluster::node> node;
        std::string nsp;
        {
            std::lock_guard lock(mutex_);
            const auto it = by_channel_.find(channel);
            if (it == by_channel_.end()) return;
            nsp = it->second;
            const auto entry = nodes_.find(nsp); // both maps change together, under this lock
            if (entry == nodes_.end()) return;
            node = entry->second.node;
        }
        auto message = sharded_wire::decode(r.elements[2].text, limits_);
        if (!message) {
            SB_LOG(warn, "redis: a message on {} could not be read ({})", channel, message.error().message());
            return;
        }
        if (message->nsp != nsp) return;
        switch (message->what) {
        case sharded_wire::incoming::kind::broadcast:
            node->on_broadcast(message->uid, std::move(message->packet), std::move(message->options));
            break;
        case sharded_wire::incoming::kind::request: node->on_request(std::move(message->request)); break;
        case sharded_wire::incoming::kind::response:
            if (message->uid != node->uid()) node->on_response(std::move(message->response));
            break;
        case sharded_wire::incoming::kind::other: break;
        }
    }

    std::string prefix_;
    std::mutex mutex_; // the maps: namespaces and rooms come and go on the sockets' threads
    std::unordered_map<std::string, subscription> nodes_;     // by namespace
    std::unordered_map<std::string, std::string> by_channel_; // channel -> namespace
};

} // namespace

std::shared_ptr<cluster::transport> make_sharded_transport(const address& at, std::string prefix) {
    auto transport = std::make_shared<sharded_transport>(at, std::move(prefix));
    transport->start(); // now that it is whole (see pubsub_transport::start)
    return transport;
}

} // namespace switchboard::server::redis
