#pragma once
// One TLS connection's protocol state (private to server/), without I/O: ciphertext read from the
// network is put in, plaintext comes out of decrypt(); plaintext given to encrypt() becomes
// ciphertext waiting in output() until the caller has written it. OpenSSL does the protocol through
// two memory BIOs. The HTTP connection drives it asynchronously (stream.hpp), the WebSocket
// transport with non-blocking reads and writes (engine/websocket.cpp).

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

struct ssl_st;
struct bio_st;

namespace switchboard::server {

class tls_context;

class tls_engine {
public:
    enum class status {
        ok,        ///< done (the handshake), or bytes came out (decrypt)
        want_read, ///< more ciphertext from the peer is needed first
        closed,    ///< the peer closed the TLS session (close_notify)
        failed,    ///< a protocol error; error() says which
    };
    struct result {
        status state;
        std::size_t bytes = 0;
    };

    explicit tls_engine(const tls_context& context);
    ~tls_engine();
    tls_engine(const tls_engine&) = delete;
    tls_engine& operator=(const tls_engine&) = delete;

    /// Ciphertext that came from the peer.
    void put_input(std::string_view ciphertext);
    /// Advances the server handshake.
    status handshake();
    /// Decrypts into `out`, as much as the input holds (several records).
    result decrypt(std::span<char> out);
    /// Encrypts (some of) `plain` into output(); returns how much was taken (0 and error() on failure).
    std::size_t encrypt(std::string_view plain);
    /// Queues our close_notify.
    void close_notify();

    /// Ciphertext waiting to be written, and how much of it was.
    std::string_view output() const noexcept { return std::string_view(output_).substr(output_sent_); }
    void consume_output(std::size_t n);
    bool has_output() const noexcept { return output_sent_ < output_.size(); }

    /// True after a protocol failure; error() says which (for the log).
    bool failed() const noexcept { return !error_.empty(); }
    const std::string& error() const noexcept { return error_; }

private:
    status fail(int ret);
    void collect_output(); // the write BIO's ciphertext into output_

    ssl_st* ssl_ = nullptr;
    bio_st* input_ = nullptr;   // owned by ssl_
    bio_st* pending_ = nullptr; // owned by ssl_: what OpenSSL wrote, before collect_output()
    std::string output_;
    std::size_t output_sent_ = 0;
    std::string error_;
};

} // namespace switchboard::server
