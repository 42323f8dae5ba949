// The reconciler against this machine's kernel (policies, routes, rules; ESP SAs are not
// available here and are exercised in the VM tests). Each test gets a fresh network namespace.
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <memory>
#include <string>

#include <mpsa/xfrm/netlink.hpp>
#include <mpsa/xfrm/ownership.hpp>
#include <mpsa/xfrm/reconciler.hpp>

#include "../../unit/xfrm/fixtures.hpp"

namespace mpsa::xfrm {
namespace {

using test::group_sa;
using test::ManualTimer;
using test::policy;
using test::route;
using test::rule;

// Runs a shell command in this thread's namespace (tests may use `ip`; the library may not).
int sh(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str());
}

std::string output_of(const std::string& command) {
    std::string out;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    if (!pipe) return out;
    std::array<char, 4096> buffer{};
    while (std::fgets(buffer.data(), buffer.size(), pipe.get()) != nullptr) out += buffer.data();
    return out;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        ++count;
    }
    return count;
}

class XfrmKernel : public ::testing::Test {
  protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
        // A fresh namespace per test: nothing leaks between tests or onto the host.
        ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET) failed";
        ASSERT_EQ(sh("ip link set lo up"), 0);
        ASSERT_EQ(sh("ip link add veth0 type veth peer name veth1"), 0);
        ASSERT_EQ(sh("ip link set veth0 up && ip link set veth1 up"), 0);
        ASSERT_EQ(sh("ip addr add 192.0.2.1/24 dev veth0"), 0);
        auto kernel = NetlinkKernel::open();
        ASSERT_TRUE(kernel) << kernel.error().message;
        kernel_ = std::move(*kernel);
    }

    std::unique_ptr<NetlinkMonitor> monitor(int buffer = 8 << 20) {
        auto opened = NetlinkMonitor::open(buffer);
        EXPECT_TRUE(opened) << opened.error().message;
        return opened ? std::move(*opened) : nullptr;
    }

    // Per-destination policies to two peers over one interface, both families, and the
    // overlay routes and rules of the group.
    static State desired() {
        State s;
        s.add(policy(Direction::kOut, "10.1.0.0/24", "10.2.0.0/24", "192.0.2.1", "192.0.2.2"));
        s.add(policy(Direction::kIn, "10.2.0.0/24", "10.1.0.0/24", "192.0.2.2", "192.0.2.1"));
        s.add(policy(Direction::kFwd, "10.2.0.0/24", "10.1.0.0/24", "192.0.2.2", "192.0.2.1"));
        s.add(policy(Direction::kOut, "10.1.0.0/24", "10.3.0.0/24", "192.0.2.1", "192.0.2.3"));
        s.add(policy(Direction::kOut, "2001:db8:1::/48", "2001:db8:2::/48", "2001:db8::1",
                     "2001:db8::2"));
        s.add(policy(Direction::kIn, "2001:db8:2::/48", "2001:db8:1::/48", "2001:db8::2",
                     "2001:db8::1"));
        s.add(policy(Direction::kFwd, "2001:db8:2::/48", "2001:db8:1::/48", "2001:db8::2",
                     "2001:db8::1"));
        // IPv4 inside, IPv6 outside
        s.add(policy(Direction::kOut, "10.1.0.0/24", "10.4.0.0/24", "2001:db8::1", "2001:db8::4"));
        s.add(route("10.2.0.0/24", "veth0"));
        s.add(route("10.3.0.0/24", "veth0"));
        s.add(route("2001:db8:2::/48", "veth0"));
        s.add(rule(ownership::kRulePriorityMin, 100, Family::kIpv4));
        s.add(rule(ownership::kRulePriorityMin, 100, Family::kIpv6));
        return s;
    }

    State dump_owned() {
        auto state = kernel_->dump();
        EXPECT_TRUE(state) << state.error().message;
        return state ? ownership::owned_subset(*state) : State{};
    }

    std::unique_ptr<NetlinkKernel> kernel_;
    ManualTimer timer_;
};

