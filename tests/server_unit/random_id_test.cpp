// The server's ids: their length (socket ids are read by length on the Redis cluster's wire), their
// alphabet, and that every bit drawn is used.
#include "util/random_id.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace switchboard::server;

namespace {
bool url_safe(const std::string& id) {
    for (const char c : id)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    return true;
}
} // namespace

TEST_CASE("socket ids have 20 characters as the reference server, session ids 15 without an allocation", "[ids]") {
    const auto socket_id = random_id();
    CHECK(socket_id.size() == 20);
    CHECK(url_safe(socket_id));
    const auto session_id = random_session_id();
    CHECK(session_id.size() == 15);
    CHECK(url_safe(session_id));
    // Kept in the string's inline buffer: its capacity is the inline one, not a heap block's.
    CHECK(session_id.capacity() == std::string().capacity());
}

TEST_CASE("ids are drawn anew each time, every character position from all 64 symbols", "[ids]") {
    std::set<std::string> seen;
    std::set<char> symbols_first, symbols_last;
    for (int i = 0; i < 4000; ++i) {
        const auto id = random_session_id();
        seen.insert(id);
        symbols_first.insert(id.front());
        symbols_last.insert(id.back());
        const auto long_id = random_id();
        seen.insert(long_id);
        symbols_last.insert(long_id.back());
    }
    CHECK(seen.size() == 8000);
    // 4,000 draws miss one of 64 symbols with a chance of about 64 x (63/64)^4000, below 1e-25.
    CHECK(symbols_first.size() == 64);
    CHECK(symbols_last.size() == 64);
}
