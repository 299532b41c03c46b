// JSON Web Tokens (RFC 7519, compact JWS of RFC 7515) verified with OpenSSL: HMAC-SHA256, RSA PKCS#1
// v1.5 with SHA-256, ECDSA P-256 with SHA-256 (whose JWS signature is r||s, turned into DER for
// OpenSSL). Every part of a token is client data: read with the non-throwing accessors only.
#include <switchboard/base64.hpp>
#include <switchboard/io/jwt.hpp>
#include <switchboard/json.hpp>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <optional>
#include <stdexcept>
#include <strings.h>

namespace switchboard::io {

namespace {

class jwt_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "switchboard.jwt"; }
    std::string message(int code) const override {
        switch (static_cast<jwt_errc>(code)) {
        case jwt_errc::missing: return "missing token";
        case jwt_errc::malformed: return "malformed token";
        case jwt_errc::unsupported: return "unsupported algorithm";
        case jwt_errc::bad_signature: return "bad signature";
        case jwt_errc::expired: return "token expired";
        case jwt_errc::not_yet_valid: return "token not valid yet";
        case jwt_errc::wrong_audience: return "wrong audience";
        case jwt_errc::wrong_issuer: return "wrong issuer";
        }
        return "invalid token";
    }
};

/// base64url without padding (as JWS writes it); nothing on any other character.
std::optional<std::string> base64url_decode(std::string_view in) {
    std::string standard(in);
    for (auto& c : standard) {
        if (c == '+' || c == '/' || c == '=') return std::nullopt; // the other alphabet, or padding
        if (c == '-') c = '+';
        if (c == '_') c = '/';
    }
    return base64_decode(standard);
}

struct pkey_deleter {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct md_ctx_deleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

/// ES256's r||s (32 bytes each) as the DER ECDSA-Sig-Value OpenSSL verifies.
std::optional<std::string> ecdsa_der(std::string_view raw) {
    if (raw.size() != 64) return std::nullopt;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    if (!sig) return std::nullopt;
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
    if (!r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return std::nullopt;
    }
    unsigned char* der = nullptr;
    const int n = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    if (n <= 0) return std::nullopt;
    std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
    return out;
}

std::optional<double> number_claim(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v || !v->is_number()) return std::nullopt;
    std::error_code ec;
    const auto n = v->to_number<double>(ec);
    if (ec) return std::nullopt;
    return n;
}

} // namespace

const std::error_category& jwt_category() noexcept {
    static const jwt_error_category category;
    return category;
}

struct jwt_verifier::impl {
    jwt_options options;
    std::unique_ptr<EVP_PKEY, pkey_deleter> key; // RS256 / ES256
    std::string key_algorithm;                   // "RS256" or "ES256"
};

jwt_verifier::jwt_verifier(jwt_options options) : impl_(std::make_unique<impl>()) {
    impl_->options = std::move(options);
    if (!impl_->options.public_key_pem.empty()) {
        BIO* bio = BIO_new_mem_buf(impl_->options.public_key_pem.data(),
                                   static_cast<int>(impl_->options.public_key_pem.size()));
        impl_->key.reset(bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr);
        BIO_free(bio);
        if (!impl_->key) throw std::invalid_argument("jwt: the public key is not a PEM public key");
        const int type = EVP_PKEY_get_base_id(impl_->key.get());
        if (type == EVP_PKEY_RSA) {
            impl_->key_algorithm = "RS256";
        } else if (type == EVP_PKEY_EC) {
            impl_->key_algorithm = "ES256";
        } else {
            throw std::invalid_argument("jwt: the public key is neither RSA nor EC");
        }
    }
    if (impl_->options.secret.empty() && !impl_->key)
        throw std::invalid_argument("jwt: give a secret (HS256) or a public key (RS256, ES256)");
}

jwt_verifier::~jwt_verifier() = default;
jwt_verifier::jwt_verifier(jwt_verifier&&) noexcept = default;
jwt_verifier& jwt_verifier::operator=(jwt_verifier&&) noexcept = default;

