// The Redis cluster adapter, classic wire (@socket.io/redis-adapter's createAdapter): each namespace's
// adapter keeps its room index in memory, as the in-memory adapter does, and also publishes its
// broadcasts on `K#N#` / `K#N#<room>#`; what other nodes (and @socket.io/redis-emitter) publish there
// is delivered to this node's sockets. Redis I/O runs on a thread of its own, so that a slow Redis
// never stalls the sockets' threads.
//
// Not yet cluster-wide (the adapter answers for this node only): broadcasts with acks, fetch_sockets,
// all_rooms, sockets_join/leave, disconnect_sockets and server_side_emit. The node does not subscribe to
// the request channel either, so Node nodes do not count it as a member that must answer their
// requests (their queries complete without this node's sockets instead of timing out).
#include "adapter.hpp"

#include "../../util/log.hpp"
#include "classic_wire.hpp"
#include "connection.hpp"

#include <switchboard/io/io.hpp>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

namespace switchboard::server::redis {

namespace {

std::string random_uid() { // 6 URL-safe characters, as the Node adapter's
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    thread_local std::mt19937 rng(std::random_device{}());
    std::string uid(6, ' ');
    for (auto& c : uid) c = alphabet[rng() % 64];
    return uid;
}

class namespace_adapter;

/// The connections every namespace's adapter shares, and the thread they run on.
class cluster final : public std::enable_shared_from_this<cluster> {
public:
    cluster(address at, std::string key) : key_(std::move(key)), strand_(net::make_strand(ioc_)) {
        commands_ = std::make_shared<connection>(strand_, at, connection::events{});
        connection::events on;
        on.connected = [this] { resubscribe(); };
        on.push = [this](const reply& r) { on_push(r); };
        subscriber_ = std::make_shared<connection>(strand_, at, std::move(on));
        commands_->start();
        subscriber_->start();
        thread_ = std::thread([this] {
            auto work = net::make_work_guard(ioc_);
            for (;;) {
                try {
                    ioc_.run();
                    return;
                } catch (...) {
                    SB_LOG(err, "redis thread: {} (going on)", describe_current_exception());
                }
            }
        });
    }
    ~cluster() {
        net::post(strand_, [this] {
            commands_->close();
            subscriber_->close();
        });
        // Let the cancelled waits complete, then stop.
        net::post(strand_, [this] { net::post(strand_, [this] { ioc_.stop(); }); });
        thread_.join();
    }

    const std::string& key() const noexcept { return key_; }

    /// From any thread.
    void publish(std::string channel, std::string bytes) {
        net::post(strand_, [this, channel = std::move(channel), bytes = std::move(bytes)] {
            if (!commands_->command({"PUBLISH", channel, bytes})) {
                // Redis is away: the broadcast reached this node's sockets only. Counted and logged, not
                // buffered without bound (pub/sub keeps nothing for a subscriber that is away either).
                const auto n = ++unpublished_;
                if ((n & (n - 1)) == 0) // 1, 2, 4, 8, …: a log line per doubling, not per broadcast
                    SB_LOG(warn, "redis unreachable: {} broadcast(s) not published to the other nodes", n);
            }
        });
    }
    std::uint64_t unpublished() const noexcept { return unpublished_.load(); }

    void attach(const std::string& nsp, namespace_adapter* a) {
        {
            std::lock_guard lock(mutex_);
            adapters_[redis_wire::broadcast_pattern(key_, nsp)] = a;
        }
        net::post(strand_, [this, pattern = redis_wire::broadcast_pattern(key_, nsp)] {
            subscriber_->subscribe_command({"PSUBSCRIBE", pattern}); // or on (re)connection
        });
    }
    void detach(const std::string& nsp) {
        std::lock_guard lock(mutex_);
        adapters_.erase(redis_wire::broadcast_pattern(key_, nsp));
    }

private:
    void resubscribe() {
        std::vector<std::string> patterns;
        {
            std::lock_guard lock(mutex_);
            for (const auto& [pattern, a] : adapters_) patterns.push_back(pattern);
        }
        for (const auto& p : patterns) subscriber_->subscribe_command({"PSUBSCRIBE", p});
    }
    void on_push(const reply& r);

