#include <switchboard/json.hpp>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/serializer.hpp>
#include <boost/json/value_stack.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace switchboard {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// Integers JavaScript holds exactly; beyond this JSON.parse rounds to the nearest double.
constexpr std::int64_t max_safe_integer = (std::int64_t{1} << 53) - 1;

template <class Int>
void append_integer(std::string& out, Int v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    out.append(buf, end);
}

// ECMAScript Number::toString(x) given x's shortest round-trip decimal digits (no leading or trailing
// zeros) and n, the position of the decimal point relative to them (x = 0.digits × 10^n).
void append_js_decimal(std::string& out, std::string_view digits, int n) {
    const int k = static_cast<int>(digits.size());
    if (k <= n && n <= 21) {
        out.append(digits);
        out.append(static_cast<std::size_t>(n - k), '0');
    } else if (0 < n && n <= 21) {
        out.append(digits.substr(0, static_cast<std::size_t>(n)));
        out.push_back('.');
        out.append(digits.substr(static_cast<std::size_t>(n)));
    } else if (-6 < n && n <= 0) {
        out.append("0.");
        out.append(static_cast<std::size_t>(-n), '0');
        out.append(digits);
    } else {
        out.push_back(digits[0]);
        if (k > 1) {
            out.push_back('.');
            out.append(digits.substr(1));
        }
        const int e = n - 1;
        out.push_back('e');
        out.push_back(e < 0 ? '-' : '+');
        append_integer(out, e < 0 ? -e : e);
    }
}

// Boost.JSON's serializer writes a double's shortest round-trip digits (Ryu) in scientific form
// such as "1.2345E-7"; read them back as digits and a decimal point position.
void append_double(std::string& out, double d) {
    if (!std::isfinite(d)) {
        out.append("null");
        return;
    }
    if (d == 0) {
        out.push_back('0'); // also -0, as JavaScript writes it
        return;
    }
    const boost::json::value boxed(d);
    boost::json::serializer writer;
    writer.reset(&boxed);
    char buf[64];
    const std::string_view sci = writer.read(buf, sizeof buf);

    std::string_view s = sci;
    if (!s.empty() && s.front() == '-') {
        out.push_back('-');
        s.remove_prefix(1);
    }
    char digits[32];
    int k = 0;
    int point = -1; // digits before the '.', or -1 when there is none
    std::size_t i = 0;
    for (; i < s.size() && s[i] != 'E' && s[i] != 'e'; ++i) {
        if (s[i] == '.') {
            point = k;
        } else if (k < static_cast<int>(sizeof digits)) {
            digits[k++] = s[i];
        }
    }
    int exponent = 0;
    if (i < s.size()) {
        std::string_view e = s.substr(i + 1);
        if (!e.empty() && e.front() == '+') e.remove_prefix(1);
        std::from_chars(e.data(), e.data() + e.size(), exponent);
    }
    int n = (point < 0 ? k : point) + exponent;
    int first = 0;
    while (first < k && digits[first] == '0') {
        ++first;
        --n;
    }
    int last = k;
    while (last > first && digits[last - 1] == '0') --last;
    append_js_decimal(out, std::string_view(digits + first, static_cast<std::size_t>(last - first)), n);
}

void stringify_value(std::string& out, const boost::json::value& v) {
    switch (v.kind()) {
    case boost::json::kind::null: out.append("null"); return;
    case boost::json::kind::bool_: out.append(v.get_bool() ? "true" : "false"); return;
    case boost::json::kind::int64: {
        const std::int64_t i = v.get_int64();
        if (i > max_safe_integer || i < -max_safe_integer) {
            append_double(out, static_cast<double>(i));
        } else {
            append_integer(out, i);
        }
        return;
    }
    case boost::json::kind::uint64: {
        const std::uint64_t u = v.get_uint64();
        if (u > static_cast<std::uint64_t>(max_safe_integer)) {
            append_double(out, static_cast<double>(u));
        } else {
            append_integer(out, u);
        }
        return;
    }
    case boost::json::kind::double_: append_double(out, v.get_double()); return;
    case boost::json::kind::string: stringify_string(out, v.get_string()); return;
    case boost::json::kind::array: {
        out.push_back('[');
        bool first = true;
        for (const auto& element : v.get_array()) {
            if (!first) out.push_back(',');
            first = false;
            stringify_value(out, element);
        }
        out.push_back(']');
        return;
    }
    case boost::json::kind::object: {
        out.push_back('{');
        bool first = true;
        for (const auto& member : v.get_object()) {
            if (!first) out.push_back(',');
            first = false;
            stringify_string(out, member.key());
            out.push_back(':');
            stringify_value(out, member.value());
        }
        out.push_back('}');
        return;
    }
    }
}

