// The Socket.IO side of one Engine.IO session: decoding, namespace connection, packet routing.
#include "core.hpp"

#include <algorithm>

namespace switchboard::io::detail {

client::client(std::shared_ptr<io_core> core, std::shared_ptr<switchboard::server::engine_socket> engine)
    : core_(std::move(core)),
      engine_(std::move(engine)), limits_{core_->http.config().max_payload, core_->http.config().max_attachments,
                                          codec_limits{}.max_json_depth} {}

void client::start() {
    // The session's close callback owns the client; the session drops its callbacks when it ends, and
    // calls none after on_close, so the other two can hold a plain pointer (which std::function keeps
    // without an allocation).
    auto self = shared_from_this();
    client* raw = this;
    // Each call holds the client for its own duration: it may end the session, and with it on_close.
    engine_->on_text = [raw](std::string_view text) { raw->shared_from_this()->on_text(text); };
    engine_->on_binary = [raw](shared_bytes bytes) { raw->shared_from_this()->on_binary(std::move(bytes)); };
    engine_->on_close = [self](eio::close_reason reason) { self->on_close(reason); };
    // A session that joins no namespace in time is closed (the reference server's connectTimeout).
    const auto timeout = std::chrono::milliseconds(core_->http.config().connect_timeout_ms);
    connect_timer_ = engine_->post_after(timeout, [weak = weak_from_this()] {
        if (auto c = weak.lock(); c && c->sockets_.empty()) c->engine_->close();
    });
}

void client::on_text(std::string_view text) {
    // Engine.IO messages arrive here without their `4`. Text while attachments are due is an error.
    if (binary_) return fail("a text packet while a binary packet's attachments were due");
    std::size_t attachments = 0;
    auto packet = sio::decode_text(text, limits_, attachments);
    if (!packet) return fail(packet.error().message());
    if (attachments == 0) return on_decoded(std::move(*packet));
    // A binary packet: a decoder collects its attachments (only now: most clients never need one).
    binary_ = std::make_unique<sio::decoder>(limits_);
    if (auto fed = binary_->feed_text(text); !fed) return fail(fed.error().message());
}

void client::on_binary(shared_bytes bytes) {
    if (!binary_) return fail("an attachment no packet announced");
    auto progress = binary_->feed_binary(std::move(bytes));
    if (!progress) return fail(progress.error().message());
    if (*progress == sio::decoder::progress::packet_ready) {
        auto packet = binary_->take_packet();
        binary_.reset();
        on_decoded(std::move(packet));
    }
}

void client::fail(std::string_view why) {
    // Malformed or out-of-place packets end this connection, and nothing else.
    if (closed_) return;
    SB_LOG(warn, "{} session {}: Socket.IO protocol error ({}); the connection is closed",
           engine_->request().remote_address, engine_->id(), why);
    binary_.reset();
    engine_->close();
}

void client::on_decoded(sio::packet&& packet) {
    const auto it =
        std::find_if(sockets_.begin(), sockets_.end(), [&](const auto& s) { return s.first == packet.nsp; });
    if (it == sockets_.end()) {
        if (packet.type == sio::packet_type::connect) {
            if (std::find(connecting_.begin(), connecting_.end(), packet.nsp) != connecting_.end())
                return; // already on its way
            auto* object = packet.data.if_object();
            return connect(packet.nsp, object ? std::move(*object) : boost::json::object{});
        }
        return fail("a packet for a namespace the client is not connected to");
    }
    auto socket = it->second; // handlers may close it while it runs
    switch (packet.type) {
    case sio::packet_type::event:
    case sio::packet_type::binary_event: socket->on_event(std::move(packet)); return;
    case sio::packet_type::ack:
    case sio::packet_type::binary_ack:
        if (!packet.id) return fail("an ACK without an ack id");
        socket->on_ack(std::move(packet));
        return;
    case sio::packet_type::disconnect: socket->close(sio::disconnect_reason::client_namespace_disconnect); return;
    case sio::packet_type::connect: return; // a repeated CONNECT (the reference server closes; harmless here)
    case sio::packet_type::connect_error: return fail("a CONNECT_ERROR from the client");
    }
}

void client::connect(const std::string& nsp, boost::json::object auth) {
    auto ns = core_->resolve(nsp, auth, engine_->request().remote_address);
    if (!ns) return refuse(nsp, {"Invalid namespace", nullptr});
    auto socket = std::make_shared<socket_impl>(ns, shared_from_this(), std::move(auth));
    connecting_.push_back(nsp);
    run_middleware(std::move(socket), std::make_shared<std::vector<middleware>>(ns->middleware_chain()), 0);
}

void client::run_middleware(std::shared_ptr<socket_impl> socket, std::shared_ptr<std::vector<middleware>> chain,
                            std::size_t index) {
    const auto& nsp = socket->nsp->name;
    if (index == chain->size()) {
        std::erase(connecting_, nsp);
        sockets_.emplace_back(nsp, socket);
        if (connect_timer_ != 0) { // connected in time (as the reference server, the timer goes)
            engine_->cancel_timer(connect_timer_);
            connect_timer_ = 0;
        }
        socket->on_connected();
        io::socket handle(socket);
        for (auto& handler : socket->nsp->connection_handlers()) {
            if (!socket->connected) break;
            if (!run_guarded(socket->peer(), "a connection handler", [&] { handler(handle); }))
                return socket->on_handler_failure();
        }
        return;
    }
    auto called = std::make_shared<std::atomic<bool>>(false);
    next_fn next = [weak = weak_from_this(), socket, chain, index, called](std::optional<connect_error> error) {
        if (called->exchange(true)) return; // next() counts once
        auto self = weak.lock();
        if (!self) return;
        // The middleware may answer from any thread, now or later: continue on the session's strand.
        self->engine_->post([self, socket, chain, index, error = std::move(error)] {
            if (error) {
                std::erase(self->connecting_, socket->nsp->name);
                self->refuse(socket->nsp->name, *error);
            } else {
                self->run_middleware(socket, chain, index + 1);
            }
        });
    };
    io::socket handle(socket);
    auto& fn = (*chain)[index];
    if (!run_guarded(socket->peer(), "a middleware", [&] { fn(handle, next); }))
        next(connect_error{"server error", nullptr}); // refused, unless it had answered before it threw
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
    if (auto frames = sio::encode_frames(packet)) engine_->send(std::move(*frames));
}

void client::forget(const std::string& nsp) {
    std::erase_if(sockets_, [&](const auto& s) { return s.first == nsp; });
}

void client::disconnect_all() {
    auto sockets = sockets_; // closing edits the map
    for (auto& [nsp, socket] : sockets) {
        sio::packet bye;
        bye.type = sio::packet_type::disconnect;
        bye.nsp = nsp;
        socket->send_packet(bye, false);
        socket->close(sio::disconnect_reason::server_namespace_disconnect);
    }
    engine_->close();
}

void client::on_close(eio::close_reason reason) {
    closed_ = true;
    auto sockets = sockets_;
    for (auto& [nsp, socket] : sockets) socket->close(sio::from_close(reason));
    sockets_.clear();
    connecting_.clear();
}

} // namespace switchboard::io::detail
