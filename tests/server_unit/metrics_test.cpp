// The metrics' counters (per thread, summed) and the text format's details a scraper depends on.
#include "metrics/counters.hpp"
#include "metrics/exposition.hpp"

#include <catch2/catch.hpp>

#include <thread>
#include <vector>

using namespace switchboard::server;

TEST_CASE("metrics: counts from several threads, and from threads that ended, add up") {
    const auto before = metrics::sum()[metrics::counter::ack_timeouts];
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([] {
            for (int i = 0; i < 1000; ++i) metrics::add(metrics::counter::ack_timeouts);
        });
    for (auto& t : threads) t.join();
    metrics::add(metrics::counter::ack_timeouts, 5);
    CHECK(metrics::sum()[metrics::counter::ack_timeouts] - before == 4005);
}

TEST_CASE("metrics: a histogram's buckets are cumulative, end with +Inf equal to the count") {
    const auto before = metrics::sum()[metrics::histogram::adapter_request];
    metrics::observe(metrics::histogram::adapter_request, std::chrono::microseconds(300)); // <= 0.0005
    metrics::observe(metrics::histogram::adapter_request, std::chrono::milliseconds(7));   // <= 0.01
    metrics::observe(metrics::histogram::adapter_request, std::chrono::seconds(9));        // +Inf
    const auto after = metrics::sum()[metrics::histogram::adapter_request];
    CHECK(after.count - before.count == 3);
    CHECK(after.buckets[0] - before.buckets[0] == 1);
    CHECK(after.buckets[4] - before.buckets[4] == 1);
    CHECK(after.buckets.back() - before.buckets.back() == 1);

    metrics::totals t;
    t.histograms[static_cast<std::size_t>(metrics::histogram::adapter_request)] = after;
    std::string out;
    metrics::render(out, t);
    CHECK(out.find("switchboard_adapter_request_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(after.count) +
                   "\n") != std::string::npos);
    CHECK(out.find("# TYPE switchboard_adapter_request_duration_seconds histogram\n") != std::string::npos);
}

TEST_CASE("metrics: label values are escaped (namespace names come from clients)") {
    std::string out;
    metrics::sample(out, "switchboard_sockets", {{"namespace", "/a\"b\\c\nd"}}, std::uint64_t{2});
    CHECK(out == "switchboard_sockets{namespace=\"/a\\\"b\\\\c\\nd\"} 2\n");
}
