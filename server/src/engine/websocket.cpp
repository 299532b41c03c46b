#include "websocket.hpp"

#include "../metrics/counters.hpp"
#include "../tls/stream.hpp"
#include "../util/log.hpp"
#include "deflate.hpp"

#include <fmt/format.h>

#include <array>
#include <span>

namespace switchboard::server {

namespace {

bool is_disconnect(const beast::error_code& ec) {
    return ec == net::error::eof || ec == net::error::connection_reset || ec == net::error::operation_aborted ||
           ec == beast::error::timeout || ec == net::error::broken_pipe;
}

} // namespace

websocket_transport::websocket_transport(strand_socket socket, std::size_t max_message,
                                         std::chrono::milliseconds write_timeout, admission::ticket ticket,
                                         std::unique_ptr<tls_engine> tls)
    : socket_(std::move(socket)), tls_(std::move(tls)), ticket_(std::move(ticket)), reader_(max_message),
      write_timeout_(write_timeout) {}

void websocket_transport::start(std::weak_ptr<listener> l) {
    listener_ = std::move(l);
    read_next();
}

// --- writing -----------------------------------------------------------------------------------------

websocket_transport::write_state websocket_transport::write(std::span<eio::frame> frames) {
    if (closing_ || aborted_) return aborted_ ? write_state::failed : write_state::done; // nothing after the close
    if (frames.empty()) return waiting_ ? write_state::waiting_stalled : write_state::done;
    if (!waiting_ && !queue_ && !tls_ && frames.size() <= direct_frames) return write_direct(frames);
    // Else the frames go into the batch, or behind what waits.
    auto& q = queue();
    const bool behind = waiting_ || !q.pending.empty();
    auto& into = behind ? q.pending : q.batch;
    for (auto& f : frames) {
        const auto op = f.binary ? ws::opcode::binary : ws::opcode::text;
        into.push_back({std::move(f), op});
    }
    if (behind) return waiting_ ? write_state::waiting_stalled : write_pending();
    gather();
    return write_batch();
}

// The common case, a peer that keeps up: the frames go out at once in one gathered write from the
// stack, so a connection holds no write lists between its bursts. What the socket does not take
// waits in the batch as any write that waits.
websocket_transport::write_state websocket_transport::write_direct(std::span<eio::frame> frames) {
    unsigned char headers[direct_frames][ws::max_header_size];
    std::array<net::const_buffer, direct_frames * 2> iov;
    std::size_t buffers = 0;
    std::size_t total = 0;
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const auto& f = frames[i];
        const bool compressed = deflate_ && f.deflated; // compressed once, for every recipient
        const auto& bytes = compressed ? *f.deflated : *f.bytes;
        const auto op = f.binary ? ws::opcode::binary : ws::opcode::text;
        const auto header_size = ws::write_header(headers[i], op, bytes.size(), compressed);
        iov[buffers++] = net::const_buffer(headers[i], header_size);
        if (!bytes.empty()) iov[buffers++] = net::const_buffer(bytes.data(), bytes.size());
        total += header_size + bytes.size();
    }
    beast::error_code ec;
    const std::size_t n = send(std::span<const net::const_buffer>(iov.data(), buffers), ec);
    if (ec && ec != net::error::would_block && ec != net::error::try_again) {
        abort();
        return write_state::failed;
    }
    if (n == total) return write_state::done;
    auto& q = queue();
    for (auto& f : frames) {
        const auto op = f.binary ? ws::opcode::binary : ws::opcode::text;
        q.batch.push_back({std::move(f), op});
    }
    gather(); // the same headers again, now kept with their frames
    skip_written(n);
    wait_writable();
    return n > 0 ? write_state::waiting_progressed : write_state::waiting_stalled;
}

websocket_transport::write_queue& websocket_transport::queue() {
    if (!queue_) queue_ = std::make_unique<write_queue>();
    return *queue_;
}

void websocket_transport::skip_written(std::size_t n) {
    auto& q = *queue_;
    while (n > 0) { // the first buffer not fully written starts where it stopped
        auto& b = q.iov[q.iov_next];
        if (n < b.size()) {
            b += n;
            return;
        }
        n -= b.size();
        ++q.iov_next;
    }
}

