#pragma once
// Admission (private to server/): the open TCP connections in all and per peer address, against
// --max-connections and --max-connections-per-ip, and the handshake rate per address. A connection holds a ticket for
// as long as it is open, through a WebSocket upgrade; the ticket gives its place back when it goes.

#include "net.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace switchboard::server {

class admission {
public:
    /// 0: no limit.
    admission(std::size_t max_total, std::size_t max_per_address)
        : max_total_(max_total), max_per_address_(max_per_address) {}

    /// An open connection's place (move-only; empty when limits are off). It points at its address's
    /// count (nodes of an unordered_map stay put): kept per connection, it is two pointers.
    class ticket {
    public:
        ticket() = default;
        ticket(ticket&& other) noexcept : count_(std::exchange(other.count_, nullptr)) {}
        ticket& operator=(ticket&& other) noexcept {
            if (this != &other) {
                release();
                count_ = std::exchange(other.count_, nullptr);
            }
            return *this;
        }
        ~ticket() { release(); }

    private:
        friend class admission;
        struct count_and_owner {
            std::size_t count = 0;
            admission* owner = nullptr;
        };
        using address_count = std::pair<const net::ip::address, count_and_owner>;
        explicit ticket(address_count* count) : count_(count) {}
        void release() {
            if (count_) count_->second.owner->leave(*std::exchange(count_, nullptr));
        }
        // The address's entry, which knows its admission: one pointer (a ticket is kept per connection).
        address_count* count_ = nullptr;
    };

    /// A ticket for a connection from `address`; nothing (and `why`) when a limit is reached.
    std::optional<ticket> admit(const net::ip::address& address, std::string_view& why) {
        if (max_total_ == 0 && max_per_address_ == 0) return ticket{};
        std::lock_guard lock(mutex_);
        if (max_total_ != 0 && total_ >= max_total_) {
            why = "--max-connections";
            return std::nullopt;
        }
        auto& mine = *per_address_.try_emplace(address, ticket::count_and_owner{0, this}).first;
        if (max_per_address_ != 0 && mine.second.count >= max_per_address_) {
            why = "--max-connections-per-ip";
            return std::nullopt;
        }
        ++mine.second.count;
        ++total_;
        return ticket{&mine};
    }

private:
    void leave(ticket::address_count& count) {
        std::lock_guard lock(mutex_);
        --total_;
        if (--count.second.count == 0) {
            const auto address = count.first; // erased by a copy of its key, not by the node's own
            per_address_.erase(address);
        }
    }

    const std::size_t max_total_;
    const std::size_t max_per_address_;
    std::mutex mutex_;
    std::size_t total_ = 0;
    std::unordered_map<net::ip::address, ticket::count_and_owner> per_address_;
};

/// A rate per peer address (--handshakes-per-ip): a token bucket each, `rate` per second with a burst
/// of `rate`. Buckets that are full again are forgotten now and then, so the table holds only the
/// addresses of the last second or so.
class rate_per_address {
public:
    explicit rate_per_address(std::size_t rate) : rate_(static_cast<double>(rate)) {}

    /// Takes one token for `address`; false when its bucket is empty (and always true with no rate).
    bool take(const net::ip::address& address) {
        if (rate_ <= 0) return true;
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard lock(mutex_);
        if (++since_sweep_ >= 4096) sweep(now);
        auto [it, fresh] = buckets_.try_emplace(address, bucket{rate_, now});
        auto& b = it->second;
        if (!fresh) {
            b.tokens = std::min(rate_, b.tokens + rate_ * std::chrono::duration<double>(now - b.last).count());
            b.last = now;
        }
        if (b.tokens < 1) return false;
        b.tokens -= 1;
        return true;
    }

private:
    struct bucket {
        double tokens;
        std::chrono::steady_clock::time_point last;
    };
    void sweep(std::chrono::steady_clock::time_point now) { // mutex_ held
        since_sweep_ = 0;
        std::erase_if(buckets_, [&](const auto& entry) {
            return entry.second.tokens + rate_ * std::chrono::duration<double>(now - entry.second.last).count() >=
                   rate_;
        });
    }

    const double rate_;
    std::mutex mutex_;
    std::size_t since_sweep_ = 0;
    std::unordered_map<net::ip::address, bucket> buckets_;
};

} // namespace switchboard::server
