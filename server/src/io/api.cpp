// The public handles (io::server, io::nsp, io::socket, io::broadcast_operator) over the internals.
#include "core.hpp"

#include "../adapter/redis/adapter.hpp"

#include <switchboard/io/admin.hpp>
#include <switchboard/io/jwt.hpp>

#include <fstream>
#include <sstream>

#include <strings.h>

namespace switchboard::io {

using detail::namespace_impl;

// --- errors ------------------------------------------------------------------------------------------

namespace {
class io_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "switchboard.io"; }
    std::string message(int code) const override {
        switch (static_cast<errc>(code)) {
        case errc::timeout: return "operation has timed out";
        case errc::disconnected: return "socket is disconnected";
        case errc::queue_full: return "the socket's queue is full: not sent";
        case errc::over_high_water: return "sent; the socket's queue is past its high-water mark";
        }
        return "unknown error";
    }
};
} // namespace

const std::error_category& io_category() noexcept {
    static const io_error_category category;
    return category;
}

const std::string* handshake_info::header(std::string_view name) const noexcept {
    for (const auto& [key, value] : headers)
        if (key.size() == name.size() && ::strncasecmp(key.data(), name.data(), name.size()) == 0) return &value;
    return nullptr;
}

void ack_responder::answer(arguments args) const {
    if (state_) state_->answer(std::move(args));
}

// --- broadcast_operator ------------------------------------------------------------------------------

broadcast_operator broadcast_operator::to(std::string room) const {
    auto copy = *this;
    copy.options_.rooms.push_back(std::move(room));
    return copy;
}

broadcast_operator broadcast_operator::to(const std::vector<std::string>& rooms) const {
    auto copy = *this;
    copy.options_.rooms.insert(copy.options_.rooms.end(), rooms.begin(), rooms.end());
    return copy;
}

broadcast_operator broadcast_operator::except(std::string room) const {
    auto copy = *this;
    copy.options_.except.push_back(std::move(room));
    return copy;
}

broadcast_operator broadcast_operator::except(const std::vector<std::string>& rooms) const {
    auto copy = *this;
    copy.options_.except.insert(copy.options_.except.end(), rooms.begin(), rooms.end());
    return copy;
}

broadcast_operator broadcast_operator::volatile_() const {
    auto copy = *this;
    copy.options_.volatile_ = true;
    return copy;
}

broadcast_operator broadcast_operator::local() const {
    auto copy = *this;
    copy.options_.local = true;
    return copy;
}

broadcast_operator broadcast_operator::timeout(std::chrono::milliseconds ms) const {
    auto copy = *this;
    copy.options_.timeout = ms;
    return copy;
}

broadcast_operator broadcast_operator::partial(partial_report report) const {
    auto copy = *this;
    // The adapter calls it on its own thread: behind the barrier, as every application callback.
    copy.options_.partial =
        std::make_shared<const partial_report>([report = std::move(report)](const cluster_answers& a) {
            detail::run_guarded("server", "a partial-result report", [&] { report(a); });
        });
    return copy;
}

namespace {

/// Runs the application's `callback` for an operation started by `origin` (on its strand), or by
/// no socket (on the calling thread), behind the barrier.
void run_callback(const std::shared_ptr<detail::socket_impl>& origin, std::string_view what,
                  std::function<void()> callback) {
    auto run = [origin, what, callback = std::move(callback)] {
        const std::string_view peer = origin ? std::string_view(origin->peer()) : std::string_view("server");
        if (!detail::run_guarded(peer, what, callback) && origin) origin->on_handler_failure();
    };
    if (origin) {
        origin->owner->engine().execute(std::move(run));
    } else {
        run();
    }
}

/// Gathers the answers of a broadcast with ack: done when every node of every targeted namespace
/// has said how many clients it sent to and that many answers are in, or at the timeout.
struct ack_gather {
    std::mutex mutex;
    std::size_t awaiting_server_counts = 0; // namespaces whose adapters have not said how many nodes
    std::size_t expected_counts = 0;        // client counts to come (one per node)
    std::size_t counts = 0;                 // client counts that came
    std::size_t expected = 0;               // answers to come: the sum of the client counts
    std::vector<arguments> replies;
    bool done = false;
    broadcast_ack_callback callback;
    std::shared_ptr<const partial_report> partial;
    std::shared_ptr<detail::socket_impl> origin; // its strand runs the callback; none: any thread

    void finish_if_complete(std::unique_lock<std::mutex>& lock) {
        if (done || awaiting_server_counts > 0 || counts < expected_counts || replies.size() < expected) return;
        complete(lock, {});
    }

