#include "msgpack_json.hpp"

#include <switchboard/json.hpp>

namespace switchboard::server::cluster {

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
