#include "mpsa/daemon/desired_state_builder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <variant>
#include <vector>

#include <mpsa/ike/bytes.hpp>
#include <mpsa/mpsa/cpe_group_sa.hpp>
#include <mpsa/xfrm/codec.hpp>
#include <mpsa/xfrm/diff.hpp>
#include <mpsa/xfrm/ownership.hpp>

namespace mpsa::daemon {
namespace {

using std::chrono::seconds;
using xfrm::Direction;
using xfrm::IpAddress;
using xfrm::Prefix;

constexpr std::uint32_t kSpiA = 0x1000;
constexpr std::uint32_t kSpiB = 0x2000;
constexpr std::uint32_t kIfId = 0x6d700001;  // group 1

bgp_glue::Prefix bp(std::string_view text) {
    return *bgp_glue::Prefix::parse(text);
}
bgp_glue::IpAddress ba(std::string_view text) {
    return *bgp_glue::IpAddress::parse(text);
}

mpsa::MpsaPut make_put(std::uint32_t spi, std::uint32_t lifetime, std::uint32_t roll1,
                       std::uint32_t roll2, mpsa::EspSuite suite = mpsa::suites::default_suite()) {
    mpsa::MpsaPut put;
    put.spi = spi;
    put.suite = suite;
    put.nonce = ike::Bytes(32, static_cast<std::uint8_t>(spi >> 8));
    put.sk_d = ike::SecretBytes(
        ike::Bytes(ike::prf_key_length(suite.prf), static_cast<std::uint8_t>(0x5a + (spi >> 12))));
    put.lifetime_s = lifetime;
    put.roll1_s = roll1;
    put.roll2_s = roll2;
    return put;
}

struct Peer {
    const char* esp;
    const char* lan4;
    const char* lan6;
};

const Peer kB{"192.0.2.2", "10.2.0.0/24", "fd00:2::/64"};
const Peer kC{"192.0.2.3", "10.3.0.0/24", "fd00:3::/64"};
const Peer kD{"192.0.2.4", "10.4.0.0/16", "fd00:4::/48"};

class DaemonDesiredState : public ::testing::Test {
  protected:
    DaemonDesiredState() : lifecycle_(clock_, mpsa::CpeLifecycleConfig{}) {
        clock_.set(mpsa::TimePoint{} + seconds(1000));
        node_.esp_address = IpAddress::from("192.0.2.1");
        node_.underlay_interface = "eth1";
        node_.never_overlay = {IpAddress::from("198.51.100.10")};  // the gateway
    }

    void install(std::uint32_t spi, std::uint32_t lifetime = 3600, std::uint32_t roll1 = 10,
                 std::uint32_t roll2 = 20) {
        ASSERT_TRUE(lifecycle_.on_mpsa_put(make_put(spi, lifetime, roll1, roll2)));
        (void)lifecycle_.advance();
    }
    void advance(seconds by) {
        clock_.advance(by);
        (void)lifecycle_.advance();
    }
    void learn(const Peer& peer, bool resolved = true) {
        overlay_.set_route(bp(peer.lan4), {ba(peer.esp)});
        overlay_.set_route(bp(peer.lan6), {ba(peer.esp)});
        overlay_.set_resolved(ba(peer.esp), resolved);
    }
    GroupDesiredState build() {
        return build_group_state(node_, *group_layout(1), lifecycle_, overlay_, clock_.now());
    }
    const mpsa::CpeGroupSa& record(std::uint32_t spi) { return *lifecycle_.find(spi); }

    // The objects written out by hand, independently of the builder.
    xfrm::Sa expected_sa(std::uint32_t spi, const std::string& src, const std::string& dst) {
        const auto& keys = record(spi).keys;
        xfrm::Sa sa;
        sa.src = IpAddress::from(src);
        sa.dst = IpAddress::from(dst);
        sa.spi = spi;
        sa.mode = xfrm::Mode::kTunnel;
        sa.reqid = kIfId;
        sa.replay_window = 0;
        sa.if_id = kIfId;
        sa.cipher =
            xfrm::CipherAlgorithm{"cbc(aes)", xfrm::SecretBuffer(keys.encryption_key.view())};
        sa.auth =
            xfrm::AuthAlgorithm{"hmac(sha256)", xfrm::SecretBuffer(keys.integrity_key.view()), 128};
        return sa;
    }
    static xfrm::Policy expected_out(const std::string& dst, std::uint32_t priority,
                                     const std::string& own, const std::string& peer,
                                     std::uint32_t spi) {
        xfrm::Policy p;
        p.dir = Direction::kOut;
        const auto d = Prefix::from(dst);
        p.selector.src = Prefix::from(d.family() == xfrm::Family::kIpv4 ? "0.0.0.0/0" : "::/0");
        p.selector.dst = d;
        p.if_id = kIfId;
        p.priority = priority;
        p.templates.push_back({IpAddress::from(own), IpAddress::from(peer), spi, xfrm::kProtoEsp,
                               xfrm::Mode::kTunnel, kIfId, false});
        return p;
    }
    static xfrm::Policy expected_in(Direction dir, const std::string& src, std::uint32_t priority,
                                    const std::string& own) {
        xfrm::Policy p;
        p.dir = dir;
        const auto s = Prefix::from(src);
        p.selector.src = s;
        p.selector.dst = Prefix::from(s.family() == xfrm::Family::kIpv4 ? "0.0.0.0/0" : "::/0");
        p.if_id = kIfId;
        p.priority = priority;
        // Wildcard source, unspecified: what the kernel's dump gives back for it.
        p.templates.push_back({IpAddress{}, IpAddress::from(own), 0, xfrm::kProtoEsp,
                               xfrm::Mode::kTunnel, kIfId, false});
        return p;
    }
    static xfrm::Route expected_route(const std::string& dst) {
        xfrm::Route r;
        r.dst = Prefix::from(dst);
        r.table = kIfId;
        r.dev = "mpsa1";
        return r;
    }
    static xfrm::Rule expected_rule(xfrm::Family family, std::uint32_t priority,
                                    std::uint32_t table, const char* dst = nullptr) {
        xfrm::Rule r;
        r.family = family;
        r.priority = priority;
        r.table = table;
        if (dst != nullptr) r.dst = Prefix::from(dst);
        return r;
    }

