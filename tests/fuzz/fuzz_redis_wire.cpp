// What another cluster node (or anyone who can publish on the cluster's Redis) sends: the classic
// adapter's broadcast message (redis_wire::decode_broadcast), its requests and responses, and the sharded
// adapter's ClusterMessage (sharded_wire::decode). Any bytes must be refused or
// read, never crash, never throw; what is read must survive our own encoding (re-encoded and read again, it is the same
// message), and the MessagePack reader must agree with itself on a round trip.
#include "adapter/redis/classic_requests.hpp"
#include "adapter/redis/classic_wire.hpp"
#include "adapter/redis/sharded_wire.hpp"

#include <switchboard/json.hpp>

#include <cstdlib>

using namespace switchboard;
using namespace switchboard::server;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    codec_limits limits;
    limits.max_payload = 64 * 1024;
    if (auto value = cluster::unpack_json(bytes, limits)) {
        msgpack::sbuffer again;
        cluster::msgpack_packer out(again);
        cluster::pack_json(out, value->value, value->attachments);
        auto twice = cluster::unpack_json(std::string_view(again.data(), again.size()), limits);
        // Compared as JavaScript sees them: 1.0 is written as the integer 1, and reads back as one.
        if (!twice || stringify(twice->value) != stringify(value->value) ||
            twice->attachments.size() != value->attachments.size())
            std::abort();
    }
    // Requests and responses (JSON or MessagePack): refused or read; a read broadcast request re-encodes.
    if (auto r = redis_wire::decode_request(bytes, limits); r && r->type == redis_wire::request_type::broadcast) {
        auto again = redis_wire::decode_request(
            redis_wire::encode_broadcast_request(r->uid, r->request_id, r->packet, r->options), limits);
        if (!again || stringify(again->packet.data) != stringify(r->packet.data)) std::abort();
    }
    (void)redis_wire::decode_response(bytes, limits);
    // A sharded broadcast re-encodes to the same message.
    if (auto s = sharded_wire::decode(bytes, limits); s && s->what == sharded_wire::incoming::kind::broadcast) {
        auto again =
            sharded_wire::decode(sharded_wire::encode_broadcast(s->uid, s->nsp, s->packet, s->options), limits);
        if (!again || again->what != s->what || stringify(again->packet.data) != stringify(s->packet.data) ||
            again->options.rooms != s->options.rooms ||
            again->packet.attachments.size() != s->packet.attachments.size())
            std::abort();
    }
    auto message = redis_wire::decode_broadcast(bytes, limits);
    if (!message) return 0;
    const auto encoded = redis_wire::encode_broadcast(message->uid, message->packet, message->options);
    auto back = redis_wire::decode_broadcast(encoded, limits);
    if (!back) std::abort();
    if (back->uid != message->uid || back->packet.nsp != message->packet.nsp ||
        stringify(back->packet.data) != stringify(message->packet.data) ||
        back->options.rooms != message->options.rooms || back->options.except != message->options.except ||
        back->options.volatile_ != message->options.volatile_)
        std::abort();
    return 0;
}
