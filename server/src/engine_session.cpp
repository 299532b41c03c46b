#include "engine_session.hpp"

#include "random_id.hpp"
#include "static_files.hpp" // parse_query
#include "util/log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <span>

namespace switchboard::server {

namespace {

constexpr auto upgrade_timeout = std::chrono::seconds(10); // as the reference server's upgradeTimeout

string_response payload_response(std::string payload, unsigned version) {
    string_response res{http::status::ok, version};
    res.set(http::field::content_type, "text/plain; charset=UTF-8");
    res.body() = std::move(payload);
    res.prepare_payload();
    return res;
}

const char* error_message(int code) {
    switch (code) {
    case 0: return "Transport unknown";
    case 1: return "Session ID unknown";
    case 2: return "Bad handshake method";
    case 3: return "Bad request";
    case 4: return "Forbidden";
    case 5: return "Unsupported protocol version";
    }
    return "Bad request";
}

bool is_disconnect(const beast::error_code& ec) {
    return ec == net::error::eof || ec == net::error::connection_reset || ec == net::error::operation_aborted ||
           ec == beast::error::timeout || ec == net::error::broken_pipe;
}

} // namespace

string_response engine_error_response(int code, unsigned http_version) {
    string_response res{code == 4 ? http::status::forbidden : http::status::bad_request, http_version};
    res.set(http::field::content_type, "application/json");
    res.body() = fmt::format(R"({{"code":{},"message":"{}"}})", code, error_message(code));
    res.prepare_payload();
    return res;
}

// --- endpoint registry -------------------------------------------------------------------------------

std::shared_ptr<engine_session> engine_endpoint::find(const std::string& sid) {
    std::lock_guard lock(mutex_);
    const auto it = sessions_.find(std::string_view(sid));
    return it == sessions_.end() ? nullptr : it->second;
}

void engine_endpoint::add(const std::shared_ptr<engine_session>& session) {
    std::lock_guard lock(mutex_);
    sessions_.emplace(std::string_view(session->id()), session);
}

void engine_endpoint::remove(const std::string& sid) {
    std::lock_guard lock(mutex_);
    sessions_.erase(std::string_view(sid));
}

std::vector<std::shared_ptr<engine_session>> engine_endpoint::all() {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<engine_session>> out;
    out.reserve(sessions_.size());
    for (const auto& [sid, session] : sessions_) out.push_back(session);
    return out;
}

void engine_endpoint::release_sessions() {
    std::unordered_map<std::string_view, std::shared_ptr<engine_session>> sessions;
    {
        std::lock_guard lock(mutex_);
        sessions.swap(sessions_);
    }
    sessions.clear(); // outside the lock: a session's destructor may come back here
    heartbeats_.stop();
}

// --- heartbeats ----------------------------------------------------------------------------------------

std::uint32_t heartbeat_scheduler::acquire(engine_session* session) {
    std::lock_guard lock(mutex_);
    std::uint32_t slot;
    if (free_slots_.empty()) {
        slot = static_cast<std::uint32_t>(slots_.size());
        slots_.emplace_back();
    } else {
        slot = free_slots_.back();
        free_slots_.pop_back();
    }
    slots_[slot].session = session;
    return slot;
}

void heartbeat_scheduler::release(std::uint32_t slot) {
    std::lock_guard lock(mutex_);
    auto& s = slots_[slot];
    if (!s.session) return; // released already
    s.session = nullptr;
    ++s.generation; // its pending entries no longer count
    free_slots_.push_back(slot);
}

void heartbeat_scheduler::schedule(std::uint32_t slot, clock::time_point at) {
    std::lock_guard lock(mutex_);
    auto& s = slots_[slot];
    if (!s.session) return;
    due_.push_back({at, slot, ++s.generation});
    std::push_heap(due_.begin(), due_.end(), std::greater<>{});
    // Sessions that come and go leave entries behind; never let them outnumber the live ones much.
    if (due_.size() > 2 * (slots_.size() - free_slots_.size()) + 1024) drop_stale_locked();
    if (at < armed_for_) arm_locked();
}

void heartbeat_scheduler::drop_stale_locked() {
    std::erase_if(due_, [this](const entry& e) {
        const auto& s = slots_[e.slot];
        return !s.session || s.generation != e.generation;
    });
    std::make_heap(due_.begin(), due_.end(), std::greater<>{});
    if (due_.capacity() > 2 * due_.size() + 1024) due_.shrink_to_fit();
}

void heartbeat_scheduler::arm_locked() {
    if (due_.empty() || !timer_) return;
    armed_for_ = due_.front().at;
    timer_->expires_at(armed_for_); // a wait already pending completes as cancelled
    timer_->async_wait([this](beast::error_code ec) { on_timer(ec); });
}

void heartbeat_scheduler::stop() {
    std::lock_guard lock(mutex_);
    timer_.reset();
    due_.clear();
}

void heartbeat_scheduler::on_timer(beast::error_code ec) {
    if (ec) return; // cancelled: re-armed for an earlier time, or the server is going away
    std::vector<std::shared_ptr<engine_session>> ready;
    {
        std::lock_guard lock(mutex_);
        const auto now = clock::now();
        while (!due_.empty() && due_.front().at <= now) {
            std::pop_heap(due_.begin(), due_.end(), std::greater<>{});
            const auto e = due_.back();
            due_.pop_back();
            const auto& s = slots_[e.slot];
            if (s.session && s.generation == e.generation)
                if (auto session = s.session->weak_from_this().lock()) ready.push_back(std::move(session));
        }
        armed_for_ = clock::time_point::max();
        arm_locked();
    }
    for (auto& session : ready) session->heartbeat_due();
}

// --- session -------------------------------------------------------------------------------------------

std::atomic<std::size_t> engine_session::live_{0};

engine_session::engine_session(engine_endpoint& endpoint, strand_type strand, request_head request,
                               transport_kind transport)
    : endpoint_(endpoint), strand_(std::move(strand)), sid_(random_id()), request_(std::move(request.info)),
      header_block_(std::move(request.header_block)), transport_(transport),
      heartbeat_(std::chrono::milliseconds(endpoint.config().ping_interval_ms),
                 std::chrono::milliseconds(endpoint.config().ping_timeout_ms)),
      heartbeat_slot_(endpoint.heartbeats().acquire(this)) {
    ++live_;
}

engine_session::~engine_session() {
    if (heartbeat_slot_ != no_slot) endpoint_.heartbeats().release(heartbeat_slot_); // never finished
    --live_;
}

const request_info& engine_session::request() const noexcept {
    std::call_once(request_once_, [this] {
        std::string_view block = header_block_;
        while (!block.empty()) {
            const auto name_end = block.find('\0');
            const auto value_end = block.find('\0', name_end + 1);
            request_.headers.emplace_back(block.substr(0, name_end),
                                          block.substr(name_end + 1, value_end - name_end - 1));
            block.remove_prefix(value_end + 1);
        }
        header_block_ = std::string();
        request_.query = parse_query(request_.url);
    });
    return request_;
}

std::chrono::milliseconds engine_session::now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch());
}

