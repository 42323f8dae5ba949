// Request retransmission timing (RFC 7296 2.1), strongSwan's defaults.
#pragma once

#include <chrono>
#include <optional>

#include "mpsa/ike/clock.hpp"

namespace mpsa::ike {

struct RetransmitPolicy {
    Duration timeout = std::chrono::seconds(4);
    double base = 1.8;
    unsigned tries = 5;  // retransmissions after the first send
};

// Time to wait after send number `sent` (0 = the first transmission) before retransmitting or,
// after the last retransmission, giving up: timeout * base^sent.
[[nodiscard]] Duration retransmit_wait(const RetransmitPolicy& policy, unsigned sent);

// Whether a request sent `sent` + 1 times that timed out again may be retransmitted.
[[nodiscard]] inline bool may_retransmit(const RetransmitPolicy& policy, unsigned sent) {
    return sent < policy.tries;
}

}  // namespace mpsa::ike
