#include "mpsa/bgp_glue/route_model.hpp"

#include <gtest/gtest.h>

#include <random>

#include "hex.hpp"

namespace mpsa::bgp_glue {
namespace {

using test::ip;
using test::prefix;
using Kind = RouteChange::Kind;
using PeerKind = PeerChange::Kind;

std::set<IpAddress> peers(std::initializer_list<const char*> texts) {
    std::set<IpAddress> out;
    for (const char* text : texts) out.insert(ip(text));
    return out;
}

ModelChange route_change(Kind kind, const char* destination, std::set<IpAddress> now,
                         std::set<IpAddress> before = {}) {
    return RouteChange{kind, prefix(destination), std::move(now), std::move(before)};
}

ModelChange peer_change(PeerKind kind, const char* peer, std::vector<UnderlayNexthop> via = {}) {
    return PeerChange{kind, ip(peer), std::move(via)};
}

std::vector<UnderlayNexthop> via(const char* gateway, std::uint32_t ifindex) {
    return {UnderlayNexthop{ip(gateway), ifindex}};
}

TEST(RouteModel, AddingARouteTracksItsPeersFirst) {
    RouteModel model;
    EXPECT_EQ(model.set_route(prefix("10.2.0.0/24"), peers({"192.0.2.12"})),
              (ModelChanges{peer_change(PeerKind::tracked, "192.0.2.12"),
                            route_change(Kind::added, "10.2.0.0/24", peers({"192.0.2.12"}))}));
    EXPECT_TRUE(model.set_route(prefix("10.2.0.0/24"), peers({"192.0.2.12"})).empty());
    EXPECT_EQ(model.route(prefix("10.2.0.0/24")), peers({"192.0.2.12"}));
    EXPECT_EQ(model.resolution(ip("192.0.2.12")), RouteModel::Resolution::unknown);
}

TEST(RouteModel, EcmpChangesTrackAndUntrackOnlyTheDifference) {
    RouteModel model;
    model.set_route(prefix("10.2.0.0/24"), peers({"192.0.2.12"}));
    EXPECT_EQ(
        model.set_route(prefix("10.2.0.0/24"), peers({"192.0.2.12", "192.0.2.13"})),
        (ModelChanges{peer_change(PeerKind::tracked, "192.0.2.13"),
                      route_change(Kind::changed, "10.2.0.0/24",
                                   peers({"192.0.2.12", "192.0.2.13"}), peers({"192.0.2.12"}))}));
    EXPECT_EQ(model.set_route(prefix("10.2.0.0/24"), peers({"192.0.2.13"})),
              (ModelChanges{route_change(Kind::changed, "10.2.0.0/24", peers({"192.0.2.13"}),
                                         peers({"192.0.2.12", "192.0.2.13"})),
                            peer_change(PeerKind::untracked, "192.0.2.12")}));
    EXPECT_EQ(model.tracked_peers(), std::vector<IpAddress>{ip("192.0.2.13")});
}

TEST(RouteModel, NextHopChangeMovesThePeer) {
    RouteModel model;
    model.set_route(prefix("2001:db8:2::/48"), peers({"2001:db8::12"}));
    EXPECT_EQ(model.set_route(prefix("2001:db8:2::/48"), peers({"2001:db8::13"})),
              (ModelChanges{peer_change(PeerKind::tracked, "2001:db8::13"),
                            route_change(Kind::changed, "2001:db8:2::/48", peers({"2001:db8::13"}),
                                         peers({"2001:db8::12"})),
                            peer_change(PeerKind::untracked, "2001:db8::12")}));
}

TEST(RouteModel, APeerSharedByPrefixesStaysTrackedUntilTheLastGoes) {
    RouteModel model;
    model.set_route(prefix("10.2.0.0/24"), peers({"192.0.2.12"}));
    EXPECT_EQ(model.set_route(prefix("10.3.0.0/24"), peers({"192.0.2.12"})),
              (ModelChanges{route_change(Kind::added, "10.3.0.0/24", peers({"192.0.2.12"}))}));
    EXPECT_EQ(
        model.remove_route(prefix("10.2.0.0/24")),
        (ModelChanges{route_change(Kind::removed, "10.2.0.0/24", {}, peers({"192.0.2.12"}))}));
    EXPECT_EQ(model.set_route(prefix("10.3.0.0/24"), {}),
              (ModelChanges{route_change(Kind::removed, "10.3.0.0/24", {}, peers({"192.0.2.12"})),
                            peer_change(PeerKind::untracked, "192.0.2.12")}));
    EXPECT_TRUE(model.remove_route(prefix("10.3.0.0/24")).empty());
    EXPECT_EQ(model.route_count(), 0u);
    EXPECT_TRUE(model.tracked_peers().empty());
}

TEST(RouteModel, ResolutionTransitions) {
    RouteModel model;
    const IpAddress peer = ip("192.0.2.12");
    // Not tracked: ignored.
    EXPECT_TRUE(model.set_resolution(peer, via("198.51.100.1", 6)).empty());
    model.set_route(prefix("10.2.0.0/24"), {peer});
    EXPECT_EQ(
        model.set_resolution(peer, via("198.51.100.1", 6)),
        (ModelChanges{peer_change(PeerKind::resolved, "192.0.2.12", via("198.51.100.1", 6))}));
    EXPECT_TRUE(model.set_resolution(peer, via("198.51.100.1", 6)).empty());
    // Recursive resolution moving to another underlay next-hop.
    EXPECT_EQ(
        model.set_resolution(peer, via("198.51.100.2", 7)),
        (ModelChanges{peer_change(PeerKind::resolved, "192.0.2.12", via("198.51.100.2", 7))}));
    EXPECT_EQ(model.underlay(peer), via("198.51.100.2", 7));
    EXPECT_EQ(model.set_resolution(peer, std::vector<UnderlayNexthop>{}),
              (ModelChanges{peer_change(PeerKind::unresolved, "192.0.2.12")}));
    EXPECT_TRUE(model.set_resolution(peer, std::nullopt).empty());
    EXPECT_EQ(model.resolution(peer), RouteModel::Resolution::unresolved);
    EXPECT_FALSE(model.underlay(peer));
}

TEST(RouteModel, UnknownToUnresolvedIsReported) {
    RouteModel model;
    model.set_route(prefix("10.2.0.0/24"), peers({"192.0.2.12"}));
    EXPECT_EQ(model.set_resolution(ip("192.0.2.12"), std::nullopt),
              (ModelChanges{peer_change(PeerKind::unresolved, "192.0.2.12")}));
}

TEST(RouteModel, UnderlayOrderAndDuplicatesDoNotMatter) {
    RouteModel model;
    const IpAddress peer = ip("192.0.2.12");
    model.set_route(prefix("10.2.0.0/24"), {peer});
    const UnderlayNexthop a{ip("198.51.100.1"), 6};
    const UnderlayNexthop b{std::nullopt, 7};
    ASSERT_EQ(model.set_resolution(peer, std::vector{a, b}).size(), 1u);
    EXPECT_TRUE(model.set_resolution(peer, std::vector{b, a, b}).empty());
}

TEST(RouteModel, ResyncReplayingTheSameStateEmitsNothing) {
    RouteModel model;
    model.set_route(prefix("10.2.0.0/24"), peers({"192.0.2.12"}));
    model.set_route(prefix("2001:db8:2::/48"), peers({"2001:db8::12"}));
    model.set_resolution(ip("192.0.2.12"), via("198.51.100.1", 6));
    model.begin_resync();
    EXPECT_TRUE(model.resyncing());
    EXPECT_TRUE(model.set_route(prefix("10.2.0.0/24"), peers({"192.0.2.12"})).empty());
    EXPECT_TRUE(model.set_route(prefix("2001:db8:2::/48"), peers({"2001:db8::12"})).empty());
    EXPECT_TRUE(model.set_resolution(ip("192.0.2.12"), via("198.51.100.1", 6)).empty());
    EXPECT_TRUE(model.end_resync().empty());
    EXPECT_FALSE(model.resyncing());
    EXPECT_EQ(model.route_count(), 2u);
}

TEST(RouteModel, ResyncSweepsWhatWasNotReplayed) {
    RouteModel model;
    model.set_route(prefix("10.2.0.0/24"), peers({"192.0.2.12"}));
    model.set_route(prefix("10.3.0.0/24"), peers({"192.0.2.13"}));
    model.set_route(prefix("10.4.0.0/24"), peers({"192.0.2.14"}));
    model.set_resolution(ip("192.0.2.12"), via("198.51.100.1", 6));
    model.set_resolution(ip("192.0.2.13"), via("198.51.100.1", 6));
    model.begin_resync();
    // 10.2 comes back unchanged but its peer's resolution is not confirmed; 10.4 comes back via
    // another peer; 10.3 does not come back.
    model.set_route(prefix("10.2.0.0/24"), peers({"192.0.2.12"}));
    EXPECT_EQ(model.set_route(prefix("10.4.0.0/24"), peers({"192.0.2.15"})).size(), 3u);
    EXPECT_EQ(model.end_resync(),
              (ModelChanges{route_change(Kind::removed, "10.3.0.0/24", {}, peers({"192.0.2.13"})),
                            peer_change(PeerKind::untracked, "192.0.2.13"),
                            peer_change(PeerKind::unresolved, "192.0.2.12")}));
    EXPECT_EQ(model.route_count(), 2u);
    EXPECT_EQ(model.tracked_peers(), (std::vector<IpAddress>{ip("192.0.2.12"), ip("192.0.2.15")}));
    EXPECT_TRUE(model.end_resync().empty());
}

TEST(RouteModel, EndResyncWithoutBeginDoesNothing) {
    RouteModel model;
    model.set_route(prefix("10.2.0.0/24"), peers({"192.0.2.12"}));
    EXPECT_TRUE(model.end_resync().empty());
    EXPECT_EQ(model.route_count(), 1u);
}

// A consumer applying only the change stream must always agree with the model: the changes are
// a complete and minimal diff. Random operations over a small universe hit every transition.
class Mirror {
  public:
    void apply(const ModelChanges& changes) {
        for (const ModelChange& change : changes) {
            if (const auto* route = std::get_if<RouteChange>(&change)) {
                switch (route->kind) {
                    case Kind::added:
                        ASSERT_FALSE(routes.contains(route->prefix));
                        routes[route->prefix] = route->peers;
                        break;
                    case Kind::changed:
                        ASSERT_EQ(routes.at(route->prefix), route->previous_peers);
                        ASSERT_NE(route->peers, route->previous_peers);
                        routes[route->prefix] = route->peers;
                        break;
                    case Kind::removed:
                        ASSERT_EQ(routes.at(route->prefix), route->previous_peers);
                        routes.erase(route->prefix);
                        break;
                }
                for (const IpAddress& peer : route->peers) ASSERT_TRUE(tracked.contains(peer));
            } else {
                const auto& peer = std::get<PeerChange>(change);
                switch (peer.kind) {
                    case PeerKind::tracked:
                        ASSERT_TRUE(tracked.insert(peer.peer).second);
                        break;
                    case PeerKind::untracked:
                        ASSERT_EQ(tracked.erase(peer.peer), 1u);
                        resolved.erase(peer.peer);
                        break;
                    case PeerKind::resolved:
                        ASSERT_TRUE(tracked.contains(peer.peer));
                        ASSERT_NE(resolved[peer.peer], peer.underlay);
                        resolved[peer.peer] = peer.underlay;
                        break;
                    case PeerKind::unresolved:
                        ASSERT_TRUE(tracked.contains(peer.peer));
                        resolved.erase(peer.peer);
                        break;
                }
            }
        }
    }
    std::map<Prefix, std::set<IpAddress>> routes;
    std::set<IpAddress> tracked;
    std::map<IpAddress, std::vector<UnderlayNexthop>> resolved;
};

void expect_agree(const RouteModel& model, const Mirror& mirror) {
    ASSERT_EQ(model.route_count(), mirror.routes.size());
    for (const auto& [destination, via_peers] : mirror.routes) {
        ASSERT_EQ(model.route(destination), via_peers);
    }
    const auto tracked = model.tracked_peers();
    ASSERT_EQ(std::set<IpAddress>(tracked.begin(), tracked.end()), mirror.tracked);
    for (const IpAddress& peer : tracked) {
        const auto underlay = model.underlay(peer);
        const auto it = mirror.resolved.find(peer);
        ASSERT_EQ(underlay.has_value(), it != mirror.resolved.end());
        if (underlay) {
            ASSERT_EQ(*underlay, it->second);
        }
    }
}

TEST(RouteModel, RandomOperationsKeepTheChangeStreamFaithful) {
    std::mt19937 random(12345);
    const std::vector<Prefix> destinations = {prefix("10.1.0.0/24"), prefix("10.2.0.0/24"),
                                              prefix("10.3.0.0/24"), prefix("2001:db8:1::/48"),
                                              prefix("2001:db8:2::/48")};
    const std::vector<IpAddress> all_peers = {ip("192.0.2.11"), ip("192.0.2.12"), ip("192.0.2.13"),
                                              ip("2001:db8::11")};
    const std::vector<std::vector<UnderlayNexthop>> underlays = {
        {},
        via("198.51.100.1", 6),
        via("198.51.100.2", 7),
        {UnderlayNexthop{ip("198.51.100.1"), 6}, UnderlayNexthop{ip("198.51.100.2"), 7}}};
    RouteModel model;
    Mirror mirror;
    for (int step = 0; step < 20000; ++step) {
        const int operation = static_cast<int>(random() % 10);
        ModelChanges changes;
        if (operation < 4) {
            std::set<IpAddress> chosen;
            for (const IpAddress& peer : all_peers) {
                if (random() % 3 == 0) chosen.insert(peer);
            }
            changes = model.set_route(destinations[random() % destinations.size()], chosen);
        } else if (operation < 5) {
            changes = model.remove_route(destinations[random() % destinations.size()]);
        } else if (operation < 8) {
            changes = model.set_resolution(all_peers[random() % all_peers.size()],
                                           underlays[random() % underlays.size()]);
        } else if (operation < 9) {
            if (!model.resyncing()) model.begin_resync();
        } else {
            changes = model.end_resync();
        }
        mirror.apply(changes);
        ASSERT_NO_FATAL_FAILURE(expect_agree(model, mirror)) << "step " << step;
    }
}

}  // namespace
}  // namespace mpsa::bgp_glue
