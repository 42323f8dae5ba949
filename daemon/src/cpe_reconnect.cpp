#include "mpsa/daemon/cpe_reconnect.hpp"

#include <algorithm>

namespace mpsa::daemon {

std::chrono::milliseconds ReconnectBackoff::next(std::uint32_t random) {
    const auto initial = std::max<std::int64_t>(1, policy_.initial.count());
    const auto cap = std::max<std::int64_t>(initial, policy_.max.count());
    std::int64_t delay = initial;
    for (unsigned i = 0; i < failures_ && delay < cap; ++i) delay *= 2;
    delay = std::min(delay, cap);
    if (failures_ < 64) ++failures_;
    const auto jitter_percent = std::min(policy_.jitter_percent, 100U);
    // Shorten by random * jitter% (0 .. jitter% of the delay), never below 1 ms.
    const auto max_cut = delay * jitter_percent / 100;
    const auto cut = static_cast<std::int64_t>(
        (static_cast<unsigned __int128>(static_cast<std::uint64_t>(max_cut)) * random) >> 32);
    return std::chrono::milliseconds(std::max<std::int64_t>(1, delay - cut));
}

}  // namespace mpsa::daemon
