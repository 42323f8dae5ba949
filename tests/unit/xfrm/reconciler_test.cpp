#include <gtest/gtest.h>

#include <mpsa/xfrm/ownership.hpp>
#include <mpsa/xfrm/reconciler.hpp>

#include "fixtures.hpp"

namespace mpsa::xfrm {
namespace {

using test::FakeKernel;
using test::group_sa;
using test::ManualTimer;
using test::policy;
using test::route;
using test::rule;

State desired_two_peers() {
    State s;
    s.add(XfrmInterface{"mpsa1", test::kGroupIfId, "eth0", 0});
    s.add(group_sa("192.0.2.2", "192.0.2.1"));
    s.add(group_sa("192.0.2.1", "192.0.2.2"));
    s.add(group_sa("192.0.2.1", "192.0.2.3"));
    s.add(policy(Direction::kOut, "10.1.0.0/24", "10.2.0.0/24", "192.0.2.1", "192.0.2.2"));
    s.add(policy(Direction::kOut, "10.1.0.0/24", "10.3.0.0/24", "192.0.2.1", "192.0.2.3"));
    s.add(policy(Direction::kIn, "10.2.0.0/24", "10.1.0.0/24", "192.0.2.2", "192.0.2.1"));
    s.add(policy(Direction::kIn, "10.3.0.0/24", "10.1.0.0/24", "192.0.2.3", "192.0.2.1"));
    s.add(route("10.2.0.0/24"));
    s.add(route("10.3.0.0/24"));
    s.add(rule());
    return s;
}

// What strongSwan and an operator installed before we started.
void install_foreign(FakeKernel& kernel) {
    auto sa = group_sa("198.51.100.1", "198.51.100.2", 0xabcdef);
    sa.if_id = 0;
    kernel.state.add(sa);
    kernel.state.add(
        policy(Direction::kOut, "10.1.0.0/24", "10.9.0.0/24", "198.51.100.1", "198.51.100.2", 0));
    auto r = route("10.9.0.0/24", "eth0", 254);
    r.protocol = 4;
    kernel.state.add(r);
    auto ru = rule(220, 220);
    ru.protocol = 0;
    kernel.state.add(ru);
}

State foreign_part(const State& state) {
    State out;
    for (const auto& [k, v] : state.sas)
        if (!ownership::owned(v)) out.add(v);
    for (const auto& [k, v] : state.policies)
        if (!ownership::owned(v)) out.add(v);
    for (const auto& [k, v] : state.routes)
        if (!ownership::owned(v)) out.add(v);
    for (const auto& v : state.rules)
        if (!ownership::owned(v)) out.add(v);
    return out;
}

TEST(XfrmReconciler, InstallsDesiredStateOnAnEmptyKernel) {
    FakeKernel kernel;
    ManualTimer timer;
    Reconciler reconciler(kernel, timer);
    auto report = reconciler.apply(desired_two_peers());
    ASSERT_TRUE(report);
    EXPECT_TRUE(report->ok());
    EXPECT_EQ(report->changes, desired_two_peers().size());
    EXPECT_EQ(kernel.state, desired_two_peers());
    EXPECT_EQ(reconciler.installed(), desired_two_peers());
    EXPECT_FALSE(reconciler.resync_pending());
}

TEST(XfrmReconciler, RestartWithTheSameStateChangesNothing) {
    FakeKernel kernel;
    ManualTimer timer;
    {
        Reconciler first(kernel, timer);
        ASSERT_TRUE(first.apply(desired_two_peers()));
    }
    const auto requests_before = kernel.log.size();
    Reconciler second(kernel, timer);  // a restarted daemon: adopts, does not flush
    auto report = second.apply(desired_two_peers());
    ASSERT_TRUE(report);
    EXPECT_EQ(report->changes, 0U);
    EXPECT_EQ(kernel.log.size(), requests_before);
    EXPECT_EQ(second.installed(), desired_two_peers());
}

TEST(XfrmReconciler, RestartWithAChangedStateMakesExactlyTheDelta) {
    FakeKernel kernel;
    ManualTimer timer;
    {
        Reconciler first(kernel, timer);
        ASSERT_TRUE(first.apply(desired_two_peers()));
    }
    auto changed = desired_two_peers();
    changed.remove(route("10.3.0.0/24"));
    changed.add(route("10.4.0.0/24"));
    const auto before = kernel.log.size();
    Reconciler second(kernel, timer);
    ASSERT_TRUE(second.apply(changed));
    ASSERT_EQ(kernel.log.size() - before, 2U);
    EXPECT_EQ(kernel.log[before].op, ChangeOp::kAdd);
    EXPECT_EQ(std::get<Route>(kernel.log[before].object).dst, Prefix::from("10.4.0.0/24"));
    EXPECT_EQ(kernel.log[before + 1].op, ChangeOp::kDelete);
    EXPECT_EQ(std::get<Route>(kernel.log[before + 1].object).dst, Prefix::from("10.3.0.0/24"));
    EXPECT_EQ(kernel.state, changed);
}

TEST(XfrmReconciler, ForeignStateSurvivesApplyResyncAndShutdown) {
    FakeKernel kernel;
    ManualTimer timer;
    install_foreign(kernel);
    const auto foreign = kernel.state;
    Reconciler reconciler(kernel, timer);
    ASSERT_TRUE(reconciler.apply(desired_two_peers()));
    EXPECT_EQ(foreign_part(kernel.state), foreign);
    reconciler.request_resync();
    ASSERT_TRUE(timer.fire());
    EXPECT_EQ(foreign_part(kernel.state), foreign);
    // Shutdown that withdraws everything of ours still leaves theirs.
    ASSERT_TRUE(reconciler.apply(State{}));
    EXPECT_EQ(kernel.state, foreign);
    for (const auto& change : kernel.log) EXPECT_TRUE(ownership::owned(change.object));
}

TEST(XfrmReconciler, AdoptsStaleOwnedStateAndRemovesOnlyWhatIsNotWanted) {
    FakeKernel kernel;
    ManualTimer timer;
    kernel.state = desired_two_peers();
    kernel.state.add(route("10.99.0.0/24"));  // left behind by a crashed predecessor
    Reconciler reconciler(kernel, timer);
    auto report = reconciler.apply(desired_two_peers());
    ASSERT_TRUE(report);
    ASSERT_EQ(kernel.log.size(), 1U);
    EXPECT_EQ(kernel.log[0].op, ChangeOp::kDelete);
    EXPECT_EQ(kernel.state, desired_two_peers());
}

TEST(XfrmReconciler, IncrementalUpdateDoesNotDumpAndAppliesTheDelta) {
    FakeKernel kernel;
    ManualTimer timer;
    Reconciler reconciler(kernel, timer);
    ASSERT_TRUE(reconciler.apply(desired_two_peers()));
    const auto dumps = kernel.dumps;
    auto changed = desired_two_peers();
    changed.add(policy(Direction::kOut, "10.1.0.0/24", "10.5.0.0/24", "192.0.2.1", "192.0.2.3"));
    changed.add(route("10.5.0.0/24"));
    const auto before = kernel.log.size();
    auto report = reconciler.update(changed);
    ASSERT_TRUE(report);
    EXPECT_EQ(report->changes, 2U);
    EXPECT_EQ(kernel.dumps, dumps);
    EXPECT_EQ(kernel.log.size() - before, 2U);
    EXPECT_EQ(kernel.state, changed);
    EXPECT_EQ(reconciler.counters().incremental_updates, 1U);
}

TEST(XfrmReconciler, UpdateBeforeAnyApplyDoesAFullApply) {
    FakeKernel kernel;
    ManualTimer timer;
    Reconciler reconciler(kernel, timer);
    ASSERT_TRUE(reconciler.update(desired_two_peers()));
    EXPECT_EQ(kernel.dumps, 1U);
    EXPECT_EQ(reconciler.counters().full_applies, 1U);
}

TEST(XfrmReconciler, OwnEchoesAndForeignEventsDoNotTriggerResync) {
    FakeKernel kernel;
    ManualTimer timer;
    Reconciler reconciler(kernel, timer);
    ASSERT_TRUE(reconciler.apply(desired_two_peers()));
    for (const auto& [key, value] : desired_two_peers().policies) {
        reconciler.observe({KernelEvent::Kind::kNew, value});
    }
    auto stale = route("10.99.0.0/24");
    reconciler.observe({KernelEvent::Kind::kDelete, stale});  // we deleted it ourselves
    auto foreign = route("10.9.0.0/24", "eth0", 254);
    foreign.protocol = 186;
    reconciler.observe({KernelEvent::Kind::kNew, foreign});
    reconciler.observe({KernelEvent::Kind::kDelete, foreign});
    EXPECT_FALSE(reconciler.resync_pending());
    EXPECT_EQ(timer.starts, 0U);
}

TEST(XfrmReconciler, SomeoneDeletingOurPolicyTriggersOneDebouncedResyncThatRestoresIt) {
    FakeKernel kernel;
    ManualTimer timer;
    Reconciler reconciler(kernel, timer, ReconcilerOptions{std::chrono::milliseconds(250)});
    ASSERT_TRUE(reconciler.apply(desired_two_peers()));
    const auto victim =
        policy(Direction::kIn, "10.3.0.0/24", "10.1.0.0/24", "192.0.2.3", "192.0.2.1");
    kernel.state.remove(victim);  // e.g. `ip xfrm policy flush` by an operator
    reconciler.observe({KernelEvent::Kind::kDelete, victim});
    reconciler.observe({KernelEvent::Kind::kDelete, victim});
    reconciler.request_resync();
    EXPECT_TRUE(reconciler.resync_pending());
    EXPECT_EQ(timer.starts, 1U);  // debounced: one timer for three triggers
    EXPECT_EQ(timer.last_delay, std::chrono::milliseconds(250));
    ASSERT_TRUE(timer.fire());
    EXPECT_FALSE(reconciler.resync_pending());
    EXPECT_EQ(reconciler.counters().resyncs_run, 1U);
    EXPECT_EQ(kernel.state, desired_two_peers());
}

TEST(XfrmReconciler, SomeoneChangingOurRouteTriggersResync) {
    FakeKernel kernel;
    ManualTimer timer;
    Reconciler reconciler(kernel, timer);
    ASSERT_TRUE(reconciler.apply(desired_two_peers()));
    auto hijacked = route("10.2.0.0/24", "eth9");
    kernel.state.add(hijacked);
    reconciler.observe({KernelEvent::Kind::kNew, hijacked});
    ASSERT_TRUE(timer.fire());
    EXPECT_EQ(kernel.state, desired_two_peers());
}

TEST(XfrmReconciler, FailedChangesAreReportedAndRetriedByResync) {
    FakeKernel kernel;
    ManualTimer timer;
    Reconciler reconciler(kernel, timer);
    kernel.fail_with[describe(Object{route("10.3.0.0/24")})] = ENOMEM;
    auto report = reconciler.apply(desired_two_peers());
    ASSERT_TRUE(report);
    ASSERT_EQ(report->failures.size(), 1U);
    EXPECT_EQ(report->failures[0].error.code, ENOMEM);
    EXPECT_EQ(reconciler.counters().changes_failed, 1U);
    EXPECT_FALSE(reconciler.installed().routes.contains(route("10.3.0.0/24").key()));
    EXPECT_TRUE(reconciler.resync_pending());
    ASSERT_TRUE(timer.fire());
    EXPECT_EQ(kernel.state, desired_two_peers());
    EXPECT_FALSE(reconciler.resync_pending());
}

TEST(XfrmReconciler, DumpFailureIsAnErrorAndSchedulesResync) {
    FakeKernel kernel;
    ManualTimer timer;
    Reconciler reconciler(kernel, timer);
    kernel.dump_error = Error{EPERM, "no"};
    auto report = reconciler.apply(desired_two_peers());
    ASSERT_FALSE(report);
    EXPECT_EQ(report.error().code, EPERM);
    EXPECT_TRUE(kernel.log.empty());
    EXPECT_TRUE(reconciler.resync_pending());
    kernel.dump_error.reset();
    ASSERT_TRUE(timer.fire());
    EXPECT_EQ(kernel.state, desired_two_peers());
}

TEST(XfrmReconciler, InvalidDesiredStateTouchesNothing) {
    FakeKernel kernel;
    ManualTimer timer;
    Reconciler reconciler(kernel, timer);
    State bad = desired_two_peers();
    bad.add(policy(Direction::kOut, "10.1.0.0/24", "10.7.0.0/24", "192.0.2.1", "192.0.2.3", 0));
    auto report = reconciler.apply(bad);
    ASSERT_FALSE(report);
    EXPECT_EQ(report.error().code, EINVAL);
    EXPECT_EQ(kernel.dumps, 0U);
    EXPECT_TRUE(kernel.log.empty());
}

TEST(XfrmReconciler, ForeignObjectUnderOurKeyIsReportedAndLeftAlone) {
    FakeKernel kernel;
    ManualTimer timer;
    auto operator_route = route("10.2.0.0/24", "eth0", 100);
    operator_route.protocol = 4;
    kernel.state.add(operator_route);
    Reconciler reconciler(kernel, timer);
    auto report = reconciler.apply(desired_two_peers());
    ASSERT_TRUE(report);
    ASSERT_EQ(report->failures.size(), 1U);
    EXPECT_EQ(report->failures[0].error.code, EEXIST);
    EXPECT_EQ(kernel.state.routes.at(operator_route.key()), operator_route);
}

}  // namespace
}  // namespace mpsa::xfrm

