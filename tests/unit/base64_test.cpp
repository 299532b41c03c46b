#include <switchboard/base64.hpp>

#include <catch2/catch.hpp>

using switchboard::base64_decode;
using switchboard::base64_encode;

namespace {
std::string encode(std::string_view bytes) {
    std::string out;
    base64_encode(out, bytes);
    return out;
}
} // namespace

TEST_CASE("base64 encodes the RFC 4648 test vectors", "[base64]") {
    CHECK(encode("") == "");
    CHECK(encode("f") == "Zg==");
    CHECK(encode("fo") == "Zm8=");
    CHECK(encode("foo") == "Zm9v");
    CHECK(encode("foob") == "Zm9vYg==");
    CHECK(encode("fooba") == "Zm9vYmE=");
    CHECK(encode("foobar") == "Zm9vYmFy");
    CHECK(encode(std::string("\x01\x02\x03\x04", 4)) == "AQIDBA=="); // the engine.io-protocol example
    CHECK(encode(std::string("\xff\xfe\x00", 3)) == "//4A");
}

TEST_CASE("base64 decodes with or without padding and round-trips every byte value", "[base64]") {
    CHECK(base64_decode("Zm9vYmE=") == std::optional<std::string>("fooba"));
    CHECK(base64_decode("Zm9vYmE") == std::optional<std::string>("fooba"));
    CHECK(base64_decode("Zm9vYg") == std::optional<std::string>("foob"));
    CHECK(base64_decode("") == std::optional<std::string>(""));
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    for (std::size_t n = 0; n <= all.size(); n += 37) {
        const std::string bytes = all.substr(0, n);
        CHECK(base64_decode(encode(bytes)) == std::optional<std::string>(bytes));
    }
}

TEST_CASE("base64 refuses characters outside the alphabet and impossible lengths", "[base64]") {
    CHECK_FALSE(base64_decode("Zm9v!"));
    CHECK_FALSE(base64_decode("Z"));     // 6 bits cannot make a byte
    CHECK_FALSE(base64_decode("Zm9vY")); // neither can 30
    CHECK_FALSE(base64_decode("Zg=a"));  // padding in the middle
    CHECK_FALSE(base64_decode("Z==="));
    CHECK_FALSE(base64_decode("Zm 9v"));
    CHECK_FALSE(base64_decode("Zm-_")); // URL-safe alphabet is not Engine.IO's
}