    void complete(std::unique_lock<std::mutex>& lock, std::error_code ec) {
        done = true;
        cluster_answers answers;
        answers.asked = expected_counts > 0 ? expected_counts - 1 : 0; // the other nodes
        answers.answered = counts > 0 ? std::min(counts - 1, answers.asked) : 0;
        lock.unlock();
        if (ec && partial && *partial)
            run_callback(origin, "a partial-result report", [report = partial, answers] { (*report)(answers); });
        run_callback(origin, "a broadcast's ack callback",
                     [cb = std::move(callback), out = std::move(replies), ec]() mutable { cb(ec, std::move(out)); });
    }
};

} // namespace

std::error_code broadcast_operator::emit_args(std::string_view name, arguments args) const {
    const auto targets = nsp_->targets();
    for (const auto& ns : targets) {
        auto packet = detail::make_event_packet(ns->name, name, targets.size() > 1 ? args : std::move(args));
        if (!packet) return packet.error();
        ns->adapter->broadcast(*packet, options_); // each node keeps it for recovery as it delivers it
    }
    return {};
}

std::error_code broadcast_operator::emit_args(std::string_view name, arguments args,
                                              broadcast_ack_callback callback) const {
    const auto targets = nsp_->targets();
    if (auto probe = detail::make_event_packet("/", name, {}); !probe) return probe.error();
    auto gather = std::make_shared<ack_gather>();
    gather->awaiting_server_counts = targets.size();
    gather->callback = std::move(callback);
    gather->partial = options_.partial;
    gather->origin = origin_;
    if (options_.timeout) {
        nsp_->core.http.post_after(*options_.timeout, [gather] {
            std::unique_lock lock(gather->mutex);
            if (!gather->done) gather->complete(lock, make_error_code(errc::timeout));
        });
    }
    if (targets.empty()) {
        std::unique_lock lock(gather->mutex);
        gather->finish_if_complete(lock);
        return {};
    }
    for (const auto& ns : targets) {
        auto packet = detail::make_event_packet(ns->name, name, args);
        if (!packet) return packet.error();
        // Every node of the cluster reports a client count (this one only, for a local broadcast).
        const auto count_nodes = [&](std::function<void(std::size_t)> done) {
            if (options_.local) return done(1);
            ns->adapter->server_count(std::move(done));
        };
        count_nodes([gather](std::size_t nodes) {
            std::unique_lock lock(gather->mutex);
            gather->expected_counts += nodes;
            --gather->awaiting_server_counts;
            gather->finish_if_complete(lock);
        });
        ns->adapter->broadcast_with_ack(
            *packet, options_,
            [gather](std::size_t count) {
                std::unique_lock lock(gather->mutex);
                gather->expected += count;
                ++gather->counts;
                gather->finish_if_complete(lock);
            },
            [gather](arguments reply) {
                std::unique_lock lock(gather->mutex);
                if (gather->done) return;
                gather->replies.push_back(std::move(reply));
                gather->finish_if_complete(lock);
            });
    }
    return {};
}

void broadcast_operator::sockets_join(const std::vector<std::string>& rooms) const {
    for (const auto& ns : nsp_->targets()) ns->adapter->add_sockets(options_, rooms);
}

void broadcast_operator::sockets_leave(const std::vector<std::string>& rooms) const {
    for (const auto& ns : nsp_->targets()) ns->adapter->del_sockets(options_, rooms);
}

void broadcast_operator::disconnect_sockets(bool close) const {
    for (const auto& ns : nsp_->targets()) ns->adapter->disconnect_sockets(options_, close);
}

namespace {

/// Collects a cluster query's results over the namespaces it targets (one, or a dynamic family's).
template <class T>
struct query_gather {
    std::mutex mutex;
    std::size_t pending = 0;
    std::error_code ec;
    std::vector<T> results;
    std::function<void(std::error_code, std::vector<T>)> done;

    void add(std::error_code e, std::vector<T> some) {
        std::unique_lock lock(mutex);
        if (e && !ec) ec = e;
        std::move(some.begin(), some.end(), std::back_inserter(results));
        if (--pending > 0) return;
        auto out = std::move(results);
        lock.unlock();
        done(ec, std::move(out));
    }
};

} // namespace