void engine_session::start() {
    const auto& cfg = endpoint_.config();
    eio::handshake h;
    h.sid = sid_;
    if (transport() == transport_kind::polling && cfg.allow_websocket) h.upgrades.emplace_back("websocket");
    h.ping_interval = cfg.ping_interval_ms;
    h.ping_timeout = cfg.ping_timeout_ms;
    h.max_payload = cfg.max_payload;
    auto open = eio::make_text_frame(eio::packet_type::open, eio::encode_handshake(h));
    queued_bytes_ += open.bytes->size();
    queue_.push_back({std::move(open)});

    endpoint_.add(shared_from_this());
    heartbeat_.start(now());
    arm_heartbeat();
    SB_LOG(debug, "{} session {} open ({})", request_.remote_address, sid_,
           transport() == transport_kind::polling ? "polling" : "websocket");
    if (const auto& handler = endpoint_.handler())
        guarded("the connection handler", [&] { handler(shared_from_this()); });
}

template <class F>
void engine_session::guarded(std::string_view what, F&& f) noexcept {
    try {
        f();
    } catch (...) {
        SB_LOG(warn, "{} session {}: {} threw ({}); the session is closed", request_.remote_address, sid_, what,
               describe_current_exception());
        // finish() runs on_close, which is the application's too: a second throw is only logged.
        try {
            finish(eio::close_reason::forced_close);
        } catch (...) {
            SB_LOG(warn, "{} session {}: the close handler threw ({})", request_.remote_address, sid_,
                   describe_current_exception());
        }
    }
}