// Builds values like Boost.JSON's own parser, except that doubles are converted from their text with
// a correctly rounded conversion, as JavaScript's JSON.parse does (Boost 1.81's fast conversion can be
// off by one unit in the last place, which would change the number when we write it back).
struct precise_handler {
    static constexpr std::size_t max_object_size = boost::json::object::max_size();
    static constexpr std::size_t max_array_size = boost::json::array::max_size();
    static constexpr std::size_t max_key_size = boost::json::string::max_size();
    static constexpr std::size_t max_string_size = boost::json::string::max_size();
    using error_code = boost::json::error_code;
    using string_view = boost::json::string_view;

    boost::json::value_stack values;
    std::string number; // text of the number being read

    precise_handler(boost::json::storage_ptr sp, unsigned char* buffer, std::size_t size)
        : values(std::move(sp), buffer, size) {}

    static double correctly_rounded(const std::string& text, double fallback) {
#if defined(__EMSCRIPTEN__)
        // libc++ 13 has no floating-point from_chars; musl's strtod is correctly rounded, locale "C".
        char* end = nullptr;
        const double d = std::strtod(text.c_str(), &end);
        return end == text.c_str() + text.size() && std::isfinite(d) ? d : fallback;
#else
        double d = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
        return ec == std::errc() && end == text.data() + text.size() ? d : fallback;
#endif
    }

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_object_begin(error_code&) { return true; }
    bool on_object_end(std::size_t n, error_code&) {
        values.push_object(n);
        return true;
    }
    bool on_array_begin(error_code&) { return true; }
    bool on_array_end(std::size_t n, error_code&) {
        values.push_array(n);
        return true;
    }
    bool on_key_part(string_view s, std::size_t, error_code&) {
        values.push_chars(s);
        return true;
    }
    bool on_key(string_view s, std::size_t, error_code&) {
        values.push_key(s);
        return true;
    }
    bool on_string_part(string_view s, std::size_t, error_code&) {
        values.push_chars(s);
        return true;
    }
    bool on_string(string_view s, std::size_t, error_code&) {
        values.push_string(s);
        return true;
    }
    bool on_number_part(string_view s, error_code&) {
        number.append(s.data(), s.size());
        return true;
    }
    bool on_int64(std::int64_t i, string_view, error_code&) {
        number.clear();
        values.push_int64(i);
        return true;
    }
    bool on_uint64(std::uint64_t u, string_view, error_code&) {
        number.clear();
        values.push_uint64(u);
        return true;
    }
    bool on_double(double d, string_view s, error_code&) {
        number.append(s.data(), s.size());
        values.push_double(correctly_rounded(number, d));
        number.clear();
        return true;
    }
    bool on_bool(bool b, error_code&) {
        values.push_bool(b);
        return true;
    }
    bool on_null(error_code&) {
        values.push_null();
        return true;
    }
    bool on_comment_part(string_view, error_code&) { return true; }
    bool on_comment(string_view, error_code&) { return true; }
};

} // namespace

void stringify_string(std::string& out, std::string_view text) {
    out.push_back('"');
    const char* run = text.data();
    const char* const end = text.data() + text.size();
    for (const char* p = run; p != end; ++p) {
        const auto c = static_cast<unsigned char>(*p);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(run, p);
        run = p + 1;
        switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\b': out.append("\\b"); break;
        case '\f': out.append("\\f"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        default: {
            const char escape[] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 15]};
            out.append(escape, sizeof escape);
        }
        }
    }
    out.append(run, end);
    out.push_back('"');
}

void stringify_number(std::string& out, double number) { append_double(out, number); }

void stringify(std::string& out, const boost::json::value& value) { stringify_value(out, value); }

std::string stringify(const boost::json::value& value) {
    std::string out;
    stringify_value(out, value);
    return out;
}

result<boost::json::value> parse_json(std::string_view text, std::size_t max_depth) {
    // One parser per thread, reused: it keeps its internal stacks between calls.
    thread_local std::unique_ptr<boost::json::basic_parser<precise_handler>> cached;
    thread_local std::size_t cached_depth = 0;
    if (!cached || cached_depth != max_depth) {
        boost::json::parse_options options;
        options.max_depth = max_depth;
        cached = std::make_unique<boost::json::basic_parser<precise_handler>>(options, boost::json::storage_ptr(),
                                                                              nullptr, std::size_t{0});
        cached_depth = max_depth;
    }
    auto& parser = *cached;
    parser.reset();
    parser.handler().values.reset();
    parser.handler().number.clear();
    boost::json::error_code ec;
    const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
    if (!ec && used < text.size()) ec = boost::json::error::extra_data;
    if (ec) return std::error_code(ec);
    return parser.handler().values.release();
}

} // namespace switchboard
