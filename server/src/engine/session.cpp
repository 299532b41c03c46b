#include "session.hpp"

#include "../http/query.hpp"
#include "../util/log.hpp"
#include "../util/random_id.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace switchboard::server {

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

void engine_session::flush() {
    if (transport() == transport_kind::websocket) {
        write_next();
    } else {
        flush_polling();
    }
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