void engine_session::open_polling(responder r) {
    on_strand([self = shared_from_this(), r = std::move(r)]() mutable {
        self->start();
        self->poll(std::move(r));
    });
}

void engine_session::open_websocket(std::shared_ptr<ws_connection> ws) {
    on_strand([self = shared_from_this(), ws = std::move(ws)]() mutable {
        self->ws_ = std::move(ws);
        self->start();
        self->read_next(self->ws_);
        self->flush();
    });
}

void engine_session::send(std::vector<eio::frame> frames, bool droppable) {
    if (strand_.running_in_this_thread()) return enqueue(std::move(frames), droppable);
    net::post(strand_, [self = shared_from_this(), frames = std::move(frames), droppable]() mutable {
        self->enqueue(std::move(frames), droppable);
    });
}

void engine_session::close() {
    on_strand([self = shared_from_this()] { self->finish(eio::close_reason::forced_close); });
}

void engine_session::post(std::function<void()> task) {
    net::post(strand_, [self = shared_from_this(), task = std::move(task)] {
        if (!self->closed_) self->guarded("a task", task);
    });
}

void engine_session::dispatch(std::function<void()> task) {
    if (!strand_.running_in_this_thread()) return post(std::move(task));
    if (!closed_) guarded("a task", task);
}

void engine_session::execute(std::function<void()> task) {
    net::post(strand_, [self = shared_from_this(), task = std::move(task)] { self->guarded("a task", task); });
}

std::uint64_t engine_session::post_after(std::chrono::milliseconds delay, std::function<void()> task) {
    const auto id = next_timer_id_.fetch_add(1, std::memory_order_relaxed);
    on_strand([self = shared_from_this(), id, delay, task = std::move(task)]() mutable {
        if (self->closed_) return;
        auto timer = std::make_shared<strand_timer>(self->strand_, delay);
        self->timers_.emplace_back(id, timer);
        // The timer holds the session weakly; finish() cancels it, so nothing of an ended session
        // (a make_shared allocation that weak references keep) waits for a long timeout to pass.
        timer->async_wait([id, weak = self->weak_from_this(), task = std::move(task)](beast::error_code ec) {
            auto s = weak.lock();
            if (!s) return;
            std::erase_if(s->timers_, [id](const auto& t) { return t.first == id; });
            if (!ec && !s->closed_) s->guarded("a timer task", task);
        });
    });
    return id;
}

void engine_session::cancel_timer(std::uint64_t timer_id) {
    on_strand([self = shared_from_this(), timer_id] {
        for (auto& [id, timer] : self->timers_)
            if (id == timer_id) timer->cancel(); // its handler removes it
    });
}

void engine_session::enqueue(std::vector<eio::frame>&& frames, bool droppable) {
    if (closed_) return;
    if (droppable) {
        // Socket.IO's volatile: only when the transport can take it right now.
        const bool writable = transport() == transport_kind::websocket ? ws_ && !ws_->writing && queue_.empty()
                                                                       : pending_get_.has_value() && !upgrading_;
        if (!writable) return;
    }
    for (auto& f : frames) {
        queued_bytes_ += f.bytes->size();
        const auto op = f.binary ? ws::opcode::binary : ws::opcode::text;
        queue_.push_back({std::move(f), op});
    }
    if (queued_bytes_ > endpoint_.config().max_queue_bytes) {
        // A consumer this slow would hold unbounded memory: the session ends instead.
        finish(eio::close_reason::transport_error,
               fmt::format("more than --max-queue ({} bytes) waiting to be sent", endpoint_.config().max_queue_bytes));
        return;
    }
    if (transport() == transport_kind::websocket) {
        write_soon();
    } else {
        flush_polling();
    }
}

