#include "context.hpp"

#include <fmt/format.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace switchboard::server {

std::string openssl_errors() {
    std::string reason;
    while (const unsigned long code = ERR_get_error()) {
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        if (!reason.empty()) reason += "; ";
        reason += text;
    }
    return reason.empty() ? "unknown OpenSSL error" : reason;
}

namespace {

std::string describe(SSL_CTX* ctx) {
    X509* cert = SSL_CTX_get0_certificate(ctx);
    if (!cert) return "no certificate";
    char subject[256] = {};
    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
    std::string until = "?";
    if (BIO* out = BIO_new(BIO_s_mem())) {
        if (ASN1_TIME_print(out, X509_get0_notAfter(cert)) == 1) {
            char* data = nullptr;
            const long n = BIO_get_mem_data(out, &data);
            if (n > 0) until.assign(data, static_cast<std::size_t>(n));
        }
        BIO_free(out);
    }
    return fmt::format("{}, valid until {}", subject, until);
}

} // namespace

std::shared_ptr<tls_context> tls_context::load(const std::string& cert_file, const std::string& key_file,
                                               std::string& error) {
    ERR_clear_error();
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        error = openssl_errors();
        return nullptr;
    }
    std::shared_ptr<tls_context> context(new tls_context(ctx));
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // Idle connections give their record buffers back (most of a chat's connections are idle); a
    // partial write may resume with the rest of its bytes from another buffer.
    SSL_CTX_set_mode(ctx,
                     SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
        error = fmt::format("certificate {}: {}", cert_file, openssl_errors());
        return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        error = fmt::format("private key {}: {}", key_file, openssl_errors());
        return nullptr;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        error = fmt::format("the key {} does not belong to the certificate {}", key_file, cert_file);
        ERR_clear_error();
        return nullptr;
    }
    context->description_ = describe(ctx);
    return context;
}

tls_context::~tls_context() { SSL_CTX_free(ctx_); }

} // namespace switchboard::server
