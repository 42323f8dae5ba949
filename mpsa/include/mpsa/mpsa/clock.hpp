// Time source for the group SA state machines, injected so tests advance time by hand.
#pragma once

#include <chrono>

namespace mpsa::mpsa {

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

}  // namespace mpsa::mpsa
