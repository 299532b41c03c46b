#pragma once
// A TLS connection as an Asio stream (private to server/'s I/O files), for Beast's HTTP reads and
// writes: a tls_engine over the connection's strand_stream, whose deadlines (expires_after) still bound
// every read and write. After a WebSocket upgrade, the socket and the engine are handed to the
// WebSocket transport, which drives the engine with non-blocking reads and writes instead.

#include "../util/net.hpp"
#include "engine.hpp"

#include <boost/asio/compose.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/errc.hpp>

#include <array>
#include <cstring>
#include <memory>

namespace switchboard::server {

/// Encrypts up to `limit` bytes of `buffers`, gathered into records of up to 16 KiB (a record per
/// small buffer would cost a header and a MAC each). Returns how many bytes were taken.
template <class ConstBuffers>
std::size_t encrypt_buffers(tls_engine& engine, const ConstBuffers& buffers, std::size_t limit) {
    thread_local std::array<char, 16 * 1024> record;
    std::size_t taken = 0, staged = 0;
    const auto flush = [&]() -> bool {
        const std::size_t n = engine.encrypt(std::string_view(record.data(), staged));
        taken += n;
        const bool whole = n == staged;
        staged = 0;
        return whole;
    };
    for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it) {
        net::const_buffer b = *it;
        while (b.size() > 0) {
            if (taken + staged >= limit) {
                flush();
                return taken;
            }
            const std::size_t n = std::min({b.size(), record.size() - staged, limit - taken - staged});
            std::memcpy(record.data() + staged, b.data(), n);
            staged += n;
            b += n;
            if (staged == record.size() && !flush()) return taken;
        }
    }
    if (staged > 0) flush();
    return taken;
}

inline beast::error_code tls_failure() { return make_error_code(boost::system::errc::protocol_error); }

class tls_stream {
public:
    using executor_type = strand_stream::executor_type;

    tls_stream(strand_stream next, std::unique_ptr<tls_engine> engine)
        : next_(std::move(next)), engine_(std::move(engine)) {}

    executor_type get_executor() noexcept { return next_.get_executor(); }
    strand_stream& next_layer() noexcept { return next_; }
    strand_socket& socket() noexcept { return next_.socket(); }
    const strand_socket& socket() const noexcept { return next_.socket(); }
    tls_engine& engine() noexcept { return *engine_; }
    template <class Duration>
    void expires_after(Duration d) {
        next_.expires_after(d);
    }
    void expires_never() { next_.expires_never(); }

    /// The socket and the engine, for the WebSocket transport (the stream is empty after).
    std::pair<strand_socket, std::unique_ptr<tls_engine>> release() {
        return {next_.release_socket(), std::move(engine_)};
    }

    /// The server side of the TLS handshake.
    template <class Token>
    auto async_handshake(Token&& token) {
        return net::async_compose<Token, void(beast::error_code)>(handshake_op{*this}, token, next_);
    }
    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return net::async_compose<Token, void(beast::error_code, std::size_t)>(read_op<MutableBuffers>{*this, buffers},
                                                                               token, next_);
    }
    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return net::async_compose<Token, void(beast::error_code, std::size_t)>(write_op<ConstBuffers>{*this, buffers},
                                                                               token, next_);
    }
    /// Our close_notify, written before the connection closes (bounded by the stream's deadline).
    template <class Token>
    auto async_close_notify(Token&& token) {
        engine_->close_notify();
        return net::async_write(next_, net::buffer(engine_->output().data(), engine_->output().size()),
                                std::forward<Token>(token));
    }

