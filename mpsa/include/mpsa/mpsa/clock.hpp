// Time source for the group SA state machines: the same injected clock the IKE engine uses, so
// one clock object drives both layers (tests advance it by hand).
#pragma once

#include "mpsa/ike/clock.hpp"

namespace mpsa::mpsa {

using ike::Clock;
using ike::Duration;
using ike::ManualClock;
using ike::SteadyClock;
using ike::TimePoint;

}  // namespace mpsa::mpsa
