#pragma once
// Admission of TCP connections (private to server/): the open connections in all and per peer address,
// against --max-connections and --max-connections-per-ip. A connection holds a ticket for as long as
// it is open, through a WebSocket upgrade; the ticket gives its place back when it goes.

#include "net.hpp"

#include <cstddef>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace switchboard::server {

class admission {
public:
    /// 0: no limit.
    admission(std::size_t max_total, std::size_t max_per_address)
        : max_total_(max_total), max_per_address_(max_per_address) {}

    /// An open connection's place (move-only; empty when limits are off).
    class ticket {
    public:
        ticket() = default;
        ticket(ticket&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)), address_(other.address_) {}
        ticket& operator=(ticket&& other) noexcept {
            if (this != &other) {
                release();
                owner_ = std::exchange(other.owner_, nullptr);
                address_ = other.address_;
            }
            return *this;
        }
        ~ticket() { release(); }

    private:
        friend class admission;
        ticket(admission* owner, net::ip::address address) : owner_(owner), address_(address) {}
        void release() {
            if (owner_) std::exchange(owner_, nullptr)->leave(address_);
        }
        admission* owner_ = nullptr;
        net::ip::address address_;
    };

    /// A ticket for a connection from `address`; nothing (and `why`) when a limit is reached.
    std::optional<ticket> admit(const net::ip::address& address, std::string_view& why) {
        if (max_total_ == 0 && max_per_address_ == 0) return ticket{};
        std::lock_guard lock(mutex_);
        if (max_total_ != 0 && total_ >= max_total_) {
            why = "--max-connections";
            return std::nullopt;
        }
        auto& mine = per_address_[address];
        if (max_per_address_ != 0 && mine >= max_per_address_) {
            why = "--max-connections-per-ip";
            return std::nullopt;
        }
        ++mine;
        ++total_;
        return ticket{this, address};
    }

private:
    void leave(const net::ip::address& address) {
        std::lock_guard lock(mutex_);
        --total_;
        if (const auto it = per_address_.find(address); it != per_address_.end() && --it->second == 0)
            per_address_.erase(it);
    }

    const std::size_t max_total_;
    const std::size_t max_per_address_;
    std::mutex mutex_;
    std::size_t total_ = 0;
    std::unordered_map<net::ip::address, std::size_t> per_address_;
};

} // namespace switchboard::server