    mpsa::ManualClock clock_;
    mpsa::CpeGroupSaLifecycle lifecycle_;
    NodeFacts node_;
    OverlayRoutes overlay_;
};

const xfrm::Policy* find_policy(const xfrm::State& s, Direction dir, const std::string& prefix) {
    for (const auto& [key, p] : s.policies) {
        const auto& sel = dir == Direction::kOut ? p.selector.dst : p.selector.src;
        if (p.dir == dir && sel == Prefix::from(prefix)) return &p;
    }
    return nullptr;
}

xfrm::SaKey sa_key(const std::string& dst, std::uint32_t spi) {
    xfrm::SaKey key;
    key.dst = IpAddress::from(dst);
    key.spi = spi;
    return key;
}

bool has_route(const xfrm::State& s, const std::string& prefix) {
    return std::any_of(s.routes.begin(), s.routes.end(), [&](const auto& entry) {
        return entry.second.dst == Prefix::from(prefix) && entry.second.table == kIfId;
    });
}

std::vector<std::uint32_t> out_sa_spis(const xfrm::State& s, const std::string& dst) {
    std::vector<std::uint32_t> spis;
    for (const auto& [key, sa] : s.sas) {
        if (sa.dst == IpAddress::from(dst)) spis.push_back(sa.spi);
    }
    return spis;
}

TEST(DaemonGroupLayout, DerivesNamesAndNumbersFromTheGroupId) {
    auto one = group_layout(1);
    ASSERT_TRUE(one);
    EXPECT_EQ(one->interface_name, "mpsa1");
    EXPECT_EQ(one->if_id, 0x6d700001U);
    EXPECT_EQ(one->table, 0x6d700001U);
    EXPECT_TRUE(xfrm::ownership::owned_if_id(one->if_id));
    auto last = group_layout(65535);
    ASSERT_TRUE(last);
    EXPECT_EQ(last->interface_name, "mpsa65535");
    EXPECT_EQ(last->if_id, xfrm::ownership::kIfIdMax);
    EXPECT_EQ(group_layout(0).error(), LayoutError::kGroupIdZero);
    EXPECT_EQ(group_layout(65536).error(), LayoutError::kGroupIdTooLarge);
    EXPECT_FALSE(to_string(LayoutError::kGroupIdZero).empty());
}

TEST(DaemonGroupLayout, LongerPrefixesGetBetterPolicyPriorities) {
    EXPECT_LT(policy_priority(32, 32), policy_priority(24, 32));
    EXPECT_LT(policy_priority(24, 32), policy_priority(0, 32));
    EXPECT_EQ(policy_priority(0, 128), kPolicyPriorityBase + 128);
}

TEST_F(DaemonDesiredState, ThreePeerMeshProducesExactlyTheExpectedObjects) {
    install(kSpiA);
    learn(kB);
    learn(kC);
    learn(kD);
    // Our own prefix, reflected back to us with our own next-hop: skipped.
    overlay_.set_route(bp("10.1.0.0/24"), {ba("192.0.2.1")});
    const auto group = build();

    xfrm::State expected;
    expected.add(xfrm::XfrmInterface{"mpsa1", kIfId, "eth1", 0});
    expected.add(expected_sa(kSpiA, "0.0.0.0", "192.0.2.1"));
    for (const auto* peer : {&kB, &kC, &kD}) {
        expected.add(expected_sa(kSpiA, "192.0.2.1", peer->esp));
        const bool d = peer == &kD;
        const std::uint32_t p4 = d ? 10016 : 10008;
        const std::uint32_t p6 = d ? 10080 : 10064;
        expected.add(expected_out(peer->lan4, p4, "192.0.2.1", peer->esp, kSpiA));
        expected.add(expected_out(peer->lan6, p6, "192.0.2.1", peer->esp, kSpiA));
        for (auto dir : {Direction::kIn, Direction::kFwd}) {
            expected.add(expected_in(dir, peer->lan4, p4, "192.0.2.1"));
            expected.add(expected_in(dir, peer->lan6, p6, "192.0.2.1"));
        }
        expected.add(expected_route(peer->lan4));
        expected.add(expected_route(peer->lan6));
        expected.add(expected_rule(xfrm::Family::kIpv4, 18000, 254,
                                   (std::string(peer->esp) + "/32").c_str()));
    }
    expected.add(expected_rule(xfrm::Family::kIpv4, 18000, 254, "198.51.100.10/32"));
    expected.add(expected_rule(xfrm::Family::kIpv4, 18100, 254, "10.1.0.0/24"));  // our own
    expected.add(expected_rule(xfrm::Family::kIpv4, 18500, kIfId));
    expected.add(expected_rule(xfrm::Family::kIpv6, 18500, kIfId));

    EXPECT_EQ(group.state.interfaces, expected.interfaces);
    EXPECT_EQ(group.state.sas.size(), 4U);
    EXPECT_TRUE(group.state.sas == expected.sas);
    EXPECT_EQ(group.state.policies, expected.policies);
    EXPECT_EQ(group.state.routes, expected.routes);
    EXPECT_EQ(group.state.rules, expected.rules);
    EXPECT_TRUE(group.state == expected);

    EXPECT_EQ(group.inbound_spis, std::vector<std::uint32_t>{kSpiA});
    EXPECT_EQ(group.outbound_spi, kSpiA);
    ASSERT_EQ(group.destinations.size(), 6U);
    for (const auto& d : group.destinations) {
        EXPECT_EQ(d.state, DestinationState::kEncrypted) << d.destination.to_string();
    }
    // Everything we program is ours, so the reconciler may manage (and clean up) all of it.
    EXPECT_EQ(xfrm::ownership::owned_subset(group.state), group.state);
}

TEST_F(DaemonDesiredState, Ipv6OutsideCarriesBothInnerFamilies) {
    node_.esp_address = IpAddress::from("2001:db8:ff::1");
    node_.never_overlay = {IpAddress::from("2001:db8:ff::a")};
    install(kSpiA);
    overlay_.set_route(bp("10.2.0.0/24"), {ba("2001:db8:ff::2")});
    overlay_.set_route(bp("fd00:2::/64"), {ba("2001:db8:ff::2")});
    overlay_.set_resolved(ba("2001:db8:ff::2"), true);
    const auto group = build();

    ASSERT_EQ(group.state.sas.size(), 2U);
    EXPECT_TRUE(group.state.sas.contains(sa_key("2001:db8:ff::1", kSpiA)));
    EXPECT_EQ(group.state.sas.at(sa_key("2001:db8:ff::1", kSpiA)).src, IpAddress::from("::"));
    const auto& out = group.state.sas.at(sa_key("2001:db8:ff::2", kSpiA));
    EXPECT_EQ(out.src, IpAddress::from("2001:db8:ff::1"));
    EXPECT_FALSE(out.selector) << "one SA carries IPv4 and IPv6 inside";
    EXPECT_EQ(*find_policy(group.state, Direction::kOut, "10.2.0.0/24"),
              expected_out("10.2.0.0/24", 10008, "2001:db8:ff::1", "2001:db8:ff::2", kSpiA));
    EXPECT_EQ(*find_policy(group.state, Direction::kIn, "fd00:2::/64"),
              expected_in(Direction::kIn, "fd00:2::/64", 10064, "2001:db8:ff::1"));
    EXPECT_TRUE(group.state.rules.contains(
        expected_rule(xfrm::Family::kIpv6, 18000, 254, "2001:db8:ff::2/128")));
    EXPECT_TRUE(group.state.rules.contains(
        expected_rule(xfrm::Family::kIpv6, 18000, 254, "2001:db8:ff::a/128")));
    EXPECT_EQ(group.state.routes.size(), 2U);
}

TEST_F(DaemonDesiredState, WithdrawalRemovesTheDestinationsPoliciesRouteAndUnusedSa) {
    install(kSpiA);
    learn(kB);
    learn(kC);
    const auto before = build();
    overlay_.remove_route(bp(kC.lan4));
    const auto partial = build();
    EXPECT_EQ(find_policy(partial.state, Direction::kOut, kC.lan4), nullptr);
    EXPECT_EQ(find_policy(partial.state, Direction::kIn, kC.lan4), nullptr);
    EXPECT_EQ(find_policy(partial.state, Direction::kFwd, kC.lan4), nullptr);
    EXPECT_FALSE(has_route(partial.state, kC.lan4));
    EXPECT_EQ(partial.state.policies.size(), before.state.policies.size() - 3);
    EXPECT_EQ(partial.state.routes.size(), before.state.routes.size() - 1);
    EXPECT_EQ(out_sa_spis(partial.state, kC.esp), std::vector<std::uint32_t>{kSpiA})
        << "C still serves its IPv6 prefix";

    overlay_.remove_route(bp(kC.lan6));
    const auto after = build();
    EXPECT_TRUE(out_sa_spis(after.state, kC.esp).empty()) << "nothing stale for a departed peer";
    EXPECT_FALSE(
        after.state.rules.contains(expected_rule(xfrm::Family::kIpv4, 18000, 254, "192.0.2.3/32")));
    for (const auto& [key, p] : after.state.policies) {
        for (const auto& t : p.templates) EXPECT_NE(t.dst, IpAddress::from(kC.esp));
    }
    // Only B is left: the same as if C had never been there.
    OverlayRoutes only_b;
    only_b.set_route(bp(kB.lan4), {ba(kB.esp)});
    only_b.set_route(bp(kB.lan6), {ba(kB.esp)});
    only_b.set_resolved(ba(kB.esp), true);
    EXPECT_TRUE(
        build_group_state(node_, *group_layout(1), lifecycle_, only_b, clock_.now()).state ==
        after.state);
}

TEST_F(DaemonDesiredState, UnresolvedPeerGetsBlockPoliciesAndKeepsItsRoutes) {
    install(kSpiA);
    learn(kB);
    learn(kC, /*resolved=*/false);
    const auto group = build();
    for (const auto* prefix : {kC.lan4, kC.lan6}) {
        const auto* out = find_policy(group.state, Direction::kOut, prefix);
        ASSERT_NE(out, nullptr) << prefix;
        EXPECT_EQ(out->action, xfrm::PolicyAction::kBlock);
        EXPECT_TRUE(out->templates.empty());
        EXPECT_TRUE(has_route(group.state, prefix))
            << "the overlay route keeps traffic away from zebra's clear-text route";
    }
    EXPECT_TRUE(out_sa_spis(group.state, kC.esp).empty());
    EXPECT_EQ(find_policy(group.state, Direction::kOut, kB.lan4)->action,
              xfrm::PolicyAction::kAllow);
    const auto c4 =
        std::find_if(group.destinations.begin(), group.destinations.end(),
                     [](const auto& d) { return d.destination == Prefix::from(kC.lan4); });
    ASSERT_NE(c4, group.destinations.end());
    EXPECT_EQ(c4->state, DestinationState::kBlockedPeerUnresolved);
    EXPECT_EQ(c4->peer, IpAddress::from(kC.esp));

    overlay_.set_resolved(ba(kC.esp), true);
    const auto resolved = build();
    EXPECT_EQ(find_policy(resolved.state, Direction::kOut, kC.lan4)->action,
              xfrm::PolicyAction::kAllow);
    EXPECT_EQ(out_sa_spis(resolved.state, kC.esp), std::vector<std::uint32_t>{kSpiA});
}

TEST_F(DaemonDesiredState, NoSaYetBlocksEveryDestination) {
    learn(kB);
    const auto group = build();
    EXPECT_TRUE(group.state.sas.empty());
    EXPECT_FALSE(group.outbound_spi);
    EXPECT_EQ(group.state.interfaces.size(), 1U);
    for (const auto& d : group.destinations) {
        EXPECT_EQ(d.state, DestinationState::kBlockedNoOutboundSa);
    }
    for (const auto& [key, p] : group.state.policies) {
        if (p.dir == Direction::kOut) {
            EXPECT_EQ(p.action, xfrm::PolicyAction::kBlock);
        }
    }
}

TEST_F(DaemonDesiredState, ExpiredSaBlocksEvenWhenTheLifecycleWasNotAdvanced) {
    install(kSpiA, /*lifetime=*/100);
    learn(kB);
    EXPECT_EQ(build().outbound_spi, kSpiA);
    // The daemon's timer has not run advance() yet: the builder must not trust a stale view.
    clock_.advance(seconds(100));
    auto stale = build();
    EXPECT_TRUE(stale.state.sas.empty());
    EXPECT_EQ(find_policy(stale.state, Direction::kOut, kB.lan4)->action,
              xfrm::PolicyAction::kBlock);
    (void)lifecycle_.advance();
    auto expired = build();
    EXPECT_TRUE(expired.state == stale.state);
}

TEST_F(DaemonDesiredState, RolloverAddsInboundThenSwitchesOutboundThenDropsOldInbound) {
    install(kSpiA);
    learn(kB);
    learn(kC);
    advance(seconds(600));
    install(kSpiB, 3600, /*roll1=*/10, /*roll2=*/20);

    auto t0 = build();
    EXPECT_EQ(t0.inbound_spis, (std::vector<std::uint32_t>{kSpiA, kSpiB}));
    EXPECT_EQ(t0.outbound_spi, kSpiA);
    EXPECT_TRUE(t0.state.sas.contains(sa_key("192.0.2.1", kSpiA)));
    EXPECT_TRUE(t0.state.sas.contains(sa_key("192.0.2.1", kSpiB)));
    EXPECT_EQ(out_sa_spis(t0.state, kB.esp), std::vector<std::uint32_t>{kSpiA});
    EXPECT_EQ(find_policy(t0.state, Direction::kOut, kB.lan4)->templates.at(0).spi, kSpiA);

    advance(seconds(10));  // ROLL1
    auto t1 = build();
    EXPECT_EQ(t1.inbound_spis, (std::vector<std::uint32_t>{kSpiA, kSpiB}));
    EXPECT_EQ(t1.outbound_spi, kSpiB);
    EXPECT_EQ(out_sa_spis(t1.state, kB.esp), std::vector<std::uint32_t>{kSpiB});
    EXPECT_EQ(out_sa_spis(t1.state, kC.esp), std::vector<std::uint32_t>{kSpiB});
    EXPECT_EQ(find_policy(t1.state, Direction::kOut, kC.lan6)->templates.at(0).spi, kSpiB);
    EXPECT_EQ(find_policy(t1.state, Direction::kIn, kC.lan6)->templates.at(0).spi, 0U)
        << "inbound accepts the old and the new SA during the rollover";
    EXPECT_EQ(t1.state.policies.size(), t0.state.policies.size());

    advance(seconds(10));  // ROLL2
    auto t2 = build();
    EXPECT_EQ(t2.inbound_spis, std::vector<std::uint32_t>{kSpiB});
    EXPECT_FALSE(t2.state.sas.contains(sa_key("192.0.2.1", kSpiA)));
    EXPECT_EQ(t2.state.sas.size(), 3U);
    EXPECT_EQ(t2.state.sas.at(sa_key("192.0.2.1", kSpiB)),
              expected_sa(kSpiB, "0.0.0.0", "192.0.2.1"));
}

// What the reconciler makes of a rollover step: the new outbound SAs exist before any policy
// points at them, the old ones go only afterwards, and routes and rules are not touched.
TEST_F(DaemonDesiredState, RolloverSwitchIsMakeBeforeBreakInTheReconcilersDiff) {
    install(kSpiA);
    learn(kB);
    learn(kC);
    advance(seconds(600));
    install(kSpiB, 3600, 10, 20);
    const auto before = build();
    advance(seconds(10));
    const auto after = build();
    EXPECT_FALSE(xfrm::validate(after.state)) << "every object is owned";
    const auto changes = xfrm::diff(after.state, before.state);
    std::size_t last_sa_add = 0;
    std::size_t first_policy_update = changes.size();
    std::size_t last_policy_update = 0;
    std::size_t first_sa_delete = changes.size();
    for (std::size_t i = 0; i < changes.size(); ++i) {
        const auto& c = changes[i];
        EXPECT_FALSE(std::holds_alternative<xfrm::Route>(c.object)) << xfrm::describe(c);
        EXPECT_FALSE(std::holds_alternative<xfrm::Rule>(c.object)) << xfrm::describe(c);
        if (const auto* sa = std::get_if<xfrm::Sa>(&c.object)) {
            if (c.op == xfrm::ChangeOp::kAdd) {
                EXPECT_EQ(sa->spi, kSpiB);
                last_sa_add = i;
            } else {
                EXPECT_EQ(c.op, xfrm::ChangeOp::kDelete);
                EXPECT_EQ(sa->spi, kSpiA);
                first_sa_delete = std::min(first_sa_delete, i);
            }
        } else if (std::holds_alternative<xfrm::Policy>(c.object)) {
            EXPECT_EQ(c.op, xfrm::ChangeOp::kUpdate);
            first_policy_update = std::min(first_policy_update, i);
            last_policy_update = i;
        }
    }
    EXPECT_EQ(changes.size(), 2U + 4U + 2U) << "2 SAs added, 4 out policies, 2 SAs deleted";
    EXPECT_LT(last_sa_add, first_policy_update);
    EXPECT_LT(last_policy_update, first_sa_delete);
}

// A restarted daemon rebuilding from the same inputs asks the reconciler for nothing.
TEST_F(DaemonDesiredState, RebuildFromTheSameInputsIsAZeroDiff) {
    install(kSpiA);
    learn(kB);
    learn(kC, false);
    const auto first = build();
    EXPECT_TRUE(xfrm::diff(build().state, first.state).empty());
}

TEST_F(DaemonDesiredState, MemberDefaultRouteDoesNotCaptureEspOrIke) {
    install(kSpiA);
    learn(kB);
    learn(kC);
    // C advertises default routes and a prefix covering every member's ESP address.
    overlay_.set_route(bp("0.0.0.0/0"), {ba(kC.esp)});
    overlay_.set_route(bp("::/0"), {ba(kC.esp)});
    overlay_.set_route(bp("192.0.2.0/24"), {ba(kC.esp)});
    const auto group = build();

    // Traffic to each member's ESP address and to the gateway is looked up in main before the
    // overlay table is consulted at all.
    for (const auto* address : {"192.0.2.2/32", "192.0.2.3/32", "198.51.100.10/32"}) {
        const auto exclusion = expected_rule(xfrm::Family::kIpv4, 18000, 254, address);
        EXPECT_TRUE(group.state.rules.contains(exclusion)) << address;
    }
    const auto overlay_rule = expected_rule(xfrm::Family::kIpv4, 18500, kIfId);
    ASSERT_TRUE(group.state.rules.contains(overlay_rule));
    EXPECT_LT(kPeerExclusionRulePriority, kOverlayRulePriority);
    // No rule sends the members' addresses anywhere but main, and nothing routes them in
    // the overlay table specifically.
    for (const auto& r : group.state.rules) {
        if (r.dst) {
            EXPECT_EQ(r.table, kMainTable);
        }
    }
    for (const auto& [key, route] : group.state.routes) {
        EXPECT_NE(route.dst.length, 32) << route.dst.to_string();
    }
    // The default out policy loses to every more specific destination.
    const auto* default_out = find_policy(group.state, Direction::kOut, "0.0.0.0/0");
    ASSERT_NE(default_out, nullptr);
    EXPECT_GT(default_out->priority, find_policy(group.state, Direction::kOut, kB.lan4)->priority);
    EXPECT_GT(default_out->priority,
              find_policy(group.state, Direction::kOut, "192.0.2.0/24")->priority);
    EXPECT_GT(find_policy(group.state, Direction::kOut, "::/0")->priority,
              find_policy(group.state, Direction::kOut, kB.lan6)->priority);
}

// Lab finding: with cpe3's 0.0.0.0/0 and ::/0 in the group table, cpe1 routed traffic decrypted
// for its own LAN and packets to its underlay next-hop back into mpsa1.
TEST_F(DaemonDesiredState, MemberDefaultRouteDoesNotShadowLocalPrefixes) {
    node_.local_prefixes = {Prefix::from("10.1.0.0/24"), Prefix::from("fd00:1::/64"),
                            Prefix::from("192.0.2.0/24"), Prefix::from("0.0.0.0/0")};
    install(kSpiA);
    overlay_.set_route(bp("0.0.0.0/0"), {ba(kC.esp)});
    overlay_.set_route(bp("::/0"), {ba(kC.esp)});
    overlay_.set_resolved(ba(kC.esp), true);
    const auto group = build();
    EXPECT_TRUE(has_route(group.state, "0.0.0.0/0"));
    EXPECT_TRUE(has_route(group.state, "::/0"));
    for (const auto* local : {"10.1.0.0/24", "192.0.2.0/24"}) {
        EXPECT_TRUE(group.state.rules.contains(
            expected_rule(xfrm::Family::kIpv4, kLocalExclusionRulePriority, 254, local)))
            << local;
    }
    EXPECT_TRUE(group.state.rules.contains(
        expected_rule(xfrm::Family::kIpv6, kLocalExclusionRulePriority, 254, "fd00:1::/64")));
    EXPECT_FALSE(group.state.rules.contains(
        expected_rule(xfrm::Family::kIpv4, kLocalExclusionRulePriority, 254, "0.0.0.0/0")))
        << "a local default would disable the overlay";
    EXPECT_LT(kPeerExclusionRulePriority, kLocalExclusionRulePriority);
    EXPECT_LT(kLocalExclusionRulePriority, kOverlayRulePriority);
    EXPECT_TRUE(xfrm::ownership::owned(xfrm::Object{*group.state.rules.begin()}));
}

TEST(DaemonLocalPrefixes, ConnectedSubnetsOfTheMainTableOnly) {
    xfrm::State kernel;
    const auto route = [&](const char* dst, const char* dev, std::uint8_t protocol,
                           std::uint32_t table = 254, const char* gateway = nullptr) {
        xfrm::Route r;
        r.dst = Prefix::from(dst);
        r.dev = dev;
        r.protocol = protocol;
        r.table = table;
        if (gateway != nullptr) r.gateway = IpAddress::from(gateway);
        kernel.add(r);
    };
    route("10.1.0.0/24", "eth2", 2);         // LAN
    route("100.64.1.0/24", "eth1", 2);       // underlay
    route("2001:db8:64:1::/64", "eth1", 2);  // underlay, IPv6
    route("fe80::/64", "mpsa1", 2);          // the overlay's own
    route("fe80::/64", "eth1", 2, 254);      // link-local: same key, whichever device a dump has
    route("10.2.0.0/24", "eth1", 186, 254, "100.64.1.1");            // zebra's BGP route
    route("10.2.0.0/24", "mpsa1", xfrm::kMpsaRouteProtocol, kIfId);  // ours
    route("192.168.0.0/16", "eth3", 2, 100);                         // another table
    EXPECT_EQ(connected_prefixes(kernel, "mpsa1"),
              (std::vector<Prefix>{Prefix::from("10.1.0.0/24"), Prefix::from("100.64.1.0/24"),
                                   Prefix::from("2001:db8:64:1::/64")}));
}

TEST_F(DaemonDesiredState, EcmpChoosesTheLowestResolvedPeerOfOurFamily) {
    install(kSpiA);
    overlay_.set_route(bp("10.9.0.0/24"), {ba("192.0.2.3"), ba("192.0.2.2"), ba("2001:db8::9")});
    overlay_.set_resolved(ba("192.0.2.2"), true);
    overlay_.set_resolved(ba("192.0.2.3"), true);
    auto group = build();
    EXPECT_EQ(find_policy(group.state, Direction::kOut, "10.9.0.0/24")->templates.at(0).dst,
              IpAddress::from("192.0.2.2"));
    EXPECT_EQ(group.state.sas.size(), 2U) << "no SA for the next-hop not chosen";

    overlay_.set_resolved(ba("192.0.2.2"), false);
    group = build();
    EXPECT_EQ(find_policy(group.state, Direction::kOut, "10.9.0.0/24")->templates.at(0).dst,
              IpAddress::from("192.0.2.3"));
    // Every next-hop is kept out of the overlay, chosen or not.
    EXPECT_TRUE(
        group.state.rules.contains(expected_rule(xfrm::Family::kIpv4, 18000, 254, "192.0.2.2/32")));
    EXPECT_TRUE(group.state.rules.contains(
        expected_rule(xfrm::Family::kIpv6, 18000, 254, "2001:db8::9/128")));
}

TEST_F(DaemonDesiredState, Ipv4MappedNextHopOfAnIpv6PrefixIsTheIpv4Peer) {
    install(kSpiA);
    overlay_.set_route(bp("fd00:2::/64"), {ba("::ffff:192.0.2.2")});
    overlay_.set_resolved(ba("::ffff:192.0.2.2"), true);
    overlay_.set_route(bp("fd00:1::/64"), {ba("::ffff:192.0.2.1")});  // our own, reflected
    const auto group = build();
    ASSERT_EQ(group.destinations.size(), 1U);
    EXPECT_EQ(group.destinations[0].state, DestinationState::kEncrypted);
    EXPECT_EQ(find_policy(group.state, Direction::kOut, "fd00:2::/64")->templates.at(0).dst,
              IpAddress::from("192.0.2.2"));
    EXPECT_EQ(out_sa_spis(group.state, "192.0.2.2"), std::vector<std::uint32_t>{kSpiA});
    EXPECT_TRUE(
        group.state.rules.contains(expected_rule(xfrm::Family::kIpv4, 18000, 254, "192.0.2.2/32")));
}

TEST_F(DaemonDesiredState, PeerOfTheOtherOuterFamilyIsBlocked) {
    install(kSpiA);
    overlay_.set_route(bp("10.9.0.0/24"), {ba("2001:db8::9")});
    overlay_.set_resolved(ba("2001:db8::9"), true);
    const auto group = build();
    ASSERT_EQ(group.destinations.size(), 1U);
    EXPECT_EQ(group.destinations[0].state, DestinationState::kBlockedFamilyMismatch);
    EXPECT_EQ(find_policy(group.state, Direction::kOut, "10.9.0.0/24")->action,
              xfrm::PolicyAction::kBlock);
    EXPECT_EQ(group.state.sas.size(), 1U) << "inbound only";
}

TEST_F(DaemonDesiredState, OutputDoesNotDependOnInsertionOrder) {
    install(kSpiA);
    learn(kD);
    learn(kB);
    learn(kC);
    const auto first = build();
    OverlayRoutes reversed;
    for (const auto* peer : {&kC, &kB, &kD}) {
        reversed.set_resolved(ba(peer->esp), true);
        reversed.set_route(bp(peer->lan6), {ba(peer->esp)});
        reversed.set_route(bp(peer->lan4), {ba(peer->esp)});
    }
    const auto second =
        build_group_state(node_, *group_layout(1), lifecycle_, reversed, clock_.now());
    EXPECT_TRUE(first.state == second.state);
    EXPECT_EQ(first.destinations, second.destinations);
    EXPECT_EQ(describe(first), describe(second));
    EXPECT_TRUE(
        std::is_sorted(first.destinations.begin(), first.destinations.end(),
                       [](const auto& a, const auto& b) { return a.destination < b.destination; }));
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

TEST_F(DaemonDesiredState, RenderingNeverContainsKeyBytes) {
    install(kSpiA);
    advance(seconds(100));
    install(kSpiB);
    learn(kB);
    learn(kC);
    const auto group = build();
    ASSERT_EQ(group.inbound_spis.size(), 2U);
    const auto text = describe(group);
    EXPECT_NE(text.find("0x1000"), std::string::npos) << text;
    EXPECT_NE(text.find("10.2.0.0/24"), std::string::npos) << text;
    std::string all = text;
    for (const auto& c : xfrm::diff(group.state, xfrm::State{})) all += xfrm::describe(c) + "\n";
    const auto haystack = lower(all);
    for (const auto spi : {kSpiA, kSpiB}) {
        for (const auto* key :
             {&record(spi).keys.encryption_key, &record(spi).keys.integrity_key}) {
            ASSERT_GE(key->size(), 16U);
            const auto hex = ike::to_hex(key->view());
            // Any 8-byte run of the key, as hex or raw.
            for (std::size_t i = 0; i + 16 <= hex.size(); i += 2) {
                EXPECT_EQ(haystack.find(lower(hex.substr(i, 16))), std::string::npos);
            }
            const std::string raw(reinterpret_cast<const char*>(key->data()), key->size());
            EXPECT_EQ(all.find(raw.substr(0, 8)), std::string::npos);
        }
    }
}

TEST_F(DaemonDesiredState, AeadSuiteUsesTheKernelsRfc4106Algorithm) {
    ASSERT_TRUE(lifecycle_.on_mpsa_put(make_put(kSpiA, 3600, 0, 0, mpsa::suites::aes_gcm_256())));
    (void)lifecycle_.advance();
    learn(kB);
    const auto group = build();
    const auto& sa = group.state.sas.at(sa_key(kB.esp, kSpiA));
    ASSERT_TRUE(sa.aead);
    EXPECT_EQ(sa.aead->name, "rfc4106(gcm(aes))");
    EXPECT_EQ(sa.aead->key.size(), 36U) << "256-bit key and 4-octet salt";
    EXPECT_FALSE(sa.cipher);
    EXPECT_FALSE(sa.auth);
}

TEST_F(DaemonDesiredState, DualStackReachesEachPeerFromTheOwnAddressOfItsFamily) {
    node_.esp_address_v6 = IpAddress::from("2001:db8:ff::1");
    install(kSpiA);
    // As the lab advertises: IPv4 prefixes with IPv4 next-hops, IPv6 ones with IPv6 next-hops.
    overlay_.set_route(bp(kB.lan4), {ba(kB.esp)});
    overlay_.set_route(bp(kB.lan6), {ba("2001:db8:ff::2")});
    overlay_.set_resolved(ba(kB.esp), true);
    overlay_.set_resolved(ba("2001:db8:ff::2"), true);
    // Our own prefixes reflected back with either of our next-hops: skipped.
    overlay_.set_route(bp("10.1.0.0/24"), {ba("192.0.2.1")});
    overlay_.set_route(bp("fd00:1::/64"), {ba("2001:db8:ff::1")});
    const auto group = build();

    xfrm::State expected;
    expected.add(xfrm::XfrmInterface{"mpsa1", kIfId, "eth1", 0});
    expected.add(expected_sa(kSpiA, "0.0.0.0", "192.0.2.1"));
    expected.add(expected_sa(kSpiA, "::", "2001:db8:ff::1"));
    expected.add(expected_sa(kSpiA, "192.0.2.1", kB.esp));
    expected.add(expected_sa(kSpiA, "2001:db8:ff::1", "2001:db8:ff::2"));
    expected.add(expected_out(kB.lan4, 10008, "192.0.2.1", kB.esp, kSpiA));
    expected.add(expected_out(kB.lan6, 10064, "2001:db8:ff::1", "2001:db8:ff::2", kSpiA));
    for (auto dir : {Direction::kIn, Direction::kFwd}) {
        expected.add(expected_in(dir, kB.lan4, 10008, "192.0.2.1"));
        expected.add(expected_in(dir, kB.lan6, 10064, "2001:db8:ff::1"));
    }
    expected.add(expected_route(kB.lan4));
    expected.add(expected_route(kB.lan6));
    expected.add(expected_rule(xfrm::Family::kIpv4, 18000, 254, "192.0.2.2/32"));
    expected.add(expected_rule(xfrm::Family::kIpv6, 18000, 254, "2001:db8:ff::2/128"));
    expected.add(expected_rule(xfrm::Family::kIpv4, 18000, 254, "198.51.100.10/32"));
    expected.add(expected_rule(xfrm::Family::kIpv4, 18100, 254, "10.1.0.0/24"));
    expected.add(expected_rule(xfrm::Family::kIpv6, 18100, 254, "fd00:1::/64"));
    expected.add(expected_rule(xfrm::Family::kIpv4, 18500, kIfId));
    expected.add(expected_rule(xfrm::Family::kIpv6, 18500, kIfId));
    EXPECT_TRUE(group.state.sas == expected.sas);
    EXPECT_EQ(group.state.policies, expected.policies);
    EXPECT_EQ(group.state.routes, expected.routes);
    EXPECT_EQ(group.state.rules, expected.rules) << "no exclusion rule for our own addresses";
    EXPECT_TRUE(group.state == expected);
    ASSERT_EQ(group.destinations.size(), 2U);
    for (const auto& d : group.destinations) {
        EXPECT_EQ(d.state, DestinationState::kEncrypted) << d.destination.to_string();
    }
}

TEST_F(DaemonDesiredState, DualStackFamilyMismatchOnlyWithoutAnOwnAddressOfThePeersFamily) {
    install(kSpiA);
    overlay_.set_route(bp("fd00:9::/64"), {ba("2001:db8::9")});
    overlay_.set_resolved(ba("2001:db8::9"), true);
    EXPECT_EQ(build().destinations.at(0).state, DestinationState::kBlockedFamilyMismatch);

    node_.esp_address_v6 = IpAddress::from("2001:db8::1");
    auto group = build();
    EXPECT_EQ(group.destinations.at(0).state, DestinationState::kEncrypted);
    EXPECT_EQ(find_policy(group.state, Direction::kOut, "fd00:9::/64")->templates.at(0).src,
              IpAddress::from("2001:db8::1"));

    // ECMP over both families: the lowest resolved next-hop wins, whatever its family.
    overlay_.set_route(bp("10.9.0.0/24"), {ba("192.0.2.9"), ba("2001:db8::9")});
    group = build();
    const auto* out = find_policy(group.state, Direction::kOut, "10.9.0.0/24");
    EXPECT_EQ(out->templates.at(0).dst, IpAddress::from("2001:db8::9")) << "192.0.2.9 unresolved";
    EXPECT_EQ(out->templates.at(0).src, IpAddress::from("2001:db8::1"));
    overlay_.set_resolved(ba("192.0.2.9"), true);
    group = build();
    out = find_policy(group.state, Direction::kOut, "10.9.0.0/24");
    EXPECT_EQ(out->templates.at(0).dst, IpAddress::from("192.0.2.9"));
    EXPECT_EQ(out->templates.at(0).src, IpAddress::from("192.0.2.1"));
}

TEST_F(DaemonDesiredState, DualStackRolloverKeepsBothInboundAddressesPerSpi) {
    node_.esp_address_v6 = IpAddress::from("2001:db8:ff::1");
    install(kSpiA);
    advance(seconds(100));
    install(kSpiB);
    const auto group = build();
    EXPECT_EQ(group.inbound_spis, (std::vector<std::uint32_t>{kSpiA, kSpiB}));
    for (const auto spi : {kSpiA, kSpiB}) {
        EXPECT_TRUE(group.state.sas.contains(sa_key("192.0.2.1", spi)));
        EXPECT_TRUE(group.state.sas.contains(sa_key("2001:db8:ff::1", spi)));
    }
    EXPECT_EQ(group.state.sas.size(), 4U);
}

// What the kernel gives back for each object (a dump entry has the add request's layout) must
// satisfy the desired object, or every resync would rewrite it and a restarted daemon could
// never adopt with zero changes (a wildcard template source once came back unspecified).
TEST_F(DaemonDesiredState, EveryObjectSurvivesTheNetlinkRoundTripWithoutADiff) {
    node_.esp_address_v6 = IpAddress::from("2001:db8:ff::1");
    node_.overlay_source_v4 = IpAddress::from("10.1.0.1");
    node_.overlay_source_v6 = IpAddress::from("fd00:1::1");
    install(kSpiA);
    advance(seconds(100));
    install(kSpiB);  // rollover: two inbound SPIs
    learn(kB);
    learn(kC, false);  // blocked destinations
    overlay_.set_route(bp("fd00:9::/64"), {ba("2001:db8:ff::9")});
    overlay_.set_resolved(ba("2001:db8:ff::9"), true);
    node_.protected_prefixes = {Prefix::from("10.0.0.0/8"), Prefix::from("fd00::/8")};
    const auto desired = build().state;
    ASSERT_NE(find_policy(desired, Direction::kOut, "fd00::/8"), nullptr);

    xfrm::codec::LinkNames links;
    links.add(2, "eth1");
    links.add(9, "mpsa1");
    xfrm::State echoed;
    std::size_t objects = 0;
    const auto echo = [&](const xfrm::Object& object) {
        ++objects;
        auto messages = xfrm::codec::encode(xfrm::Change{xfrm::ChangeOp::kAdd, object}, links);
        ASSERT_TRUE(messages) << messages.error().message;
        ASSERT_EQ(messages->size(), 1U);
        const bool xfrm_channel = xfrm::codec::channel_of(object) == xfrm::codec::Channel::kXfrm;
        auto event = xfrm_channel ? xfrm::codec::decode_xfrm(messages->at(0).view())
                                  : xfrm::codec::decode_route(messages->at(0).view(), links);
        ASSERT_TRUE(event) << xfrm::describe(object);
        echoed.add(event->object);
    };
    for (const auto& [name, i] : desired.interfaces) echo(i);
    for (const auto& [key, sa] : desired.sas) echo(sa);
    for (const auto& [key, p] : desired.policies) echo(p);
    for (const auto& [key, r] : desired.routes) echo(r);
    for (const auto& r : desired.rules) echo(r);
    EXPECT_GT(objects, 20U);
    for (const auto& change : xfrm::diff(desired, echoed)) {
        ADD_FAILURE() << "would change: " << xfrm::describe(change);
    }
}

TEST_F(DaemonDesiredState, ProtectedPrefixGetsARouteAndABlockPolicyBeforeAnythingIsLearned) {
    node_.protected_prefixes = {Prefix::from("10.0.0.0/8"), Prefix::from("fd00::/8")};
    const auto group = build();
    for (const auto* prefix : {"10.0.0.0/8", "fd00::/8"}) {
        const auto* out = find_policy(group.state, Direction::kOut, prefix);
        ASSERT_NE(out, nullptr) << prefix;
        EXPECT_EQ(out->action, xfrm::PolicyAction::kBlock) << prefix;
        EXPECT_TRUE(out->templates.empty());
        EXPECT_EQ(out->if_id, kIfId);
        EXPECT_TRUE(has_route(group.state, prefix))
            << "without the route, traffic to " << prefix << " would follow main in the clear";
        // Nothing is accepted from the protected space as such: only learned sources are.
        EXPECT_EQ(find_policy(group.state, Direction::kIn, prefix), nullptr);
        EXPECT_EQ(find_policy(group.state, Direction::kFwd, prefix), nullptr);
    }
    EXPECT_EQ(find_policy(group.state, Direction::kOut, "10.0.0.0/8")->priority,
              kProtectedPolicyPriority);
    EXPECT_EQ(find_policy(group.state, Direction::kOut, "fd00::/8")->priority,
              kProtectedPolicyPriority);
    EXPECT_TRUE(group.destinations.empty());
    EXPECT_EQ(group.protected_prefixes,
              (std::vector<Prefix>{Prefix::from("10.0.0.0/8"), Prefix::from("fd00::/8")}));
    EXPECT_EQ(group.state.policies.size(), 2U);
    EXPECT_EQ(group.state.routes.size(), 2U);
    // The connected subnets and the members' ESP addresses keep their main-table rules.
    node_.local_prefixes = {Prefix::from("10.1.0.0/24")};
    const auto with_lan = build();
    EXPECT_TRUE(with_lan.state.rules.contains(expected_rule(
        xfrm::Family::kIpv4, kLocalExclusionRulePriority, kMainTable, "10.1.0.0/24")));
}

TEST_F(DaemonDesiredState, LearnedDestinationInsideAProtectedPrefixWinsByPriority) {
    node_.protected_prefixes = {Prefix::from("10.0.0.0/8"), Prefix::from("fd00::/8")};
    install(kSpiA);
    learn(kB);
    const auto group = build();
    const auto* cover4 = find_policy(group.state, Direction::kOut, "10.0.0.0/8");
    const auto* cover6 = find_policy(group.state, Direction::kOut, "fd00::/8");
    const auto* b4 = find_policy(group.state, Direction::kOut, kB.lan4);
    const auto* b6 = find_policy(group.state, Direction::kOut, kB.lan6);
    ASSERT_TRUE(cover4 && cover6 && b4 && b6);
    EXPECT_EQ(*b4, expected_out(kB.lan4, policy_priority(24, 32), "192.0.2.1", kB.esp, kSpiA));
    EXPECT_EQ(*b6, expected_out(kB.lan6, policy_priority(64, 128), "192.0.2.1", kB.esp, kSpiA));
    EXPECT_LT(b4->priority, cover4->priority) << "the more specific allow must win";
    EXPECT_LT(b6->priority, cover6->priority);
    EXPECT_EQ(cover4->action, xfrm::PolicyAction::kBlock);
    EXPECT_TRUE(has_route(group.state, kB.lan4));
    EXPECT_TRUE(has_route(group.state, "10.0.0.0/8"));
    EXPECT_EQ(group.destinations.size(), 2U);
}

TEST_F(DaemonDesiredState, EncryptedMemberDefaultRouteStillCarriesUnlearnedProtectedTraffic) {
    // A hub member advertising 0.0.0.0/0 and ::/0 with a valid SA: traffic to an unlearned
    // address inside the protected space goes to it encrypted; the protected block only catches
    // what no learned destination covers.
    node_.protected_prefixes = {Prefix::from("10.0.0.0/8"), Prefix::from("fd00::/8")};
    install(kSpiA);
    learn(kB);
    overlay_.set_route(bp("0.0.0.0/0"), {ba(kC.esp)});
    overlay_.set_route(bp("::/0"), {ba(kC.esp)});
    overlay_.set_resolved(ba(kC.esp), true);
    const auto group = build();
    for (const auto& [cover, any] :
         {std::pair{"10.0.0.0/8", "0.0.0.0/0"}, std::pair{"fd00::/8", "::/0"}}) {
        const auto* block = find_policy(group.state, Direction::kOut, cover);
        const auto* via_hub = find_policy(group.state, Direction::kOut, any);
        ASSERT_TRUE(block && via_hub) << cover;
        EXPECT_EQ(via_hub->action, xfrm::PolicyAction::kAllow) << any;
        EXPECT_LT(via_hub->priority, block->priority) << "the encrypted default must win";
    }
    // With no usable SA the default is blocked too: still nothing leaves in the clear.
    advance(seconds(7200));  // past the lifetime, no successor
    const auto expired = build();
    const auto* any4 = find_policy(expired.state, Direction::kOut, "0.0.0.0/0");
    ASSERT_NE(any4, nullptr);
    EXPECT_EQ(any4->action, xfrm::PolicyAction::kBlock);
}

TEST_F(DaemonDesiredState, ProtectedPrefixEqualToALearnedDestinationAddsNothing) {
    install(kSpiA);
    learn(kB);
    learn(kD);
    const auto without = build();
    node_.protected_prefixes = {Prefix::from(kD.lan4), Prefix::from(kD.lan6),
                                Prefix::from(kD.lan4)};  // listed twice: one set of objects
    const auto with = build();
    EXPECT_TRUE(with.protected_prefixes.empty());
    EXPECT_TRUE(xfrm::diff(without.state, with.state).empty())
        << "the learned destination's objects already cover it";
    EXPECT_EQ(find_policy(with.state, Direction::kOut, kD.lan4)->action,
              xfrm::PolicyAction::kAllow);

    // The same with an unresolved peer: still D's own (blocked) objects, once.
    overlay_.set_resolved(ba(kD.esp), false);
    node_.protected_prefixes.clear();
    const auto blocked_without = build();
    node_.protected_prefixes = {Prefix::from(kD.lan4)};
    EXPECT_TRUE(xfrm::diff(blocked_without.state, build().state).empty());
}

TEST_F(DaemonDesiredState, ProtectedPrefixesDoNotDependOnTheirOrder) {
    node_.protected_prefixes = {Prefix::from("fd00::/8"), Prefix::from("10.0.0.0/8")};
    const auto a = build();
    node_.protected_prefixes = {Prefix::from("10.0.0.0/8"), Prefix::from("fd00::/8")};
    const auto b = build();
    EXPECT_EQ(a.protected_prefixes, b.protected_prefixes);
    EXPECT_TRUE(xfrm::diff(a.state, b.state).empty());
}

TEST(DaemonOverlayRoutes, AppliesTheRouteModelsChangeStream) {
    OverlayRoutes overlay;
    const auto d = bp("10.2.0.0/24");
    const auto p = ba("192.0.2.2");
    const auto q = ba("192.0.2.3");
    using RK = bgp_glue::RouteChange::Kind;
    using PK = bgp_glue::PeerChange::Kind;
    EXPECT_TRUE(overlay.apply(bgp_glue::RouteChange{RK::added, d, {p}, {}}));
    EXPECT_FALSE(overlay.apply(bgp_glue::RouteChange{RK::changed, d, {p}, {p}}));
    EXPECT_FALSE(overlay.resolved(p)) << "unknown until zebra answers";
    EXPECT_FALSE(overlay.apply(bgp_glue::PeerChange{PK::tracked, p, {}}));
    EXPECT_TRUE(overlay.apply(bgp_glue::PeerChange{PK::resolved, p, {}}));
    EXPECT_TRUE(overlay.resolved(p));
    EXPECT_TRUE(overlay.apply(bgp_glue::RouteChange{RK::changed, d, {q}, {p}}));
    EXPECT_EQ(overlay.routes().at(d), std::set<bgp_glue::IpAddress>{q});
    EXPECT_TRUE(overlay.apply(bgp_glue::PeerChange{PK::untracked, p, {}}));
    EXPECT_FALSE(overlay.resolved(p));
    EXPECT_TRUE(overlay.apply(bgp_glue::RouteChange{RK::removed, d, {}, {q}}));
    EXPECT_TRUE(overlay.routes().empty());
    EXPECT_FALSE(overlay.apply(bgp_glue::RouteChange{RK::removed, d, {}, {q}}));
}

TEST(DaemonOverlayRoutes, ConvertsAddressesBetweenTheLibraries) {
    EXPECT_EQ(to_xfrm(ba("192.0.2.7")), IpAddress::from("192.0.2.7"));
    EXPECT_EQ(to_xfrm(ba("2001:db8::7")), IpAddress::from("2001:db8::7"));
    EXPECT_EQ(to_xfrm(bp("fd00:2::/64")), Prefix::from("fd00:2::/64"));
    EXPECT_EQ(host_prefix(IpAddress::from("2001:db8::7")), Prefix::from("2001:db8::7/128"));
    EXPECT_EQ(any_prefix(xfrm::Family::kIpv4), Prefix::from("0.0.0.0/0"));
    EXPECT_EQ(peer_address(ba("::ffff:192.0.2.7")), IpAddress::from("192.0.2.7"));
    EXPECT_EQ(peer_address(ba("2001:db8::7")), IpAddress::from("2001:db8::7"));
    EXPECT_EQ(peer_address(ba("192.0.2.7")), IpAddress::from("192.0.2.7"));
}

}  // namespace
}  // namespace mpsa::daemon
