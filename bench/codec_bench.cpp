// Encode and decode cost of typical chat packets, as one Engine.IO + Socket.IO step each way:
//   encode: a Socket.IO packet -> the WebSocket frames to send ("4…" text + binary attachments)
//   decode: the received frames -> a complete Socket.IO packet
// The packets come from codec-cases.json, which bench/codec-bench.mjs runs through the npm parsers.
#include <switchboard/eio/packet.hpp>
#include <switchboard/sio/packet.hpp>

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

#include <fstream>
#include <sstream>

using namespace switchboard;

namespace {

sio::packet load_case(const char* name) {
    std::ifstream file(SWITCHBOARD_BENCH_CASES);
    std::stringstream text;
    text << file.rdbuf();
    const auto cases = boost::json::parse(text.str()).as_object();
    const auto& c = cases.at(name).as_object();
    sio::packet p;
    p.type = sio::packet_type::event;
    p.nsp = c.at("nsp").as_string();
    p.data = c.at("data");
    if (const auto* bytes = c.if_contains("binary_bytes")) {
        std::string blob(static_cast<std::size_t>(bytes->to_number<std::int64_t>()), '\0');
        for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>(i * 31 + 1);
        p.data.as_array().push_back(sio::attach(p.attachments, make_shared_bytes(std::move(blob))));
    }
    return p;
}

void encode(benchmark::State& state, const char* name) {
    const sio::packet p = load_case(name);
    std::size_t bytes = 0;
    for (auto _ : state) {
        auto frames = sio::encode_frames(p);
        benchmark::DoNotOptimize(frames);
        bytes = frames->front().bytes->size();
    }
    state.counters["text_bytes"] = static_cast<double>(bytes);
}

void decode(benchmark::State& state, const char* name) {
    const auto frames = *sio::encode_frames(load_case(name));
    sio::decoder decoder;
    for (auto _ : state) {
        sio::packet out;
        for (const auto& f : frames) {
            // Text frames are parsed as Engine.IO first, as a session does; a binary frame is by
            // definition a message and goes to the Socket.IO decoder as the received buffer.
            const auto r =
                f.binary ? decoder.feed_binary(f.bytes) : decoder.feed_text(eio::decode_text(*f.bytes)->data);
            if (*r == sio::decoder::progress::packet_ready) out = decoder.take_packet();
        }
        benchmark::DoNotOptimize(out);
    }
}

} // namespace

BENCHMARK_CAPTURE(encode, small_event, "small_event");
BENCHMARK_CAPTURE(decode, small_event, "small_event");
BENCHMARK_CAPTURE(encode, medium_event, "medium_event");
BENCHMARK_CAPTURE(decode, medium_event, "medium_event");
BENCHMARK_CAPTURE(encode, binary_event, "binary_event");
BENCHMARK_CAPTURE(decode, binary_event, "binary_event");

BENCHMARK_MAIN();
