#pragma once
// Bytes written as hex in test cases (as npm packages' output is quoted): shared by the test suites.

#include <string>
#include <string_view>

namespace switchboard::testing {

/// "a1ff" -> the bytes A1 FF (pairs of hex digits; a trailing odd digit is ignored).
inline std::string from_hex(std::string_view hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

} // namespace switchboard::testing