private:
    // Each operation completes through a post when it finishes before waiting for anything (an
    // initiating function must not call its handler itself).
    struct handshake_op {
        tls_stream& s;
        enum { start, flushed, read, done } state = start;
        bool waited = false;
        beast::error_code result{};

        template <class Self>
        void operator()(Self& self, beast::error_code ec = {}, std::size_t n = 0) {
            auto& engine = *s.engine_;
            switch (state) {
            case done: return self.complete(result);
            case flushed:
                if (ec) return finish(self, ec);
                engine.consume_output(n);
                break;
            case read:
                if (ec) return finish(self, ec);
                engine.put_input(std::string_view(s.input_.data(), n));
                break;
            case start: break;
            }
            const auto status = state == flushed ? last_ : engine.handshake();
            if (engine.has_output()) { // our answer goes out before we wait for the peer's next flight
                last_ = status;
                state = flushed;
                waited = true;
                net::async_write(s.next_, net::buffer(engine.output().data(), engine.output().size()), std::move(self));
                return;
            }
            if (status == tls_engine::status::ok) return finish(self, {});
            if (status != tls_engine::status::want_read) return finish(self, tls_failure());
            state = read;
            waited = true;
            s.next_.async_read_some(net::buffer(s.input_), std::move(self));
        }
        template <class Self>
        void finish(Self& self, beast::error_code ec) {
            if (waited) return self.complete(ec);
            result = ec;
            state = done;
            net::post(s.next_.get_executor(), std::move(self));
        }
        tls_engine::status last_ = tls_engine::status::want_read;
    };

    template <class MutableBuffers>
    struct read_op {
        tls_stream& s;
        MutableBuffers buffers;
        enum { start, flushed, read, done } state = start;
        bool waited = false;
        beast::error_code result{};
        std::size_t result_bytes = 0;

        template <class Self>
        void operator()(Self& self, beast::error_code ec = {}, std::size_t n = 0) {
            auto& engine = *s.engine_;
            switch (state) {
            case done: return self.complete(result, result_bytes);
            case flushed:
                if (ec) return finish(self, ec, 0);
                engine.consume_output(n);
                if (pending_bytes > 0) return finish(self, {}, pending_bytes);
                break;
            case read:
                if (ec) return finish(self, ec, 0);
                engine.put_input(std::string_view(s.input_.data(), n));
                break;
            case start: break;
            }
            // Into the first non-empty buffer (a read_some may fill less than all).
            net::mutable_buffer into;
            for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it)
                if (net::mutable_buffer b = *it; b.size() > 0) {
                    into = b;
                    break;
                }
            if (into.size() == 0) return finish(self, {}, 0);
            const auto got = engine.decrypt(std::span<char>(static_cast<char*>(into.data()), into.size()));
            if (engine.has_output()) { // what reading made OpenSSL say goes out first
                state = flushed;
                waited = true;
                pending_bytes = got.bytes;
                net::async_write(s.next_, net::buffer(engine.output().data(), engine.output().size()), std::move(self));
                return;
            }
            if (got.bytes > 0) return finish(self, {}, got.bytes);
            if (got.state == tls_engine::status::closed) return finish(self, net::error::eof, 0);
            if (got.state == tls_engine::status::failed) return finish(self, tls_failure(), 0);
            state = read;
            waited = true;
            s.next_.async_read_some(net::buffer(s.input_), std::move(self));
        }
        template <class Self>
        void finish(Self& self, beast::error_code ec, std::size_t n) {
            if (waited) return self.complete(ec, n);
            result = ec;
            result_bytes = n;
            state = done;
            net::post(s.next_.get_executor(), std::move(self));
        }
        std::size_t pending_bytes = 0; // decrypted before a flush
    };

    template <class ConstBuffers>
    struct write_op {
        tls_stream& s;
        ConstBuffers buffers;
        enum { start, flushing_earlier, flushed, done } state = start;
        bool waited = false;
        std::size_t taken = 0;
        beast::error_code result{};

        template <class Self>
        void operator()(Self& self, beast::error_code ec = {}, std::size_t n = 0) {
            auto& engine = *s.engine_;
            switch (state) {
            case done: return self.complete(result, taken);
            case flushed:
                if (ec) return finish(self, ec);
                engine.consume_output(n);
                return finish(self, {});
            case flushing_earlier:
                if (ec) return finish(self, ec);
                engine.consume_output(n);
                break;
            case start: break;
            }
            if (engine.has_output()) { // ciphertext of an earlier operation first
                state = flushing_earlier;
                waited = true;
                net::async_write(s.next_, net::buffer(engine.output().data(), engine.output().size()), std::move(self));
                return;
            }
            taken = encrypt_buffers(engine, buffers, 64 * 1024);
            if (engine.failed()) return finish(self, tls_failure());
            if (!engine.has_output()) return finish(self, {});
            state = flushed;
            waited = true;
            net::async_write(s.next_, net::buffer(engine.output().data(), engine.output().size()), std::move(self));
        }
        template <class Self>
        void finish(Self& self, beast::error_code ec) {
            if (waited) return self.complete(ec, taken);
            result = ec;
            state = done;
            net::post(s.next_.get_executor(), std::move(self));
        }
    };

    strand_stream next_;
    std::unique_ptr<tls_engine> engine_;
    std::array<char, 17 * 1024> input_{}; // ciphertext from the peer (a record's worth), on its way into the engine
};

} // namespace switchboard::server
