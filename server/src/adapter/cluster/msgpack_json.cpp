#include "msgpack_json.hpp"

#include <switchboard/json.hpp>
#include <switchboard/sio/packet.hpp>

#include <fmt/format.h>

#include <cmath>
#include <ctime>

namespace switchboard::server::cluster {

namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "cluster"; }
    std::string message(int code) const override {
        switch (static_cast<errc>(code)) {
        case errc::malformed: return "malformed cluster message";
        case errc::too_deep: return "cluster message nested too deeply";
        case errc::too_large: return "cluster message too large";
        case errc::bad_shape: return "cluster message of the wrong shape";
        }
        return "unknown cluster error";
    }
};

constexpr double max_safe_integer = 9007199254740992.0; // 2^53

void pack_string(msgpack_packer& out, std::string_view s) {
    out.pack_str(static_cast<std::uint32_t>(s.size()));
    out.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

// A JavaScript Date, as JSON.stringify writes it (Date.prototype.toISOString).
std::string iso_date(std::int64_t seconds, std::uint32_t nanoseconds) {
    const std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    if (!gmtime_r(&t, &tm)) return {};
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, nanoseconds / 1000000);
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

// msgpack-cxx leaves the pointer of an empty str or bin null; a view of it must not pass null on.
std::string_view text_of(const char* ptr, std::uint32_t size) noexcept {
    return size == 0 ? std::string_view("", 0) : std::string_view(ptr, size);
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
        case msgpack::type::STR: return boost::json::value(text_of(o.via.str.ptr, o.via.str.size));
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
                // notepack's `undefined` (fixext1 type 0): the key is left out, as JSON.stringify does.
                if (kv.val.type == msgpack::type::EXT && kv.val.via.ext.type() == 0 && kv.val.via.ext.size == 1)
                    continue;
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

void pack_json(msgpack_packer& out, const boost::json::value& value, const std::vector<shared_bytes>& attachments) {
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
        // The limits keep a hostile document from asking for more than its own size allows.
        const auto n = static_cast<std::size_t>(bytes.size());
        msgpack::unpack(handle, bytes.data(), bytes.size(), offset, nullptr, nullptr,
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

result<decoded_value> read_message(std::string_view bytes, const codec_limits& limits) {
    if (bytes.size() > limits.max_payload) return errc::too_large;
    decoded_value out;
    if (!bytes.empty() && bytes.front() == '{') {
        auto json = parse_json(bytes, limits.max_json_depth);
        if (!json) return errc::malformed;
        out.value = std::move(*json);
    } else {
        auto packed = unpack_json(bytes, limits);
        if (!packed) return packed.error();
        out = std::move(*packed);
    }
    if (!out.value.is_object()) return errc::bad_shape;
    return out;
}

} // namespace switchboard::server::cluster
