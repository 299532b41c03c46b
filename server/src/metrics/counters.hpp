#pragma once
// The server's counters and histograms (private to server/): what /metrics reports besides the gauges
// it reads at scrape time. Hot paths bump a block of their own thread (no lock, no shared cache line:
// a relaxed load and store by the only writer); a scrape sums every thread's block. Process-wide.

#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace switchboard::server::metrics {

enum class counter : std::uint8_t {
    packets_in,          // Engine.IO message packets received (a Socket.IO packet, each attachment)
    packets_out,         // … queued to be sent
    bytes_in,            // their payload bytes
    bytes_out,           //
    dropped_volatile,    // volatile emits the transport could not take at once
    dropped_replaced,    // overflow::drop_oldest units dropped from a full queue
    ack_timeouts,        // answers that did not come in time (one per socket waited on)
    refused_connections, // --max-connections / --max-connections-per-ip
    refused_handshakes,  // --handshakes-per-ip
    refused_payload,     // --max-payload (413, or a WebSocket message over it)
    refused_events,      // --events-per-second
    refused_bytes,       // --bytes-per-second
    refused_queue,       // --max-queue (an emit refused, or a session closed)
    refused_namespaces,  // --max-namespaces
    refused_rooms,       // --max-rooms-per-socket
    refused_origin,      // --cors-origin (a WebSocket from another origin)
    sessions_opened,     // Engine.IO sessions opened (handshake done)
    sessions_closed,     //
    count_
};
inline constexpr std::size_t counter_count = static_cast<std::size_t>(counter::count_);

enum class histogram : std::uint8_t {
    handshake,       // a namespace CONNECT to its answer (middleware included)
    adapter_publish, // a cluster message handed to Redis to Redis's reply
    adapter_request, // a cluster query to the last answer (or its timeout)
    count_
};
inline constexpr std::size_t histogram_count = static_cast<std::size_t>(histogram::count_);
/// Upper bounds of the histograms' buckets, in seconds (then +Inf).
inline constexpr std::array<double, 12> bucket_bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  5.0};

/// Adds `n` to `c` (any thread; costs this thread's block only).
void add(counter c, std::uint64_t n = 1) noexcept;
/// Records one observation of `h` (any thread).
void observe(histogram h, std::chrono::steady_clock::duration d) noexcept;

struct histogram_totals {
    std::array<std::uint64_t, bucket_bounds.size() + 1> buckets{}; // per bucket, not cumulative; last: +Inf
    std::uint64_t count = 0;                                       // the buckets' sum
    std::uint64_t sum_ns = 0;
};
struct totals {
    std::array<std::uint64_t, counter_count> counters{};
    std::array<histogram_totals, histogram_count> histograms{};
    std::uint64_t operator[](counter c) const noexcept { return counters[static_cast<std::size_t>(c)]; }
    const histogram_totals& operator[](histogram h) const noexcept { return histograms[static_cast<std::size_t>(h)]; }
};
/// Every thread's counts so far, summed (any thread).
totals sum();

} // namespace switchboard::server::metrics