// Frames queued by the handlers that run on this strand now (broadcasts posted here from other
// sessions, a timer's emit) leave together: the write waits for the end of the strand's current
// batch of handlers. What a read's handlers send leaves at the end of that read (cork) instead.
void engine_session::write_soon() {
    if (corked_ || write_posted_ || !ws_ || ws_->writing) return; // the uncork or the write in flight takes it
    write_posted_ = true;
    net::post(strand_, [self = shared_from_this()] {
        self->write_posted_ = false;
        self->write_next();
    });
}

void engine_session::flush() {
    if (transport() == transport_kind::websocket) {
        write_next();
    } else {
        flush_polling();
    }
}

void engine_session::flush_polling() {
    if (!pending_get_) return;
    if (queue_.empty()) {
        if (!upgrading_) return; // keep holding the long-poll
        // Release the client's long-poll so that it can finish the upgrade.
        queue_.push_back({eio::make_text_frame(eio::packet_type::noop)});
    }
    std::string payload;
    payload.reserve(queued_bytes_ + queue_.size() * 2);
    for (const auto& f : queue_) eio::append_to_payload(payload, f.frame);
    queue_.clear();
    queued_bytes_ = 0;
    auto r = std::move(*pending_get_);
    pending_get_.reset();
    r(payload_response(std::move(payload), 11));
}

// Every queued frame goes out in one gathered write (header, payload, header, payload, ...): one
// system call for a burst instead of one per frame. Frames queued meanwhile wait for the next write.
// The socket is non-blocking: a write goes out at once, and only a peer whose receive window is full
// makes the session wait (for writability, under the write deadline).
void engine_session::write_next() {
    while (ws_ && !ws_->writing && !corked_ && !queue_.empty()) {
        batch_.swap(queue_);
        iov_.clear();
        iov_.reserve(batch_.size() * 2);
        iov_next_ = 0;
        for (auto& f : batch_) {
            const auto& bytes = *f.frame.bytes;
            f.header_size = static_cast<unsigned char>(ws::write_header(f.header, f.op, bytes.size()));
            iov_.emplace_back(f.header, f.header_size);
            if (!bytes.empty()) iov_.emplace_back(bytes.data(), bytes.size());
        }
        if (!write_batch(ws_)) return;
    }
}

// Writes what is left of the batch. True when all of it is out and the next batch may follow.
bool engine_session::write_batch(const std::shared_ptr<ws_connection>& conn) {
    bool progressed = false;
    while (iov_next_ < iov_.size()) {
        beast::error_code ec;
        std::size_t n = conn->socket.write_some(std::span<const net::const_buffer>(iov_).subspan(iov_next_), ec);
        if (ec == net::error::would_block || ec == net::error::try_again) {
            wait_writable(conn, progressed);
            return false;
        }
        if (ec) {
            on_write_error(conn);
            return false;
        }
        progressed = progressed || n > 0;
        while (n > 0) { // skip what went out; the first buffer not fully written starts where it stopped
            auto& b = iov_[iov_next_];
            if (n < b.size()) {
                b += n;
                break;
            }
            n -= b.size();
            ++iov_next_;
        }
    }
    return batch_written(conn);
}

void engine_session::wait_writable(const std::shared_ptr<ws_connection>& conn, bool progressed) {
    conn->writing = true;
    if (progressed || write_stalled_since_.count() == 0) {
        write_stalled_since_ = now();
        arm_heartbeat(); // the deadline joins the session's wake-up time
    }
    conn->socket.async_wait(tcp::socket::wait_write, [self = shared_from_this(), conn](beast::error_code ec) {
        conn->writing = false;
        if (conn != self->ws_) return; // let go meanwhile
        if (ec) return self->on_write_error(conn);
        if (self->write_batch(conn)) self->write_next();
    });
}

bool engine_session::batch_written(const std::shared_ptr<ws_connection>& conn) {
    write_stalled_since_ = std::chrono::milliseconds(0);
    const bool close_written = !batch_.empty() && batch_.back().op == ws::opcode::close;
    for (const auto& f : batch_) queued_bytes_ -= f.frame.bytes->size();
    batch_.clear();
    iov_.clear();
    iov_next_ = 0;
    if (batch_.capacity() > 64) { // a burst doesn't pin its memory for the life of the session
        batch_ = {};
        iov_ = {};
    }
    if (close_written) {
        linger_then_close(conn);
        return false;
    }
    return true;
}

