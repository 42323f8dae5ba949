// Randomness for SPIs, Nonces and SK_d: the IKE engine's RandomSource (production:
// OpenSslRandom = RAND_bytes), behind an interface so tests are deterministic.
#pragma once

#include "mpsa/ike/clock.hpp"

namespace mpsa::mpsa {

using ike::OpenSslRandom;
using ike::RandomSource;

}  // namespace mpsa::mpsa
