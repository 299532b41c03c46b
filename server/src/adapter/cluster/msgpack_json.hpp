#pragma once
// The cluster adapters' messages (private to server/): MessagePack as the Node cluster packages write
// it (switchboard/msgpack/json.hpp), or JSON, told apart as those packages do.

#include <switchboard/msgpack/json.hpp>

namespace switchboard::server::cluster {

using msgpack_json::decoded_value;
using msgpack_json::errc;
using msgpack_json::pack_json;
using msgpack_json::unpack_json;
using msgpack_packer = msgpack_json::packer;

/// A message between nodes that is an object, JSON when its first byte is `{` and MessagePack
/// otherwise (as the Node cluster adapters tell them apart). Fails on anything else, or a non-object.
result<decoded_value> read_message(std::string_view bytes, const codec_limits& limits = {});

} // namespace switchboard::server::cluster