void engine_session::on_write_error(const std::shared_ptr<ws_connection>& conn) {
    write_stalled_since_ = std::chrono::milliseconds(0);
    finish(eio::close_reason::transport_error);
    beast::error_code ignored;
    conn->socket.close(ignored);
}

void engine_session::push_control(ws::opcode op, std::string payload) {
    queued_bytes_ += payload.size();
    queue_.push_back({eio::frame{make_shared_bytes(std::move(payload))}, op});
}

// After our close frame: stop sending and read (discarding) until the client closes too, for at most
// two seconds. Closing with unread bytes would reset the connection and could lose the close frame.
void engine_session::linger_then_close(const std::shared_ptr<ws_connection>& conn) {
    beast::error_code ignored;
    conn->socket.shutdown(tcp::socket::shutdown_send, ignored);
    // Cancelled when the client closes first, so that nothing of the connection outlives it.
    conn->linger = std::make_unique<strand_timer>(strand_, std::chrono::seconds(2));
    conn->linger->async_wait([weak = std::weak_ptr<ws_connection>(conn)](beast::error_code ec) {
        auto c = weak.lock();
        if (c && !ec) {
            beast::error_code ignored;
            c->socket.close(ignored);
        }
    });
}

void engine_session::read_next(const std::shared_ptr<ws_connection>& conn) {
    conn->socket.async_wait(tcp::socket::wait_read,
                            [self = shared_from_this(), conn](beast::error_code ec) { self->on_readable(conn, ec); });
}

void engine_session::on_readable(const std::shared_ptr<ws_connection>& conn, beast::error_code ec) {
    if (conn != ws_ && conn != probe_) return; // a connection we already let go
    // One receive buffer per thread: an idle connection holds none (its reader keeps a partial frame).
    thread_local std::array<char, 64 * 1024> buffer;
    constexpr int max_reads = 8; // then the other connections of this thread get their turn
    for (int reads = 0; !ec; ++reads) {
        if (reads == max_reads) {
            net::post(strand_, [self = shared_from_this(), conn] { self->on_readable(conn, {}); });
            return;
        }
        const std::size_t n = conn->socket.read_some(net::buffer(buffer), ec);
        if (ec == net::error::would_block || ec == net::error::try_again) {
            read_next(conn);
            return;
        }
        if (ec) break;
        if (!closed_) { // after our close frame the client's last bytes are not for us
            // Whatever the handlers send while this read is handled leaves in one write, after it.
            corked_ = true;
            const auto code =
                conn->reader.feed(buffer.data(), n, [&](const ws::event& e) { return on_ws_event(conn, e); });
            corked_ = false;
            if (conn == ws_) write_next();
            if (conn != ws_ && conn != probe_) return; // dropped on the way
            if (code) {
                if (conn == probe_) {
                    drop_probe();
                    return;
                }
                ws_close_code_ = code;
                finish(code == ws::close_code::invalid_payload ? eio::close_reason::parse_error
                                                               : eio::close_reason::transport_error,
                       code == ws::close_code::invalid_payload ? "a WebSocket text frame that is not UTF-8"
                       : code == ws::close_code::too_big
                           ? fmt::format("a WebSocket message over --max-payload ({} bytes)",
                                         endpoint_.config().max_payload)
                           : fmt::format("a WebSocket protocol error (close code {})", code));
            }
        }
        // A short read drained the socket for now. No need to read until EAGAIN: Asio's wait for
        // readiness re-arms the descriptor (EPOLL_CTL_MOD), which reports data that came meanwhile.
        if (n < buffer.size()) {
            read_next(conn);
            return;
        }
    }
    if (conn == probe_) {
        drop_probe();
    } else if (closed_) { // the client closed after us, or the linger timer closed the socket
        beast::error_code ignored;
        conn->socket.close(ignored);
        if (conn->linger) conn->linger->cancel();
        if (!conn->writing) ws_.reset();
    } else {
        finish(is_disconnect(ec) ? eio::close_reason::transport_close : eio::close_reason::transport_error);
    }
}

