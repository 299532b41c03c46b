#include "random_id.hpp"

#include <switchboard/base64.hpp>

#include <random>

namespace switchboard::server {

std::string random_id() {
    static thread_local std::random_device device;
    std::string raw(15, '\0');
    for (std::size_t i = 0; i < raw.size(); i += 3) {
        const auto r = device();
        raw[i] = static_cast<char>(r);
        raw[i + 1] = static_cast<char>(r >> 8);
        raw[i + 2] = static_cast<char>(r >> 16);
    }
    std::string id;
    base64_encode(id, raw);
    for (auto& c : id) c = c == '+' ? '-' : c == '/' ? '_' : c;
    return id;
}

std::string random_token(std::size_t length) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    thread_local std::mt19937 rng(std::random_device{}());
    std::string token(length, ' ');
    for (auto& c : token) c = alphabet[rng() % 64];
    return token;
}

} // namespace switchboard::server