TEST_F(XfrmKernel, InstallsPoliciesRoutesAndRulesOfBothFamilies) {
    Reconciler reconciler(*kernel_, timer_);
    auto report = reconciler.apply(desired());
    ASSERT_TRUE(report) << report.error().message;
    for (const auto& failure : report->failures) ADD_FAILURE() << failure.error.message;
    EXPECT_EQ(report->changes, desired().size());
    EXPECT_EQ(dump_owned(), desired());
    // Cross-check with iproute2's view of the same kernel.
    const auto policies = output_of("ip xfrm policy");
    EXPECT_EQ(count_of(policies, "if_id 0x6d700001"), desired().policies.size()) << policies;
    EXPECT_EQ(count_of(policies, "dir fwd"), 2U);
    EXPECT_EQ(count_of(output_of("ip route show table 100 proto 165"), "dev veth0"), 2U);
    EXPECT_EQ(count_of(output_of("ip -6 route show table 100 proto 165"), "dev veth0"), 1U);
    EXPECT_EQ(count_of(output_of("ip rule; ip -6 rule"), "18000:\tfrom all lookup 100"), 2U);
    EXPECT_EQ(kernel_->counters().errors, 0U);
}

TEST_F(XfrmKernel, SecondReconcilerWithTheSameStateMakesZeroKernelChanges) {
    {
        Reconciler first(*kernel_, timer_);
        ASSERT_TRUE(first.apply(desired()));
    }
    auto events = monitor();
    ASSERT_TRUE(events);
    (void)events->drain();
    auto restarted_kernel = NetlinkKernel::open();
    ASSERT_TRUE(restarted_kernel);
    Reconciler second(**restarted_kernel, timer_);
    auto report = second.apply(desired());
    ASSERT_TRUE(report);
    EXPECT_EQ(report->changes, 0U);
    EXPECT_EQ((*restarted_kernel)->counters().requests, 0U);
    const auto seen = events->drain();
    EXPECT_EQ(seen.xfrm_messages, 0U);
    EXPECT_EQ(seen.route_messages, 0U);
    EXPECT_FALSE(seen.overrun);
}

TEST_F(XfrmKernel, ChangedStateMakesExactlyTheDelta) {
    {
        Reconciler first(*kernel_, timer_);
        ASSERT_TRUE(first.apply(desired()));
    }
    auto changed = desired();
    auto new_policy =
        policy(Direction::kOut, "10.1.0.0/24", "10.5.0.0/24", "192.0.2.1", "192.0.2.3");
    changed.add(new_policy);
    auto moved = policy(Direction::kOut, "10.1.0.0/24", "10.3.0.0/24", "192.0.2.1", "192.0.2.9");
    changed.add(moved);  // same key, new peer: an update
    changed.remove(route("10.3.0.0/24", "veth0"));
    auto events = monitor();
    ASSERT_TRUE(events);
    (void)events->drain();
    auto restarted_kernel = NetlinkKernel::open();
    ASSERT_TRUE(restarted_kernel);
    Reconciler second(**restarted_kernel, timer_);
    auto report = second.apply(changed);
    ASSERT_TRUE(report);
    EXPECT_TRUE(report->ok());
    EXPECT_EQ(report->changes, 3U);
    EXPECT_EQ((*restarted_kernel)->counters().requests, 3U);
    const auto seen = events->drain();
    EXPECT_EQ(seen.xfrm_messages, 2U);   // NEWPOLICY + UPDPOLICY
    EXPECT_EQ(seen.route_messages, 1U);  // DELROUTE
    ASSERT_EQ(seen.events.size(), 3U);
    EXPECT_EQ(dump_owned(), changed);
}