bool engine_session::on_ws_event(const std::shared_ptr<ws_connection>& conn, const ws::event& event) {
    const bool is_probe = conn == probe_;
    switch (event.type) {
    case ws::event::kind::text: {
        codec_limits limits;
        limits.max_payload = endpoint_.config().max_payload;
        auto packet = eio::decode_text(event.payload, limits);
        if (!packet) {
            if (is_probe) {
                drop_probe();
            } else {
                finish(eio::close_reason::parse_error,
                       fmt::format("undecodable Engine.IO packet ({})", packet.error().message()));
            }
            return false;
        }
        if (is_probe) {
            on_probe_packet(*packet);
        } else {
            on_packet(std::move(*packet));
        }
        break;
    }
    case ws::event::kind::binary:
        if (is_probe) {
            drop_probe();
            return false;
        }
        on_binary_message(copy_shared_bytes(event.payload));
        break;
    case ws::event::kind::ping: // WebSocket pings (not Engine.IO's) get their pong
        if (!is_probe && !closed_) {
            push_control(ws::opcode::pong, std::string(event.payload));
            write_next();
        }
        break;
    case ws::event::kind::pong: break;
    case ws::event::kind::close:
        if (is_probe) {
            drop_probe();
            return false;
        }
        // Answer with the client's code, as RFC 6455 suggests.
        ws_close_code_ = event.close_code == 1005 ? ws::close_code::normal : event.close_code;
        finish(eio::close_reason::transport_close);
        return false;
    }
    return !closed_ && (conn == ws_ || conn == probe_);
}

void engine_session::on_packet(eio::packet&& packet) {
    if (closed_) return;
    switch (packet.type) {
    case eio::packet_type::message:
        if (packet.binary) {
            on_binary_message(make_shared_bytes(std::move(packet.data)));
        } else if (on_text) {
            guarded("a message handler", [&] { on_text(packet.data); });
        }
        return;
    case eio::packet_type::pong:
        heartbeat_.on_pong(now());
        arm_heartbeat();
        return;
    case eio::packet_type::close: finish(eio::close_reason::transport_close); return;
    case eio::packet_type::ping:
        // In v4 only the server pings (the client's 2probe goes to the upgrade probe, not here).
        finish(eio::close_reason::transport_error, "a ping from the client (only the server pings in v4)");
        return;
    case eio::packet_type::open:
    case eio::packet_type::upgrade:
    case eio::packet_type::noop: return; // nothing to do, as the reference server
    }
}

void engine_session::on_binary_message(shared_bytes bytes) {
    if (!closed_ && on_binary) guarded("a message handler", [&] { on_binary(std::move(bytes)); });
}

void engine_session::poll(responder r) {
    on_strand([self = shared_from_this(), r = std::move(r)]() mutable {
        if (self->closed_) {
            if (self->deferred_close_ && !self->queue_.empty()) {
                self->pending_get_ = std::move(r);
                self->flush_polling(); // the last packets and the close packet
                self->endpoint_.remove(self->sid_);
                return;
            }
            r(payload_response("1", 11));
            return;
        }
        if (self->pending_get_) {
            // Two long-polls at once break the protocol: refuse the new one and end the session.
            r(engine_error_response(3, 11));
            self->finish(eio::close_reason::transport_error, "a second long-poll GET while one is held");
            return;
        }
        self->pending_get_ = std::move(r);
        self->flush_polling();
    });
}

void engine_session::poll_aborted() {
    on_strand([self = shared_from_this()] {
        if (!self->pending_get_) return; // answered meanwhile
        self->pending_get_.reset();
        self->finish(eio::close_reason::transport_close);
    });
}

void engine_session::post(std::string body, responder r) {
    on_strand([self = shared_from_this(), body = std::move(body), r = std::move(r)]() mutable {
        if (self->closed_) {
            r(engine_error_response(1, 11));
            return;
        }
        codec_limits limits;
        limits.max_payload = self->endpoint_.config().max_payload;
        auto decoded = eio::decode_payload(body, limits);
        string_response ok{http::status::ok, 11};
        ok.set(http::field::content_type, "text/html");
        ok.body() = "ok";
        ok.prepare_payload();
        r(decoded.error ? engine_error_response(3, 11) : std::move(ok));
        for (auto& packet : decoded.packets) {
            if (self->closed_) return;
            self->on_packet(std::move(packet));
        }
        if (decoded.error)
            self->finish(eio::close_reason::parse_error,
                         fmt::format("undecodable polling payload ({})", decoded.error.message()));
    });
}