// Every frame of a batch goes out in one gathered write (header, payload, header, payload, ...): one
// system call for a burst instead of one per frame. The socket is non-blocking: a write goes out at
// once, and only a peer whose receive window is full makes the transport wait for writability.
void websocket_transport::gather() {
    auto& q = *queue_;
    q.iov.clear();
    q.iov.reserve(q.batch.size() * 2);
    q.iov_next = 0;
    for (auto& f : q.batch) {
        const bool compressed = deflate_ && f.frame.deflated; // compressed once, for every recipient
        const auto& bytes = compressed ? *f.frame.deflated : *f.frame.bytes;
        f.header_size = static_cast<unsigned char>(ws::write_header(f.header, f.op, bytes.size(), compressed));
        q.iov.emplace_back(f.header, f.header_size);
        if (!bytes.empty()) q.iov.emplace_back(bytes.data(), bytes.size());
    }
}

websocket_transport::write_state websocket_transport::write_pending() {
    while (!aborted_ && has_pending()) {
        queue_->batch.swap(queue_->pending);
        gather();
        if (const auto state = write_batch(); state != write_state::done) return state;
    }
    return aborted_ ? write_state::failed : write_state::done;
}

// Writes what is left of the batch.
websocket_transport::write_state websocket_transport::write_batch() {
    bool progressed = false;
    if (beast::error_code ec; tls_ && !flush_tls(ec)) { // the ciphertext of what was taken before goes first
        if (ec != net::error::would_block && ec != net::error::try_again) {
            abort();
            return write_state::failed;
        }
        wait_writable();
        return write_state::waiting_stalled;
    }
    while (queue_ && queue_->iov_next < queue_->iov.size()) {
        beast::error_code ec;
        std::size_t n = send(std::span<const net::const_buffer>(queue_->iov).subspan(queue_->iov_next), ec);
        if (ec && ec != net::error::would_block && ec != net::error::try_again) {
            abort();
            return write_state::failed;
        }
        progressed = progressed || n > 0;
        skip_written(n);
        if (ec) { // would block (over TLS, its ciphertext may wait with every byte taken)
            wait_writable();
            return progressed ? write_state::waiting_progressed : write_state::waiting_stalled;
        }
    }
    batch_written();
    return write_state::done;
}

void websocket_transport::wait_writable() {
    waiting_ = true;
    socket_.async_wait(tcp::socket::wait_write, [self = shared_from_this()](beast::error_code ec) {
        self->waiting_ = false;
        auto state = write_state::failed;
        if (ec || self->aborted_) {
            self->abort();
        } else if (state = self->write_batch(); state == write_state::done) {
            state = self->write_pending();
        }
        if (auto l = self->listener_.lock()) l->on_ws_write(*self, state);
    });
}

void websocket_transport::batch_written() {
    if (!queue_) return;
    auto& q = *queue_;
    const bool close_written = !q.batch.empty() && q.batch.back().op == ws::opcode::close;
    q.batch.clear();
    q.iov.clear();
    q.iov_next = 0;
    // A connection that caught up keeps no write lists; over TLS every write goes through them (the TLS
    // engine takes the gathered plaintext), so they stay: no allocations per write, beside a TLS
    // session's own tens of kilobytes.
    if (q.pending.empty() && !tls_ && !q.linger) queue_.reset();
    if (close_written) linger_then_close(); // nothing more is written
}

void websocket_transport::push_control(ws::opcode op, std::string payload) {
    queue().pending.push_back({eio::frame{make_shared_bytes(std::move(payload)), false, false, nullptr}, op});
}

// --- closing -----------------------------------------------------------------------------------------

void websocket_transport::close(bool graceful) {
    if (closing_ || aborted_) return;
    if (!graceful && close_code_ == 0) return abort();
    closing_ = true;
    push_control(ws::opcode::close, ws::close_payload(close_code_ != 0 ? close_code_ : ws::close_code::normal));
    if (!waiting_) write_pending();
    if (waiting_) {
        // A peer that reads nothing would keep the close waiting forever: bound it.
        auto& linger = queue().linger;
        linger = std::make_unique<strand_timer>(socket_.get_executor(), write_timeout_);
        linger->async_wait([weak = weak_from_this()](beast::error_code ec) {
            if (auto t = weak.lock(); t && !ec) t->abort();
        });
    }
}

