// The classic Redis transport of the cluster adapter (@socket.io/redis-adapter's createAdapter wire):
// broadcasts on `K#N#` / `K#N#<room>#` (one PSUBSCRIBE `K#N#*` per namespace), requests on
// `K-request#N#`, answers on `K-response#N#`, the node count from `PUBSUB NUMSUB K-request#N#`. Redis
// I/O runs on a thread of its own, so that a slow Redis never stalls the sockets' threads.
#include "adapter.hpp"

#include "../../util/log.hpp"
#include "../cluster/cluster_adapter.hpp"
#include "classic_requests.hpp"
#include "classic_wire.hpp"
#include "connection.hpp"
#include "subscriber.hpp"

#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace switchboard::server::redis {

namespace {

using cluster::request_type;

/// The connections every namespace's adapter shares, and the thread they run on.
class classic_transport final : public cluster::transport {
public:
    classic_transport(address at, std::string key)
        : key_(std::move(key)), ioc_(std::make_shared<net::io_context>(1)), strand_(net::make_strand(*ioc_)) {
        commands_ = std::make_shared<connection>(strand_, at, connection::events{});
        subscriber::events on;
        on.connected = [this] { resubscribe(); };
        on.push = [this](const reply& r) { on_push(r); };
        subscriber_ = std::make_shared<subscriber>(strand_, at, std::move(on));
        commands_->start();
        subscriber_->start();
        // The thread holds the io_context: if the last owner lets go of this transport on that thread
        // (a task finishing there), the thread is detached rather than joined, and ends on its own.
        thread_ = std::thread([ioc = ioc_] {
            auto work = net::make_work_guard(*ioc);
            for (;;) {
                try {
                    ioc->run();
                    return;
                } catch (...) {
                    SB_LOG(err, "redis thread: {} (going on)", describe_current_exception());
                }
            }
        });
    }
    ~classic_transport() override {
        if (std::this_thread::get_id() == thread_.get_id()) {
            commands_->close();
            subscriber_->close();
            ioc_->stop();
            thread_.detach();
            return;
        }
        net::post(strand_, [this] {
            commands_->close();
            subscriber_->close();
        });
        // Let the cancelled waits complete, then stop.
        net::post(strand_, [this] { net::post(strand_, [this] { ioc_->stop(); }); });
        thread_.join();
    }

    // --- cluster::transport ---

    void post(std::function<void()> task) override { net::post(strand_, std::move(task)); }

    std::function<void()> after(std::chrono::milliseconds delay, std::function<void()> task) override {
        auto timer = std::make_shared<strand_timer>(strand_, delay);
        timer->async_wait([timer, task = std::move(task)](boost::system::error_code ec) {
            if (!ec) task();
        });
        return [timer] { timer->cancel(); };
    }

    void count_nodes(const std::string& nsp, std::function<void(std::optional<std::size_t>)> done) override {
        net::post(strand_, [this, channel = redis_wire::request_channel(key_, nsp), done = std::move(done)]() mutable {
            auto shared = std::make_shared<std::function<void(std::optional<std::size_t>)>>(std::move(done));
            const bool sent = commands_->command({"PUBSUB", "NUMSUB", channel}, [shared](std::optional<reply> r) {
                // [channel, count]
                if (r && r->elements.size() == 2 && r->elements[1].type == reply::kind::integer)
                    return (*shared)(static_cast<std::size_t>(std::max(0LL, r->elements[1].integer)));
                (*shared)(std::nullopt);
            });
            if (!sent) (*shared)(std::nullopt);
        });
    }

    void publish_broadcast(const std::string& nsp, const std::string& uid, const sio::packet& packet,
                           const io::broadcast_options& options) override {
        publish(redis_wire::broadcast_channel(key_, nsp, options.rooms),
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
            bytes = redis_wire::encode_server_side_emit(r.uid, r.request_id, r.packet.data.as_array());
            break;
        case request_type::broadcast:
            bytes = redis_wire::encode_broadcast_request(r.uid, r.request_id, r.packet, r.options);
            break;
        case request_type::broadcast_client_count:
        case request_type::broadcast_ack: return; // answers, not requests
        }
        publish(redis_wire::request_channel(key_, nsp), std::move(bytes));
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
        publish(redis_wire::response_channel(key_, nsp), std::move(bytes));
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

    void publish(std::string channel, std::string bytes) {
        net::post(strand_, [this, channel = std::move(channel), bytes = std::move(bytes)] {
            if (!commands_->command({"PUBLISH", channel, bytes})) {
                // Redis is away: what was meant for the other nodes reached this one only. Counted and
                // logged, not buffered without bound (pub/sub keeps nothing for an absent subscriber either).
                const auto n = ++unpublished_;
                if ((n & (n - 1)) == 0) // 1, 2, 4, 8, …: a log line per doubling, not per message
                    SB_LOG(warn, "redis unreachable: {} message(s) not published to the other nodes", n);
            }
        });
    }

    void subscribe(const channels& names) {
        subscriber_->send({"PSUBSCRIBE", names.pattern});
        subscriber_->send({"SUBSCRIBE", names.requests, names.responses});
    }

    void resubscribe() {
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
        if (nsp) *nsp = it->second;
        return nodes_.at(it->second).node;
    }

    void on_push(const reply& r);
    void on_broadcast(const std::string& pattern, std::string_view channel, std::string_view bytes);

    std::string key_;
    std::shared_ptr<net::io_context> ioc_;
    strand_type strand_;
    std::shared_ptr<connection> commands_;
    std::shared_ptr<subscriber> subscriber_;
    std::atomic<std::uint64_t> unpublished_{0};
    codec_limits limits_;
    std::mutex mutex_;                                    // the maps: namespaces come and go on the sockets' threads
    std::unordered_map<std::string, subscription> nodes_; // by namespace
    std::unordered_map<std::string, std::string> by_channel_; // pattern / channel -> namespace
    std::thread thread_;
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

io::adapter_factory make_adapter_factory(const address& at, std::string key,
                                         std::chrono::milliseconds requests_timeout) {
    auto shared = std::make_shared<classic_transport>(at, std::move(key));
    cluster::cluster_settings settings;
    settings.requests_timeout = requests_timeout;
    return [shared, settings](const std::string& nsp, io::local_sockets& sockets) -> std::unique_ptr<io::adapter> {
        return cluster::make_cluster_adapter(shared, settings, nsp, sockets);
    };
}

} // namespace switchboard::server::redis
