// The load generator's protocol work per echo round trip, without I/O: through the client core
// (client::manager, what bench/loadgen.cpp speaks through) and, as the floor, the least a client can do
// (the packets written and read by hand, as the generator did before it used the core).
//
//   build/native/bench/client_core_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <switchboard/client/manager.hpp>
#include <switchboard/eio/packet.hpp>
#include <switchboard/sio/packet.hpp>

#include <benchmark/benchmark.h>
#include <boost/container/flat_map.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace {

using namespace switchboard;
using time_point = std::chrono::steady_clock::time_point;

/// The server's answer to echo n: `43<id>[<n>,"payload"]`.
std::string_view ack_frame(char (&buffer)[64], std::uint64_t id) {
    char* end = buffer;
    *end++ = '4';
    *end++ = '3';
    end = std::to_chars(end, buffer + sizeof buffer, id).ptr;
    constexpr std::string_view body = "[0,\"payload\"]";
    end = std::copy(body.begin(), body.end(), end);
    return {buffer, static_cast<std::size_t>(end - buffer)};
}

// Emit ["echo",n,"payload"] with an ack, queue its frame as the generator's writer does, take the
// server's ack back in and match it to its send time.
void client_core(benchmark::State& state) {
    client::options options;
    options.reconnection = false;
    client::manager m(options);
    std::vector<client::effect> batch;
    m.connect_socket(client::duration{0}, "/");
    m.open(client::duration{0});
    m.on_text(client::duration{1},
              R"(0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000})");
    m.on_text(client::duration{1}, R"(40{"sid":"x"})");
    m.take_effects(batch);
    const std::string root = "/";
    std::deque<shared_bytes> writes;
    boost::container::flat_map<std::uint64_t, time_point> sent_at;
    std::uint64_t next = 0;
    char ack[64];
    for (auto _ : state) {
        char text[64] = "[\"echo\",";
        char* end = std::to_chars(text + 8, text + sizeof text, next++).ptr;
        constexpr std::string_view suffix = ",\"payload\"]";
        end = std::copy(suffix.begin(), suffix.end(), end);
        const auto id =
            m.emit(client::duration{1}, root, std::string_view(text, static_cast<std::size_t>(end - text)), {}, true);
        sent_at.emplace_hint(sent_at.end(), *id, time_point{});
        while (m.take_effects(batch))
            for (auto& e : batch)
                if (auto* s = std::get_if<client::send_frames>(&e))
                    for (auto& f : s->frames) writes.push_back(std::move(f.bytes));
        writes.pop_front(); // written
        m.on_text(client::duration{1}, ack_frame(ack, *id));
        while (m.take_effects(batch))
            for (auto& e : batch)
                if (auto* a = std::get_if<client::ack_received>(&e)) {
                    if (auto it = sent_at.find(a->id); it != sent_at.end()) sent_at.erase(it);
                    benchmark::DoNotOptimize(a->packet.data.data());
                }
    }
}
BENCHMARK(client_core);

// The same exchange with the packets written and read by hand (the floor: no manager, no effects).
void hand_written(benchmark::State& state) {
    sio::raw_decoder decoder;
    std::deque<std::string> writes;
    std::unordered_map<std::uint64_t, time_point> sent_at;
    std::uint64_t next = 0;
    char ack[64];
    for (auto _ : state) {
        const auto id = next++;
        sent_at[id] = time_point{};
        writes.push_back("42" + std::to_string(id) + "[\"echo\"," + std::to_string(id) + ",\"payload\"]");
        writes.pop_front();                          // written
        const std::string frame(ack_frame(ack, id)); // a frame copied out of the read buffer
        auto packet = eio::decode_text(frame);
        auto progress = decoder.feed_text(packet->data);
        if (progress && *progress == sio::decode_progress::packet_ready) {
            const auto p = decoder.take_packet();
            if (auto it = sent_at.find(*p.id); it != sent_at.end()) sent_at.erase(it);
            benchmark::DoNotOptimize(p.data.data());
        }
    }
}
BENCHMARK(hand_written);

} // namespace

BENCHMARK_MAIN();