void broadcast_operator::fetch_sockets(fetch_callback done) const {
    const auto targets = nsp_->targets();
    auto gather = std::make_shared<query_gather<remote_socket>>();
    gather->pending = targets.size();
    gather->done = [origin = origin_, done = std::move(done)](std::error_code ec, std::vector<remote_socket> found) {
        run_callback(origin, "a fetch_sockets callback",
                     [done, ec, found = std::move(found)]() mutable { done(ec, std::move(found)); });
    };
    if (targets.empty()) return gather->done({}, {});
    for (const auto& ns : targets)
        ns->adapter->fetch_sockets(options_, [gather, ns](std::error_code ec, std::vector<socket_description> found) {
            std::vector<remote_socket> sockets;
            sockets.reserve(found.size());
            for (auto& d : found) {
                auto local = ns->find(d.id);
                sockets.emplace_back(ns, std::move(d), std::move(local));
            }
            gather->add(ec, std::move(sockets));
        });
}

void broadcast_operator::fetch_socket_ids(cluster_callback<std::vector<std::string>> done) const {
    const auto targets = nsp_->targets();
    auto gather = std::make_shared<query_gather<std::string>>();
    gather->pending = targets.size();
    gather->done = [origin = origin_, done = std::move(done)](std::error_code ec, std::vector<std::string> ids) {
        run_callback(origin, "a fetch_socket_ids callback",
                     [done, ec, ids = std::move(ids)]() mutable { done(ec, std::move(ids)); });
    };
    if (targets.empty()) return gather->done({}, {});
    for (const auto& ns : targets)
        ns->adapter->fetch_socket_ids(options_.rooms, [gather](std::error_code ec, std::vector<std::string> ids) {
            gather->add(ec, std::move(ids));
        });
}

broadcast_operator remote_socket::target() const { return broadcast_operator(nsp_).to(description_.id); }

// --- socket ------------------------------------------------------------------------------------------

const std::string& socket::id() const noexcept { return impl_->id; }
const std::string& socket::nsp_name() const noexcept { return impl_->nsp->name; }
const handshake_info& socket::handshake() const { return impl_->handshake(); }
const std::string& socket::conn_id() const noexcept { return impl_->owner->engine().id(); }
std::string_view socket::transport() const noexcept { return impl_->owner->engine().transport_name(); }
bool socket::connected() const noexcept { return impl_->connected; }

bool socket::recovered() const noexcept { return impl_->recovery && impl_->recovery->recovered; }
boost::json::value& socket::data() const { return impl_->data(); }

const socket& socket::on(std::string event, event_handler handler) const {
    auto& handlers = impl_->handlers;
    // A socket has a few handlers for the life of its connection: grow a short list to fit.
    if (handlers.size() == handlers.capacity() && handlers.size() < 8) handlers.reserve(handlers.size() + 1);
    handlers.emplace_back(std::move(event), std::move(handler));
    return *this;
}

const socket& socket::on(std::string event, socket_event_handler handler) const {
    // The handler gets its socket from a weak reference: holding it would make a cycle.
    return on(std::move(event),
              [weak = std::weak_ptr<detail::socket_impl>(impl_), handler = std::move(handler)](io::event& e) {
                  if (auto impl = weak.lock()) {
                      socket self(std::move(impl));
                      handler(self, e);
                  }
              });
}

const socket& socket::off(const std::string& event) const {
    std::erase_if(impl_->handlers, [&](const auto& h) { return h.first == event; });
    return *this;
}

const socket& socket::on_any(any_handler handler) const {
    impl_->rare_made().any_incoming.push_back(std::move(handler));
    return *this;
}

const socket& socket::on_any_outgoing(any_handler handler) const {
    impl_->rare_made().any_outgoing.push_back(std::move(handler));
    impl_->has_outgoing_listeners = true;
    return *this;
}

const socket& socket::on_disconnecting(disconnect_handler handler) const {
    impl_->rare_made().disconnecting.push_back(std::move(handler));
    return *this;
}

const socket& socket::on_disconnect(disconnect_handler handler) const {
    impl_->disconnect_handlers.push_back(std::move(handler));
    return *this;
}

std::error_code socket::emit_args(std::string_view name, arguments args) const {
    return impl_->emit(name, std::move(args), nullptr, ack_timeout(), volatile_flag_, overflow_);
}

std::error_code socket::emit_args(std::string_view name, arguments args, ack_callback callback) const {
    return impl_->emit(name, std::move(args), std::move(callback), ack_timeout(), volatile_flag_, overflow_);
}

socket socket::when_full(overflow policy) const {
    auto copy = *this;
    copy.overflow_ = policy;
    return copy;
}

std::size_t socket::buffered_amount() const noexcept { return impl_->owner->engine().buffered_amount(); }

const socket& socket::on_drain(std::function<void()> handler) const {
    impl_->rare_made().drain.push_back(std::move(handler));
    return *this;
}

socket socket::timeout(std::chrono::milliseconds ms) const {
    auto copy = *this;
    copy.timeout_ = ms;
    return copy;
}

