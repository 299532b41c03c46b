// JSON: whatever parses must stringify (JavaScript style) to text that parses to a value that
// stringifies identically, and the text must be valid for Boost.JSON's own parser.
#include <switchboard/json.hpp>

#include <cstdlib>

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto parsed = parse_json(input, 32);
    if (!parsed) return 0;
    const std::string text = stringify(*parsed);
    const auto again = parse_json(text, 32);
    if (!again) std::abort();
    if (stringify(*again) != text) std::abort();
    return 0;
}
