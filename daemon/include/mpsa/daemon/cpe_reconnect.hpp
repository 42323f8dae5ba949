// When the CPE's IKE SA with the gateway is gone (failed negotiation, dead peer, Delete), it is
// set up again after an exponentially growing, capped delay, so a gateway that restarts is not
// hammered by every member at once; jitter spreads the members' attempts. Pure: the caller
// supplies the random draw and arms the timer.
#pragma once

#include <chrono>
#include <cstdint>

namespace mpsa::daemon {

struct BackoffPolicy {
    std::chrono::milliseconds initial{1000};
    std::chrono::milliseconds max{60000};
    unsigned jitter_percent = 20;  // each delay is shortened by up to this share, at random
};

class ReconnectBackoff {
  public:
    explicit ReconnectBackoff(BackoffPolicy policy = {}) : policy_(policy) {}

    // The delay before the next attempt; doubles (up to the cap) with every call. `random` is a
    // uniformly distributed 32-bit draw.
    [[nodiscard]] std::chrono::milliseconds next(std::uint32_t random);
    // An attempt succeeded (IKE SA established): start again from the initial delay.
    void reset() { failures_ = 0; }
    [[nodiscard]] unsigned failures() const { return failures_; }

  private:
    BackoffPolicy policy_;
    unsigned failures_ = 0;
};

}  // namespace mpsa::daemon
