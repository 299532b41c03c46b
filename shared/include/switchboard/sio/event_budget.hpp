#pragma once
/// @file
/// A client's events against a rate, sans-I/O: a token bucket (`rate` per second, a burst of 5x the
/// rate) that says, for each event at the caller's clock, whether to deliver it, refuse it (and whether
/// to tell the client now: at most once a second), or disconnect the client, whose excess has lasted
/// `patience` (refusals no more than a second apart all along). An event may cost more than one token
/// (its bytes, for a byte rate); one that costs more than the burst passes when the bucket is full,
/// and the bucket owes the difference.
///
/// ```cpp
/// sio::event_budget budget(50);                    // 50 events/s, bursts of 250
/// switch (budget.take(now)) { case sio::event_budget::verdict::deliver: ...; }
/// ```

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace switchboard::sio {

class event_budget {
public:
    using duration = std::chrono::milliseconds; ///< since any fixed origin of a monotonic clock
    enum class verdict {
        deliver,         ///< within the rate
        refuse,          ///< over it; the client was told less than a second ago
        refuse_and_tell, ///< over it; tell the client (an `error` event)
        disconnect,      ///< over it for `patience` without a pause: the client goes
    };

    explicit event_budget(double rate, duration patience = std::chrono::seconds(10))
        : rate_(rate), tokens_(static_cast<float>(burst())), patience_ms_(patience.count()) {}

    double rate() const noexcept { return rate_; }
    double burst() const noexcept { return rate_ * 5; }

    verdict take(duration now, double cost = 1) {
        const auto t = now.count();
        if (last_ms_ >= 0 && t > last_ms_)
            tokens_ =
                static_cast<float>(std::min(burst(), tokens_ + rate_ * static_cast<double>(t - last_ms_) / 1000.0));
        last_ms_ = std::max(last_ms_, t);
        if (tokens_ >= cost || tokens_ >= static_cast<float>(burst())) {
            tokens_ = static_cast<float>(tokens_ - cost);
            if (excess_since_ >= 0 && t - last_refusal_ > 1000) excess_since_ = -1; // the excess paused
            return verdict::deliver;
        }
        if (excess_since_ < 0 || t - last_refusal_ > 1000) excess_since_ = t;
        last_refusal_ = t;
        if (t - excess_since_ >= patience_ms_) return verdict::disconnect;
        if (last_told_ >= 0 && t - last_told_ < 1000) return verdict::refuse;
        last_told_ = t;
        return verdict::refuse_and_tell;
    }

private:
    double rate_;
    float tokens_;
    std::int64_t patience_ms_;
    std::int64_t last_ms_ = -1;
    std::int64_t excess_since_ = -1; // the first refusal of the current excess
    std::int64_t last_refusal_ = -1;
    std::int64_t last_told_ = -1;
};

} // namespace switchboard::sio
