// The classic Redis transport of the cluster adapter (@socket.io/redis-adapter's createAdapter wire):
// broadcasts on `K#N#` / `K#N#<room>#` (one PSUBSCRIBE `K#N#*` per namespace), requests on
// `K-request#N#`, answers on `K-response#N#`, the node count from `PUBSUB NUMSUB K-request#N#`.
#include "../../util/log.hpp"
#include "../../util/random_id.hpp"
#include "classic_requests.hpp"
#include "classic_wire.hpp"
#include "transport.hpp"

#include <unordered_map>

namespace switchboard::server::redis {

namespace {

using cluster::request_type;

class classic_transport final : public pubsub_transport {
public:
    classic_transport(const address& at, std::string key) : pubsub_transport(at), key_(std::move(key)) {}
    ~classic_transport() override { shutdown(); }

    // --- cluster::transport ---

    std::string new_uid() override { return random_token(6); } // as the Node adapter's uids

    void count_nodes(const std::string& nsp, std::function<void(std::optional<std::size_t>)> done) override {
        count_subscribers("NUMSUB", redis_wire::request_channel(key_, nsp), std::move(done));
    }

    void publish_broadcast(const std::string& nsp, const std::string& uid, const sio::packet& packet,
                           const io::broadcast_options& options) override {
        publish("PUBLISH", redis_wire::broadcast_channel(key_, nsp, options.rooms),
                redis_wire::encode_broadcast(uid, packet, options));
    }

    void publish_request(const std::string& nsp, const cluster::request& r) override {
        std::string bytes;
        switch (r.type) {
        case request_type::sockets:
            bytes = redis_wire::encode_sockets_request(r.uid, r.request_id, r.options.rooms);
            break;
        case request_type::all_rooms: bytes = redis_wire::encode_all_rooms_request(r.uid, r.request_id); break;
        case request_type::remote_join:
        case request_type::remote_leave:
            bytes = redis_wire::encode_join_request(r.uid, r.options, r.rooms, r.type == request_type::remote_leave);
            break;
        case request_type::remote_disconnect:
            bytes = redis_wire::encode_disconnect_request(r.uid, r.options, r.close);
            break;
        case request_type::remote_fetch:
            bytes = redis_wire::encode_fetch_request(r.uid, r.request_id, r.options);
            break;
        case request_type::server_side_emit:
            if (const auto* values = r.packet.data.if_array())
                bytes = redis_wire::encode_server_side_emit(r.uid, r.request_id, *values);
            break;
        case request_type::broadcast:
            bytes = redis_wire::encode_broadcast_request(r.uid, r.request_id, r.packet, r.options);
            break;
        case request_type::broadcast_client_count:
        case request_type::broadcast_ack: return; // answers, not requests
        }
        publish("PUBLISH", redis_wire::request_channel(key_, nsp), std::move(bytes));
    }

    void publish_answer(const std::string& nsp, const std::string& uid, const cluster::answer& a) override {
        std::string bytes;
        switch (a.type) {
        case request_type::sockets: bytes = redis_wire::encode_sockets_response(a.request_id, a.names, uid); break;
        case request_type::all_rooms: bytes = redis_wire::encode_rooms_response(a.request_id, a.names, uid); break;
        case request_type::remote_fetch: bytes = redis_wire::encode_fetch_response(a.request_id, a.sockets, uid); break;
        case request_type::broadcast_client_count:
            bytes = redis_wire::encode_client_count(a.request_id, a.client_count, uid);
            break;
        case request_type::broadcast_ack:
            bytes = redis_wire::encode_broadcast_ack(a.request_id, a.value, a.attachments);
            break;
        case request_type::server_side_emit: bytes = redis_wire::encode_server_side_ack(a.request_id, a.value); break;
        case request_type::remote_join:
        case request_type::remote_leave:
        case request_type::remote_disconnect: // the legacy one-socket forms: a bare acknowledgement
            bytes = redis_wire::encode_legacy_ack(a.request_id);
            break;
        case request_type::broadcast: return;
        }
        publish("PUBLISH", redis_wire::response_channel(key_, nsp), std::move(bytes));
    }

    void attach(const std::string& nsp, std::shared_ptr<cluster::node> n) override {
        channels names{redis_wire::broadcast_pattern(key_, nsp), redis_wire::request_channel(key_, nsp),
                       redis_wire::response_channel(key_, nsp)};
        {
            std::lock_guard lock(mutex_);
            nodes_[nsp] = subscription{names, std::move(n)};
            by_channel_[names.pattern] = nsp;
            by_channel_[names.requests] = nsp;
            by_channel_[names.responses] = nsp;
        }
        net::post(strand_, [this, names] { subscribe(names); }); // or on (re)connection
    }