void engine_session::probe_websocket(std::shared_ptr<ws_connection> ws) {
    on_strand([self = shared_from_this(), ws = std::move(ws)]() mutable {
        if (self->closed_ || self->probe_ || self->transport() != transport_kind::polling) return; // ws closes
        self->probe_ = std::move(ws);
        self->upgrade_timer_ = std::make_unique<strand_timer>(self->strand_);
        self->upgrade_timer_->expires_after(upgrade_timeout);
        self->upgrade_timer_->async_wait([self](beast::error_code ec) {
            if (!ec && !self->closed_ && self->probe_) self->drop_probe();
        });
        self->read_next(self->probe_);
    });
}

void engine_session::on_probe_packet(const eio::packet& packet) {
    if (packet.type == eio::packet_type::ping && packet.data == "probe" && !upgrading_) {
        upgrading_ = true;
        write_probe_pong();
        flush_polling(); // release the pending long-poll
    } else if (packet.type == eio::packet_type::upgrade && upgrading_) {
        promote_probe();
    } else {
        drop_probe();
    }
}

// Answers 3probe on the probe (nothing else writes to it yet).
void engine_session::write_probe_pong() {
    auto pong = std::make_shared<outgoing_frame>(
        outgoing_frame{eio::make_text_frame(eio::packet_type::pong, "probe"), ws::opcode::text});
    pong->header_size = static_cast<unsigned char>(ws::write_header(pong->header, pong->op, pong->frame.bytes->size()));
    const std::array<net::const_buffer, 2> buffers{net::buffer(pong->header, pong->header_size),
                                                   net::buffer(*pong->frame.bytes)};
    probe_->writing = true;
    net::async_write(probe_->socket, buffers,
                     net::bind_executor(
                         strand_, [self = shared_from_this(), pong, conn = probe_](beast::error_code ec, std::size_t) {
                             conn->writing = false;
                             if (ec) {
                                 if (conn == self->probe_) self->drop_probe();
                                 return;
                             }
                             if (conn == self->ws_) self->write_next(); // promoted meanwhile
                         }));
}

void engine_session::promote_probe() {
    upgrade_timer_.reset();
    upgrading_ = false;
    ws_ = std::move(probe_);
    transport_ = transport_kind::websocket;
    if (pending_get_) {
        // The client no longer polls; close the long-poll it may have left open.
        auto r = std::move(*pending_get_);
        pending_get_.reset();
        r(payload_response("6", 11));
    }
    // If the 3probe write is still in flight, write_next() waits for it.
    net::post(strand_, [self = shared_from_this()] { self->flush(); });
}

void engine_session::drop_probe() {
    upgrade_timer_.reset();
    upgrading_ = false;
    if (probe_) {
        // Its pending operations complete with an error and release it.
        beast::error_code ignored;
        probe_->socket.close(ignored);
        probe_.reset();
    }
}

void engine_session::arm_heartbeat() {
    if (closed_ || heartbeat_slot_ == no_slot) return;
    auto at = heartbeat_.next_deadline();
    if (write_stalled_since_.count() != 0)
        at = std::min(at, write_stalled_since_ + std::chrono::milliseconds(endpoint_.config().write_timeout_ms));
    endpoint_.heartbeats().schedule(heartbeat_slot_, std::chrono::steady_clock::time_point(at));
}

void engine_session::heartbeat_due() {
    net::post(strand_, [self = shared_from_this()] { self->on_heartbeat(); });
}

void engine_session::on_heartbeat() {
    if (closed_) return;
    const auto write_timeout = std::chrono::milliseconds(endpoint_.config().write_timeout_ms);
    if (write_stalled_since_.count() != 0 && now() - write_stalled_since_ >= write_timeout) {
        // The peer stopped reading: what waits for it would pin memory and a descriptor forever.
        finish(eio::close_reason::transport_error,
               fmt::format("write timeout: the peer took no data for {} ms", write_timeout.count()));
        if (ws_) {
            beast::error_code ignored;
            ws_->socket.close(ignored);
        }
        return;
    }
    switch (heartbeat_.on_timer(now())) {
    case eio::server_heartbeat::action::send_ping:
        enqueue({eio::make_text_frame(eio::packet_type::ping)}, false);
        break;
    case eio::server_heartbeat::action::timed_out:
        SB_LOG(info, "{} session {}: no pong within {} ms", request_.remote_address, sid_,
               endpoint_.config().ping_timeout_ms);
        finish(eio::close_reason::ping_timeout);
        return;
    case eio::server_heartbeat::action::none: break;
    }
    arm_heartbeat();
}

