#include <switchboard/msgpack/json.hpp>

#include <switchboard/sio/packet.hpp>
#include <switchboard/ws/frame.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace switchboard::msgpack_json {

namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "msgpack"; }
    std::string message(int code) const override {
        switch (static_cast<errc>(code)) {
        case errc::malformed: return "not MessagePack";
        case errc::too_deep: return "MessagePack nested too deeply";
        case errc::too_large: return "MessagePack message too large";
        case errc::bad_shape: return "MessagePack message of the wrong shape";
        }
        return "unknown MessagePack error";
    }
};

constexpr double max_safe_integer = 9007199254740992.0; // 2^53

// A MessagePack float64 (0xcb, then the IEEE 754 bits, big-endian), whatever its value.
void pack_float64(packer& out, double d) {
    std::uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    char bytes[9];
    bytes[0] = static_cast<char>(0xcb);
    for (int i = 0; i < 8; ++i) bytes[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
    out.pack_bin_body(bytes, sizeof bytes); // (a "body" is appended as it is: here, the whole value)
}

void pack_string(packer& out, std::string_view s) {
    out.pack_str(static_cast<std::uint32_t>(s.size()));
    out.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

// A JavaScript Date, as JSON.stringify writes it (Date.prototype.toISOString).
std::string iso_date(std::int64_t seconds, std::uint32_t nanoseconds) {
    const std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    if (!gmtime_r(&t, &tm)) return {};
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanoseconds / 1000000);
    return text;
}

std::uint64_t big_endian(const char* p, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

// The Timestamp extension (type -1) in its three sizes; null if it is none of them.
boost::json::value timestamp(const msgpack::object_ext& ext) {
    const char* d = ext.data();
    switch (ext.size) {
    case 4: return boost::json::value(iso_date(static_cast<std::int64_t>(big_endian(d, 4)), 0));
    case 8: {
        const auto v = big_endian(d, 8);
        return boost::json::value(
            iso_date(static_cast<std::int64_t>(v & 0x3FFFFFFFFull), static_cast<std::uint32_t>(v >> 34)));
    }
    case 12:
        return boost::json::value(
            iso_date(static_cast<std::int64_t>(big_endian(d + 4, 8)), static_cast<std::uint32_t>(big_endian(d, 4))));
    }
    return nullptr;
}

// notepack 2's Date: milliseconds since the epoch, a big-endian signed 64-bit integer.
std::string notepack_date(const char* p) {
    const auto ms = static_cast<std::int64_t>(big_endian(p, 8));
    const std::int64_t seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    return iso_date(seconds, static_cast<std::uint32_t>(ms - seconds * 1000) * 1000000u);
}

// msgpack-cxx leaves the pointer of an empty str or bin null; a view of it must not pass null on.
std::string_view text_of(const char* ptr, std::uint32_t size) noexcept {
    return size == 0 ? std::string_view("", 0) : std::string_view(ptr, size);
}

// The format byte of an extension: msgpack-cxx keeps only its type and size, but notepack gives type 0
// a meaning by format (fixext1: undefined; fixext8: a Date in notepack 2; ext 8/16/32: an ArrayBuffer).
// The document is read in place (every extension refers into it), so the byte before the type is
// the format byte of a fixext and a length byte otherwise.
enum class ext_format { fixed, sized };
ext_format format_of(const msgpack::object_ext& ext) {
    constexpr unsigned char fixext1 = 0xd4;
    unsigned code = fixext1;
    for (std::uint32_t n = 1; n < ext.size && code < 0xd8; n *= 2) ++code;
    const bool fixed_size = ext.size == 1 || ext.size == 2 || ext.size == 4 || ext.size == 8 || ext.size == 16;
    // A length byte before the type equals the size (ext 8) or its low byte (ext 16/32): never 0xd4+.
    return fixed_size && static_cast<unsigned char>(ext.ptr[-1]) == code ? ext_format::fixed : ext_format::sized;
}
bool is_undefined(const msgpack::object& o) {
    return o.type == msgpack::type::EXT && o.via.ext.type() == 0 && o.via.ext.size == 1 &&
           format_of(o.via.ext) == ext_format::fixed;
}

struct reader {
    const codec_limits& limits;
    std::vector<shared_bytes>& attachments;

    result<boost::json::value> read(const msgpack::object& o, std::size_t depth) {
        if (depth > limits.max_json_depth) return errc::too_deep;
        switch (o.type) {
        case msgpack::type::NIL: return boost::json::value(nullptr);
        case msgpack::type::BOOLEAN: return boost::json::value(o.via.boolean);
        case msgpack::type::POSITIVE_INTEGER:
            if (o.via.u64 <= static_cast<std::uint64_t>(INT64_MAX))
                return boost::json::value(static_cast<std::int64_t>(o.via.u64));
            return boost::json::value(o.via.u64);
        case msgpack::type::NEGATIVE_INTEGER: return boost::json::value(o.via.i64);
        case msgpack::type::FLOAT32:
        case msgpack::type::FLOAT64:
            // JSON has no NaN or infinity: JSON.stringify writes null.
            if (!std::isfinite(o.via.f64)) return boost::json::value(nullptr);
            return boost::json::value(o.via.f64);
        case msgpack::type::STR: {
            // As a JSON text's strings: UTF-8 or refused (our JSON parser refuses it too).
            const auto text = text_of(o.via.str.ptr, o.via.str.size);
            if (!ws::is_valid_utf8(text)) return errc::malformed;
            return boost::json::value(text);
        }
        case msgpack::type::BIN:
            return sio::attach(attachments, make_shared_bytes(std::string(text_of(o.via.bin.ptr, o.via.bin.size))));
        case msgpack::type::ARRAY: {
            boost::json::array a;
            a.reserve(o.via.array.size);
            for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
                auto v = read(o.via.array.ptr[i], depth + 1);
                if (!v) return v.error();
                a.push_back(std::move(*v));
            }
            return boost::json::value(std::move(a));
        }
        case msgpack::type::MAP: {
            boost::json::object m;
            m.reserve(o.via.map.size);
            for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
                const auto& kv = o.via.map.ptr[i];
                if (kv.key.type != msgpack::type::STR) return errc::bad_shape;
                if (!ws::is_valid_utf8(text_of(kv.key.via.str.ptr, kv.key.via.str.size))) return errc::malformed;
                // notepack's `undefined` (fixext1 type 0): the key is left out, as JSON.stringify does.
                if (is_undefined(kv.val)) continue;
                auto v = read(kv.val, depth + 1);
                if (!v) return v.error();
                m[text_of(kv.key.via.str.ptr, kv.key.via.str.size)] = std::move(*v);
            }
            boost::json::value object(std::move(m));
            // An object shaped like our binary placeholder would be taken for binary: refused.
            if (sio::placeholder_index(object)) return errc::bad_shape;
            return object;
        }
        case msgpack::type::EXT:
            if (o.via.ext.type() == -1) return timestamp(o.via.ext);
            if (o.via.ext.type() == 0 && format_of(o.via.ext) == ext_format::sized) // notepack: an ArrayBuffer
                return sio::attach(attachments,
                                   make_shared_bytes(std::string(text_of(o.via.ext.data(), o.via.ext.size))));
            if (o.via.ext.type() == 0 && o.via.ext.size == 8) // notepack 2 (socket.io-msgpack-parser 3): a Date
                return boost::json::value(notepack_date(o.via.ext.data()));
            return boost::json::value(nullptr); // undefined, or an extension JavaScript has no JSON for
        }
        return errc::malformed;
    }
};

} // namespace

