#include "engine.hpp"

#include "context.hpp"

#include <fmt/format.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <climits>
#include <new>

namespace switchboard::server {

tls_engine::tls_engine(const tls_context& context) : ssl_(SSL_new(context.native())) {
    if (!ssl_) throw std::bad_alloc();
    input_ = BIO_new(BIO_s_mem());
    pending_ = BIO_new(BIO_s_mem());
    if (!input_ || !pending_) {
        BIO_free(input_);
        BIO_free(pending_);
        SSL_free(ssl_);
        throw std::bad_alloc();
    }
    // An empty memory BIO means "no data yet", not end of file.
    BIO_set_mem_eof_return(input_, -1);
    SSL_set_bio(ssl_, input_, pending_);
    SSL_set_accept_state(ssl_);
}

tls_engine::~tls_engine() { SSL_free(ssl_); } // and its BIOs

void tls_engine::put_input(std::string_view ciphertext) {
    while (!ciphertext.empty()) {
        const int n =
            BIO_write(input_, ciphertext.data(), static_cast<int>(std::min<std::size_t>(ciphertext.size(), INT_MAX)));
        if (n <= 0) throw std::bad_alloc(); // a memory BIO fails only when memory does
        ciphertext.remove_prefix(static_cast<std::size_t>(n));
    }
}

tls_engine::status tls_engine::handshake() {
    ERR_clear_error();
    const int ret = SSL_do_handshake(ssl_);
    collect_output();
    return ret == 1 ? status::ok : fail(ret);
}

tls_engine::result tls_engine::decrypt(std::span<char> out) {
    std::size_t total = 0;
    status state = status::ok;
    while (total < out.size()) {
        ERR_clear_error();
        const int n =
            SSL_read(ssl_, out.data() + total, static_cast<int>(std::min<std::size_t>(out.size() - total, INT_MAX)));
        if (n <= 0) {
            state = fail(n);
            break;
        }
        total += static_cast<std::size_t>(n);
    }
    collect_output(); // a read may have something to answer (a key update, session tickets)
    if (total > 0 && state == status::want_read) state = status::ok;
    return {total > 0 ? status::ok : state, total};
}

std::size_t tls_engine::encrypt(std::string_view plain) {
    if (plain.empty()) return 0;
    ERR_clear_error();
    const int n = SSL_write(ssl_, plain.data(), static_cast<int>(std::min<std::size_t>(plain.size(), INT_MAX)));
    collect_output();
    if (n > 0) return static_cast<std::size_t>(n);
    fail(n);
    return 0;
}

void tls_engine::close_notify() {
    ERR_clear_error();
    SSL_shutdown(ssl_);
    collect_output();
}

void tls_engine::consume_output(std::size_t n) {
    output_sent_ += n;
    if (output_sent_ >= output_.size()) {
        output_.clear();
        output_sent_ = 0;
        if (output_.capacity() > 64 * 1024) output_.shrink_to_fit(); // a burst doesn't pin its memory
    }
}

void tls_engine::collect_output() {
    char* data = nullptr;
    const long n = BIO_get_mem_data(pending_, &data);
    if (n <= 0) return;
    output_.append(data, static_cast<std::size_t>(n));
    (void)BIO_reset(pending_);
}

tls_engine::status tls_engine::fail(int ret) {
    switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ: return status::want_read;
    case SSL_ERROR_ZERO_RETURN: return status::closed;
    default: break;
    }
    error_ = openssl_errors();
    return status::failed;
}

} // namespace switchboard::server
