// The gateway's BGP guard (pure part): the block policies keeping clear-text TCP 179 away from
// bgpd, their priority against the BGP CHILD_SA's in-policy, and the add-or-adopt plan.
#include <mpsa/daemon/child_sa_installer.hpp>

#include <gtest/gtest.h>

#include <algorithm>

namespace mpsa::daemon {
namespace {

constexpr std::uint8_t kTcp = 6;

ike::IpAddress v6(std::string_view text) {
    ike::IpAddress address;
    address.v6 = true;
    address.octets = xfrm::IpAddress::from(text).bytes;
    return address;
}

const ike::IpAddress kGateway4 = ike::IpAddress::v4(100, 64, 0, 2);
const ike::IpAddress kMember4 = ike::IpAddress::v4(100, 64, 1, 2);

ike::TrafficSelector host_tcp4(const ike::IpAddress& address) {
    ike::TrafficSelector ts;
    ts.type = ike::TsType::kIpv4AddrRange;
    ts.ip_protocol = kTcp;
    ts.start_port = 0;
    ts.end_port = 65535;
    std::copy_n(address.octets.begin(), 4, ts.start_address.begin());
    std::copy_n(address.octets.begin(), 4, ts.end_address.begin());
    return ts;
}

// The gateway's BGP CHILD_SA with a member: transport mode, TCP host <-> host (ike_profile's
// bgp_child_sa_config), AES-GCM-128.
ike::ChildSaInstall bgp_child_sa() {
    ike::ChildSaInstall sa;
    for (auto* params : {&sa.inbound, &sa.outbound}) {
        params->suite = ike::EspSuite{ike::EncrId::kAesGcm16, 128, ike::IntegId::kNone};
        params->mode = ike::ChildMode::kTransport;
        params->encr_key = ike::SecretBytes(20);
    }
    sa.inbound.spi = 0xc0000001;
    sa.inbound.source = ike::Endpoint{kMember4, 500};
    sa.inbound.destination = ike::Endpoint{kGateway4, 500};
    sa.inbound.source_ts = {host_tcp4(kMember4)};
    sa.inbound.destination_ts = {host_tcp4(kGateway4)};
    sa.outbound.spi = 0xd0000001;
    sa.outbound.source = ike::Endpoint{kGateway4, 500};
    sa.outbound.destination = ike::Endpoint{kMember4, 500};
    sa.outbound.source_ts = {host_tcp4(kGateway4)};
    sa.outbound.destination_ts = {host_tcp4(kMember4)};
    return sa;
}

bool covers(const xfrm::Prefix& outer, const xfrm::Prefix& inner) {
    if (outer.family() != inner.family() || outer.length > inner.length) return false;
    for (unsigned bit = 0; bit < outer.length; ++bit) {
        const auto mask = static_cast<std::uint8_t>(0x80U >> (bit % 8));
        if ((outer.address.bytes[bit / 8] & mask) != (inner.address.bytes[bit / 8] & mask)) {
            return false;
        }
    }
    return true;
}

TEST(GatewayBgpGuard, BlocksTcp179BothWaysForAnySourceOnEachAddress) {
    const auto policies = bgp_guard_policies({kGateway4, v6("2001:db8::2")});
    ASSERT_EQ(policies.size(), 4U);
    int to_listener = 0;
    int from_listener = 0;
    for (const auto& p : policies) {
        SCOPED_TRACE(xfrm::describe(xfrm::Object{p}));
        EXPECT_EQ(p.dir, xfrm::Direction::kIn);
        EXPECT_EQ(p.action, xfrm::PolicyAction::kBlock);
        EXPECT_TRUE(p.templates.empty());
        EXPECT_EQ(p.if_id, 0U);  // clear-text packets arrive with if_id 0
        EXPECT_EQ(p.mark, xfrm::Mark{});
        EXPECT_EQ(p.priority, kBgpGuardPolicyPriority);
        EXPECT_EQ(p.selector.proto, kTcp);
        EXPECT_EQ(p.selector.src.length, 0);
        EXPECT_EQ(p.selector.src.family(), p.selector.dst.family());
        const bool v4 = p.selector.dst.family() == xfrm::Family::kIpv4;
        EXPECT_EQ(p.selector.dst.length, v4 ? 32 : 128);
        EXPECT_EQ(p.selector.dst.address,
                  v4 ? xfrm::IpAddress::from("100.64.0.2") : xfrm::IpAddress::from("2001:db8::2"));
        if (p.selector.dport == 179 && p.selector.sport == 0) ++to_listener;
        if (p.selector.sport == 179 && p.selector.dport == 0) ++from_listener;
        EXPECT_TRUE(is_bgp_guard_policy(p));
    }
    EXPECT_EQ(to_listener, 2);
    EXPECT_EQ(from_listener, 2);
}

TEST(GatewayBgpGuard, WildcardAndDuplicateAddresses) {
    ike::IpAddress any4 = ike::IpAddress::v4(0, 0, 0, 0);
    const auto policies = bgp_guard_policies({any4, any4, kGateway4, kGateway4});
    ASSERT_EQ(policies.size(), 4U);
    EXPECT_EQ(policies[0].selector.dst.length, 0);
    EXPECT_EQ(policies[0].selector.dst.family(), xfrm::Family::kIpv4);
    EXPECT_EQ(policies[2].selector.dst.length, 32);
}

TEST(GatewayBgpGuard, MemberChildSaInPolicyWinsOverTheGuard) {
    const auto objects = child_sa_objects(bgp_child_sa(), kChildSaReqidMin, ChildSaOptions{});
    ASSERT_TRUE(objects) << objects.error();
    const auto guard = bgp_guard_policies({kGateway4});
    int inbound = 0;
    for (const auto& child : objects->policies) {
        EXPECT_FALSE(is_bgp_guard_policy(child));
        if (child.dir != xfrm::Direction::kIn) continue;
        ++inbound;
        ASSERT_EQ(child.templates.size(), 1U);
        for (const auto& g : guard) {
            // Every member packet the guard matches is matched by the CHILD_SA's policy too,
            // which is preferred (lower priority value) and carries the template.
            EXPECT_TRUE(covers(g.selector.src, child.selector.src));
            EXPECT_EQ(g.selector.dst, child.selector.dst);
            EXPECT_EQ(child.selector.proto, g.selector.proto);
            EXPECT_EQ(child.selector.sport, 0);
            EXPECT_EQ(child.selector.dport, 0);
            EXPECT_LT(child.priority, g.priority);
            EXPECT_NE(child.key(), g.key());  // never the same kernel object
        }
    }
    EXPECT_EQ(inbound, 1);
}

TEST(GatewayBgpGuard, ForeignLookalikesAreNotOurs) {
    auto p = bgp_guard_policies({kGateway4}).front();
    ASSERT_TRUE(is_bgp_guard_policy(p));
    auto other = p;
    other.priority = 0;
    EXPECT_FALSE(is_bgp_guard_policy(other));
    other = p;
    other.action = xfrm::PolicyAction::kAllow;
    EXPECT_FALSE(is_bgp_guard_policy(other));
    other = p;
    other.if_id = 5;
    EXPECT_FALSE(is_bgp_guard_policy(other));
    other = p;
    other.selector.dport = 22;
    EXPECT_FALSE(is_bgp_guard_policy(other));
    other = p;
    other.dir = xfrm::Direction::kFwd;
    EXPECT_FALSE(is_bgp_guard_policy(other));
}

std::map<xfrm::PolicyKey, xfrm::Policy> kernel_of(const std::vector<xfrm::Policy>& policies) {
    std::map<xfrm::PolicyKey, xfrm::Policy> out;
    for (const auto& p : policies) out[p.key()] = p;
    return out;
}

TEST(GatewayBgpGuard, PlanAddsThenAdoptsWithoutDuplicates) {
    const auto wanted = bgp_guard_policies({kGateway4});
    const auto first = plan_bgp_guard(wanted, {});
    ASSERT_EQ(first.changes.size(), 2U);
    for (const auto& c : first.changes) EXPECT_EQ(c.op, xfrm::ChangeOp::kAdd);
    // A restart finds them: nothing to do.
    const auto again = plan_bgp_guard(wanted, kernel_of(wanted));
    EXPECT_TRUE(again.changes.empty());
    EXPECT_TRUE(again.conflicts.empty());
    EXPECT_EQ(again.in_place, 2U);
}

TEST(GatewayBgpGuard, PlanRemovesOnlyOurStaleGuard) {
    const auto old_guard = bgp_guard_policies({ike::IpAddress::v4(100, 64, 0, 9)});
    const auto member = child_sa_objects(bgp_child_sa(), kChildSaReqidMin, ChildSaOptions{});
    ASSERT_TRUE(member);
    auto kernel = kernel_of(old_guard);
    for (const auto& p : member->policies) kernel[p.key()] = p;
    const auto plan = plan_bgp_guard(bgp_guard_policies({kGateway4}), kernel);
    std::size_t adds = 0;
    std::size_t deletes = 0;
    for (const auto& c : plan.changes) {
        const auto& policy = std::get<xfrm::Policy>(c.object);
        if (c.op == xfrm::ChangeOp::kAdd) ++adds;
        if (c.op == xfrm::ChangeOp::kDelete) {
            ++deletes;
            EXPECT_EQ(policy.selector.dst.address, xfrm::IpAddress::from("100.64.0.9"));
        }
    }
    EXPECT_EQ(adds, 2U);
    EXPECT_EQ(deletes, 2U);
    EXPECT_EQ(plan.changes.back().op, xfrm::ChangeOp::kDelete);  // deletes last
    // Disabling removes exactly the guard, never the CHILD_SA's policies.
    const auto off = plan_bgp_guard({}, kernel);
    EXPECT_EQ(off.changes.size(), 2U);
    for (const auto& c : off.changes) EXPECT_EQ(c.op, xfrm::ChangeOp::kDelete);
}

TEST(GatewayBgpGuard, ForeignPolicyUnderTheKeyIsAConflictLeftAlone) {
    const auto wanted = bgp_guard_policies({kGateway4});
    auto foreign = wanted.front();
    foreign.action = xfrm::PolicyAction::kAllow;
    foreign.priority = 100;
    const auto plan = plan_bgp_guard(wanted, kernel_of({foreign}));
    ASSERT_EQ(plan.conflicts.size(), 1U);
    EXPECT_EQ(plan.conflicts.front(), foreign);
    ASSERT_EQ(plan.changes.size(), 1U);
    EXPECT_EQ(plan.changes.front().op, xfrm::ChangeOp::kAdd);
    EXPECT_NE(std::get<xfrm::Policy>(plan.changes.front().object).key(), foreign.key());
}

}  // namespace
}  // namespace mpsa::daemon
