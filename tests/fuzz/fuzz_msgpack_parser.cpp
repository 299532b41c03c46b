// What a client of a `--parser msgpack` server sends, one binary message per packet
// (msgpack_parser::decode), and what such a server sends to our clients (client_parser::decode). Any
// bytes must be refused or read, never crash, never throw; a packet read must survive our own
// encoding (encoded and read again, it is the same packet), on the server's side and the client's.
#include <switchboard/msgpack/parser.hpp>

#include <switchboard/json.hpp>

#include <cstdlib>

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    codec_limits limits;
    limits.max_payload = 64 * 1024;
    auto packet = msgpack_parser::decode(bytes, limits);
    if (!packet) return 0;
    auto frames = msgpack_parser::encode(*packet);
    if (!frames || frames->size() != 1 || !(*frames)[0].binary) std::abort();
    auto again = msgpack_parser::decode(*(*frames)[0].bytes, limits);
    if (!again || again->type != packet->type || again->nsp != packet->nsp || again->id != packet->id ||
        stringify(again->data) != stringify(packet->data) || again->attachments.size() != packet->attachments.size())
        std::abort();

    const msgpack_parser::client_parser client(limits);
    auto raw = client.decode(bytes, true);
    if (!raw || raw->type != packet->type || raw->nsp != packet->nsp || raw->id != packet->id) std::abort();
    auto client_frames = client.encode(*raw);
    if (!client_frames || client_frames->size() != 1) std::abort();
    auto back = msgpack_parser::decode(*(*client_frames)[0].bytes, limits);
    if (!back || stringify(back->data) != stringify(packet->data) ||
        back->attachments.size() != packet->attachments.size())
        std::abort();
    return 0;
}
