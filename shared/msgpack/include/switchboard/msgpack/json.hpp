#pragma once
// MessagePack as the Node packages write it (notepack.io: the cluster adapters, socket.io-msgpack-parser),
// to and from our packet values (for the server's cluster adapter and the msgpack parser, on both
// targets; not installed, as msgpack-cxx is not a dependency of an application): Boost.JSON values whose binary parts
// are placeholders ({"_placeholder":true, "num":i}) with the bytes in an attachment list, as everywhere else in
// Switchboard.
//
// Writing follows notepack: integers (and integral doubles within 2^53) in their smallest form, other
// numbers as float64, binary as bin. Reading accepts what notepack and @msgpack/msgpack write: every int
// width, float32/64, str/bin/array/map of every size, the Timestamp extension (a JavaScript Date,
// read as JSON.stringify writes it: an ISO-8601 string) and notepack's `undefined` (fixext1 type 0:
// null, as JSON.stringify writes it in an array). Nothing here throws: msgpack-cxx's exceptions stop
// at this boundary and become errors.

#include <switchboard/bytes.hpp>
#include <switchboard/limits.hpp>
#include <switchboard/result.hpp>

#include <boost/json/value.hpp>
#include <msgpack.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace switchboard::msgpack_json {

/// Why a MessagePack message could not be read.
enum class errc {
    malformed = 1, ///< not MessagePack, or bytes after the document
    too_deep,      ///< nested deeper than the limit
    too_large,     ///< larger than the payload limit
    bad_shape,     ///< well-formed, but not the message it should be (a map key that is not a string, a field missing)
};
const std::error_category& error_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

using packer = msgpack::packer<msgpack::sbuffer>;

/// Writes `value`; placeholders become bin with the bytes of `attachments` (a placeholder past the
/// end is written as nil).
void pack_json(packer& out, const boost::json::value& value, const std::vector<shared_bytes>& attachments);

/// A decoded MessagePack document: the value, with each bin replaced by a placeholder whose bytes are
/// appended to `attachments`.
struct decoded_value {
    boost::json::value value;
    std::vector<shared_bytes> attachments;
};

/// Reads one MessagePack document (all of `bytes`). Fails on malformed input, trailing bytes, strings
/// that are not UTF-8, maps
/// with keys that are not strings, a map shaped like a placeholder (it would be taken for binary),
/// nesting deeper than limits.max_json_depth, or more than limits.max_payload bytes.
result<decoded_value> unpack_json(std::string_view bytes, const codec_limits& limits = {});

} // namespace switchboard::msgpack_json

template <>
struct std::is_error_code_enum<switchboard::msgpack_json::errc> : std::true_type {};
