#pragma once
// A Redis connection that subscribes (private to server/): SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their
// UN- forms, and the messages they bring. hiredis parses what arrives (its reply reader) and formats
// what goes; Asio moves the bytes. The asynchronous hiredis client is not used here: Debian's (0.14)
// knows nothing of sharded pub/sub, and its subscribe bookkeeping would trip on an `smessage`.

#include "../../util/net.hpp"
#include "address.hpp"
#include "connection.hpp"

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisReader;

namespace switchboard::server::redis {

class subscriber : public std::enable_shared_from_this<subscriber> {
public:
    /// Called on the strand.
    struct events {
        std::function<void()> connected;            ///< (again, after a loss): subscribe here
        std::function<void(std::string_view)> lost; ///< why; a reconnection follows
        /// Every reply: confirmations (["subscribe", channel, n], …) and messages (["message", channel,
        /// data], ["pmessage", pattern, channel, data], ["smessage", channel, data]).
        std::function<void(const reply&)> push;
    };

    subscriber(strand_type strand, address where, events on);
    ~subscriber();
    subscriber(const subscriber&) = delete;
    subscriber& operator=(const subscriber&) = delete;

    /// Connects (and keeps reconnecting, 100 ms doubling to 5 s, until close()).
    void start();
    void close();
    /// Any thread (for /readyz); the state is the strand's.
    bool connected() const noexcept { return connected_.load(std::memory_order_relaxed); }

    /// Sends a (un)subscription. False, and nothing is sent, when not connected: the `connected`
    /// event is where a (re)connection subscribes again.
    bool send(const std::vector<std::string_view>& args);

private:
    void connect();
    void read();
    void write();
    void lost(std::string why);

    strand_type strand_;
    address where_;
    events on_;
    std::optional<strand_socket> socket_;
    std::optional<net::ip::basic_resolver<tcp, strand_type>> resolver_;
    redisReader* reader_ = nullptr;
    std::vector<char> buffer_;
    std::deque<std::string> out_;
    bool writing_ = false;
    std::atomic<bool> connected_{false};
    bool closed_ = false;
    std::uint64_t generation_ = 0; // a connection's handlers see a newer one and stop
    std::chrono::milliseconds backoff_{100};
    std::optional<strand_timer> retry_;
};

} // namespace switchboard::server::redis
