// The single-process adapter: a room index, and broadcasts encoded once and queued on each recipient.
// Every socket is in the room of its own id; that room is kept as one entry in `present_` rather than
// as a room with one member in both indexes (most sockets join nothing else, and an idle connection
// would otherwise pay for two maps' worth of entries). A room's members are kept with the socket itself
// (a weak local_recipient handle), so that a room broadcast reaches each without copying its id and looking
// it up in the namespace under its lock.
#include <switchboard/io/adapter.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace switchboard::io {

namespace {

class in_memory_adapter final : public adapter {
    /// A room's members: socket id -> the socket, as the namespace gave it (empty when it gave none).
    using members = std::unordered_map<std::string, std::weak_ptr<void>>;

public:
    explicit in_memory_adapter(local_sockets& sockets) : sockets_(sockets) {}

    void add_all(const std::string& sid, const std::vector<std::string>& rooms) override {
        std::vector<std::string> joined; // for the listener, told after the lock is released
        const auto listener = current_listener();
        // Found before the lock is taken: the namespace takes its own to find the socket.
        std::weak_ptr<void> recipient;
        if (std::any_of(rooms.begin(), rooms.end(), [&](const std::string& room) { return room != sid; }))
            recipient = sockets_.recipient(sid);
        {
            std::lock_guard lock(mutex_);
            for (const auto& room : rooms) {
                const bool fresh = room == sid ? present_.insert(sid).second
                                               : (rooms_[room].insert_or_assign(sid, recipient),
                                                  socket_rooms_[sid].insert(room).second);
                if (fresh && listener) joined.push_back(room);
            }
        }
        for (const auto& room : joined) (*listener)(room, sid, true);
    }

    void del(const std::string& sid, const std::string& room) override {
        const auto listener = current_listener();
        bool left = false;
        {
            std::lock_guard lock(mutex_);
            if (room == sid) {
                left = present_.erase(sid) != 0;
            } else if (const auto it = socket_rooms_.find(sid); it != socket_rooms_.end()) {
                left = it->second.erase(room) != 0;
                if (it->second.empty()) socket_rooms_.erase(it);
                leave_room(sid, room);
            }
        }
        if (left && listener) (*listener)(room, sid, false);
    }

    void del_all(const std::string& sid) override {
        const auto listener = current_listener();
        std::vector<std::string> left;
        {
            std::lock_guard lock(mutex_);
            if (present_.erase(sid) != 0 && listener) left.push_back(sid);
            const auto it = socket_rooms_.find(sid);
            if (it != socket_rooms_.end()) {
                for (const auto& room : it->second) {
                    leave_room(sid, room);
                    if (listener) left.push_back(room);
                }
                socket_rooms_.erase(it);
            }
        }
        for (const auto& room : left) (*listener)(room, sid, false);
    }

    void on_membership(membership_listener listener) override {
        std::lock_guard lock(mutex_);
        listener_ = listener ? std::make_shared<const membership_listener>(std::move(listener)) : nullptr;
        has_listener_ = listener_ != nullptr;
    }

    std::size_t socket_room_count(const std::string& sid) override {
        std::lock_guard lock(mutex_);
        const auto it = socket_rooms_.find(sid);
        return present_.count(sid) + (it == socket_rooms_.end() ? 0 : it->second.size());
    }

    std::vector<std::string> socket_rooms(const std::string& sid) override {
        std::lock_guard lock(mutex_);
        std::vector<std::string> out;
        if (present_.count(sid)) out.push_back(sid);
        if (const auto it = socket_rooms_.find(sid); it != socket_rooms_.end())
            out.insert(out.end(), it->second.begin(), it->second.end());
        return out;
    }

    bool has_room(const std::string& room) override {
        std::lock_guard lock(mutex_);
        return present_.count(room) != 0 || rooms_.count(room) != 0;
    }

    std::vector<std::string> sockets(const std::vector<std::string>& rooms) override {
        broadcast_options options;
        options.rooms = rooms;
        return targets(options);
    }

    std::size_t room_count() override {
        std::lock_guard lock(mutex_);
        return rooms_.size();
    }

    std::vector<std::string> all_rooms() override {
        std::lock_guard lock(mutex_);
        std::vector<std::string> out(present_.begin(), present_.end()); // each socket's own room
        out.reserve(out.size() + rooms_.size());
        for (const auto& [room, members] : rooms_) out.push_back(room);
        return out;
    }

    void broadcast(const sio::packet& packet, const broadcast_options& options) override {
        std::optional<sio::packet> stored; // with recovery: the packet as kept, its offset last
        auto frames = sockets_.encode_broadcast(packet, options, stored); // once, for every recipient
        if (!frames) return;
        const auto& sent = stored ? *stored : packet;
        std::vector<local_recipient> reached; // room members, held while delivered to
        std::vector<std::string> by_id;       // the rest (sockets in their own room only)
        {
            std::lock_guard lock(mutex_);
            each_target(options, [&](const std::string& sid, const std::weak_ptr<void>* member) {
                auto recipient = member ? member->lock() : nullptr;
                if (recipient) {
                    reached.push_back(std::move(recipient));
                } else {
                    by_id.push_back(sid);
                }
            });
        }
        // Outside the lock: a recipient's outgoing listeners are the application's, and may join rooms.
        if (!reached.empty()) sockets_.deliver_to(reached, sent, *frames, options.volatile_);
        for (const auto& sid : by_id) sockets_.deliver(sid, sent, *frames, options.volatile_);
    }

