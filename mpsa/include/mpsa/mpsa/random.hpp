// Randomness for SPIs, Nonces and SK_d, behind an interface so tests are deterministic.
#pragma once

#include <cstdint>
#include <span>

namespace mpsa::mpsa {

class RandomSource {
  public:
    virtual ~RandomSource() = default;
    // Fills `out` entirely; false if no randomness could be obtained (nothing usable written).
    [[nodiscard]] virtual bool fill(std::span<std::uint8_t> out) = 0;
};

// Production source: OpenSSL's CSPRNG (RAND_bytes).
class OpenSslRandom final : public RandomSource {
  public:
    [[nodiscard]] bool fill(std::span<std::uint8_t> out) override;
};

}  // namespace mpsa::mpsa
