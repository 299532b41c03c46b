// The WebSocket transport of a session: the single writer (gathered, non-blocking writes under the
// write deadline), the reader (our own framing, ws::reader), the close handshake, and the upgrade
// probe that may replace polling.
#include "session.hpp"

#include "../util/log.hpp"

#include <fmt/format.h>

#include <array>
#include <span>

namespace switchboard::server {

namespace {

constexpr auto upgrade_timeout = std::chrono::seconds(10); // as the reference server's upgradeTimeout

bool is_disconnect(const beast::error_code& ec) {
    return ec == net::error::eof || ec == net::error::connection_reset || ec == net::error::operation_aborted ||
           ec == beast::error::timeout || ec == net::error::broken_pipe;
}

} // namespace

void engine_session::open_websocket(std::shared_ptr<ws_connection> ws) {
    on_strand([self = shared_from_this(), ws = std::move(ws)]() mutable {
        self->ws_ = std::move(ws);
        self->start();
        self->read_next(self->ws_);
        self->flush();
    });
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

} // namespace switchboard::server
