// The chat's event handlers, fuzzed through the real Socket.IO layer (local_engine.hpp's records, three
// clients) over an in-memory SQLite history: any JSON in any event, in any order, from anyone. Nothing
// may escape (an exception is a crash here), everything sent must decode, nothing may leak.
#include "local_engine.hpp"

#include "../../server/app/chat.hpp"

#include <switchboard/io/io.hpp>

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    server::server_config config;
    config.log = server::log_level::off;
    server::server http(config);
    chat::sqlite_chat_store store(":memory:");
    {
        io::server io(http);
        chat::chat_limits limits;
        limits.rate_window = std::chrono::milliseconds(0); // the rate limits never hide a handler from the fuzzer
        limits.events_per_second = 1e12;
        chat::chat_service chat(io, store, limits, /*store_thread=*/false); // one thread plays everything
        fuzz::play(http, data, size);
        if (!io.main().sockets().empty()) std::abort();
    }
    return 0;
}