TEST_F(XfrmKernel, ForeignStateSurvivesApplyResyncAndShutdown) {
    // As strongSwan and an operator would: no if_id, a foreign if_id, a route in our table with
    // another protocol, a rule inside our priority band without our protocol.
    ASSERT_EQ(sh("ip xfrm policy add src 10.50.0.0/24 dst 10.60.0.0/24 dir out tmpl src "
                 "192.0.2.1 dst 192.0.2.50 proto esp mode tunnel reqid 1"),
              0);
    ASSERT_EQ(sh("ip xfrm policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir out if_id 42 tmpl src "
                 "192.0.2.1 dst 192.0.2.51 proto esp mode tunnel"),
              0);
    ASSERT_EQ(sh("ip -6 xfrm policy add src 2001:db8:50::/48 dst 2001:db8:60::/48 dir in tmpl "
                 "src 2001:db8::50 dst 2001:db8::1 proto esp mode tunnel"),
              0);
    ASSERT_EQ(sh("ip route add 10.70.0.0/24 dev veth0 table 100"), 0);
    ASSERT_EQ(sh("ip route add 10.2.0.0/24 dev veth0 table 200 proto static"), 0);
    ASSERT_EQ(sh("ip rule add pref 18001 table 100"), 0);
    auto before = kernel_->dump();
    ASSERT_TRUE(before);
    const auto foreign_policies = before->policies.size();
    const auto foreign_text = output_of("ip xfrm policy; ip route show table all; ip rule");

    Reconciler reconciler(*kernel_, timer_);
    auto report = reconciler.apply(desired());
    ASSERT_TRUE(report);
    EXPECT_TRUE(report->ok());
    reconciler.request_resync();
    ASSERT_TRUE(timer_.fire());
    EXPECT_EQ(dump_owned(), desired());
    // shutdown that withdraws everything of ours
    ASSERT_TRUE(reconciler.apply(State{}));
    auto after = kernel_->dump();
    ASSERT_TRUE(after);
    EXPECT_EQ(ownership::owned_subset(*after), State{});
    EXPECT_EQ(*after, *before);
    EXPECT_EQ(after->policies.size(), foreign_policies);
    EXPECT_EQ(output_of("ip xfrm policy; ip route show table all; ip rule"), foreign_text);
}

TEST_F(XfrmKernel, PolicyDeletedBySomeoneElseIsRestoredByTheDebouncedResync) {
    auto events = monitor();
    ASSERT_TRUE(events);
    Reconciler reconciler(*kernel_, timer_);
    ASSERT_TRUE(reconciler.apply(desired()));
    feed(reconciler, events->drain());
    EXPECT_FALSE(reconciler.resync_pending()) << "our own changes must not look foreign";
    ASSERT_EQ(sh("ip xfrm policy delete src 10.2.0.0/24 dst 10.1.0.0/24 dir in if_id 0x6d700001"),
              0);
    ASSERT_EQ(sh("ip route del 10.2.0.0/24 table 100"), 0);
    const auto seen = events->drain();
    ASSERT_EQ(seen.events.size(), 2U);
    for (const auto& event : seen.events) reconciler.observe(event);
    EXPECT_TRUE(reconciler.resync_pending());
    EXPECT_EQ(timer_.starts, 1U);
    ASSERT_TRUE(timer_.fire());
    EXPECT_EQ(dump_owned(), desired());
}

TEST_F(XfrmKernel, MonitorOverrunIsReportedSoTheOwnerResyncs) {
    auto events = monitor(4096);  // far too small for the burst below
    ASSERT_TRUE(events);
    State many;
    for (int i = 0; i < 500; ++i) {
        const std::string dst = "10.100." + std::to_string(i / 250) + "." + std::to_string(i % 250);
        many.add(policy(Direction::kOut, "10.1.0.0/24", dst + "/32", "192.0.2.1", "192.0.2.2"));
    }
    Reconciler reconciler(*kernel_, timer_);
    auto report = reconciler.apply(many);
    ASSERT_TRUE(report);
    EXPECT_TRUE(report->ok());
    const auto seen = events->drain();
    EXPECT_TRUE(seen.overrun);
    EXPECT_LT(seen.xfrm_messages, 500U);
    EXPECT_GE(events->overruns(), 1U);
    EXPECT_FALSE(reconciler.resync_pending());
    feed(reconciler, seen);
    EXPECT_TRUE(reconciler.resync_pending());
    ASSERT_TRUE(timer_.fire());
    EXPECT_EQ(dump_owned(), many);
}

