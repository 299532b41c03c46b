#include <switchboard/base64.hpp>

#include <array>
#include <cstdint>

namespace switchboard {
namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_reverse() {
    std::array<std::int8_t, 256> table{};
    for (auto& entry : table) entry = -1;
    for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return table;
}
constexpr auto reverse = make_reverse();

} // namespace

void base64_encode(std::string& out, std::string_view bytes) {
    const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::size_t n = bytes.size();
    std::size_t pos = out.size();
    out.resize(pos + (n + 2) / 3 * 4);
    char* dst = out.data() + pos;
    std::size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
        *dst++ = alphabet[(v >> 18) & 63];
        *dst++ = alphabet[(v >> 12) & 63];
        *dst++ = alphabet[(v >> 6) & 63];
        *dst++ = alphabet[v & 63];
    }
    if (i < n) {
        std::uint32_t v = std::uint32_t{in[i]} << 16;
        if (i + 1 < n) v |= std::uint32_t{in[i + 1]} << 8;
        *dst++ = alphabet[(v >> 18) & 63];
        *dst++ = alphabet[(v >> 12) & 63];
        *dst++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        *dst++ = '=';
    }
}

std::optional<std::string> base64_decode(std::string_view text) {
    // Padding is optional, but when present it must complete the last quantum.
    if (text.size() % 4 == 0 && !text.empty()) {
        if (text.back() == '=') text.remove_suffix(1);
        if (!text.empty() && text.back() == '=') text.remove_suffix(1);
    }
    if (text.size() % 4 == 1) return std::nullopt;

    std::string out;
    out.reserve(text.size() / 4 * 3 + 2);
    std::uint32_t acc = 0;
    int bits = 0;
    for (const char ch : text) {
        const int v = reverse[static_cast<unsigned char>(ch)];
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    return out;
}

} // namespace switchboard
