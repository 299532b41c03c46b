#include "counters.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace switchboard::server::metrics {

namespace {

// One thread's counts. Only its thread writes (load + store, relaxed); scrapes read.
struct block {
    std::array<std::atomic<std::uint64_t>, counter_count> counters{};
    struct hist {
        std::array<std::atomic<std::uint64_t>, bucket_bounds.size() + 1> buckets{};
        std::atomic<std::uint64_t> sum_ns{0};
    };
    std::array<hist, histogram_count> histograms{};
};

void bump(std::atomic<std::uint64_t>& a, std::uint64_t n) noexcept {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// Blocks live as long as the process. A thread that ends gives its block back and the next new
// thread continues it: the sums stay exact, and threads that come and go do not add blocks.
struct registry {
    std::mutex mutex;
    std::deque<block> blocks;
    std::vector<block*> spare;

    block* take() {
        std::lock_guard lock(mutex);
        if (!spare.empty()) {
            auto* b = spare.back();
            spare.pop_back();
            return b;
        }
        return &blocks.emplace_back();
    }
    void give_back(block* b) {
        std::lock_guard lock(mutex);
        spare.push_back(b);
    }
};

registry& blocks() {
    static auto* r = new registry; // never destroyed: threads may end after static destruction began
    return *r;
}

struct holder {
    block* b = blocks().take();
    ~holder() { blocks().give_back(b); }
};

block& mine() {
    thread_local holder h;
    return *h.b;
}

} // namespace

void add(counter c, std::uint64_t n) noexcept { bump(mine().counters[static_cast<std::size_t>(c)], n); }

void observe(histogram h, std::chrono::steady_clock::duration d) noexcept {
    auto& hist = mine().histograms[static_cast<std::size_t>(h)];
    const double seconds = std::chrono::duration<double>(d).count();
    const auto bucket = static_cast<std::size_t>(std::lower_bound(bucket_bounds.begin(), bucket_bounds.end(), seconds) -
                                                 bucket_bounds.begin());
    bump(hist.buckets[bucket], 1);
    bump(hist.sum_ns, static_cast<std::uint64_t>(
                          std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(d).count())));
}

totals sum() {
    totals t;
    auto& r = blocks();
    std::lock_guard lock(r.mutex);
    for (const auto& b : r.blocks) {
        for (std::size_t i = 0; i < counter_count; ++i) t.counters[i] += b.counters[i].load(std::memory_order_relaxed);
        for (std::size_t i = 0; i < histogram_count; ++i) {
            auto& into = t.histograms[i];
            const auto& from = b.histograms[i];
            for (std::size_t k = 0; k < into.buckets.size(); ++k) {
                const auto n = from.buckets[k].load(std::memory_order_relaxed);
                into.buckets[k] += n;
                into.count += n; // from the buckets, so that a scrape's +Inf bucket always equals its count
            }
            into.sum_ns += from.sum_ns.load(std::memory_order_relaxed);
        }
    }
    return t;
}

} // namespace switchboard::server::metrics
