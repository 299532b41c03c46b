#pragma once
// A Redis connection for the cluster adapter (private to server/): hiredis's asynchronous client, its
// socket driven by the server's Asio loop (hiredis parses RESP; we only tell it when the socket is
// ready), reconnecting with backoff when Redis goes away.

#include "../../util/net.hpp"
#include "address.hpp"

#include <switchboard/result.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisAsyncContext;
struct redisReply;

namespace switchboard::server::redis {

/// A reply, copied out of hiredis's (which lives only during its callback).
struct reply {
    enum class kind { nil, string, integer, array, error, status } type = kind::nil;
    std::string text; ///< string, error or status
    long long integer = 0;
    std::vector<reply> elements;
};

/// Copies a hiredis reply.
reply copy_reply(const redisReply* r);

class connection : public std::enable_shared_from_this<connection> {
public:
    /// A command's answer; none when the connection was lost before it came.
    using reply_handler = std::function<void(std::optional<reply>)>;
    /// Called on the strand.
    struct events {
        std::function<void()> connected;            ///< (again, after a loss): subscribe here
        std::function<void(std::string_view)> lost; ///< why; a reconnection follows
    };

    connection(strand_type strand, address where, events on);
    ~connection();

    /// Connects (and keeps reconnecting, 100 ms doubling to 5 s, until close()).
    void start();
    /// Ends the connection for good; pending handlers get no reply.
    void close();
    /// Any thread (for /readyz); the state is the strand's.
    bool connected() const noexcept { return connected_.load(std::memory_order_relaxed); }
    const strand_type& strand() const noexcept { return strand_; }

    /// Sends a command (binary-safe arguments). False, and `done` is not called, when not connected.
    /// (Subscriptions go through a `subscriber`.)
    bool command(const std::vector<std::string_view>& args, reply_handler done = {});

private:
    static void on_connect(const redisAsyncContext* ctx, int status);
    static void on_disconnect(const redisAsyncContext* ctx, int status);
    static void on_reply(redisAsyncContext* ctx, void* r, void* privdata);
    static void add_read(void* self);
    static void del_read(void* self);
    static void add_write(void* self);
    static void del_write(void* self);
    static void cleanup(void* self);
    bool send(const std::vector<std::string_view>& args, void (*callback)(redisAsyncContext*, void*, void*),
              void* privdata);
    void wait_read();
    void wait_write();
    void wait(tcp::socket::wait_type direction, bool& waiting, const bool& wanted, void (*handle)(redisAsyncContext*));
    void lost(std::string why);
    void reconnect_later();

    strand_type strand_;
    address where_;
    events on_;
    redisAsyncContext* ctx_ = nullptr;
    std::optional<tcp::socket> socket_; // hiredis's descriptor, watched (hiredis owns and closes it)
    bool want_read_ = false, reading_ = false;
    bool want_write_ = false, writing_ = false;
    std::atomic<bool> connected_{false};
    bool closed_ = false;
    std::chrono::milliseconds backoff_{100};
    std::optional<strand_timer> retry_;
};

} // namespace switchboard::server::redis