socket socket::volatile_() const {
    auto copy = *this;
    copy.volatile_flag_ = true;
    return copy;
}

bool socket::join(const std::string& room) const { return join(std::vector<std::string>{room}); }

bool socket::join(const std::vector<std::string>& rooms) const {
    // A socket that has left its namespace joins nothing: its rooms would outlive it. close() marks
    // the socket disconnected before the adapter drops its rooms, so a join racing with it is undone
    // either by close() or by the check after it.
    if (!impl_->connected) return false;
    auto& adapter = *impl_->nsp->adapter;
    bool all = true;
    const std::size_t most = impl_->nsp->core.http.config().max_rooms_per_socket;
    if (most != 0 && adapter.socket_room_count(impl_->id) + rooms.size() > most) {
        // Near the cap (rare): rooms already joined cost nothing; new ones only while under it.
        const auto joined = adapter.socket_rooms(impl_->id);
        std::vector<std::string> admitted;
        std::size_t count = joined.size();
        for (const auto& room : rooms) {
            const bool have = std::find(joined.begin(), joined.end(), room) != joined.end() ||
                              std::find(admitted.begin(), admitted.end(), room) != admitted.end();
            if (have) continue;
            if (count >= most) {
                all = false;
                continue;
            }
            admitted.push_back(room);
            ++count;
        }
        if (!all) {
            SB_LOG(debug, "{}: a join past --max-rooms-per-socket ({}) refused", impl_->peer(), most);
            metrics::add(metrics::counter::refused_rooms);
        }
        adapter.add_all(impl_->id, admitted);
    } else {
        adapter.add_all(impl_->id, rooms);
    }
    if (!impl_->connected) adapter.del_all(impl_->id);
    impl_->rooms_changed();
    return all && impl_->connected;
}

void socket::leave(const std::string& room) const {
    impl_->nsp->adapter->del(impl_->id, room);
    impl_->rooms_changed();
}

std::vector<std::string> socket::rooms() const { return impl_->nsp->adapter->socket_rooms(impl_->id); }

broadcast_operator socket::broadcast() const {
    broadcast_options options;
    options.except.push_back(impl_->id);
    options.volatile_ = volatile_flag_;
    options.timeout = ack_timeout();
    return broadcast_operator(impl_->nsp, std::move(options), impl_);
}

void socket::disconnect(bool close) const { impl_->disconnect(close); }

// --- nsp ---------------------------------------------------------------------------------------------

const std::string& nsp::name() const noexcept { return impl_->name; }

const nsp& nsp::use(middleware fn) const {
    impl_->use(std::move(fn));
    return *this;
}

const nsp& nsp::on_connection(connection_handler handler) const {
    impl_->on_connection(std::move(handler));
    return *this;
}

const nsp& nsp::on_server_side(std::string event, event_handler handler) const {
    impl_->on_server_side(std::move(event), std::move(handler));
    return *this;
}

void nsp::fetch_rooms(cluster_callback<std::vector<std::string>> done) const {
    const auto targets = impl_->targets();
    auto gather = std::make_shared<query_gather<std::string>>();
    gather->pending = targets.size();
    gather->done = [done = std::move(done)](std::error_code ec, std::vector<std::string> rooms) {
        run_callback(nullptr, "a fetch_rooms callback",
                     [done, ec, rooms = std::move(rooms)]() mutable { done(ec, std::move(rooms)); });
    };
    if (targets.empty()) return gather->done({}, {});
    for (const auto& ns : targets)
        ns->adapter->fetch_rooms(
            [gather](std::error_code ec, std::vector<std::string> rooms) { gather->add(ec, std::move(rooms)); });
}

std::error_code nsp::server_side_emit_args(std::string_view name, arguments args, server_side_callback callback) const {
    const auto& impl = impl_;
    auto packet = detail::make_event_packet(impl->name, name, std::move(args)); // validates the name
    if (!packet) return packet.error();
    arguments data;
    if (auto* values = packet->data.if_array()) data.values = std::move(*values); // [name, ...args]
    data.attachments = std::move(packet->attachments);
    const auto targets = impl->targets();
    if (!callback) {
        for (const auto& ns : targets) ns->adapter->server_side_emit(data, nullptr);
        return {};
    }
    auto gather = std::make_shared<query_gather<arguments>>();
    gather->pending = targets.size();
    gather->done = [callback = std::move(callback)](std::error_code ec, std::vector<arguments> answers) {
        run_callback(nullptr, "a server-side emit's callback",
                     [callback, ec, answers = std::move(answers)]() mutable { callback(ec, std::move(answers)); });
    };
    if (targets.empty()) {
        gather->done({}, {});
        return {};
    }
    for (const auto& ns : targets)
        ns->adapter->server_side_emit(data, [gather](std::error_code ec, std::vector<arguments> answers) {
            gather->add(ec, std::move(answers));
        });
    return {};
}