    void detach(const std::string& nsp) override {
        std::lock_guard lock(mutex_);
        const auto it = nodes_.find(nsp);
        if (it == nodes_.end()) return;
        by_channel_.erase(it->second.names.pattern);
        by_channel_.erase(it->second.names.requests);
        by_channel_.erase(it->second.names.responses);
        nodes_.erase(it);
    }

private:
    struct channels {
        std::string pattern, requests, responses;
    };
    struct subscription {
        channels names;
        std::shared_ptr<cluster::node> node;
    };

    void subscribe(const channels& names) {
        subscriber_->send({"PSUBSCRIBE", names.pattern});
        subscriber_->send({"SUBSCRIBE", names.requests, names.responses});
    }

    void resubscribe() override {
        std::vector<channels> all;
        {
            std::lock_guard lock(mutex_);
            for (const auto& [nsp, s] : nodes_) all.push_back(s.names);
        }
        for (const auto& names : all) subscribe(names);
    }

    /// The node of the namespace a channel (or pattern) belongs to.
    std::shared_ptr<cluster::node> node_for(const std::string& channel, std::string* nsp = nullptr) {
        std::lock_guard lock(mutex_);
        const auto it = by_channel_.find(channel);
        if (it == by_channel_.end()) return nullptr;
        const auto node = nodes_.find(it->second); // both maps change together, under this lock
        if (node == nodes_.end()) return nullptr;
        if (nsp) *nsp = it->second;
        return node->second.node;
    }

    void on_push(const reply& r) override;
    void on_broadcast(const std::string& pattern, std::string_view channel, std::string_view bytes);

    std::string key_;
    std::mutex mutex_;                                    // the maps: namespaces come and go on the sockets' threads
    std::unordered_map<std::string, subscription> nodes_; // by namespace
    std::unordered_map<std::string, std::string> by_channel_; // pattern / channel -> namespace
};

void classic_transport::on_push(const reply& r) {
    // ["pmessage", pattern, channel, data] or ["message", channel, data]; confirmations are neither.
    if (r.elements.size() == 4 && r.elements[0].text == "pmessage")
        return on_broadcast(r.elements[1].text, r.elements[2].text, r.elements[3].text);
    if (r.elements.size() != 3 || r.elements[0].text != "message") return;
    const auto& channel = r.elements[1].text;
    const auto& bytes = r.elements[2].text;
    std::string nsp;
    auto node = node_for(channel, &nsp);
    if (!node) return;
    if (channel == redis_wire::request_channel(key_, nsp)) {
        auto request = redis_wire::decode_request(bytes, limits_);
        if (!request) {
            SB_LOG(warn, "redis: a request on {} could not be read ({})", channel, request.error().message());
            return;
        }
        node->on_request(std::move(*request));
    } else {
        auto response = redis_wire::decode_response(bytes, limits_);
        if (!response) {
            SB_LOG(warn, "redis: a response on {} could not be read ({})", channel, response.error().message());
            return;
        }
        node->on_response(std::move(*response));
    }
}

void classic_transport::on_broadcast(const std::string& pattern, std::string_view channel, std::string_view bytes) {
    auto node = node_for(pattern);
    if (!node) return;
    // `K#N#<room>#`: a node without that room drops it unread, as the Node adapter does.
    const auto prefix_size = pattern.size() - 1; // the pattern is `K#N#*`
    if (channel.size() > prefix_size + 1 && channel.back() == '#') {
        const std::string room(channel.substr(prefix_size, channel.size() - prefix_size - 1));
        if (!node->has_room(room)) return;
    }
    auto message = redis_wire::decode_broadcast(bytes, limits_);
    if (!message) {
        SB_LOG(warn, "redis: a broadcast on {} could not be read ({})", channel, message.error().message());
        return;
    }
    node->on_broadcast(message->uid, std::move(message->packet), std::move(message->options));
}

} // namespace

std::shared_ptr<cluster::transport> make_classic_transport(const address& at, std::string key) {
    auto transport = std::make_shared<classic_transport>(at, std::move(key));
    transport->start(); // now that it is whole (see pubsub_transport::start)
    return transport;
}

} // namespace switchboard::server::redis
