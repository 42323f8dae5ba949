#include "mpsa/bgp_glue/zapi_client.hpp"

#include <gtest/gtest.h>

#include "fake_zebra.hpp"
#include "hex.hpp"
#include "mpsa/bgp_glue/bgp_learner.hpp"

namespace mpsa::bgp_glue {
namespace {

using test::FakeZebra;
using test::ip;
using test::prefix;
using test::run_until;

constexpr FrrRelease kRelease = FrrRelease::v8_4;

ZapiClientConfig config_for(const FakeZebra& zebra) {
    ZapiClientConfig config;
    config.socket_path = zebra.path();
    config.release = kRelease;
    config.initial_backoff = std::chrono::milliseconds(10);
    config.max_backoff = std::chrono::milliseconds(40);
    return config;
}

ZapiRoute bgp_route(const char* destination, std::vector<const char*> next_hops) {
    ZapiRoute route;
    route.type = *route_type_number(kRelease, RouteType::Bgp);
    route.flags = zapi_route_flag::ibgp | zapi_route_flag::selected;
    route.prefix = prefix(destination);
    for (const char* next_hop : next_hops) {
        ZapiNexthop nexthop;
        const IpAddress gate = ip(next_hop);
        nexthop.type = gate.is_v4() ? NexthopType::ipv4 : NexthopType::ipv6;
        nexthop.gate = gate;
        route.nexthops.push_back(nexthop);
    }
    route.distance = 200;
    return route;
}

NexthopUpdate resolution(const char* peer, std::optional<const char*> via_gateway) {
    NexthopUpdate update;
    const IpAddress address = ip(peer);
    update.registered = Prefix(address, address.max_prefix_length());
    if (via_gateway) {
        update.resolved_via = Prefix(address, address.is_v4() ? 24 : 64);
        ZapiNexthop nexthop;
        nexthop.type = address.is_v4() ? NexthopType::ipv4_ifindex : NexthopType::ipv6_ifindex;
        nexthop.gate = ip(*via_gateway);
        nexthop.ifindex = 6;
        update.nexthops.push_back(nexthop);
    }
    return update;
}

// Collects the learner's change stream.
struct Changes {
    std::vector<ModelChange> all;
    void operator()(const ModelChange& change) { all.push_back(change); }
    [[nodiscard]] std::size_t routes(RouteChange::Kind kind) const {
        std::size_t n = 0;
        for (const auto& change : all) {
            if (const auto* route = std::get_if<RouteChange>(&change)) n += route->kind == kind;
        }
        return n;
    }
    [[nodiscard]] std::size_t peers(PeerChange::Kind kind) const {
        std::size_t n = 0;
        for (const auto& change : all) {
            if (const auto* peer = std::get_if<PeerChange>(&change)) n += peer->kind == kind;
        }
        return n;
    }
};

TEST(ZapiClient, SendsHelloRegistrationsAndTheBarrierInOrder) {
    asio::io_context io;
    FakeZebra zebra(io, kRelease);
    zebra.listen();
    ZapiClient client(io, config_for(zebra));
    Changes changes;
    BgpLearner learner(io, client, std::ref(changes), LearnerOptions{std::chrono::milliseconds(0)});
    client.start();
    ASSERT_TRUE(run_until(io, [&] { return zebra.count(Command::RouterIdAdd) == 1; }));
    EXPECT_EQ(zebra.commands(),
              (std::vector<Command>{Command::Hello, Command::RedistributeAdd,
                                    Command::RedistributeAdd, Command::RouterIdAdd}));
    // HELLO names our protocol (sharp by default) and asks for route notifications.
    EXPECT_EQ(std::get<UndecodedBody>(zebra.received[0].body).body,
              test::hex("17 00 00 00 00 00 00 01 00"));
    EXPECT_TRUE(client.connected());
    EXPECT_FALSE(client.synchronized());
    zebra.send(zebra.encoder().router_id_update(prefix("192.0.2.1/32")));
    ASSERT_TRUE(run_until(io, [&] { return client.synchronized(); }));
    EXPECT_EQ(client.stats().synchronizations, 1u);
}

TEST(ZapiClient, LearnsRoutesRegistersNextHopsAndFollowsResolution) {
    asio::io_context io;
    FakeZebra zebra(io, kRelease);
    zebra.listen();
    ZapiClient client(io, config_for(zebra));
    Changes changes;
    BgpLearner learner(io, client, std::ref(changes), LearnerOptions{std::chrono::milliseconds(0)});
    client.start();
    ASSERT_TRUE(run_until(io, [&] { return zebra.count(Command::RouterIdAdd) == 1; }));
    zebra.send(zebra.encoder().redistribute_route_add(bgp_route("10.2.0.0/24", {"192.0.2.12"})));
    zebra.send(
        zebra.encoder().redistribute_route_add(bgp_route("2001:db8:2::/48", {"2001:db8::12"})));
    zebra.send(zebra.encoder().router_id_update(prefix("192.0.2.1/32")));
    ASSERT_TRUE(run_until(io, [&] { return zebra.count(Command::NexthopRegister) == 2; }));
    EXPECT_EQ(learner.model().route(prefix("10.2.0.0/24")), std::set<IpAddress>{ip("192.0.2.12")});
    EXPECT_EQ(changes.routes(RouteChange::Kind::added), 2u);

    zebra.send(zebra.encoder().nexthop_update(resolution("192.0.2.12", "198.51.100.1")));
    ASSERT_TRUE(run_until(io, [&] { return changes.peers(PeerChange::Kind::resolved) == 1; }));
    EXPECT_EQ(learner.model().underlay(ip("192.0.2.12")),
              (std::vector<UnderlayNexthop>{{ip("198.51.100.1"), 6}}));
    zebra.send(zebra.encoder().nexthop_update(resolution("192.0.2.12", std::nullopt)));
    ASSERT_TRUE(run_until(io, [&] { return changes.peers(PeerChange::Kind::unresolved) == 1; }));

    // Withdrawal: the peer is no longer referenced and gets unregistered.
    zebra.send(zebra.encoder().redistribute_route_delete(bgp_route("10.2.0.0/24", {"192.0.2.12"})));
    ASSERT_TRUE(run_until(io, [&] { return zebra.count(Command::NexthopUnregister) == 1; }));
    EXPECT_FALSE(learner.model().route(prefix("10.2.0.0/24")));
    EXPECT_EQ(changes.routes(RouteChange::Kind::removed), 1u);
    EXPECT_EQ(changes.peers(PeerChange::Kind::untracked), 1u);
}

TEST(ZapiClient, IgnoresNonBgpRoutesAndSurvivesUndecodableMessages) {
    asio::io_context io;
    FakeZebra zebra(io, kRelease);
    zebra.listen();
    ZapiClient client(io, config_for(zebra));
    Changes changes;
    BgpLearner learner(io, client, std::ref(changes), LearnerOptions{std::chrono::milliseconds(0)});
    client.start();
    ASSERT_TRUE(run_until(io, [&] { return zebra.count(Command::RouterIdAdd) == 1; }));
    ZapiRoute kernel = bgp_route("10.9.0.0/24", {"192.0.2.9"});
    kernel.type = *route_type_number(kRelease, RouteType::Kernel);
    zebra.send(zebra.encoder().redistribute_route_add(kernel));
    // A REDISTRIBUTE_ROUTE_ADD with a bad family: counted, skipped, the stream stays usable.
    zebra.send_raw(test::hex("00 16 fe 06 00 00 00 00 00 1e 09 00 00 00 00 00 00 00 00 00 00 01"));
    zebra.send(zebra.encoder().redistribute_route_add(bgp_route("10.2.0.0/24", {"192.0.2.12"})));
    ASSERT_TRUE(run_until(io, [&] { return learner.model().route_count() == 1; }));
    EXPECT_EQ(learner.stats().ignored_routes, 1u);
    EXPECT_EQ(client.decode_counters().total_errors(), 1u);
    EXPECT_TRUE(client.connected());
    EXPECT_EQ(client.stats().disconnects, 0u);
}

TEST(ZapiClient, ReconnectsResendsEverythingAndSweepsStaleState) {
    asio::io_context io;
    FakeZebra zebra(io, kRelease);
    zebra.listen();
    ZapiClient client(io, config_for(zebra));
    Changes changes;
    BgpLearner learner(io, client, std::ref(changes), LearnerOptions{std::chrono::milliseconds(0)});
    std::vector<std::string> disconnect_reasons;
    client.on_disconnected(
        [&](const std::string& reason) { disconnect_reasons.push_back(reason); });
    ZapiRoute own;
    own.type = *route_type_number(kRelease, RouteType::Sharp);
    own.prefix = prefix("10.99.0.0/24");
    own.nexthops = bgp_route("10.99.0.0/24", {"192.0.2.12"}).nexthops;
    client.install_route(own);
    client.start();
    ASSERT_TRUE(run_until(io, [&] { return zebra.count(Command::RouterIdAdd) == 1; }));
    EXPECT_EQ(zebra.count(Command::RouteAdd), 1u);
    zebra.send(zebra.encoder().redistribute_route_add(bgp_route("10.2.0.0/24", {"192.0.2.12"})));
    zebra.send(zebra.encoder().redistribute_route_add(bgp_route("10.3.0.0/24", {"192.0.2.13"})));
    zebra.send(zebra.encoder().router_id_update(prefix("192.0.2.1/32")));
    ASSERT_TRUE(run_until(io, [&] { return zebra.count(Command::NexthopRegister) == 2; }));
    zebra.send(zebra.encoder().nexthop_update(resolution("192.0.2.12", "198.51.100.1")));
    zebra.send(zebra.encoder().nexthop_update(resolution("192.0.2.13", "198.51.100.1")));
    ASSERT_TRUE(run_until(io, [&] { return changes.peers(PeerChange::Kind::resolved) == 2; }));

    // zebra dies; while it is away the learned state stays (no traffic loss).
    zebra.close();
    ASSERT_TRUE(run_until(io, [&] { return !client.connected(); }));
    ASSERT_EQ(disconnect_reasons.size(), 1u);
    ASSERT_TRUE(run_until(io, [&] { return client.stats().connect_failures >= 2; }));
    EXPECT_EQ(learner.model().route_count(), 2u);

    // zebra is back with only 10.2 and only 192.0.2.12 still resolved.
    zebra.received.clear();
    const std::size_t changes_before = changes.all.size();
    zebra.listen();
    ASSERT_TRUE(run_until(io, [&] { return zebra.count(Command::RouterIdAdd) == 1; }));
    EXPECT_EQ(
        zebra.commands(),
        (std::vector<Command>{Command::Hello, Command::RedistributeAdd, Command::RedistributeAdd,
                              Command::NexthopRegister, Command::RouteAdd, Command::RouterIdAdd}));
    EXPECT_EQ(changes.all.size(), changes_before);  // nothing removed before the sweep
    zebra.send(zebra.encoder().redistribute_route_add(bgp_route("10.2.0.0/24", {"192.0.2.12"})));
    zebra.send(zebra.encoder().nexthop_update(resolution("192.0.2.12", "198.51.100.1")));
    zebra.send(zebra.encoder().router_id_update(prefix("192.0.2.1/32")));
    ASSERT_TRUE(run_until(io, [&] { return client.stats().synchronizations == 2; }));
    EXPECT_EQ(learner.model().route_count(), 1u);
    EXPECT_FALSE(learner.model().route(prefix("10.3.0.0/24")));
    EXPECT_EQ(learner.model().tracked_peers(), std::vector<IpAddress>{ip("192.0.2.12")});
    EXPECT_EQ(learner.model().resolution(ip("192.0.2.12")), RouteModel::Resolution::resolved);
    // Only the stale route and its peer went away; 10.2 produced no change at all.
    const std::vector<ModelChange> after(changes.all.begin() + changes_before, changes.all.end());
    ASSERT_EQ(after.size(), 2u);
    EXPECT_EQ(std::get<RouteChange>(after[0]).kind, RouteChange::Kind::removed);
    EXPECT_EQ(std::get<RouteChange>(after[0]).prefix, prefix("10.3.0.0/24"));
    EXPECT_EQ(std::get<PeerChange>(after[1]).kind, PeerChange::Kind::untracked);
    ASSERT_TRUE(run_until(io, [&] { return zebra.count(Command::NexthopUnregister) == 1; }));
}

TEST(ZapiClient, FramingErrorDropsTheConnectionAndReconnects) {
    asio::io_context io;
    FakeZebra zebra(io, kRelease);
    zebra.listen();
    ZapiClient client(io, config_for(zebra));
    client.start();
    ASSERT_TRUE(run_until(io, [&] { return zebra.count(Command::RouterIdAdd) == 1; }));
    zebra.send_raw(test::hex("00 0a fd 06 00 00 00 00 00 12"));
    ASSERT_TRUE(run_until(io, [&] { return client.stats().framing_errors == 1; }));
    ASSERT_TRUE(run_until(io, [&] { return zebra.accepted() == 2 && client.connected(); }));
    EXPECT_EQ(client.stats().connects, 2u);
}

TEST(ZapiClient, RetriesUntilTheSocketAppears) {
    asio::io_context io;
    FakeZebra zebra(io, kRelease);
    ZapiClient client(io, config_for(zebra));
    client.start();
    ASSERT_TRUE(run_until(io, [&] { return client.stats().connect_failures >= 3; }));
    EXPECT_FALSE(client.connected());
    zebra.listen();
    ASSERT_TRUE(run_until(io, [&] { return client.connected(); }));
    client.stop();
    EXPECT_FALSE(client.connected());
}

}  // namespace
}  // namespace mpsa::bgp_glue

