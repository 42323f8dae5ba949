#include "mpsa/ike/retransmit.hpp"

#include <cmath>

namespace mpsa::ike {

Duration retransmit_wait(const RetransmitPolicy& policy, unsigned sent) {
    const double factor = std::pow(policy.base, static_cast<double>(sent));
    const auto scaled = std::chrono::duration<double, Duration::period>(
        static_cast<double>(policy.timeout.count()) * factor);
    return std::chrono::duration_cast<Duration>(scaled);
}

}  // namespace mpsa::ike
