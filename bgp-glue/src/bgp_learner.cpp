#include "mpsa/bgp_glue/bgp_learner.hpp"

namespace mpsa::bgp_glue {

BgpLearner::BgpLearner(asio::io_context& io, ZapiClient& client, ChangeHandler on_change,
                       LearnerOptions options)
    : client_(client), options_(options), sweep_timer_(io), on_change_(std::move(on_change)) {
    client_.set_handler(Command::RedistributeRouteAdd,
                        [this](const ZapiMessage& message) { on_route(message, true); });
    client_.set_handler(Command::RedistributeRouteDel,
                        [this](const ZapiMessage& message) { on_route(message, false); });
    client_.set_handler(Command::NexthopUpdate,
                        [this](const ZapiMessage& message) { on_nexthop_update(message); });
    client_.on_connected([this] {
        // A sweep still pending from an earlier session would judge against this replay.
        sweep_timer_.cancel();
        model_.begin_resync();
    });
    client_.on_synchronized([this] { on_synchronized(); });
    client_.redistribute(kAfiIp, RouteType::Bgp);
    client_.redistribute(kAfiIp6, RouteType::Bgp);
}

BgpLearner::~BgpLearner() {
    *alive_ = false;
    sweep_timer_.cancel();
}

void BgpLearner::on_synchronized() {
    if (options_.resync_hold.count() <= 0) {
        ++stats_.sweeps;
        apply(model_.end_resync());
        return;
    }
    sweep_timer_.expires_after(options_.resync_hold);
    sweep_timer_.async_wait([this, alive = alive_](const std::error_code& error) {
        if (!*alive || error || !client_.synchronized()) return;
        ++stats_.sweeps;
        apply(model_.end_resync());
    });
}

void BgpLearner::apply(const ModelChanges& changes) {
    for (const ModelChange& change : changes) {
        if (const auto* peer = std::get_if<PeerChange>(&change)) {
            if (peer->kind == PeerChange::Kind::tracked) client_.register_nexthop(peer->peer);
            if (peer->kind == PeerChange::Kind::untracked) client_.unregister_nexthop(peer->peer);
        }
        if (on_change_) on_change_(change);
    }
}

void BgpLearner::on_route(const ZapiMessage& message, bool add) {
    const auto& route = std::get<ZapiRoute>(message.body);
    const FrrRelease release = client_.config().release;
    if (route_type_from_number(release, route.type) != RouteType::Bgp ||
        route.safi != kSafiUnicast) {
        ++stats_.ignored_routes;
        return;
    }
    if (!add) {
        ++stats_.routes_deleted;
        apply(model_.remove_route(route.prefix));
        return;
    }
    ++stats_.routes_added;
    // The BGP next-hops are the gateways; for a recursive next-hop zebra hands over the BGP
    // next-hop itself (ifindex 0) and NHT resolves it.
    std::set<IpAddress> peers;
    for (const ZapiNexthop& nexthop : route.nexthops) {
        if (nexthop.gate && !nexthop.gate->is_unspecified()) peers.insert(*nexthop.gate);
    }
    apply(model_.set_route(route.prefix, peers));
}

void BgpLearner::on_nexthop_update(const ZapiMessage& message) {
    const auto& update = std::get<NexthopUpdate>(message.body);
    ++stats_.nexthop_updates;
    std::vector<UnderlayNexthop> underlay;
    for (const ZapiNexthop& nexthop : update.nexthops) {
        if (nexthop.type == NexthopType::blackhole) continue;
        underlay.push_back(UnderlayNexthop{nexthop.gate, nexthop.ifindex});
    }
    apply(model_.set_resolution(update.registered.address(), std::move(underlay)));
}

}  // namespace mpsa::bgp_glue