    void broadcast_with_ack(const sio::packet& packet, const broadcast_options& options,
                            std::function<void(std::size_t)> on_client_count,
                            std::function<void(arguments)> on_ack) override {
        // One ack id for the whole broadcast, as the Node server does, so that it is encoded once. The
        // ids count down from the top while each socket's own count up from 0: they meet only on a
        // socket that has waited for 2^52 answers (and then that socket gets an id of its own).
        sio::packet with_id = packet;
        with_id.id = next_broadcast_ack_id_.fetch_sub(1, std::memory_order_relaxed);
        auto frames = sockets_.encode(with_id);
        std::size_t sent = 0;
        if (frames)
            for (const auto& sid : targets(options))
                if (sockets_.deliver_with_ack(sid, with_id, *frames, options.volatile_, options.timeout, on_ack))
                    ++sent;
        on_client_count(sent);
    }

    void add_sockets(const broadcast_options& options, const std::vector<std::string>& rooms) override {
        for (const auto& sid : targets(options)) add_all(sid, rooms);
    }

    void del_sockets(const broadcast_options& options, const std::vector<std::string>& rooms) override {
        for (const auto& sid : targets(options))
            for (const auto& room : rooms) del(sid, room);
    }

    void disconnect_sockets(const broadcast_options& options, bool close) override {
        for (const auto& sid : targets(options)) sockets_.disconnect(sid, close);
    }

    void fetch_sockets(const broadcast_options& options,
                       cluster_callback<std::vector<socket_description>> done) override {
        sockets_.describe(targets(options), [done = std::move(done)](std::vector<socket_description> found) {
            done({}, std::move(found));
        });
    }

    // One node: nobody else to tell, and no answers to wait for.
    void server_side_emit(const arguments&, cluster_callback<std::vector<arguments>> on_answers) override {
        if (on_answers) on_answers({}, {});
    }

private:
    // Caller holds mutex_.
    std::shared_ptr<const membership_listener> current_listener() {
        if (!has_listener_.load(std::memory_order_relaxed)) return nullptr; // the common case: no lock taken
        std::lock_guard lock(mutex_);
        return listener_;
    }

    void leave_room(const std::string& sid, const std::string& room) {
        const auto it = rooms_.find(room);
        if (it == rooms_.end()) return;
        it->second.erase(sid);
        if (it->second.empty()) rooms_.erase(it);
    }

    /// The ids of the sockets `options` targets, each once.
    std::vector<std::string> targets(const broadcast_options& options) {
        std::vector<std::string> out;
        std::lock_guard lock(mutex_);
        each_target(options, [&](const std::string& sid, const std::weak_ptr<void>*) { out.push_back(sid); });
        return out;
    }

    /// The sockets in the rooms a broadcast leaves out. Usually one (socket.to(room) leaves out its
    /// sender): a short list compared in place rather than a hash per recipient. Views of the index's
    /// keys: valid while mutex_ is held.
    class excluded_sockets {
    public:
        void add(std::string_view sid) {
            if (many_.empty() && few_.size() < few_limit) return few_.push_back(sid);
            if (many_.empty()) many_.insert(few_.begin(), few_.end());
            many_.insert(sid);
        }
        bool contains(std::string_view sid) const {
            if (!many_.empty()) return many_.count(sid) != 0;
            return std::find(few_.begin(), few_.end(), sid) != few_.end();
        }

    private:
        static constexpr std::size_t few_limit = 8;
        std::vector<std::string_view> few_;
        std::unordered_set<std::string_view> many_;
    };

    /// Calls `take(sid, member)` for each socket `options` targets, once each; `member` is the socket
    /// as a room keeps it (null for a socket reached only through its own room). Caller holds mutex_.
    template <class Take>
    void each_target(const broadcast_options& options, Take&& take) {
        excluded_sockets excluded;
        for (const auto& room : options.except) {
            if (const auto it = present_.find(room); it != present_.end()) excluded.add(*it);
            if (const auto it = rooms_.find(room); it != rooms_.end())
                for (const auto& [sid, member] : it->second) excluded.add(sid);
        }

        if (options.rooms.empty()) { // everyone in at least one room
            for (const auto& sid : present_)
                if (!excluded.contains(sid)) take(sid, nullptr);
            for (const auto& [sid, rooms] : socket_rooms_)
                if (!present_.count(sid) && !excluded.contains(sid)) take(sid, nullptr);
            return;
        }
        // One room needs no de-duplication (the common broadcast).
        const bool single = options.rooms.size() == 1;
        std::unordered_set<std::string_view> seen;
        const auto visit = [&](const std::string& sid, const std::weak_ptr<void>* member) {
            if (!excluded.contains(sid) && (single || seen.insert(sid).second)) take(sid, member);
        };
        for (const auto& room : options.rooms) {
            if (const auto it = present_.find(room); it != present_.end()) visit(*it, nullptr);
            const auto it = rooms_.find(room);
            if (it == rooms_.end()) continue;
            for (const auto& [sid, member] : it->second) visit(sid, &member);
        }
    }

    local_sockets& sockets_;
    std::atomic<std::uint64_t> next_broadcast_ack_id_{sio::max_ack_id};
    std::mutex mutex_;
    std::unordered_set<std::string> present_;                                       // in their own room
    std::unordered_map<std::string, members> rooms_;                                // room -> its sockets
    std::unordered_map<std::string, std::unordered_set<std::string>> socket_rooms_; // socket id -> other rooms
    std::shared_ptr<const membership_listener> listener_;                           // (the admin UI's room events)
    std::atomic<bool> has_listener_{false};
};

} // namespace

std::unique_ptr<adapter> make_in_memory_adapter(local_sockets& sockets) {
    return std::make_unique<in_memory_adapter>(sockets);
}

} // namespace switchboard::io
