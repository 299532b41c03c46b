#pragma once
/// @file
/// The acknowledgements one end waits for on one socket, sans-I/O: ack ids handed out in order, what
/// to do when each answer comes, and optional deadlines that the caller's clock checks. Both ends use
/// it: the client manager (switchboard/client/manager.hpp) and the server's sockets.
///
/// ```cpp
/// sio::ack_registry<callback> acks;
/// packet.id = acks.add(cb, now + 5s);                         // an EVENT that asks for an answer
/// if (auto cb = acks.take(*ack.id)) (*cb)(ack);               // the ACK came (once; unknown ids: nothing)
/// acks.expire(now, [](std::uint64_t id, callback cb) {...});  // at next_deadline(): the late ones
/// acks.drain([](std::uint64_t id, callback cb) {...});        // disconnected: nobody will answer
/// ```

#include <switchboard/sio/packet.hpp>

#include <boost/container/flat_map.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>

namespace switchboard::sio {

template <class T>
class ack_registry {
public:
    using duration = std::chrono::milliseconds; ///< since any fixed origin of a monotonic clock

    /// Registers a wait; returns its ack id (0, 1, 2, …, back to 0 after max_ack_id).
    std::uint64_t add(T value, std::optional<duration> deadline = {}) {
        const auto id = next_id_;
        next_id_ = next_id_ == max_ack_id ? 0 : next_id_ + 1;
        waits_.insert_or_assign(id, entry{std::move(value), deadline}); // at the end, but after a wrap
        return id;
    }

    /// Registers a wait under an id chosen by the caller (a namespace-wide one, for a broadcast with
    /// acks); false, and nothing registered, when that id is waiting already.
    bool add_at(std::uint64_t id, T value, std::optional<duration> deadline = {}) {
        return waits_.try_emplace(id, entry{std::move(value), deadline}).second;
    }

    /// The answer to `id` came: what waited for it, once. An id that is unknown, answered already or
    /// expired gives nothing (the reference implementations ignore such answers).
    std::optional<T> take(std::uint64_t id) {
        const auto it = waits_.find(id);
        if (it == waits_.end()) return std::nullopt;
        auto value = std::move(it->second.value);
        waits_.erase(it);
        return value;
    }

    /// Removes every wait whose deadline is at or before `now`, in id order, and hands each to
    /// `on_expired(id, T&&)`. A call before any deadline (a timer that fired early) removes nothing.
    template <class F>
    void expire(duration now, F&& on_expired) {
        for (auto it = waits_.begin(); it != waits_.end();) {
            if (!it->second.deadline || now < *it->second.deadline) {
                ++it;
                continue;
            }
            const auto id = it->first;
            auto value = std::move(it->second.value);
            it = waits_.erase(it);
            on_expired(id, std::move(value));
        }
    }

    /// Removes every wait (the socket is gone: no answer will come) and hands each to `f(id, T&&)`.
    template <class F>
    void drain(F&& f) {
        auto waits = std::move(waits_);
        waits_.clear();
        for (auto& [id, e] : waits) f(id, std::move(e.value));
    }

    /// The earliest deadline of a wait, if any has one.
    std::optional<duration> next_deadline() const {
        std::optional<duration> next;
        for (const auto& [id, e] : waits_)
            if (e.deadline && (!next || *e.deadline < *next)) next = e.deadline;
        return next;
    }

    /// What waits for `id`, left in place (null if nothing does).
    T* find(std::uint64_t id) {
        const auto it = waits_.find(id);
        return it == waits_.end() ? nullptr : &it->second.value;
    }
    bool contains(std::uint64_t id) const { return waits_.count(id) != 0; }
    std::size_t size() const noexcept { return waits_.size(); }
    bool empty() const noexcept { return waits_.empty(); }

private:
    struct entry {
        T value;
        std::optional<duration> deadline;
    };
    // Few at a time, and ids handed out in order: a sorted vector (new ids go at the end), no node
    // allocation per emit, no hash buckets per socket.
    boost::container::flat_map<std::uint64_t, entry> waits_;
    std::uint64_t next_id_ = 0;
};

} // namespace switchboard::sio