namespace mpsa::bgp_glue {
namespace {

// zebra restarted: its RIB is empty until bgpd reconnects to it, so the learner keeps the
// stale routes for the hold time and only then sweeps what did not come back.
TEST(BgpLearner, SweepWaitsForTheResyncHold) {
    asio::io_context io;
    FakeZebra zebra(io, kRelease);
    zebra.listen();
    ZapiClient client(io, config_for(zebra));
    Changes changes;
    BgpLearner learner(io, client, std::ref(changes),
                       LearnerOptions{std::chrono::milliseconds(300)});
    client.start();
    ASSERT_TRUE(run_until(io, [&] { return zebra.count(Command::RouterIdAdd) == 1; }));
    zebra.send(zebra.encoder().redistribute_route_add(bgp_route("10.2.0.0/24", {"192.0.2.12"})));
    zebra.send(zebra.encoder().redistribute_route_add(bgp_route("10.3.0.0/24", {"192.0.2.13"})));
    zebra.send(zebra.encoder().router_id_update(prefix("192.0.2.1/32")));
    ASSERT_TRUE(run_until(io, [&] { return learner.stats().sweeps == 1; }));
    ASSERT_EQ(learner.model().route_count(), 2u);

    zebra.drop_client();
    ASSERT_TRUE(run_until(io, [&] { return client.stats().connects == 2; }));
    ASSERT_TRUE(run_until(io, [&] { return zebra.count(Command::RouterIdAdd) == 2; }));
    zebra.send(zebra.encoder().router_id_update(prefix("192.0.2.1/32")));  // empty replay
    ASSERT_TRUE(run_until(io, [&] { return client.stats().synchronizations == 2; }));
    const auto synchronized_at = std::chrono::steady_clock::now();
    // bgpd comes back within the hold and re-installs 10.2 only.
    zebra.send(zebra.encoder().redistribute_route_add(bgp_route("10.2.0.0/24", {"192.0.2.12"})));
    ASSERT_TRUE(run_until(io, [&] { return learner.stats().routes_added == 3; }));
    EXPECT_EQ(learner.model().route_count(), 2u);  // 10.3 is stale but kept for now
    ASSERT_TRUE(run_until(io, [&] { return learner.stats().sweeps == 2; }));
    EXPECT_GE(std::chrono::steady_clock::now() - synchronized_at, std::chrono::milliseconds(250));
    EXPECT_EQ(learner.model().route_count(), 1u);
    EXPECT_FALSE(learner.model().route(prefix("10.3.0.0/24")));
    EXPECT_EQ(changes.routes(RouteChange::Kind::removed), 1u);
}

}  // namespace
}  // namespace mpsa::bgp_glue
