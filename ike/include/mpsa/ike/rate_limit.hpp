// Token buckets for answers we send unasked-for (INVALID_IKE_SPI, RFC 7296 2.21.4) and for
// actions an unauthenticated hint may trigger: a spoofed flood must not turn us into an
// amplifier or make us re-authenticate in a loop.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>

#include "mpsa/ike/clock.hpp"
#include "mpsa/ike/transport.hpp"

namespace mpsa::ike {

// `burst` tokens, refilled at one per `refill_interval`. Starts full.
class TokenBucket {
  public:
    TokenBucket(std::uint32_t burst, Duration refill_interval)
        : burst_(std::max<std::uint32_t>(burst, 1)),
          refill_interval_(refill_interval),
          tokens_(burst_) {}

    // Takes one token if there is one.
    [[nodiscard]] bool take(TimePoint now) {
        refill(now);
        if (tokens_ == 0) return false;
        --tokens_;
        return true;
    }

  private:
    void refill(TimePoint now) {
        if (!started_) {
            started_ = true;
            last_refill_ = now;
            return;
        }
        if (now <= last_refill_ || refill_interval_ <= Duration::zero()) return;
        const std::int64_t steps = (now - last_refill_) / refill_interval_;
        if (steps <= 0) return;
        const auto room = static_cast<std::int64_t>(burst_ - tokens_);
        tokens_ += static_cast<std::uint32_t>(std::min(steps, room));
        // Full: the spare time is not banked; otherwise keep the remainder.
        last_refill_ = tokens_ == burst_ ? now : last_refill_ + steps * refill_interval_;
    }

    std::uint32_t burst_;
    Duration refill_interval_;
    std::uint32_t tokens_;
    TimePoint last_refill_{};
    bool started_ = false;
};

struct UnsolicitedReplyLimits {
    std::uint32_t per_source_burst = 4;
    Duration per_source_interval = std::chrono::seconds(1);
    std::uint32_t global_burst = 100;
    Duration global_interval = std::chrono::milliseconds(10);
    // Bound on the per-source table; when full it starts over (sources then get a fresh burst,
    // still under the global cap).
    std::size_t max_sources = 4096;
};

// A per-source bucket and a global one: a reply goes out only if both have a token.
class UnsolicitedReplyLimiter {
  public:
    explicit UnsolicitedReplyLimiter(UnsolicitedReplyLimits limits = {})
        : limits_(limits), global_(limits.global_burst, limits.global_interval) {}

    [[nodiscard]] bool allow(const IpAddress& source, TimePoint now) {
        auto it = per_source_.find(source);
        if (it == per_source_.end()) {
            if (per_source_.size() >= limits_.max_sources) per_source_.clear();
            it = per_source_
                     .emplace(source,
                              TokenBucket(limits_.per_source_burst, limits_.per_source_interval))
                     .first;
        }
        // A source over its own limit spends no global token.
        if (!it->second.take(now)) return false;
        return global_.take(now);
    }

  private:
    struct AddressLess {
        bool operator()(const IpAddress& a, const IpAddress& b) const {
            return std::pair(a.v6, a.octets) < std::pair(b.v6, b.octets);
        }
    };
    UnsolicitedReplyLimits limits_;
    TokenBucket global_;
    std::map<IpAddress, TokenBucket, AddressLess> per_source_;
};

}  // namespace mpsa::ike