std::vector<socket> nsp::sockets() const {
    std::vector<socket> out;
    for (auto& s : impl_->connected()) out.emplace_back(std::move(s));
    return out;
}

io::adapter* nsp::adapter() const noexcept { return impl_->adapter.get(); }

// --- server ------------------------------------------------------------------------------------------

namespace {
std::string normalized(std::string_view name) {
    std::string out;
    if (name.substr(0, 1) != "/") out.push_back('/');
    out.append(name);
    return out;
}
} // namespace

namespace {

// The configuration's --redis, unless the application chose an adapter itself.
server_options with_configured_adapter(const switchboard::server::server& http, server_options options) {
    const auto& cfg = http.config();
    if (!options.adapter && !cfg.redis_url.empty())
        if (const auto at = switchboard::server::redis::parse_url(cfg.redis_url))
            options.adapter = switchboard::server::redis::make_adapter_factory(
                *at, cfg.redis_key, std::chrono::milliseconds(cfg.redis_requests_timeout_ms), cfg.redis_sharded);
    if (options.recovery.window.count() == 0 && cfg.recovery_window_ms != 0) {
        options.recovery.window = std::chrono::milliseconds(cfg.recovery_window_ms);
        options.recovery.database = cfg.recovery_db;
        options.recovery.redis = cfg.redis_url; // a cluster keeps them in Redis instead
        options.recovery.redis_key = cfg.redis_key;
    }
    return options;
}

} // namespace

namespace {

// The configuration's --jwt-*: a token check before every namespace's middleware. Throws when the key
// cannot be read (the server should not start open by mistake).
std::vector<middleware> configured_middleware(const switchboard::server::server_config& cfg) {
    if (cfg.jwt_secret.empty() && cfg.jwt_public_key_file.empty()) return {};
    jwt_options options;
    options.secret = cfg.jwt_secret;
    options.audience = cfg.jwt_audience;
    options.issuer = cfg.jwt_issuer;
    if (!cfg.jwt_public_key_file.empty()) {
        std::ifstream in(cfg.jwt_public_key_file);
        if (!in) throw std::runtime_error("--jwt-public-key: cannot read " + cfg.jwt_public_key_file);
        std::ostringstream pem;
        pem << in.rdbuf();
        options.public_key_pem = pem.str();
    }
    return {jwt_auth(std::move(options))};
}

} // namespace

server::server(switchboard::server::server& http, server_options options)
    : core_(std::make_shared<detail::io_core>(http, with_configured_adapter(http, std::move(options)))),
      main_(core_->get("/")) {
    core_->server_middleware = configured_middleware(http.config());
    core_->start_recovery();
    http.add_metrics([weak = std::weak_ptr<detail::io_core>(core_)](std::string& out) {
        if (auto core = weak.lock()) core->write_metrics(out);
    });
    http.add_readiness_check([weak = std::weak_ptr<detail::io_core>(core_)]() -> std::string {
        auto core = weak.lock();
        return core ? core->unready() : std::string{};
    });
    http.engine(http.config().path, [core = core_](const std::shared_ptr<switchboard::server::engine_socket>& engine) {
        core->on_engine(engine);
    });
    // After the endpoint exists: the admin UI watches its upgrades.
    if (const auto& cfg = http.config(); !cfg.admin_ui.empty() || cfg.admin_ui_no_auth) {
        admin_ui_options admin;
        admin.auth = !cfg.admin_ui_no_auth;
        admin.production = cfg.admin_ui_production;
        if (const auto colon = cfg.admin_ui.find(':'); colon != std::string::npos) {
            admin.username = cfg.admin_ui.substr(0, colon);
            admin.password = cfg.admin_ui.substr(colon + 1);
        }
        instrument(*this, std::move(admin));
    }
}

server::~server() { core_->clear(); }

nsp server::of(std::string name) { return nsp(core_->get(normalized(name))); }

nsp server::of(std::function<bool(const std::string& name, const boost::json::object& auth)> predicate) {
    return nsp(core_->add_family(std::move(predicate)));
}

nsp server::main() const { return main_; }

switchboard::server::server& server::http() const noexcept { return core_->http; }

void server::on_session_expired(std::function<void(const expired_session&)> handler) {
    core_->add_expiry_handler(std::move(handler));
}

} // namespace switchboard::io