// After our close frame: stop sending and read (discarding) until the peer closes too, for at most
// two seconds. Closing with unread bytes would reset the connection and could lose the close frame.
void websocket_transport::linger_then_close() {
    beast::error_code ignored;
    if (tls_) { // our close_notify, if the socket takes it now
        tls_->close_notify();
        flush_tls(ignored);
    }
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    auto& q = queue();
    q.pending.clear();
    q.linger = std::make_unique<strand_timer>(socket_.get_executor(), std::chrono::seconds(2));
    q.linger->async_wait([weak = weak_from_this()](beast::error_code ec) {
        if (auto t = weak.lock(); t && !ec) t->abort();
    });
}

void websocket_transport::abort() {
    if (aborted_) return;
    aborted_ = true;
    beast::error_code ignored;
    socket_.close(ignored);
    if (queue_) {
        if (queue_->linger) queue_->linger->cancel();
        queue_->pending.clear();
    }
}

// --- reading -----------------------------------------------------------------------------------------

void websocket_transport::read_next() {
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this()](beast::error_code ec) { self->on_readable(ec); });
}

void websocket_transport::on_readable(beast::error_code ec) {
    if (aborted_) return;
    // One receive buffer per thread: an idle connection holds none (its reader keeps a partial frame).
    thread_local std::array<char, 64 * 1024> buffer;
    constexpr int max_reads = 8; // then the other connections of this thread get their turn
    auto l = listener_.lock();
    for (int reads = 0; !ec; ++reads) {
        if (reads == max_reads) {
            net::post(socket_.get_executor(), [self = shared_from_this()] { self->on_readable({}); });
            return;
        }
        const std::size_t n = receive(buffer, ec);
        if (ec == net::error::would_block || ec == net::error::try_again) {
            read_next();
            return;
        }
        if (ec) break;
        if (!l && !closing_) return abort(); // nobody to read for
        if (!closing_) {                     // after our close frame the peer's last bytes are not for the session
            l->on_ws_read_begin(*this);
            const auto code = reader_.feed(buffer.data(), n, [&](const ws::event& e) { return on_event(*l, e); });
            l->on_ws_read_end(*this);
            if (aborted_) return;
            if (!closing_ && !waiting_ && has_pending() && write_pending() == write_state::failed) {
                l->on_ws_closed(*this, eio::close_reason::transport_error, {}); // a pong could not be written
                return;
            }
            if (code && !closing_) {
                close_code_ = code;
                if (code == ws::close_code::too_big) metrics::add(metrics::counter::refused_payload);
                l->on_ws_closed(*this,
                                code == ws::close_code::invalid_payload ? eio::close_reason::parse_error
                                                                        : eio::close_reason::transport_error,
                                code == ws::close_code::invalid_payload ? "a WebSocket text frame that is not UTF-8"
                                : code == ws::close_code::too_big
                                    ? "a WebSocket message over the payload limit"
                                    : fmt::format("a WebSocket protocol error (close code {})", code));
                close(false); // in case the listener did not
            }
            if (aborted_) return;
        }
        // A short read drained the socket for now. No need to read until EAGAIN: Asio's wait for
        // readiness re-arms the descriptor (EPOLL_CTL_MOD), which reports data that came meanwhile.
        if (n < buffer.size()) {
            read_next();
            if (tls_ && tls_->has_output() && !waiting_) wait_writable(); // what reading made TLS answer
            return;
        }
    }
    if (closing_ || !l) { // the peer closed after us, or the linger timer closed the socket
        abort();
        return;
    }
    l->on_ws_closed(*this, is_disconnect(ec) ? eio::close_reason::transport_close : eio::close_reason::transport_error,
                    {});
    abort();
}