const std::error_category& error_category() noexcept {
    static const category instance;
    return instance;
}

void pack_json(packer& out, const boost::json::value& value, const std::vector<shared_bytes>& attachments) {
    switch (value.kind()) {
    case boost::json::kind::null: out.pack_nil(); return;
    case boost::json::kind::bool_: value.get_bool() ? out.pack_true() : out.pack_false(); return;
    case boost::json::kind::int64: out.pack_int64(value.get_int64()); return;
    case boost::json::kind::uint64: out.pack_uint64(value.get_uint64()); return;
    case boost::json::kind::double_: {
        const double d = value.get_double();
        // A JavaScript number that is an integer is written as one (notepack does the same).
        if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < max_safe_integer && !(d == 0 && std::signbit(d))) {
            out.pack_int64(static_cast<std::int64_t>(d));
        } else if (d >= 0x1p64) {
            // msgpack-cxx's pack_double writes an integral double below 2^64 as an integer (as notepack
            // does), but its range check lets exactly 2^64 through to a conversion to uint64_t that is
            // undefined behaviour (fuzz_redis_wire under UBSan): from there up, a float64 of our own.
            pack_float64(out, d);
        } else {
            out.pack_double(d);
        }
        return;
    }
    case boost::json::kind::string: pack_string(out, value.get_string()); return;
    case boost::json::kind::array: {
        const auto& a = value.get_array();
        out.pack_array(static_cast<std::uint32_t>(a.size()));
        for (const auto& v : a) pack_json(out, v, attachments);
        return;
    }
    case boost::json::kind::object: {
        if (const auto index = sio::placeholder_index(value)) {
            if (*index < attachments.size()) {
                const auto& bytes = *attachments[*index];
                out.pack_bin(static_cast<std::uint32_t>(bytes.size()));
                out.pack_bin_body(reinterpret_cast<const char*>(bytes.data()),
                                  static_cast<std::uint32_t>(bytes.size()));
            } else {
                out.pack_nil();
            }
            return;
        }
        const auto& o = value.get_object();
        out.pack_map(static_cast<std::uint32_t>(o.size()));
        for (const auto& kv : o) {
            pack_string(out, kv.key());
            pack_json(out, kv.value(), attachments);
        }
        return;
    }
    }
}

result<decoded_value> unpack_json(std::string_view bytes, const codec_limits& limits) {
    if (bytes.size() > limits.max_payload) return errc::too_large;
    msgpack::object_handle handle;
    std::size_t offset = 0;
    try {
        // The limits keep a hostile document from asking for more than its own size allows. Strings,
        // bins and extensions refer into `bytes` (read before this returns): no copies, and an
        // extension's format byte stays readable (format_of).
        const auto n = static_cast<std::size_t>(bytes.size());
        const auto in_place = [](msgpack::type::object_type, std::size_t, void*) { return true; };
        msgpack::unpack(handle, bytes.data(), bytes.size(), offset, in_place, nullptr,
                        msgpack::unpack_limit(n, n, n, n, n, limits.max_json_depth + 1));
    } catch (const msgpack::depth_size_overflow&) {
        return errc::too_deep;
    } catch (...) { // msgpack-cxx reports malformed input by throwing; it stops here
        return errc::malformed;
    }
    if (offset != bytes.size()) return errc::malformed;
    decoded_value out;
    reader r{limits, out.attachments};
    auto value = r.read(handle.get(), 0);
    if (!value) return value.error();
    out.value = std::move(*value);
    return out;
}

} // namespace switchboard::msgpack_json
