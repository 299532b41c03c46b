#pragma once
// WebSocket frames as a client sends them (masked), for the tests that feed ws::reader.

#include <string>
#include <string_view>

namespace switchboard::test {

inline constexpr unsigned fin = 0x80;
inline constexpr unsigned text_op = 1, binary_op = 2, close_op = 8, ping_op = 9;

/// A frame whose first byte is `first_byte` (FIN, RSV, opcode), masked with a fixed key unless `masked`
/// is false (which a server must refuse).
inline std::string client_frame(unsigned first_byte, std::string_view payload, bool masked = true) {
    std::string f;
    f.push_back(static_cast<char>(first_byte));
    const unsigned mask_bit = masked ? 0x80 : 0;
    if (payload.size() < 126) {
        f.push_back(static_cast<char>(mask_bit | payload.size()));
    } else if (payload.size() <= 0xFFFF) {
        f.push_back(static_cast<char>(mask_bit | 126));
        f.push_back(static_cast<char>(payload.size() >> 8));
        f.push_back(static_cast<char>(payload.size() & 0xFF));
    } else {
        f.push_back(static_cast<char>(mask_bit | 127));
        for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((payload.size() >> (8 * i)) & 0xFF));
    }
    const unsigned char key[4] = {0x37, 0xFA, 0x21, 0x3D};
    if (masked) f.append(reinterpret_cast<const char*>(key), 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        f.push_back(masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
    return f;
}

} // namespace switchboard::test
