// Restart-safe reconciler: the kernel is made to hold exactly the desired owned objects.
// At start it adopts what it finds (no flush): a restart with the same desired state changes
// nothing. Incremental updates diff against its model of what it installed; kernel events that
// contradict the model, failed changes and netlink overruns schedule one debounced full resync.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include <tl/expected.hpp>

#include <mpsa/xfrm/diff.hpp>
#include <mpsa/xfrm/error.hpp>
#include <mpsa/xfrm/kernel.hpp>

namespace mpsa::xfrm {

// A one-shot timer (the daemon's event loop in production, a manual clock in tests).
class Timer {
  public:
    virtual ~Timer() = default;
    virtual void start(std::chrono::milliseconds delay, std::function<void()> callback) = 0;
    virtual void cancel() = 0;
};

struct ReconcilerOptions {
    // The first trigger starts the timer and later ones within the delay join it, so a storm of
    // events costs one dump and the latency is bounded by the delay.
    std::chrono::milliseconds resync_delay{500};
};

struct ChangeFailure {
    Change change;
    Error error;
};

struct ApplyReport {
    std::size_t changes = 0;  // attempted
    std::vector<ChangeFailure> failures;
    [[nodiscard]] bool ok() const { return failures.empty(); }
};

struct ReconcilerCounters {
    std::uint64_t full_applies = 0;
    std::uint64_t incremental_updates = 0;
    std::uint64_t resyncs_scheduled = 0;
    std::uint64_t resyncs_run = 0;
    std::uint64_t changes_applied = 0;
    std::uint64_t changes_failed = 0;
};

class Reconciler {
  public:
    Reconciler(Kernel& kernel, Timer& timer, ReconcilerOptions options = {});

    // Full: dump, diff, apply. Use at start (adoption) and for resyncs.
    [[nodiscard]] tl::expected<ApplyReport, Error> apply(const State& desired);
    // Incremental: diff against the model of the last apply; a full apply when there is none.
    [[nodiscard]] tl::expected<ApplyReport, Error> update(const State& desired);
    // Incremental by objects, O(k log n) for k objects: the controller's path for one prefix
    // learned or withdrawn. Upserts are added to (or replace within) the desired state, removals
    // leave it; only the affected keys are diffed. A full apply when there is no model yet.
    [[nodiscard]] tl::expected<ApplyReport, Error> change(const std::vector<Object>& upserts,
                                                          const std::vector<Object>& removals);
    // A notification: schedules a resync if it touches owned state and contradicts the model.
    void observe(const KernelEvent& event);
    // Events were lost (ENOBUFS) or something else makes the model doubtful.
    void request_resync();

    [[nodiscard]] const ReconcilerCounters& counters() const { return counters_; }
    [[nodiscard]] bool resync_pending() const { return resync_pending_; }
    // What we believe the kernel holds of ours (empty before the first apply).
    [[nodiscard]] const State& installed() const { return installed_; }

  private:
    ApplyReport execute(const std::vector<Change>& changes);
    void run_resync();

    Kernel& kernel_;
    Timer& timer_;
    ReconcilerOptions options_;
    std::optional<State> desired_;
    State installed_;
    bool have_model_ = false;
    bool resync_pending_ = false;
    ReconcilerCounters counters_;
};

}  // namespace mpsa::xfrm
