#include "cluster_adapter.hpp"

#include "../../metrics/counters.hpp"
#include "../../util/log.hpp"
#include "../../util/random_id.hpp"
#include "describe.hpp"

#include <switchboard/io/io.hpp>

#include <algorithm>
#include <mutex>
#include <set>
#include <unordered_map>

namespace switchboard::server::cluster {

namespace {

std::error_code timed_out() { return io::make_error_code(io::errc::timeout); }

/// A query's completion: `ec` set when some node did not answer in time, and who did.
using query_done = std::function<void(std::error_code ec, const io::cluster_answers& answers)>;

/// The namespace's cluster state. Lives as long as something on the strand still needs it; the
/// adapter (owned by the namespace) closes it when the namespace goes, after which nothing here
/// touches the namespace's sockets again.
class cluster_node final : public node, public std::enable_shared_from_this<cluster_node> {
public:
    cluster_node(std::shared_ptr<transport> t, cluster_settings settings, std::string nsp, io::local_sockets& sockets)
        : transport_(std::move(t)), settings_(settings), nsp_(std::move(nsp)), uid_(transport_->new_uid()),
          sockets_(sockets), local_(io::make_in_memory_adapter(sockets)) {}

    const std::string& uid() const noexcept override { return uid_; }
    const std::string& nsp() const noexcept { return nsp_; }
    transport& wire() const noexcept { return *transport_; }
    /// This node's room index and sockets (for the adapter, whose namespace is alive while it calls).
    io::adapter& local() const noexcept { return *local_; }

    /// The namespace is going: nothing arriving from now on reaches its sockets.
    void close() {
        std::lock_guard lock(life_);
        alive_ = false;
    }

    // --- node (on the strand) ---

    bool has_room(const std::string& room) override {
        bool here = false;
        with_local([&] { here = local_->has_room(room) || sockets_.keeps_room(room); });
        return here;
    }

    void on_broadcast(const std::string& uid, sio::packet packet, io::broadcast_options options) override {
        learn(uid);
        if (uid == uid_ || packet.nsp != nsp_) return; // our own, or another namespace's
        options.local = true;                          // delivered here only
        with_local([&] { local_->broadcast(packet, options); });
    }

    void on_request(request r) override;
    void on_response(response r) override;

    // --- queries (any thread) ---

    /// Publishes `r` (as a query of this node) and hands each answer to `on_answer` (on the strand)
    /// until every other node has answered or the request timeout passed; then `done`.
    void ask(request r, std::function<void(const response&)> on_answer, query_done done);
    /// Publishes a broadcast with acks; the other nodes' client counts and acks go to the callbacks
    /// until the broadcast's timeout (or the request timeout) passes.
    void broadcast_with_acks(const sio::packet& packet, const io::broadcast_options& options,
                             std::function<void(std::size_t)> on_client_count,
                             std::function<void(io::arguments)> on_ack);
    /// The number of nodes (this one included; 1 when it cannot be told).
    void server_count(std::function<void(std::size_t)> done);
    /// Rooms that may have appeared or gone here (a transport with room channels follows them).
    void rooms_changed(const std::vector<std::string>& rooms) {
        if (!transport_->follows_rooms()) return;
        for (const auto& room : rooms) transport_->room_changed(nsp_, room);
    }
    /// Publishes a request that expects no answer.
    void tell(request r) {
        r.uid = uid_;
        transport_->publish_request(nsp_, r);
    }

private:
    struct pending_query {
        std::size_t expected = 0, received = 0;
        std::vector<std::string> answered; // the responders that named themselves
        std::function<void(const response&)> on_answer;
        query_done done;
        std::function<void()> cancel_timer;
        std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    };
    struct pending_acks {
        std::function<void(std::size_t)> on_client_count;
        std::function<void(io::arguments)> on_ack;
        std::function<void()> cancel_timer;
    };

    /// Runs `f` with the namespace's sockets if the namespace is still there.
    template <class F>
    void with_local(F&& f) {
        std::lock_guard lock(life_);
        if (alive_) f();
    }
    void reply(cluster::answer a) { transport_->publish_answer(nsp_, uid_, a); }
    void learn(const std::string& uid, bool from_answer = false);
    void finish(const std::string& request_id, std::error_code ec);

