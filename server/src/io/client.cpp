// The Socket.IO side of one Engine.IO session: decoding, namespace connection, packet routing.
#include "core.hpp"

#include "../util/random_id.hpp"
#include <switchboard/msgpack/parser.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace switchboard::io::detail {

namespace {

std::chrono::milliseconds steady_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch());
}

} // namespace

client::client(std::shared_ptr<io_core> core, std::shared_ptr<switchboard::server::engine_socket> engine)
    : core_(std::move(core)), engine_(std::move(engine)),
      connection_(core_->limits, steady_now(), std::chrono::milliseconds(core_->http.config().connect_timeout_ms)) {}

void client::start() {
    // The session holds the client (its listener) until it has told it of the close.
    engine_->listen(shared_from_this());
    // A session that joins no namespace in time is closed (the reference server's connectTimeout).
    arm_connect_timeout();
}

void client::arm_connect_timeout() {
    const auto deadline = connection_.next_deadline();
    if (!deadline) return;
    connect_timer_ = engine_->post_after(std::max(*deadline - steady_now(), std::chrono::milliseconds(0)),
                                         [weak = weak_from_this()] {
                                             auto c = weak.lock();
                                             if (!c) return;
                                             c->connect_timer_ = 0;
                                             if (c->connection_.on_timer(steady_now())) {
                                                 c->engine_->close();
                                             } else {
                                                 c->arm_connect_timeout(); // early
                                             }
                                         });
}

// The connection's queue drained: every socket on it hears it (they share the queue).
void client::on_drain() {
    const auto sockets = sockets_; // a handler may disconnect its socket
    for (const auto& socket : sockets) {
        if (!socket->rare) continue;
        const auto handlers = socket->rare->drain;
        for (const auto& handler : handlers) {
            if (!socket->connected) break;
            if (!run_guarded(socket->peer(), "a drain handler", [&] { handler(); })) {
                socket->on_handler_failure();
                break;
            }
        }
    }
}

void client::on_text(std::string_view text) {
    bytes_in_ += text.size();
    if (core_->msgpack) return fail("a text message (the server speaks socket.io-msgpack-parser's packets)");
    act(connection_.on_text(text));
}

void client::on_binary(shared_bytes bytes) {
    bytes_in_ += bytes->size();
    if (core_->msgpack) { // one packet per binary message
        auto packet = msgpack_parser::decode(*bytes, core_->limits);
        if (!packet) return fail(fmt::format("not a socket.io-msgpack-parser packet ({})", packet.error().message()));
        return act(connection_.on_packet(std::move(*packet)));
    }
    act(connection_.on_binary(std::move(bytes)));
}

void client::fail(std::string_view why) {
    // Malformed or out-of-place packets end this connection, and nothing else.
    if (closed_) return;
    SB_LOG(warn, "{} session {}: Socket.IO protocol error ({}); the connection is closed", engine_->remote_address(),
           engine_->id(), why);
    engine_->close();
}

void client::act(sio::server_action&& action) {
    if (std::holds_alternative<sio::no_action>(action)) return; // a packet's attachments still to come
    const std::size_t bytes = std::exchange(bytes_in_, 0);
    if (auto* request = std::get_if<sio::connect_request>(&action))
        return connect(request->nsp, std::move(request->auth));
    if (auto* violation = std::get_if<sio::protocol_violation>(&action)) return fail(violation->why);
    if (auto* leave = std::get_if<sio::leave_request>(&action)) {
        if (auto socket = find(leave->nsp)) socket->close(sio::disconnect_reason::client_namespace_disconnect);
        return;
    }
    if (auto* packet = std::get_if<sio::socket_packet>(&action)) {
        auto socket = find(packet->value.nsp); // held: handlers may close it while it runs
        if (!socket) return;
        if (packet->value.type == sio::packet_type::ack || packet->value.type == sio::packet_type::binary_ack) {
            socket->on_ack(std::move(packet->value));
        } else {
            socket->on_event(std::move(packet->value), bytes);
        }
    }
}

std::shared_ptr<socket_impl> client::find(const std::string& nsp) const {
    const auto it = std::find_if(sockets_.begin(), sockets_.end(), [&](const auto& s) { return s->nsp->name == nsp; });
    return it == sockets_.end() ? nullptr : *it;
}

