// Wires a ZapiClient to a RouteModel: subscribes to BGP redistribution for IPv4 and IPv6,
// turns REDISTRIBUTE_ROUTE_ADD/DEL and NEXTHOP_UPDATE into model input, registers/unregisters
// each BGP next-hop with zebra's next-hop tracking as the model starts/stops tracking it, and
// resyncs the model (mark and sweep) around every reconnection.
//
// The sweep waits `resync_hold` after zebra has answered the replay: a restarted zebra starts
// with an empty RIB and bgpd reconnects to it only after 10 s (lib/zclient.c, ZCLIENT_CONNECT),
// so sweeping at once would withdraw every overlay route for that long. Routes bgpd re-installs
// within the hold refresh their entries; whatever is still stale when it ends is removed.
#pragma once

#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "mpsa/bgp_glue/route_model.hpp"
#include "mpsa/bgp_glue/zapi_client.hpp"

namespace mpsa::bgp_glue {

struct LearnerStats {
    std::uint64_t routes_added = 0;    // REDISTRIBUTE_ROUTE_ADD handled
    std::uint64_t routes_deleted = 0;  // REDISTRIBUTE_ROUTE_DEL handled
    std::uint64_t nexthop_updates = 0;
    std::uint64_t ignored_routes = 0;  // not BGP, or not unicast
    std::uint64_t sweeps = 0;          // resyncs completed
};

struct LearnerOptions {
    std::chrono::milliseconds resync_hold{15000};
};

class BgpLearner {
  public:
    using ChangeHandler = std::function<void(const ModelChange&)>;

    // Installs its handlers on `client` (which must outlive the learner) and subscribes.
    BgpLearner(asio::io_context& io, ZapiClient& client, ChangeHandler on_change,
               LearnerOptions options = {});
    ~BgpLearner();
    BgpLearner(const BgpLearner&) = delete;
    BgpLearner& operator=(const BgpLearner&) = delete;

    [[nodiscard]] const RouteModel& model() const { return model_; }
    [[nodiscard]] const LearnerStats& stats() const { return stats_; }

  private:
    void apply(const ModelChanges& changes);
    void on_route(const ZapiMessage& message, bool add);
    void on_nexthop_update(const ZapiMessage& message);
    void on_synchronized();

    ZapiClient& client_;
    LearnerOptions options_;
    asio::steady_timer sweep_timer_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    ChangeHandler on_change_;
    RouteModel model_;
    LearnerStats stats_;
};

}  // namespace mpsa::bgp_glue
