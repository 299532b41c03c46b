#pragma once
/// @file
/// Token authentication: a JSON Web Token verifier and the middleware that asks every connecting
/// socket for one. HS256 (a shared secret), RS256 and ES256 (a public key, PEM); the algorithm must
/// match the key configured (no `none`, no HS256 with a public key as its secret).
///
/// ```cpp
/// io.use(switchboard::io::jwt_auth({.secret = "…", .audience = "chat", .issuer = "auth.example"}));
/// // a handler: socket.data() is an object whose "jwt" member holds the verified claims
/// ```
/// The switchboard binary and every example do this from `--jwt-secret` / `--jwt-public-key FILE`,
/// `--jwt-audience`, `--jwt-issuer`, for every namespace.

#include <switchboard/io/io.hpp>
#include <switchboard/result.hpp>

#include <boost/json/object.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace switchboard::io {

/// Why a token was refused; the message is what the client's connect_error says.
enum class jwt_errc {
    missing = 1,    ///< "missing token"
    malformed,      ///< "malformed token"
    unsupported,    ///< "unsupported algorithm" (not the configured key's)
    bad_signature,  ///< "bad signature"
    expired,        ///< "token expired"
    not_yet_valid,  ///< "token not valid yet"
    wrong_audience, ///< "wrong audience"
    wrong_issuer,   ///< "wrong issuer"
};
const std::error_category& jwt_category() noexcept;
inline std::error_code make_error_code(jwt_errc e) noexcept { return {static_cast<int>(e), jwt_category()}; }

struct jwt_options {
    std::string secret;             ///< HS256: the shared secret (empty: HS256 refused)
    std::string public_key_pem;     ///< RS256 or ES256 (by the key's type): the PEM public key
    std::string audience;           ///< when set, `aud` (a string, or an array) must hold it
    std::string issuer;             ///< when set, `iss` must be it
    std::chrono::seconds leeway{0}; ///< clock skew allowed on `exp` and `nbf`
};

/// Verifies compact tokens (header.payload.signature) against one key. Thread-safe.
class jwt_verifier {
public:
    /// Throws std::invalid_argument when neither a secret nor a readable public key is given.
    explicit jwt_verifier(jwt_options options);
    ~jwt_verifier();
    jwt_verifier(jwt_verifier&&) noexcept;
    jwt_verifier& operator=(jwt_verifier&&) noexcept;

    /// The token's claims, or why it is refused. Never throws, whatever the token holds.
    result<boost::json::object>
    verify(std::string_view token, std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// The token a connecting socket presents: `auth.token` of its CONNECT, or else its handshake's
/// `Authorization: Bearer …` header; empty when neither.
std::string presented_token(const socket& s);

/// A middleware that admits a socket with a valid token and puts its claims in the "jwt" member of
/// `socket.data()` (made an object if it was not one); any other is refused with connect_error naming
/// the reason.
middleware jwt_auth(jwt_options options);

} // namespace switchboard::io

template <>
struct std::is_error_code_enum<switchboard::io::jwt_errc> : std::true_type {};
