#pragma once
// What the two Redis wires share (private to server/): a connection for commands and one for
// subscriptions, both on a thread of their own (a slow Redis never stalls the sockets' threads),
// publishing that counts what Redis was not there to take, the node count, and timers.

#include "../../util/net.hpp"
#include "../cluster/cluster_adapter.hpp"
#include "address.hpp"
#include "connection.hpp"
#include "subscriber.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace switchboard::server::redis {

class pubsub_transport : public cluster::transport {
public:
    void post(std::function<void()> task) override { net::post(strand_, std::move(task)); }
    std::function<void()> after(std::chrono::milliseconds delay, std::function<void()> task) override;
    bool connected() const override { return commands_->connected() && subscriber_->connected(); }
    /// Connects and starts the thread. Called by the factory once the derived transport is whole: the
    /// subscriber's callbacks call its overrides, which must not run while it is still being built.
    void start();

protected:
    explicit pubsub_transport(const address& at);
    /// Stops the thread: the first thing a derived destructor does (its members are what runs there).
    void shutdown();

    /// PUBLISH or SPUBLISH, from any thread; when Redis is away, counted and logged.
    void publish(std::string_view command, std::string channel, std::string bytes);
    /// `PUBSUB NUMSUB|SHARDNUMSUB channel`'s count, on the strand (nothing: Redis is away).
    void count_subscribers(std::string_view command, std::string channel,
                           std::function<void(std::optional<std::size_t>)> done);

    /// The subscriptions connection (re)connected: subscribe to everything again (strand).
    virtual void resubscribe() = 0;
    /// A reply on the subscriptions connection (strand).
    virtual void on_push(const reply& r) = 0;

    std::shared_ptr<net::io_context> ioc_;
    strand_type strand_;
    std::shared_ptr<connection> commands_;
    std::shared_ptr<subscriber> subscriber_;
    codec_limits limits_;

private:
    void unpublished();

    std::atomic<std::uint64_t> unpublished_{0};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

/// The classic wire (createAdapter): `key`, channels `key#N#…`, `key-request#N#`, `key-response#N#`.
std::shared_ptr<cluster::transport> make_classic_transport(const address& at, std::string key);
/// The sharded wire (createShardedAdapter, dynamic subscription mode): channels `prefix#N#…`.
std::shared_ptr<cluster::transport> make_sharded_transport(const address& at, std::string prefix);

} // namespace switchboard::server::redis
