// The CPE controller's pure shell around build_group_state(): it collects the learned routes
// (bgp_glue::BgpLearner's change handler) and the group SA lifecycle's events, and batches them
// into one rebuild per debounce interval, so a burst of zebra updates costs one diff and one
// netlink batch. The daemon arms a timer for next_deadline() and, when it fires, hands
// take_rebuild()'s state to xfrm::Reconciler::update(). No I/O; time from an injected Clock.
#pragma once

#include <optional>

#include <mpsa/bgp_glue/route_model.hpp>
#include <mpsa/mpsa/clock.hpp>
#include <mpsa/mpsa/cpe_group_sa.hpp>

#include "mpsa/daemon/desired_state_builder.hpp"
#include "mpsa/daemon/group_layout.hpp"
#include "mpsa/daemon/overlay.hpp"

namespace mpsa::daemon {

// Batches notifications, leading edge first: a change after a quiet spell (nothing taken for
// `delay`) is due at once; while changes keep coming they are taken at most once per `delay`, the
// later ones joining the armed deadline. So an isolated change (one prefix learned or withdrawn)
// costs no waiting -- which also shortens the moment a newly learned destination follows zebra's
// clear-text route in main before its overlay route and policies exist -- and a storm still costs
// one rebuild per interval, with any change's latency bounded by `delay`.
class Debouncer {
  public:
    Debouncer(const mpsa::Clock& clock, mpsa::Duration delay) : clock_(clock), delay_(delay) {}

    // Records a change; returns the deadline when this call armed it (the timer to start).
    std::optional<mpsa::TimePoint> notify();
    // True once (and disarms) when a notified change is due at clock.now().
    [[nodiscard]] bool take_due();
    [[nodiscard]] std::optional<mpsa::TimePoint> deadline() const { return deadline_; }
    [[nodiscard]] bool pending() const { return deadline_.has_value(); }

  private:
    const mpsa::Clock& clock_;
    mpsa::Duration delay_;
    std::optional<mpsa::TimePoint> deadline_;
    std::optional<mpsa::TimePoint> last_taken_;
};

class CpeController {
  public:
    // `lifecycle` and `clock` must outlive the controller.
    CpeController(NodeFacts node, GroupLayout layout, const mpsa::CpeGroupSaLifecycle& lifecycle,
                  const mpsa::Clock& clock, mpsa::Duration debounce);

    // A RouteModel change; schedules a rebuild only when it changes the overlay.
    void on_model_change(const bgp_glue::ModelChange& change);
    // The group SA lifecycle produced events (installed, outbound switched, removed).
    void on_group_sa_changed();
    // New static facts (a configuration reload, e.g. another gateway address); one rebuild.
    void set_node(NodeFacts node);
    // When the daemon's timer must call take_rebuild() (nullopt: nothing pending).
    [[nodiscard]] std::optional<mpsa::TimePoint> next_deadline() const {
        return debouncer_.deadline();
    }
    // The new desired state once the debounce interval has passed, else nullopt.
    [[nodiscard]] std::optional<GroupDesiredState> take_rebuild();
    // The desired state right now, e.g. for the reconciler's adopting apply() at start.
    [[nodiscard]] GroupDesiredState build_now() const;

    [[nodiscard]] const OverlayRoutes& overlay() const { return overlay_; }
    [[nodiscard]] const GroupLayout& layout() const { return layout_; }
    [[nodiscard]] const NodeFacts& node() const { return node_; }

  private:
    NodeFacts node_;
    GroupLayout layout_;
    const mpsa::CpeGroupSaLifecycle& lifecycle_;
    const mpsa::Clock& clock_;
    Debouncer debouncer_;
    OverlayRoutes overlay_;
};

}  // namespace mpsa::daemon
