#include "mpsa/ike/clock.hpp"

#include <limits>

#include <openssl/rand.h>

namespace mpsa::ike {

bool OpenSslRandom::fill(std::span<std::uint8_t> out) {
    if (out.empty()) return true;
    if (out.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return false;
    return RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
}

}  // namespace mpsa::ike