    std::shared_ptr<transport> transport_;
    const cluster_settings settings_;
    const std::string nsp_;
    const std::string uid_;
    io::local_sockets& sockets_;
    std::unique_ptr<io::adapter> local_;

    std::mutex life_;
    bool alive_ = true;

    // Strand only.
    std::unordered_map<std::string, pending_query> queries_;
    std::unordered_map<std::string, pending_acks> acks_;
    struct known_node {
        std::chrono::steady_clock::time_point last_heard;
        bool names_itself = false; // its answers carry its uid (a Switchboard node's do, a Node node's not)
    };
    std::unordered_map<std::string, known_node> known_; // the other nodes heard from
};

void cluster_node::learn(const std::string& uid, bool from_answer) {
    if (uid.empty() || uid == uid_ || uid == "emitter") return;
    constexpr std::size_t max_known = 256; // a bound, not a limit on the cluster: the oldest is forgotten
    if (known_.size() >= max_known && !known_.count(uid)) {
        const auto oldest = std::min_element(known_.begin(), known_.end(), [](const auto& a, const auto& b) {
            return a.second.last_heard < b.second.last_heard;
        });
        known_.erase(oldest);
    }
    auto& k = known_[uid];
    k.last_heard = std::chrono::steady_clock::now();
    k.names_itself = k.names_itself || from_answer;
}

void cluster_node::on_request(request r) {
    learn(r.uid);
    if (r.uid == uid_) return; // our own (applied here before it was published)
    const auto reply_to = [&](request_type type) {
        cluster::answer a;
        a.type = type;
        a.request_id = r.request_id;
        a.requester = r.uid;
        return a;
    };
    switch (r.type) {
    case request_type::sockets: {
        auto a = reply_to(r.type);
        with_local([&] { a.names = local_->sockets(r.options.rooms); });
        reply(std::move(a));
        break;
    }
    case request_type::all_rooms: {
        auto a = reply_to(r.type);
        with_local([&] { a.names = local_->all_rooms(); });
        reply(std::move(a));
        break;
    }
    case request_type::remote_join:
    case request_type::remote_leave: {
        const bool join = r.type == request_type::remote_join;
        if (!r.sid.empty()) { // the legacy form: one socket, one room, answered by its node
            bool here = false;
            with_local([&] {
                if (!(here = local_->has_room(r.sid))) return;
                if (join)
                    local_->add_all(r.sid, {r.room});
                else
                    local_->del(r.sid, r.room);
            });
            rooms_changed({r.room});
            if (here && !r.request_id.empty()) reply(reply_to(r.type));
            break;
        }
        with_local([&] {
            if (join)
                local_->add_sockets(r.options, r.rooms);
            else
                local_->del_sockets(r.options, r.rooms);
        });
        rooms_changed(r.rooms);
        break;
    }
    case request_type::remote_disconnect: {
        if (!r.sid.empty()) {
            bool here = false;
            with_local([&] {
                if ((here = local_->has_room(r.sid))) sockets_.disconnect(r.sid, r.close);
            });
            if (here && !r.request_id.empty()) reply(reply_to(r.type));
            break;
        }
        with_local([&] { local_->disconnect_sockets(r.options, r.close); });
        break;
    }
    case request_type::remote_fetch: {
        // Every other node answers, even with no socket: the asker counts answers.
        with_local([&] {
            local_->fetch_sockets(r.options, [self = shared_from_this(), a = reply_to(r.type)](
                                                 std::error_code, std::vector<io::socket_description> found) mutable {
                for (const auto& d : found) a.sockets.push_back(describe_json(d));
                self->reply(std::move(a));
            });
        });
        break;
    }
    case request_type::server_side_emit: {
        auto* values = r.packet.data.if_array(); // another node's (or the emitter's) data
        if (!values) break;
        std::function<void(io::arguments)> reply;
        if (!r.request_id.empty())
            reply = [self = shared_from_this(), a = reply_to(r.type)](io::arguments args) mutable {
                // Only the first value crosses, as with the Node adapter.
                if (!args.values.empty()) a.value = std::move(args.values.front());
                a.attachments = std::move(args.attachments);
                self->reply(std::move(a));
            };
        io::arguments args(std::move(*values), std::move(r.packet.attachments));
        with_local([&] { sockets_.server_side_event(std::move(args), std::move(reply)); });
        break;
    }
    case request_type::broadcast: {
        if (r.request_id.empty() || r.packet.nsp != nsp_) break;
        r.options.local = true;
        auto self = shared_from_this();
        with_local([&] {
            local_->broadcast_with_ack(
                r.packet, r.options,
                [self, a = reply_to(request_type::broadcast_client_count)](std::size_t n) mutable {
                    a.client_count = n;
                    self->reply(std::move(a));
                },
                [self, a = reply_to(request_type::broadcast_ack)](io::arguments args) {
                    auto copy = a;
                    if (!args.values.empty()) copy.value = std::move(args.values.front());
                    copy.attachments = std::move(args.attachments);
                    self->reply(std::move(copy));
                });
        });
        break;
    }
    case request_type::broadcast_client_count:
    case request_type::broadcast_ack: break; // responses, not requests
    }
}

void cluster_node::on_response(response r) {
    std::string responder;
    if (const auto* uid = r.body.if_contains("uid"); uid && uid->is_string()) responder = uid->get_string();
    learn(responder, true);
    if (r.type == request_type::broadcast_client_count || r.type == request_type::broadcast_ack) {
        const auto it = acks_.find(r.request_id);
        if (it == acks_.end()) return; // another node's, or expired
        if (r.type == request_type::broadcast_client_count) {
            const auto* count = r.body.if_contains("clientCount");
            if (count && count->is_number()) {
                std::error_code ec;
                const auto n = count->to_number<std::size_t>(ec);
                if (!ec) it->second.on_client_count(n);
            }
        } else {
            boost::json::array first;
            if (const auto* packet = r.body.if_contains("packet")) first.push_back(*packet);
            it->second.on_ack(io::arguments(std::move(first), std::move(r.attachments)));
        }
        return;
    }
    const auto it = queries_.find(r.request_id);
    if (it == queries_.end()) return; // not ours (responses are shared by every node), or too late
    auto& q = it->second;
    ++q.received;
    if (!responder.empty()) q.answered.push_back(responder);
    q.on_answer(r);
    if (q.received >= q.expected) finish(r.request_id, {});
}

void cluster_node::finish(const std::string& request_id, std::error_code ec) {
    auto node = queries_.extract(request_id);
    if (node.empty()) return;
    auto& q = node.mapped();
    if (q.cancel_timer) q.cancel_timer();
    metrics::observe(metrics::histogram::adapter_request, std::chrono::steady_clock::now() - q.started);
    io::cluster_answers answers;
    answers.asked = q.expected;
    answers.answered = q.received;
    if (ec) {
        // Who was silent, as far as can be told: a node whose answers name it and that did not answer;
        // a node whose answers are anonymous (a Node node's) only when no anonymous answer came.
        const bool anonymous_answers = q.received > q.answered.size();
        for (const auto& [uid, k] : known_) {
            const bool answered = std::find(q.answered.begin(), q.answered.end(), uid) != q.answered.end();
            if (!answered && (k.names_itself || !anonymous_answers)) answers.silent.push_back(uid);
        }
    }
    q.done(ec, answers);
}

void cluster_node::ask(request r, std::function<void(const response&)> on_answer, query_done done) {
    r.uid = uid_;
    r.request_id = random_token(6); // as the Node adapter's
    transport_->post([self = shared_from_this(), r = std::move(r), on_answer = std::move(on_answer),
                      done = std::move(done)]() mutable {
        self->transport_->count_nodes(self->nsp_, [self, r = std::move(r), on_answer = std::move(on_answer),
                                                   done = std::move(done)](std::optional<std::size_t> nodes) mutable {
            if (!nodes) {
                // Redis is away: this node answers alone (as its broadcasts reach its sockets alone).
                SB_LOG(warn, "cluster: the other nodes cannot be asked now (no connection); {} answers alone",
                       self->nsp_);
                return done({}, {});
            }
            const std::size_t others = *nodes > 0 ? *nodes - 1 : 0;
            if (others == 0) return done({}, {});
            const auto id = r.request_id;
            auto& q = self->queries_[id];
            q.expected = others;
            q.on_answer = std::move(on_answer);
            q.done = std::move(done);
            q.cancel_timer = self->transport_->after(self->settings_.requests_timeout,
                                                     [weak = std::weak_ptr<cluster_node>(self), id] {
                                                         if (auto s = weak.lock()) s->finish(id, timed_out());
                                                     });
            self->transport_->publish_request(self->nsp_, r);
        });
    });
}

void cluster_node::broadcast_with_acks(const sio::packet& packet, const io::broadcast_options& options,
                                       std::function<void(std::size_t)> on_client_count,
                                       std::function<void(io::arguments)> on_ack) {
    request r;
    r.type = request_type::broadcast;
    r.uid = uid_;
    r.request_id = random_token(6); // as the Node adapter's
    r.packet = packet;
    r.options = options;
    r.options.partial = nullptr;
    transport_->post([self = shared_from_this(), r = std::move(r), on_client_count = std::move(on_client_count),
                      on_ack = std::move(on_ack)]() mutable {
        const auto id = r.request_id;
        auto& entry = self->acks_[id];
        entry.on_client_count = std::move(on_client_count);
        entry.on_ack = std::move(on_ack);
        // The answers are forgotten with the broadcast's timeout (or the request timeout).
        entry.cancel_timer = self->transport_->after(r.options.timeout.value_or(self->settings_.requests_timeout),
                                                     [weak = std::weak_ptr<cluster_node>(self), id] {
                                                         if (auto s = weak.lock()) s->acks_.erase(id);
                                                     });
        self->transport_->publish_request(self->nsp_, r);
    });
}

void cluster_node::server_count(std::function<void(std::size_t)> done) {
    transport_->post([self = shared_from_this(), done = std::move(done)]() mutable {
        self->transport_->count_nodes(self->nsp_, [done = std::move(done)](std::optional<std::size_t> nodes) {
            done(std::max<std::size_t>(nodes.value_or(1), 1));
        });
    });
}

/// Collects this node's part and the other nodes' answers of one query.
template <class T>
struct query_gather {
    std::mutex mutex;
    int parts = 2; // this node's, the other nodes'
    std::error_code ec;
    std::vector<T> found;
    bool keep_partial = false; // on a timeout, hand over what arrived
    io::cluster_callback<std::vector<T>> done;

