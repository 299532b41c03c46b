#pragma once
/// @file
/// Reconnection delays as socket.io-client computes them: exponential (factor 2) from `min`, with
/// jitter (`randomization` of the delay, up or down), capped at `max`. The randomness comes from a
/// seeded generator, so tests are repeatable and the caller chooses the entropy.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>

namespace switchboard::client {

class backoff {
public:
    using duration = std::chrono::milliseconds;

    backoff(duration min, duration max, double randomization, std::uint64_t seed) noexcept
        : min_(min), max_(max), randomization_(std::clamp(randomization, 0.0, 1.0)), state_(seed) {}

    /// The next delay; each call doubles the base.
    duration next() noexcept {
        double ms = static_cast<double>(min_.count()) * std::pow(2.0, attempts_ < 62 ? attempts_ : 62);
        ++attempts_;
        if (randomization_ > 0) {
            const double r = random();
            const double deviation = std::floor(r * randomization_ * ms);
            ms = (static_cast<int>(std::floor(r * 10)) & 1) == 0 ? ms - deviation : ms + deviation;
        }
        return duration(static_cast<std::int64_t>(std::min(ms, static_cast<double>(max_.count()))));
    }
    /// Back to `min` (after a successful connection).
    void reset() noexcept { attempts_ = 0; }
    unsigned attempts() const noexcept { return attempts_; }

private:
    double random() noexcept { // splitmix64, to [0, 1)
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
    }

    duration min_;
    duration max_;
    double randomization_;
    std::uint64_t state_;
    unsigned attempts_ = 0;
};

} // namespace switchboard::client