TEST_F(XfrmKernel, ManyChangesWithFewInFlightAllSucceed) {
    auto small = NetlinkKernel::open(NetlinkOptions{4, 1024});
    ASSERT_TRUE(small);
    State many;
    for (int i = 0; i < 1000; ++i) {
        const std::string dst = "10.200." + std::to_string(i / 250) + "." + std::to_string(i % 250);
        many.add(policy(Direction::kOut, "10.1.0.0/24", dst + "/32", "192.0.2.1", "192.0.2.2"));
        many.add(route(dst + "/32", "veth0"));
    }
    Reconciler reconciler(**small, timer_);
    auto report = reconciler.apply(many);
    ASSERT_TRUE(report);
    EXPECT_TRUE(report->ok());
    EXPECT_EQ((*small)->counters().requests, 2000U);
    EXPECT_EQ((*small)->counters().acks, 2000U);
    EXPECT_EQ(dump_owned(), many);
}

TEST_F(XfrmKernel, KernelErrorsAreMappedAndCounted) {
    const auto p = policy(Direction::kOut, "10.1.0.0/24", "10.2.0.0/24", "192.0.2.1", "192.0.2.2");
    const std::vector<Change> twice{{ChangeOp::kAdd, p}, {ChangeOp::kAdd, p}};
    const auto results = kernel_->apply(twice);
    ASSERT_EQ(results.size(), 2U);
    EXPECT_FALSE(results[0]);
    ASSERT_TRUE(results[1]);
    EXPECT_EQ(results[1]->code, EEXIST);
    EXPECT_NE(results[1]->message.find("EEXIST"), std::string::npos) << results[1]->message;
    EXPECT_NE(results[1]->message.find("policy out"), std::string::npos) << results[1]->message;
    EXPECT_EQ(kernel_->counters().errors_by_errno.at(EEXIST), 1U);
    // Deleting what is already gone is success, and counted.
    const std::vector<Change> gone{{ChangeOp::kDelete, route("10.9.0.0/24", "veth0")}};
    EXPECT_FALSE(kernel_->apply(gone)[0]);
    const std::vector<Change> no_device{{ChangeOp::kAdd, route("10.9.0.0/24", "nosuch0")}};
    const auto missing = kernel_->apply(no_device);
    ASSERT_TRUE(missing[0]);
    EXPECT_EQ(missing[0]->code, ENODEV);
}

// This kernel has no ESP: the failure must be clear and must not show key bytes.
TEST_F(XfrmKernel, SaRejectedByTheKernelGivesAClearErrorWithoutKeys) {
    auto sa = group_sa("192.0.2.1", "192.0.2.2");
    const std::vector<Change> add{{ChangeOp::kAdd, sa}};
    const auto results = kernel_->apply(add);
    ASSERT_EQ(results.size(), 1U);
    if (!results[0]) GTEST_SKIP() << "this kernel accepts ESP SAs: covered by the VM tests";
    EXPECT_NE(results[0]->code, 0);
    EXPECT_NE(results[0]->message.find("SA 192.0.2.1->192.0.2.2"), std::string::npos)
        << results[0]->message;
    EXPECT_EQ(results[0]->message.find(test::hex(sa.cipher->key.view())), std::string::npos);
    // The kernel's extended ack says why.
    EXPECT_NE(results[0]->message.find("kernel: "), std::string::npos) << results[0]->message;
    std::printf("ESP SA add on this kernel: %s\n", results[0]->message.c_str());
}

// Nor xfrm interfaces: the error names the interface and carries the kernel's reason.
TEST_F(XfrmKernel, XfrmInterfaceRejectedByTheKernelGivesAClearError) {
    const std::vector<Change> add{
        {ChangeOp::kAdd, XfrmInterface{"mpsa1", test::kGroupIfId, "veth0", 1400}}};
    const auto results = kernel_->apply(add);
    ASSERT_EQ(results.size(), 1U);
    if (!results[0]) GTEST_SKIP() << "this kernel has xfrm interfaces: covered by the VM tests";
    EXPECT_NE(results[0]->code, 0);
    EXPECT_NE(results[0]->message.find("xfrm interface mpsa1"), std::string::npos)
        << results[0]->message;
    std::printf("xfrm interface add on this kernel: %s\n", results[0]->message.c_str());
    // A failed interface change must not leave a stale device map behind for the next routes.
    const std::vector<Change> route_add{{ChangeOp::kAdd, route("10.9.0.0/24", "veth0")}};
    EXPECT_FALSE(kernel_->apply(route_add)[0]);
}

}  // namespace
}  // namespace mpsa::xfrm