    void add(std::error_code e, std::vector<T> some) {
        std::unique_lock lock(mutex);
        if (e && !ec) ec = e;
        std::move(some.begin(), some.end(), std::back_inserter(found));
        if (--parts > 0) return;
        auto out = std::move(found);
        if (ec && !keep_partial) out.clear();
        lock.unlock();
        done(ec, std::move(out));
    }
};

/// The io::adapter of a namespace in the cluster.
class cluster_adapter final : public io::adapter {
public:
    explicit cluster_adapter(std::shared_ptr<cluster_node> n) : node_(std::move(n)) {
        node_->wire().attach(node_->nsp(), node_);
    }
    ~cluster_adapter() override {
        node_->wire().detach(node_->nsp());
        node_->close();
    }

    // Room membership: local. A transport with room channels hears of rooms that appeared or went.
    void add_all(const std::string& sid, const std::vector<std::string>& rooms) override {
        if (!node_->wire().follows_rooms()) return local().add_all(sid, rooms);
        std::vector<std::string> fresh;
        for (const auto& room : rooms)
            if (room != sid && !local().has_room(room)) fresh.push_back(room);
        local().add_all(sid, rooms);
        node_->rooms_changed(fresh);
    }
    void del(const std::string& sid, const std::string& room) override {
        local().del(sid, room);
        if (room != sid && node_->wire().follows_rooms() && !local().has_room(room)) node_->rooms_changed({room});
    }
    void del_all(const std::string& sid) override {
        if (!node_->wire().follows_rooms()) return local().del_all(sid);
        auto rooms = local().socket_rooms(sid);
        local().del_all(sid);
        std::erase_if(rooms, [&](const std::string& room) { return room == sid || local().has_room(room); });
        node_->rooms_changed(rooms);
    }
    std::vector<std::string> socket_rooms(const std::string& sid) override { return local().socket_rooms(sid); }
    std::size_t socket_room_count(const std::string& sid) override { return local().socket_room_count(sid); }
    std::vector<std::string> sockets(const std::vector<std::string>& rooms) override { return local().sockets(rooms); }
    std::vector<std::string> all_rooms() override { return local().all_rooms(); }
    std::size_t room_count() override { return local().room_count(); }
    void on_membership(membership_listener listener) override { local().on_membership(std::move(listener)); }
    bool connected() const override { return node_->wire().connected(); }
    bool has_room(const std::string& room) override { return local().has_room(room); }
    void server_count(std::function<void(std::size_t)> done) override { node_->server_count(std::move(done)); }
    std::string node_id() const override { return node_->uid(); }

