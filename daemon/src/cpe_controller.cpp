#include "mpsa/daemon/cpe_controller.hpp"

#include <utility>

namespace mpsa::daemon {

std::optional<mpsa::TimePoint> Debouncer::notify() {
    if (deadline_) return std::nullopt;
    const auto now = clock_.now();
    deadline_ = last_taken_ && *last_taken_ + delay_ > now ? *last_taken_ + delay_ : now;
    return deadline_;
}

bool Debouncer::take_due() {
    const auto now = clock_.now();
    if (!deadline_ || now < *deadline_) return false;
    deadline_.reset();
    last_taken_ = now;
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