void client::connect(const std::string& nsp, boost::json::object auth) {
    // --max-namespaces: checked before the name is resolved (a dynamic family would make a namespace).
    const auto most = core_->http.config().max_namespaces;
    if (most != 0 && sockets_.size() >= most) {
        connection_.refused(nsp);
        metrics::add(metrics::counter::refused_namespaces);
        return refuse(nsp, {"too many namespaces", nullptr});
    }
    std::shared_ptr<void> joining;
    auto ns = core_->resolve(nsp, auth, engine_->remote_address(), joining);
    if (!ns) {
        connection_.refused(nsp);
        return refuse(nsp, {"Invalid namespace", nullptr});
    }
    if (core_->recovery && try_recover(ns, auth, joining)) return;
    connect_new(ns, std::move(auth), std::move(joining));
}

void client::connect_new(const std::shared_ptr<namespace_impl>& ns, boost::json::object auth,
                         std::shared_ptr<void> joining) {
    auto socket = std::make_shared<socket_impl>(ns, shared_from_this(), std::move(auth));
    if (core_->recovery) socket->recovery = std::make_unique<recovery_state>(switchboard::server::random_id());
    run_middleware(std::move(socket),
                   std::make_shared<middleware_run>(middleware_run{ns->middleware_chain(), std::move(joining)}), 0,
                   std::chrono::steady_clock::now());
}

void client::run_middleware(std::shared_ptr<socket_impl> socket, std::shared_ptr<middleware_run> run, std::size_t index,
                            std::chrono::steady_clock::time_point started) {
    if (index == run->chain.size()) return admit(socket, started);
    auto called = std::make_shared<std::atomic<bool>>(false);
    next_fn next = [weak = weak_from_this(), socket, run, index, called, started](std::optional<connect_error> error) {
        if (called->exchange(true)) return; // next() counts once
        auto self = weak.lock();
        if (!self) return;
        // The middleware may answer from any thread, now or later: continue on the session's strand.
        self->engine_->post([self, socket, run, index, started, error = std::move(error)] {
            if (error) {
                self->connection_.refused(socket->nsp->name);
                self->refuse(socket->nsp->name, *error);
            } else {
                self->run_middleware(socket, run, index + 1, started);
            }
        });
    };
    io::socket handle(socket);
    auto& fn = run->chain[index];
    if (!run_guarded(socket->peer(), "a middleware", [&] { fn(handle, next); }))
        next(connect_error{"server error", nullptr}); // refused, unless it had answered before it threw
}

void client::admit(const std::shared_ptr<socket_impl>& socket, std::chrono::steady_clock::time_point started) {
    connection_.connected(socket->nsp->name);
    sockets_.push_back(socket);
    if (connect_timer_ != 0) { // connected in time (as the reference server, the timer goes)
        engine_->cancel_timer(connect_timer_);
        connect_timer_ = 0;
    }
    socket->on_connected();
    metrics::observe(metrics::histogram::handshake, std::chrono::steady_clock::now() - started);
    io::socket handle(socket);
    for (const auto& observer : core_->connection_observers()) {
        if (!socket->connected) return;
        if (!run_guarded(socket->peer(), "an instrumentation's connection handler", [&] { observer(handle); }))
            return socket->on_handler_failure();
    }
    for (auto& handler : socket->nsp->connection_handlers()) {
        if (!socket->connected) break;
        if (!run_guarded(socket->peer(), "a connection handler", [&] { handler(handle); }))
            return socket->on_handler_failure();
    }
}

// The client presents `pid` and `offset` in its CONNECT auth (socket.io-client does, once it had a
// `pid`). If recovery still has that session, the socket comes back with its id, rooms and data; the
// events it missed are queued first (the client buffers them until the CONNECT answer that follows),
// and it skips the middleware, as Socket.IO's skipMiddlewares.
bool client::try_recover(const std::shared_ptr<namespace_impl>& ns, const boost::json::object& auth,
                         std::shared_ptr<void>& joining) {
    const auto* pid = auth.if_contains("pid");
    const auto* offset = auth.if_contains("offset");
    if (!pid || !offset || !pid->is_string() || !offset->is_string()) return false;
    const auto started = std::chrono::steady_clock::now();
    if (core_->shared_journal) {
        // A cluster's: the session may have lived on any node. Redis answers on the journal's thread;
        // the socket connects on the session's strand, recovered or new.
        core_->shared_journal->claim(
            std::string(pid->get_string()), std::string(offset->get_string()),
            [self = shared_from_this(), ns, auth, joining = std::move(joining),
             started](std::optional<csr::redis_journal::claimed> found) mutable {
                self->engine_->post([self, ns, auth = std::move(auth), joining = std::move(joining), started,
                                     found = std::move(found)]() mutable {
                    const auto offset = auth.if_contains("offset");
                    const auto text = offset && offset->is_string() ? std::string(offset->get_string()) : "";
                    auto& buffer = *self->core_->recovery;
                    if (self->closed_) { // gone meanwhile: the session waits again, if it was this node's
                        if (found && found->node == self->core_->shared_journal->node())
                            buffer.disconnected(std::move(found->state));
                        return;
                    }
                    std::shared_ptr<socket_impl> socket;
                    std::optional<csr::buffer::recovered> restored;
                    if (found) {
                        const bool remote = found->node != self->core_->shared_journal->node();
                        std::optional<csr::buffer::elsewhere> kept;
                        if (remote)
                            kept.emplace(csr::buffer::elsewhere{found->packets, found->complete, found->newest});
                        restored = buffer.recover_claimed(
                            std::move(found->state), text, ns->name, kept,
                            [&](const csr::buffer::recovered& r) { socket = self->revive(ns, auth, r); });
                    }
                    if (!restored) return self->connect_new(ns, std::move(auth), std::move(joining));
                    self->welcome_back(socket, std::move(joining), restored->missed.size(), started);
                });
            });
        return true;
    }
    std::shared_ptr<socket_impl> socket;
    const auto restored =
        core_->recovery->recover(std::string(pid->get_string()), offset->get_string(), ns->name,
                                 [&](const csr::buffer::recovered& r) { socket = revive(ns, auth, r); });
    if (!restored) return false;
    welcome_back(socket, std::move(joining), restored->missed.size(), started);
    return true;
}

