#include "mpsa/mpsa/random.hpp"

#include <openssl/rand.h>

#include <climits>

namespace mpsa::mpsa {

bool OpenSslRandom::fill(std::span<std::uint8_t> out) {
    if (out.empty()) return true;
    if (out.size() > static_cast<std::size_t>(INT_MAX)) return false;
    return RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
}

}  // namespace mpsa::mpsa