result<boost::json::object> jwt_verifier::verify(std::string_view token,
                                                 std::chrono::system_clock::time_point now) const {
    if (token.empty()) return jwt_errc::missing;
    if (token.size() > 16 * 1024) return jwt_errc::malformed;
    const auto first = token.find('.');
    const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
        return jwt_errc::malformed;
    const auto header_text = base64url_decode(token.substr(0, first));
    const auto payload_text = base64url_decode(token.substr(first + 1, second - first - 1));
    const auto signature = base64url_decode(token.substr(second + 1));
    if (!header_text || !payload_text || !signature) return jwt_errc::malformed;
    auto header = parse_json(*header_text, 8);
    auto payload = parse_json(*payload_text, 32);
    if (!header || !header->is_object() || !payload || !payload->is_object()) return jwt_errc::malformed;
    const auto* alg_value = header->get_object().if_contains("alg");
    const auto* alg = alg_value ? alg_value->if_string() : nullptr;
    if (!alg) return jwt_errc::malformed;

    // The signature, by the algorithm the configured key allows: a token cannot choose another.
    const auto signing_input = token.substr(0, second);
    if (*alg == "HS256") {
        if (impl_->options.secret.empty()) return jwt_errc::unsupported;
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_size = 0;
        if (!HMAC(EVP_sha256(), impl_->options.secret.data(), static_cast<int>(impl_->options.secret.size()),
                  reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac, &mac_size))
            return jwt_errc::bad_signature;
        if (signature->size() != mac_size || CRYPTO_memcmp(mac, signature->data(), mac_size) != 0)
            return jwt_errc::bad_signature;
    } else if (impl_->key && *alg == impl_->key_algorithm) {
        std::string der;
        std::string_view sig = *signature;
        if (impl_->key_algorithm == "ES256") {
            auto converted = ecdsa_der(*signature);
            if (!converted) return jwt_errc::bad_signature;
            der = std::move(*converted);
            sig = der;
        }
        std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
        if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->key.get()) != 1 ||
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) != 1)
            return jwt_errc::bad_signature;
    } else {
        return jwt_errc::unsupported;
    }

    // The claims, now that they are the signer's.
    auto claims = std::move(payload->get_object());
    const double seconds = std::chrono::duration<double>(now.time_since_epoch()).count();
    const double leeway = static_cast<double>(impl_->options.leeway.count());
    if (const auto exp = number_claim(claims, "exp"); exp && seconds >= *exp + leeway) return jwt_errc::expired;
    if (claims.contains("exp") && !number_claim(claims, "exp")) return jwt_errc::malformed;
    if (const auto nbf = number_claim(claims, "nbf"); nbf && seconds + leeway < *nbf) return jwt_errc::not_yet_valid;
    if (!impl_->options.audience.empty()) {
        const auto* aud = claims.if_contains("aud");
        bool found = false;
        if (const auto* one = aud ? aud->if_string() : nullptr) found = *one == impl_->options.audience;
        if (const auto* many = aud ? aud->if_array() : nullptr)
            for (const auto& a : *many)
                if (const auto* s = a.if_string(); s && *s == impl_->options.audience) found = true;
        if (!found) return jwt_errc::wrong_audience;
    }
    if (!impl_->options.issuer.empty()) {
        const auto* iss = claims.if_contains("iss");
        const auto* s = iss ? iss->if_string() : nullptr;
        if (!s || *s != impl_->options.issuer) return jwt_errc::wrong_issuer;
    }
    return claims;
}

std::string presented_token(const socket& s) {
    const auto& h = s.handshake();
    if (const auto* t = h.auth.if_contains("token"); t && t->is_string()) return std::string(t->get_string());
    if (const auto* authorization = h.header("authorization")) {
        constexpr std::string_view bearer = "Bearer ";
        if (authorization->size() > bearer.size() &&
            ::strncasecmp(authorization->data(), bearer.data(), bearer.size()) == 0)
            return authorization->substr(bearer.size());
    }
    return {};
}

middleware jwt_auth(jwt_options options) {
    auto verifier = std::make_shared<const jwt_verifier>(std::move(options));
    return [verifier](socket& s, next_fn next) {
        auto claims = verifier->verify(presented_token(s));
        if (!claims) return next(connect_error{claims.error().message(), nullptr});
        auto& data = s.data();
        auto* fields = data.if_object();
        if (!fields) fields = &data.emplace_object();
        (*fields)["jwt"] = std::move(*claims);
        next({});
    };
}

} // namespace switchboard::io
