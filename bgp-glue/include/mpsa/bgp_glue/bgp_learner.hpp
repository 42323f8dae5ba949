// Wires a ZapiClient to a RouteModel: subscribes to BGP redistribution for IPv4 and IPv6,
// turns REDISTRIBUTE_ROUTE_ADD/DEL and NEXTHOP_UPDATE into model input, registers/unregisters
// each BGP next-hop with zebra's next-hop tracking as the model starts/stops tracking it, and
// resyncs the model (mark and sweep) around every reconnection.
#pragma once

#include <functional>

#include "mpsa/bgp_glue/route_model.hpp"
#include "mpsa/bgp_glue/zapi_client.hpp"

namespace mpsa::bgp_glue {

struct LearnerStats {
    std::uint64_t routes_added = 0;    // REDISTRIBUTE_ROUTE_ADD handled
    std::uint64_t routes_deleted = 0;  // REDISTRIBUTE_ROUTE_DEL handled
    std::uint64_t nexthop_updates = 0;
    std::uint64_t ignored_routes = 0;  // not BGP, or not unicast
};

class BgpLearner {
  public:
    using ChangeHandler = std::function<void(const ModelChange&)>;

    // Installs its handlers on `client` (which must outlive the learner) and subscribes.
    BgpLearner(ZapiClient& client, ChangeHandler on_change);
    BgpLearner(const BgpLearner&) = delete;
    BgpLearner& operator=(const BgpLearner&) = delete;

    [[nodiscard]] const RouteModel& model() const { return model_; }
    [[nodiscard]] const LearnerStats& stats() const { return stats_; }

  private:
    void apply(const ModelChanges& changes);
    void on_route(const ZapiMessage& message, bool add);
    void on_nexthop_update(const ZapiMessage& message);

    ZapiClient& client_;
    ChangeHandler on_change_;
    RouteModel model_;
    LearnerStats stats_;
};

}  // namespace mpsa::bgp_glue
