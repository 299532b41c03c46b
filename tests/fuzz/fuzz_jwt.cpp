// What a client presents as its token (auth.token, or an Authorization header): any bytes must be
// refused with a reason or verified, never crash, never throw, never read past what was given. A token
// made valid from the input (the input as its claims, signed with the configured secret) must verify,
// and must stop verifying when one byte of its signature changes.
#include <switchboard/base64.hpp>
#include <switchboard/io/jwt.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>
#include <string>

using namespace switchboard;

namespace {

std::string b64url(std::string_view bytes) {
    std::string out;
    base64_encode(out, bytes);
    while (!out.empty() && out.back() == '=') out.pop_back();
    for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
    return out;
}

const io::jwt_verifier& verifier() {
    static const io::jwt_verifier v([] {
        io::jwt_options o;
        o.secret = "fuzz-secret";
        return o;
    }());
    return v;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    (void)verifier().verify(input); // any bytes: a reason or claims

    // The input as the claims of a token signed with the right secret.
    const auto signing_input = b64url(R"({"alg":"HS256"})") + "." + b64url(input);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    HMAC(EVP_sha256(), "fuzz-secret", 11, reinterpret_cast<const unsigned char*>(signing_input.data()),
         signing_input.size(), mac, &mac_size);
    auto token = signing_input + "." + b64url(std::string_view(reinterpret_cast<const char*>(mac), mac_size));
    const auto verified = verifier().verify(token);
    // The signature is right: whatever else is refused is about the claims, never the signature.
    if (!verified && verified.error() == io::jwt_errc::bad_signature) std::abort();
    token[token.size() - 3] = token[token.size() - 3] == 'A' ? 'B' : 'A';
    const auto tampered = verifier().verify(token);
    if (tampered) std::abort();
    return 0;
}