// Under the buffer's lock: a broadcast stored before this moment is among the missed (and skipped
// live, see namespace_impl::deliver); one stored after reaches the socket live.
std::shared_ptr<socket_impl> client::revive(const std::shared_ptr<namespace_impl>& ns, const boost::json::object& auth,
                                            const csr::buffer::recovered& r) {
    auto socket = std::make_shared<socket_impl>(ns, shared_from_this(), auth, r.state.sid);
    socket->recovery = std::make_unique<recovery_state>(r.state.pid);
    socket->recovery->recovered = true;
    socket->recovery->replayed_through = r.replayed_through;
    socket->recovery->first_offset = r.replayed_through;
    socket->recovery->sent(r.last_offset);
    if (!r.state.data.is_null()) socket->data() = r.state.data;
    socket->connected = true; // in its namespace and rooms now, so that nothing passes it by
    ns->add(socket);
    for (const auto& frames : r.missed) socket->send_frames(frames, false);
    run_guarded(engine_->remote_address(), "the adapter (add_all)",
                [&] { ns->adapter->add_all(r.state.sid, r.state.rooms); });
    return socket;
}

void client::welcome_back(const std::shared_ptr<socket_impl>& socket, [[maybe_unused]] std::shared_ptr<void> joining,
                          std::size_t replayed, std::chrono::steady_clock::time_point started) {
    SB_LOG(debug, "{}: socket {} of {} recovered ({} missed packet(s) replayed)", engine_->remote_address(), socket->id,
           socket->nsp->name, replayed);
    admit(socket, started);
    if (socket->connected) core_->recovery->connected(socket->recovery_snapshot()); // its new life, for the journal
}

void client::refuse(const std::string& nsp, const connect_error& error) {
    sio::packet packet;
    packet.type = sio::packet_type::connect_error;
    packet.nsp = nsp;
    boost::json::object body{{"message", error.message}};
    if (!error.data.is_null()) body["data"] = error.data;
    packet.data = std::move(body);
    send_packet(packet);
}

void client::send_packet(const sio::packet& packet) {
    if (auto frames = core_->encode(packet)) engine_->send(std::move(*frames));
}

std::vector<std::pair<std::string, std::string>> client::socket_names() const {
    std::vector<std::pair<std::string, std::string>> names;
    for (const auto& s : sockets_)
        if (s->connected) names.emplace_back(s->nsp->name, s->id);
    return names;
}

void client::forget(const std::string& nsp) {
    std::erase_if(sockets_, [&](const auto& s) { return s->nsp->name == nsp; });
    connection_.left(nsp);
}

void client::disconnect_all() {
    auto sockets = sockets_; // closing edits the map
    for (auto& socket : sockets) {
        sio::packet bye;
        bye.type = sio::packet_type::disconnect;
        bye.nsp = socket->nsp->name;
        socket->send_packet(bye, false);
        socket->close(sio::disconnect_reason::server_namespace_disconnect);
    }
    engine_->close();
}

void client::on_close(eio::close_reason reason) {
    closed_ = true;
    core_->forget_client(engine_->id());
    auto sockets = sockets_;
    for (auto& socket : sockets) socket->close(sio::from_close(reason));
    sockets_.clear();
}

} // namespace switchboard::io::detail