    net::io_context ioc_{1};
    std::string key_;
    strand_type strand_;
    std::shared_ptr<connection> commands_;
    std::shared_ptr<connection> subscriber_;
    std::atomic<std::uint64_t> unpublished_{0};
    std::mutex mutex_; // adapters_: namespaces come and go on the sockets' threads
    std::unordered_map<std::string, namespace_adapter*> adapters_; // by broadcast pattern
    std::thread thread_;
};

class namespace_adapter final : public io::adapter {
public:
    namespace_adapter(std::shared_ptr<cluster> c, std::string nsp, io::local_sockets& sockets)
        : cluster_(std::move(c)), nsp_(std::move(nsp)), uid_(random_uid()), local_(io::make_in_memory_adapter(sockets)),
          channel_prefix_(cluster_->key() + "#" + nsp_ + "#") {
        cluster_->attach(nsp_, this);
    }
    ~namespace_adapter() override { cluster_->detach(nsp_); }

    void add_all(const std::string& sid, const std::vector<std::string>& rooms) override {
        local_->add_all(sid, rooms);
    }
    void del(const std::string& sid, const std::string& room) override { local_->del(sid, room); }
    void del_all(const std::string& sid) override { local_->del_all(sid); }
    std::vector<std::string> socket_rooms(const std::string& sid) override { return local_->socket_rooms(sid); }
    std::vector<std::string> sockets(const std::vector<std::string>& rooms) override { return local_->sockets(rooms); }
    std::vector<std::string> all_rooms() override { return local_->all_rooms(); }
    bool has_room(const std::string& room) override { return local_->has_room(room); }

    void broadcast(const sio::packet& packet, const io::broadcast_options& options) override {
        local_->broadcast(packet, options);
        if (options.local) return;
        cluster_->publish(redis_wire::broadcast_channel(cluster_->key(), nsp_, options.rooms),
                          redis_wire::encode_broadcast(uid_, packet, options));
    }
    void broadcast_with_ack(const sio::packet& packet, const io::broadcast_options& options,
                            std::function<void(std::size_t)> on_client_count,
                            std::function<void(io::arguments)> on_ack) override {
        local_->broadcast_with_ack(packet, options, std::move(on_client_count), std::move(on_ack));
    }
    void add_sockets(const io::broadcast_options& options, const std::vector<std::string>& rooms) override {
        local_->add_sockets(options, rooms);
    }
    void del_sockets(const io::broadcast_options& options, const std::vector<std::string>& rooms) override {
        local_->del_sockets(options, rooms);
    }
    void disconnect_sockets(const io::broadcast_options& options, bool close) override {
        local_->disconnect_sockets(options, close);
    }
    void fetch_sockets(const io::broadcast_options& options,
                       std::function<void(std::vector<io::socket>)> done) override {
        local_->fetch_sockets(options, std::move(done));
    }
    void server_side_emit(const io::arguments& args) override { local_->server_side_emit(args); }

    /// A message on `K#N#…` (the Redis thread; the cluster's lock is held, so this adapter stays).
    void on_broadcast_message(std::string_view channel, std::string_view bytes) {
        // `K#N#<room>#`: a node without that room drops it unread, as the Node adapter does.
        if (channel.size() > channel_prefix_.size() + 1 && channel.back() == '#') {
            const std::string room(channel.substr(channel_prefix_.size(), channel.size() - channel_prefix_.size() - 1));
            if (!local_->has_room(room)) return;
        }
        auto message = redis_wire::decode_broadcast(bytes, limits_);
        if (!message) {
            SB_LOG(warn, "redis: a broadcast on {} could not be read ({})", channel, message.error().message());
            return;
        }
        if (message->uid == uid_ || message->packet.nsp != nsp_) return; // our own, or another namespace's
        message->options.local = true;                                   // delivered here only
        local_->broadcast(message->packet, message->options);
    }

private:
    std::shared_ptr<cluster> cluster_;
    std::string nsp_;
    std::string uid_;
    std::unique_ptr<io::adapter> local_;
    std::string channel_prefix_; // K#N#
    codec_limits limits_;
};

void cluster::on_push(const reply& r) {
    // ["pmessage", pattern, channel, data]; subscription confirmations and the rest are not messages.
    if (r.elements.size() != 4 || r.elements[0].text != "pmessage") return;
    std::lock_guard lock(mutex_);
    if (const auto it = adapters_.find(r.elements[1].text); it != adapters_.end())
        it->second->on_broadcast_message(r.elements[2].text, r.elements[3].text);
}

} // namespace

io::adapter_factory make_adapter_factory(const address& at, std::string key) {
    auto shared = std::make_shared<cluster>(at, std::move(key));
    return [shared](const std::string& nsp, io::local_sockets& sockets) -> std::unique_ptr<io::adapter> {
        return std::make_unique<namespace_adapter>(shared, nsp, sockets);
    };
}

} // namespace switchboard::server::redis
