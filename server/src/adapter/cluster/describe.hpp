#pragma once
// A socket's description as it crosses between nodes (private to server/): the shape of a REMOTE_FETCH
// answer's entries, `{id, handshake, rooms, data}`, with the handshake as socket.io writes it
// (headers and query as objects, `time` as JavaScript's Date.toString(), `issued` in milliseconds).

#include <switchboard/io/adapter.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>

namespace switchboard::server::cluster {

boost::json::object handshake_json(const io::handshake_info& h);
io::handshake_info handshake_from_json(const boost::json::object& o);

boost::json::object describe_json(const io::socket_description& d);
/// Nothing when `v` has no string `id` (the rest is read as far as it has the expected shape).
std::optional<io::socket_description> description_from_json(const boost::json::value& v);

} // namespace switchboard::server::cluster