namespace mpsa::xfrm {
namespace {

TEST(XfrmReconcilerChange, OneObjectChangesTouchOnlyTheirKeysWithoutDumping) {
    test::FakeKernel kernel;
    test::ManualTimer timer;
    Reconciler reconciler(kernel, timer);
    State desired;
    desired.add(
        test::policy(Direction::kOut, "10.1.0.0/24", "10.2.0.0/24", "192.0.2.1", "192.0.2.2"));
    desired.add(test::route("10.2.0.0/24"));
    ASSERT_TRUE(reconciler.apply(desired));
    const auto dumps = kernel.dumps;
    const auto log_size = kernel.log.size();

    const auto new_policy =
        test::policy(Direction::kOut, "10.1.0.0/24", "10.3.0.0/24", "192.0.2.1", "192.0.2.3");
    auto report =
        reconciler.change({new_policy, test::route("10.3.0.0/24")}, {test::route("10.2.0.0/24")});
    ASSERT_TRUE(report);
    EXPECT_EQ(report->changes, 3U);
    EXPECT_EQ(kernel.dumps, dumps);
    ASSERT_EQ(kernel.log.size(), log_size + 3);
    EXPECT_EQ(kernel.log[log_size].op, ChangeOp::kAdd);  // policy before route
    EXPECT_TRUE(std::holds_alternative<Policy>(kernel.log[log_size].object));
    EXPECT_EQ(kernel.log[log_size + 2].op, ChangeOp::kDelete);

    State expected = desired;
    expected.add(new_policy);
    expected.add(test::route("10.3.0.0/24"));
    expected.remove(test::route("10.2.0.0/24"));
    EXPECT_EQ(kernel.state, expected);
    EXPECT_EQ(reconciler.installed(), expected);

    // Same change again: nothing to do. A later full apply agrees with the incremental model.
    report = reconciler.change({new_policy}, {});
    ASSERT_TRUE(report);
    EXPECT_EQ(report->changes, 0U);
    report = reconciler.apply(expected);
    ASSERT_TRUE(report);
    EXPECT_EQ(report->changes, 0U);
}

TEST(XfrmReconcilerChange, RejectsForeignObjectsAndFallsBackToApplyWithoutModel) {
    test::FakeKernel kernel;
    test::ManualTimer timer;
    Reconciler reconciler(kernel, timer);
    auto foreign = test::route("10.2.0.0/24");
    foreign.protocol = 4;
    auto rejected = reconciler.change({foreign}, {});
    ASSERT_FALSE(rejected);
    EXPECT_EQ(rejected.error().code, EINVAL);
    auto report = reconciler.change({test::route("10.2.0.0/24")}, {});
    ASSERT_TRUE(report);
    EXPECT_EQ(kernel.dumps, 1U);  // adopted first
    EXPECT_EQ(kernel.state.routes.size(), 1U);
}

}  // namespace
}  // namespace mpsa::xfrm