    void broadcast(const sio::packet& packet, const io::broadcast_options& options) override {
        local().broadcast(packet, options);
        if (!options.local) node_->wire().publish_broadcast(node_->nsp(), node_->uid(), packet, options);
    }

    void broadcast_with_ack(const sio::packet& packet, const io::broadcast_options& options,
                            std::function<void(std::size_t)> on_client_count,
                            std::function<void(io::arguments)> on_ack) override {
        local().broadcast_with_ack(packet, options, on_client_count, on_ack);
        if (!options.local) node_->broadcast_with_acks(packet, options, std::move(on_client_count), std::move(on_ack));
    }

    // Applied here at once and published; the other nodes apply it when it arrives (idempotent, so a
    // Node node that also applies its own requests on their way back is not a problem).
    void add_sockets(const io::broadcast_options& options, const std::vector<std::string>& rooms) override {
        local().add_sockets(options, rooms);
        node_->rooms_changed(rooms);
        if (!options.local) node_->tell(membership_request(request_type::remote_join, options, rooms));
    }
    void del_sockets(const io::broadcast_options& options, const std::vector<std::string>& rooms) override {
        local().del_sockets(options, rooms);
        node_->rooms_changed(rooms);
        if (!options.local) node_->tell(membership_request(request_type::remote_leave, options, rooms));
    }
    void disconnect_sockets(const io::broadcast_options& options, bool close) override {
        local().disconnect_sockets(options, close);
        if (options.local) return;
        request r;
        r.type = request_type::remote_disconnect;
        r.options = plain(options);
        r.close = close;
        node_->tell(std::move(r));
    }

