#include "mpsa/daemon/cpe_controller.hpp"

#include <utility>

namespace mpsa::daemon {

std::optional<mpsa::TimePoint> Debouncer::notify() {
    if (deadline_) return std::nullopt;
    deadline_ = clock_.now() + delay_;
    return deadline_;
}

bool Debouncer::take_due() {
    if (!deadline_ || clock_.now() < *deadline_) return false;
    deadline_.reset();
    return true;
}

CpeController::CpeController(NodeFacts node, GroupLayout layout,
                             const mpsa::CpeGroupSaLifecycle& lifecycle, const mpsa::Clock& clock,
                             mpsa::Duration debounce)
    : node_(std::move(node)),
      layout_(std::move(layout)),
      lifecycle_(lifecycle),
      clock_(clock),
      debouncer_(clock, debounce) {}

void CpeController::on_model_change(const bgp_glue::ModelChange& change) {
    if (overlay_.apply(change)) (void)debouncer_.notify();
}

void CpeController::on_group_sa_changed() {
    (void)debouncer_.notify();
}

void CpeController::set_node(NodeFacts node) {
    node_ = std::move(node);
    (void)debouncer_.notify();
}

std::optional<GroupDesiredState> CpeController::take_rebuild() {
    if (!debouncer_.take_due()) return std::nullopt;
    return build_now();
}

GroupDesiredState CpeController::build_now() const {
    return build_group_state(node_, layout_, lifecycle_, overlay_, clock_.now());
}

}  // namespace mpsa::daemon
