#include "random_id.hpp"

#include <random>

namespace switchboard::server {

namespace {
constexpr char base64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `length` (a multiple of 3) characters, 18 bits of one draw from the OS's generator for every 3.
std::string from_os(std::size_t length) {
    static thread_local std::random_device device;
    std::string id(length, '\0');
    for (std::size_t i = 0; i + 3 <= length; i += 3) {
        const auto r = device();
        id[i] = base64url[r & 63];
        id[i + 1] = base64url[(r >> 6) & 63];
        id[i + 2] = base64url[(r >> 12) & 63];
    }
    return id;
}
} // namespace

std::string random_id() {
    auto id = from_os(21);
    id.resize(20);
    return id;
}

std::string random_session_id() { return from_os(15); }

std::string random_token(std::size_t length) {
    thread_local std::mt19937 rng(std::random_device{}());
    std::string token(length, ' ');
    for (auto& c : token) c = base64url[rng() % 64];
    return token;
}

} // namespace switchboard::server