    void fetch_sockets(const io::broadcast_options& options,
                       io::cluster_callback<std::vector<io::socket_description>> done) override {
        if (options.local) return local().fetch_sockets(options, std::move(done));
        auto gather = std::make_shared<query_gather<io::socket_description>>();
        gather->keep_partial = options.partial != nullptr;
        gather->done = std::move(done);
        local().fetch_sockets(options, [gather](std::error_code ec, std::vector<io::socket_description> found) {
            gather->add(ec, std::move(found));
        });
        request r;
        r.type = request_type::remote_fetch;
        r.options = plain(options);
        auto remote = std::make_shared<std::vector<io::socket_description>>();
        node_->ask(
            std::move(r),
            [remote](const response& answer) {
                const auto* sockets = answer.body.if_contains("sockets");
                if (!sockets || !sockets->is_array()) return;
                for (const auto& s : sockets->get_array())
                    if (auto d = description_from_json(s)) remote->push_back(std::move(*d));
            },
            [gather, remote, partial = options.partial](std::error_code ec, const io::cluster_answers& answers) {
                if (ec && partial && *partial) (*partial)(answers);
                gather->add(ec, std::move(*remote));
            });
    }

    void fetch_socket_ids(const std::vector<std::string>& rooms,
                          io::cluster_callback<std::vector<std::string>> done) override {
        if (!node_->wire().carries(request_type::sockets)) {
            io::broadcast_options targets;
            targets.rooms = rooms;
            return names_by_fetch(
                targets, [](const io::socket_description& d) { return std::vector{d.id}; }, std::move(done));
        }
        request r;
        r.type = request_type::sockets;
        r.options.rooms = rooms;
        gather_names(std::move(r), local().sockets(rooms), "sockets", std::move(done));
    }
    void fetch_rooms(io::cluster_callback<std::vector<std::string>> done) override {
        if (!node_->wire().carries(request_type::all_rooms))
            return names_by_fetch(
                {}, [](const io::socket_description& d) { return d.rooms; }, std::move(done));
        request r;
        r.type = request_type::all_rooms;
        gather_names(std::move(r), local().all_rooms(), "rooms", std::move(done));
    }