void engine_session::finish(eio::close_reason reason, std::string_view cause) {
    if (closed_) return;
    closed_ = true;
    if (!cause.empty()) {
        SB_LOG(warn, "{} session {} closed ({}): {}", request_.remote_address, sid_, eio::to_string(reason), cause);
    } else {
        SB_LOG(debug, "{} session {} closed ({})", request_.remote_address, sid_, eio::to_string(reason));
    }
    endpoint_.heartbeats().release(std::exchange(heartbeat_slot_, no_slot)); // reused by another session now
    for (auto& [id, timer] : std::exchange(timers_, {})) timer->cancel();
    drop_probe();

    const bool graceful = reason == eio::close_reason::forced_close;
    if (transport() == transport_kind::polling) {
        if (pending_get_) {
            // Deliver what is queued, then the close packet; when the client itself closed, just
            // end its long-poll with a noop, as the reference server does.
            if (!graceful) {
                queue_.clear();
                queued_bytes_ = 0;
            }
            queue_.push_back({eio::make_text_frame(
                reason == eio::close_reason::transport_close ? eio::packet_type::noop : eio::packet_type::close)});
            flush_polling();
        } else if (graceful) {
            // No long-poll to answer now: the client's next one gets what is queued and the close
            // packet (the session stays findable for that long, bounded by a heartbeat period).
            queue_.push_back({eio::make_text_frame(eio::packet_type::close)});
            deferred_close_ = true;
            const auto& cfg = endpoint_.config();
            auto timer = std::make_shared<strand_timer>(
                strand_, std::chrono::milliseconds(cfg.ping_interval_ms + cfg.ping_timeout_ms));
            timer->async_wait(
                [timer, self = shared_from_this()](beast::error_code) { self->endpoint_.remove(self->sid_); });
        }
        if (!deferred_close_) {
            queue_.clear();
            queued_bytes_ = 0;
        }
    } else if (ws_) {
        if (!graceful) { // what is not written yet never will be
            for (const auto& f : queue_) queued_bytes_ -= f.frame.bytes->size();
            queue_.clear();
        }
        if (graceful || ws_close_code_ != 0) {
            // The close packet (graceful), then the close frame; the connection closes once it is out.
            if (graceful) {
                auto close_packet = eio::make_text_frame(eio::packet_type::close);
                queued_bytes_ += close_packet.bytes->size();
                queue_.push_back({std::move(close_packet)});
            }
            push_control(ws::opcode::close, ws::close_payload(graceful ? ws::close_code::normal : ws_close_code_));
            write_next();
            if (ws_ && ws_->writing) {
                // A peer that reads nothing would keep the close waiting forever: bound it.
                ws_->linger = std::make_unique<strand_timer>(
                    strand_, std::chrono::milliseconds(endpoint_.config().write_timeout_ms));
                ws_->linger->async_wait([weak = std::weak_ptr<ws_connection>(ws_)](beast::error_code ec) {
                    auto c = weak.lock();
                    if (c && !ec) {
                        beast::error_code ignored;
                        c->socket.close(ignored);
                    }
                });
            }
        } else {
            beast::error_code ignored;
            ws_->socket.close(ignored);
        }
    }

    if (!deferred_close_) endpoint_.remove(sid_);

    auto on_close_handler = std::move(on_close);
    // Drop the layers' callbacks: they may hold this session, which would keep it alive forever.
    on_text = nullptr;
    on_binary = nullptr;
    on_close = nullptr;
    if (on_close_handler) {
        try {
            on_close_handler(reason);
        } catch (...) {
            SB_LOG(warn, "{} session {}: the close handler threw ({})", request_.remote_address, sid_,
                   describe_current_exception());
        }
    }
}

} // namespace switchboard::server
