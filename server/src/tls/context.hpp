#pragma once
// TLS configuration (private to server/): the certificate chain and key that --tls-cert / --tls-key
// name, loaded into an OpenSSL context. A reload (SIGHUP) loads a new context for new connections;
// the connections already open keep the one they were accepted with (an SSL holds its context).

#include <memory>
#include <string>

struct ssl_ctx_st; // OpenSSL's SSL_CTX, kept out of the headers that include this one

namespace switchboard::server {

/// What OpenSSL's error queue says about the last failure (the queue is emptied), for the log.
std::string openssl_errors();

class tls_context {
public:
    /// Loads the PEM certificate chain and private key; nothing, with the reason in `error`, when the
    /// files are missing, unreadable, or the key does not match the certificate.
    static std::shared_ptr<tls_context> load(const std::string& cert_file, const std::string& key_file,
                                             std::string& error);
    ~tls_context();
    tls_context(const tls_context&) = delete;
    tls_context& operator=(const tls_context&) = delete;

    ssl_ctx_st* native() const noexcept { return ctx_; }
    /// The certificate's subject and expiry, for the log.
    const std::string& description() const noexcept { return description_; }

private:
    explicit tls_context(ssl_ctx_st* ctx) : ctx_(ctx) {}
    ssl_ctx_st* ctx_;
    std::string description_;
};

} // namespace switchboard::server