// Over TLS: ciphertext read until the socket has no more, decrypted into `into` until it is full.
std::size_t websocket_transport::receive(std::span<char> into, beast::error_code& ec) {
    if (!tls_) return socket_.read_some(net::buffer(into.data(), into.size()), ec);
    thread_local std::array<char, 17 * 1024> ciphertext; // a record
    std::size_t total = 0;
    for (;;) {
        const auto got = tls_->decrypt(into.subspan(total));
        total += got.bytes;
        if (tls_->has_output()) {
            beast::error_code ignored; // what does not go now goes with the next write
            flush_tls(ignored);
        }
        if (total == into.size()) return total;
        if (got.state == tls_engine::status::closed || got.state == tls_engine::status::failed) {
            if (got.state == tls_engine::status::failed) SB_LOG(debug, "TLS: {}", tls_->error());
            if (total == 0) ec = got.state == tls_engine::status::closed ? net::error::eof : tls_failure();
            return total;
        }
        const std::size_t n = socket_.read_some(net::buffer(ciphertext), ec);
        if (ec) {
            if (total > 0) ec = {}; // these bytes first; the socket's state again on the next read
            return total;
        }
        tls_->put_input(std::string_view(ciphertext.data(), n));
    }
}

// Over TLS: `buffers` encrypted (a bounded amount at a time) and their ciphertext written; bytes taken
// count as sent even when some of their ciphertext waits (would_block in `ec`).
std::size_t websocket_transport::send(std::span<const net::const_buffer> buffers, beast::error_code& ec) {
    if (!tls_) return socket_.write_some(buffers, ec);
    if (!flush_tls(ec)) return 0;
    const std::size_t taken = encrypt_buffers(*tls_, buffers, 256 * 1024);
    if (tls_->failed()) {
        ec = tls_failure();
        return 0;
    }
    flush_tls(ec);
    return taken;
}

bool websocket_transport::flush_tls(beast::error_code& ec) {
    while (tls_->has_output()) {
        const auto out = tls_->output();
        const std::size_t n = socket_.write_some(net::buffer(out.data(), out.size()), ec);
        if (ec) return false;
        tls_->consume_output(n);
    }
    return true;
}

bool websocket_transport::on_event(listener& l, const ws::event& event) {
    switch (event.type) {
    case ws::event::kind::text:
    case ws::event::kind::binary: {
        if (!event.compressed) return l.on_ws_message(*this, event) && !closing_ && !aborted_;
        // permessage-deflate: inflated here, bounded by the message limit, into this thread's buffer.
        thread_local std::string inflated;
        bool too_big = false;
        const bool ok = deflate::inflate(event.payload, reader_.max_message(), inflated, too_big);
        const bool text = event.type == ws::event::kind::text;
        if (!ok || (text && !ws::is_valid_utf8(inflated))) {
            if (too_big) metrics::add(metrics::counter::refused_payload);
            close_code_ = too_big ? ws::close_code::too_big : ws::close_code::invalid_payload;
            l.on_ws_closed(*this, too_big ? eio::close_reason::transport_error : eio::close_reason::parse_error,
                           too_big ? "a compressed WebSocket message that inflates past the payload limit"
                           : ok    ? "a compressed WebSocket text message that is not UTF-8"
                                   : "a compressed WebSocket message that does not inflate");
            close(false);
            return false;
        }
        ws::event plain = event;
        plain.compressed = false;
        plain.payload = inflated;
        const bool more = l.on_ws_message(*this, plain) && !closing_ && !aborted_;
        if (inflated.capacity() > 65536) inflated = std::string(); // a large one is not kept per thread
        return more;
    }
    case ws::event::kind::ping: // WebSocket pings (not Engine.IO's) get their pong
        push_control(ws::opcode::pong, std::string(event.payload));
        return true;
    case ws::event::kind::pong: return true;
    case ws::event::kind::close:
        // Answer with the peer's code, as RFC 6455 suggests.
        close_code_ = event.close_code == 1005 ? ws::close_code::normal : event.close_code;
        l.on_ws_closed(*this, eio::close_reason::transport_close, {});
        close(false); // in case the listener did not
        return false;
    }
    return false;
}

} // namespace switchboard::server
