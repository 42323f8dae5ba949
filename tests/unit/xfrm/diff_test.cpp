#include <gtest/gtest.h>

#include <random>

#include <mpsa/xfrm/diff.hpp>
#include <mpsa/xfrm/ownership.hpp>

#include "fixtures.hpp"

namespace mpsa::xfrm {
namespace {

using test::group_sa;
using test::kGroupIfId;
using test::policy;
using test::route;
using test::rule;

XfrmInterface interface(std::uint32_t mtu = 1400) {
    return XfrmInterface{"mpsa1", kGroupIfId, "eth0", mtu};
}

State full_state() {
    State s;
    s.add(interface());
    s.add(group_sa("192.0.2.2", "192.0.2.1"));
    s.add(group_sa("192.0.2.1", "192.0.2.3"));
    s.add(policy(Direction::kOut, "10.1.0.0/24", "10.3.0.0/24", "192.0.2.1", "192.0.2.3"));
    s.add(policy(Direction::kIn, "10.3.0.0/24", "10.1.0.0/24", "192.0.2.3", "192.0.2.1"));
    s.add(policy(Direction::kFwd, "10.3.0.0/24", "10.1.0.0/24", "192.0.2.3", "192.0.2.1"));
    s.add(route("10.3.0.0/24"));
    s.add(route("2001:db8:3::/48"));
    s.add(rule());
    s.add(rule(ownership::kRulePriorityMin, 100, Family::kIpv6));
    return s;
}

// Foreign objects of every kind, as strongSwan, FRR or an operator would leave them.
State foreign_state() {
    State s;
    s.add(XfrmInterface{"ipsec0", 42, "eth0", 1400});
    Sa strongswan = group_sa("198.51.100.1", "198.51.100.2", 0xc0ffee);
    strongswan.if_id = 0;
    s.add(strongswan);
    s.add(policy(Direction::kOut, "10.1.0.0/24", "10.9.0.0/24", "198.51.100.1", "198.51.100.2", 0));
    s.add(policy(Direction::kOut, "10.1.0.0/24", "10.3.0.0/24", "198.51.100.1", "198.51.100.2",
                 ownership::kIfIdMax + 1));
    Route zebra = route("10.3.0.0/24", "eth0", 254);
    zebra.protocol = 186;  // bgp
    s.add(zebra);
    Route same_table = route("10.4.0.0/24", "eth0", 100);
    same_table.protocol = 4;  // static, in our table
    s.add(same_table);
    Rule strongswan_rule = rule(220, 220);
    strongswan_rule.protocol = 0;
    s.add(strongswan_rule);
    Rule in_band_other_proto = rule(ownership::kRulePriorityMin + 1, 100);
    in_band_other_proto.protocol = 4;
    s.add(in_band_other_proto);
    return s;
}

State merge(State a, const State& b) {
    for (const auto& [k, v] : b.interfaces) a.add(v);
    for (const auto& [k, v] : b.sas) a.add(v);
    for (const auto& [k, v] : b.policies) a.add(v);
    for (const auto& [k, v] : b.routes) a.add(v);
    for (const auto& v : b.rules) a.add(v);
    return a;
}

int kind_rank(const Object& object) {
    return static_cast<int>(object.index());
}

TEST(XfrmDiff, EmptyAgainstEmptyIsNothing) {
    EXPECT_TRUE(diff(State{}, State{}).empty());
}

TEST(XfrmDiff, FromEmptyAddsEverythingInDependencyOrder) {
    const auto changes = diff(full_state(), State{});
    ASSERT_EQ(changes.size(), full_state().size());
    int last_rank = -1;
    for (const auto& change : changes) {
        EXPECT_EQ(change.op, ChangeOp::kAdd);
        // interfaces < SAs < policies < routes < rules (the variant's order)
        EXPECT_GE(kind_rank(change.object), last_rank) << describe(change);
        last_rank = kind_rank(change.object);
    }
}

TEST(XfrmDiff, IdenticalStatesNeedNoChange) {
    EXPECT_TRUE(diff(full_state(), full_state()).empty());
    EXPECT_TRUE(diff(full_state(), merge(full_state(), foreign_state())).empty());
}

TEST(XfrmDiff, ToEmptyDeletesOwnedInReverseOrderAndNothingForeign) {
    const auto changes = diff(State{}, merge(full_state(), foreign_state()));
    ASSERT_EQ(changes.size(), full_state().size());
    int last_rank = 100;
    for (const auto& change : changes) {
        EXPECT_EQ(change.op, ChangeOp::kDelete);
        EXPECT_TRUE(ownership::owned(change.object)) << describe(change);
        EXPECT_LE(kind_rank(change.object), last_rank) << describe(change);
        last_rank = kind_rank(change.object);
    }
}

TEST(XfrmDiff, ForeignObjectsAloneAreNeverTouched) {
    EXPECT_TRUE(diff(State{}, foreign_state()).empty());
}

TEST(XfrmDiff, ValueChangesAreUpdatesOfTheDesiredValue) {
    auto desired = full_state();
    auto actual = full_state();
    auto p = policy(Direction::kOut, "10.1.0.0/24", "10.3.0.0/24", "192.0.2.1", "192.0.2.3");
    p.priority = 5;
    desired.add(p);
    auto r = route("10.3.0.0/24", "mpsa2");
    desired.add(r);
    auto sa = group_sa("192.0.2.1", "192.0.2.3", 0x1000, 9);  // new keys, same SPI
    desired.add(sa);
    desired.add(interface(1300));
    const auto changes = diff(desired, actual);
    ASSERT_EQ(changes.size(), 4U);
    for (const auto& change : changes) EXPECT_EQ(change.op, ChangeOp::kUpdate);
    EXPECT_EQ(std::get<XfrmInterface>(changes[0].object).mtu, 1300U);
    EXPECT_TRUE(std::get<Sa>(changes[1].object) == sa);
    EXPECT_EQ(std::get<Policy>(changes[2].object).priority, 5U);
    EXPECT_EQ(std::get<Route>(changes[3].object).dev, "mpsa2");
}

TEST(XfrmDiff, SaKeyDifferenceAloneIsAnUpdate) {
    State desired;
    State actual;
    desired.add(group_sa("192.0.2.1", "192.0.2.3", 0x1000, 1));
    actual.add(group_sa("192.0.2.1", "192.0.2.3", 0x1000, 2));
    const auto changes = diff(desired, actual);
    ASSERT_EQ(changes.size(), 1U);
    EXPECT_EQ(changes[0].op, ChangeOp::kUpdate);
}

TEST(XfrmDiff, InterfaceMtuZeroAcceptsTheKernelDefault) {
    State desired;
    State actual;
    desired.add(interface(0));
    actual.add(interface(1500));
    EXPECT_TRUE(diff(desired, actual).empty());
    desired.add(interface(1400));
    EXPECT_EQ(diff(desired, actual).size(), 1U);
}

TEST(XfrmDiff, ChangedRuleIsDeleteAndAdd) {
    State desired;
    State actual;
    desired.add(rule(ownership::kRulePriorityMin, 101));
    actual.add(rule(ownership::kRulePriorityMin, 100));
    const auto changes = diff(desired, actual);
    ASSERT_EQ(changes.size(), 2U);
    EXPECT_EQ(changes[0].op, ChangeOp::kAdd);
    EXPECT_EQ(std::get<Rule>(changes[0].object).table, 101U);
    EXPECT_EQ(changes[1].op, ChangeOp::kDelete);
    EXPECT_EQ(std::get<Rule>(changes[1].object).table, 100U);
}

TEST(XfrmDiff, MakeBeforeBreakWhenAPrefixMovesToAnotherPeer) {
    State actual;
    actual.add(group_sa("192.0.2.1", "192.0.2.3"));
    actual.add(policy(Direction::kOut, "10.1.0.0/24", "10.3.0.0/24", "192.0.2.1", "192.0.2.3"));
    State desired;
    desired.add(group_sa("192.0.2.1", "192.0.2.4"));
    desired.add(policy(Direction::kOut, "10.1.0.0/24", "10.3.0.0/24", "192.0.2.1", "192.0.2.4"));
    const auto changes = diff(desired, actual);
    ASSERT_EQ(changes.size(), 3U);
    EXPECT_EQ(changes[0].op, ChangeOp::kAdd);  // new peer's SA
    EXPECT_TRUE(std::holds_alternative<Sa>(changes[0].object));
    EXPECT_EQ(changes[1].op, ChangeOp::kUpdate);  // policy now points to it
    EXPECT_TRUE(std::holds_alternative<Policy>(changes[1].object));
    EXPECT_EQ(changes[2].op, ChangeOp::kDelete);  // old SA last
    EXPECT_EQ(std::get<Sa>(changes[2].object).dst, IpAddress::from("192.0.2.3"));
}

TEST(XfrmDiff, WithdrawnPrefixLosesItsRouteBeforeItsPolicy) {
    State actual;
    actual.add(policy(Direction::kOut, "10.1.0.0/24", "10.3.0.0/24", "192.0.2.1", "192.0.2.3"));
    actual.add(route("10.3.0.0/24"));
    const auto changes = diff(State{}, actual);
    ASSERT_EQ(changes.size(), 2U);
    EXPECT_TRUE(std::holds_alternative<Route>(changes[0].object));
    EXPECT_TRUE(std::holds_alternative<Policy>(changes[1].object));
}

TEST(XfrmDiff, ForeignObjectUnderADesiredKeyIsAConflictNotAChange) {
    State desired;
    desired.add(route("10.4.0.0/24", "mpsa1", 100));
    std::vector<Object> conflicts;
    const auto changes = diff(desired, foreign_state(), &conflicts);
    EXPECT_TRUE(changes.empty());
    ASSERT_EQ(conflicts.size(), 1U);
    EXPECT_EQ(std::get<Route>(conflicts[0]).protocol, 4);
}

TEST(XfrmDiff, Ipv6MetricZeroIsNormalisedLikeTheKernel) {
    State desired;
    desired.add(route("2001:db8:3::/48"));
    EXPECT_EQ(desired.routes.begin()->second.metric, 1024U);
    State actual;
    auto kernel_route = route("2001:db8:3::/48");
    kernel_route.metric = 1024;
    actual.routes.emplace(kernel_route.key(), kernel_route);
    EXPECT_TRUE(diff(desired, actual).empty());
}

TEST(XfrmDiff, ValidateRejectsUnownedAndIncompleteObjects) {
    EXPECT_FALSE(validate(full_state()));
    State bad_policy;
    bad_policy.add(
        policy(Direction::kOut, "10.1.0.0/24", "10.3.0.0/24", "192.0.2.1", "192.0.2.3", 7));
    EXPECT_TRUE(validate(bad_policy));
    State bad_route;
    auto r = route("10.3.0.0/24");
    r.protocol = 4;
    bad_route.add(r);
    EXPECT_TRUE(validate(bad_route));
    State bad_rule;
    bad_rule.add(rule(100));
    EXPECT_TRUE(validate(bad_rule));
    State no_algorithm;
    auto sa = group_sa("192.0.2.1", "192.0.2.3");
    sa.cipher.reset();
    sa.auth.reset();
    no_algorithm.add(sa);
    EXPECT_TRUE(validate(no_algorithm));
    State both;
    sa = group_sa("192.0.2.1", "192.0.2.3");
    sa.aead = AeadAlgorithm{"rfc4106(gcm(aes))", test::key_of(20, 3), 128};
    both.add(sa);
    EXPECT_TRUE(validate(both));
}

TEST(XfrmDiff, DescriptionsNeverContainKeyBytes) {
    auto sa = group_sa("192.0.2.1", "192.0.2.3");
    const auto text = describe(Change{ChangeOp::kAdd, sa});
    EXPECT_NE(text.find("192.0.2.3"), std::string::npos);
    EXPECT_EQ(text.find(test::hex(sa.cipher->key.view())), std::string::npos);
}

// Property: for random desired and actual states drawn from a pool of owned and foreign objects,
// applying the diff to actual gives exactly desired plus the untouched foreign objects (except
// conflicting keys), and diffing again gives nothing.
TEST(XfrmDiff, RandomStatesConvergeInOneStepAndKeepForeignState) {
    std::vector<Object> owned_pool;
    const auto full = full_state();
    for (const auto& [k, v] : full.interfaces) owned_pool.emplace_back(v);
    for (const auto& [k, v] : full.sas) owned_pool.emplace_back(v);
    for (const auto& [k, v] : full.policies) owned_pool.emplace_back(v);
    for (const auto& [k, v] : full.routes) owned_pool.emplace_back(v);
    for (const auto& v : full.rules) owned_pool.emplace_back(v);
    // variants with the same keys and other values
    owned_pool.emplace_back(interface(1300));
    owned_pool.emplace_back(group_sa("192.0.2.1", "192.0.2.3", 0x1000, 50));
    auto p = policy(Direction::kOut, "10.1.0.0/24", "10.3.0.0/24", "192.0.2.1", "192.0.2.4");
    owned_pool.emplace_back(p);
    owned_pool.emplace_back(route("10.3.0.0/24", "mpsa2"));
    owned_pool.emplace_back(rule(ownership::kRulePriorityMin + 5, 100));
    std::vector<Object> foreign_pool;
    const auto foreign = foreign_state();
    for (const auto& [k, v] : foreign.interfaces) foreign_pool.emplace_back(v);
    for (const auto& [k, v] : foreign.sas) foreign_pool.emplace_back(v);
    for (const auto& [k, v] : foreign.policies) foreign_pool.emplace_back(v);
    for (const auto& [k, v] : foreign.routes) foreign_pool.emplace_back(v);
    for (const auto& v : foreign.rules) foreign_pool.emplace_back(v);

    std::mt19937 random(12345);
    for (int round = 0; round < 2000; ++round) {
        State desired;
        State actual;
        State foreign_part;
        for (const auto& object : owned_pool) {
            if (random() % 2) desired.add(object);
            if (random() % 2) actual.add(object);
        }
        for (const auto& object : foreign_pool) {
            if (random() % 2) {
                actual.add(object);
            }
        }
        // Foreign objects present after the owned ones replace them under the same key: keep
        // what actually ended up in `actual`.
        foreign_part = State{};
        for (const auto& [k, v] : actual.interfaces)
            if (!ownership::owned(v)) foreign_part.add(v);
        for (const auto& [k, v] : actual.sas)
            if (!ownership::owned(v)) foreign_part.add(v);
        for (const auto& [k, v] : actual.policies)
            if (!ownership::owned(v)) foreign_part.add(v);
        for (const auto& [k, v] : actual.routes)
            if (!ownership::owned(v)) foreign_part.add(v);
        for (const auto& v : actual.rules)
            if (!ownership::owned(v)) foreign_part.add(v);

        std::vector<Object> conflicts;
        auto result = actual;
        for (const auto& change : diff(desired, actual, &conflicts)) {
            ASSERT_TRUE(ownership::owned(change.object)) << describe(change);
            apply_to(result, change);
        }
        EXPECT_TRUE(diff(desired, result).empty()) << "round " << round;
        EXPECT_EQ(ownership::owned_subset(foreign_part), State{});
        // every foreign object survived unchanged
        EXPECT_EQ(merge(ownership::owned_subset(result), foreign_part), result) << round;
        // owned part is desired minus the conflicting keys
        auto expected = desired;
        for (const auto& conflict : conflicts) expected.remove(conflict);
        EXPECT_EQ(ownership::owned_subset(result), expected) << "round " << round;
    }
}

}  // namespace
}  // namespace mpsa::xfrm
