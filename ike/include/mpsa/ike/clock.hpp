// Time and randomness for the IKE state machines, injected so tests drive them by hand.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>

namespace mpsa::ike {

using Duration = std::chrono::steady_clock::duration;
using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
  public:
    virtual ~Clock() = default;
    [[nodiscard]] virtual TimePoint now() const = 0;
};

class SteadyClock final : public Clock {
  public:
    [[nodiscard]] TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

// A clock that moves only when told to (tests, simulations).
class ManualClock final : public Clock {
  public:
    [[nodiscard]] TimePoint now() const override { return now_; }
    void set(TimePoint t) { now_ = t; }
    void advance(Duration d) { now_ += d; }

  private:
    TimePoint now_{};
};

// Randomness for SPIs, nonces and cookie secrets (DH private keys come from OpenSSL directly).
class RandomSource {
  public:
    virtual ~RandomSource() = default;
    // Fills `out` entirely; false if no randomness could be obtained.
    [[nodiscard]] virtual bool fill(std::span<std::uint8_t> out) = 0;
};

// Production source: OpenSSL's CSPRNG (RAND_bytes).
class OpenSslRandom final : public RandomSource {
  public:
    [[nodiscard]] bool fill(std::span<std::uint8_t> out) override;
};

}  // namespace mpsa::ike