    void server_side_emit(const io::arguments& args,
                          io::cluster_callback<std::vector<io::arguments>> on_answers) override {
        request r;
        r.type = request_type::server_side_emit;
        r.packet.data = args.values;
        r.packet.attachments = args.attachments;
        if (!on_answers) return node_->tell(std::move(r));
        auto answers = std::make_shared<std::vector<io::arguments>>();
        node_->ask(
            std::move(r),
            [answers](const response& answer) {
                boost::json::array value;
                if (const auto* data = answer.body.if_contains("data")) value.push_back(*data);
                answers->emplace_back(std::move(value));
            },
            // On a timeout the answers that came are handed over with the error, as Socket.IO does.
            [answers, on_answers = std::move(on_answers)](std::error_code ec, const io::cluster_answers&) {
                on_answers(ec, std::move(*answers));
            });
    }

private:
    io::adapter& local() const noexcept { return node_->local(); }

    /// The targeting part of `options` (what crosses to the other nodes for an operator).
    static io::broadcast_options plain(const io::broadcast_options& options) {
        io::broadcast_options out;
        out.rooms = options.rooms;
        out.except = options.except;
        return out;
    }
    static request membership_request(request_type type, const io::broadcast_options& options,
                                      const std::vector<std::string>& rooms) {
        request r;
        r.type = type;
        r.options = plain(options);
        r.rooms = rooms;
        return r;
    }

    /// A query whose answers are lists of names (`field` of each answer), merged without repeats.
    void gather_names(request r, std::vector<std::string> here, const char* field,
                      io::cluster_callback<std::vector<std::string>> done) {
        auto names = std::make_shared<std::set<std::string>>(here.begin(), here.end());
        node_->ask(
            std::move(r),
            [names, field](const response& answer) {
                const auto* list = answer.body.if_contains(field);
                if (!list || !list->is_array()) return;
                for (const auto& name : list->get_array())
                    if (name.is_string()) names->emplace(name.get_string());
            },
            [names, done = std::move(done)](std::error_code ec, const io::cluster_answers&) {
                if (ec) return done(ec, {});
                done({}, std::vector<std::string>(names->begin(), names->end()));
            });
    }

    /// Names gathered from every socket a fetch finds (for a wire without the request that asks for them).
    void names_by_fetch(const io::broadcast_options& targets,
                        std::function<std::vector<std::string>(const io::socket_description&)> names_of,
                        io::cluster_callback<std::vector<std::string>> done) {
        fetch_sockets(targets, [names_of = std::move(names_of),
                                done = std::move(done)](std::error_code ec, std::vector<io::socket_description> found) {
            std::set<std::string> names;
            for (const auto& d : found)
                for (auto& name : names_of(d)) names.insert(std::move(name));
            done(ec, std::vector<std::string>(names.begin(), names.end()));
        });
    }

    std::shared_ptr<cluster_node> node_;
};

} // namespace

std::unique_ptr<io::adapter> make_cluster_adapter(std::shared_ptr<transport> t, const cluster_settings& settings,
                                                  std::string nsp, io::local_sockets& sockets) {
    return std::make_unique<cluster_adapter>(
        std::make_shared<cluster_node>(std::move(t), settings, std::move(nsp), sockets));
}

} // namespace switchboard::server::cluster
