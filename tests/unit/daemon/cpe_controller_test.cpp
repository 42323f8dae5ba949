#include "mpsa/daemon/cpe_controller.hpp"

#include <gtest/gtest.h>

namespace mpsa::daemon {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

bgp_glue::Prefix bp(std::string_view text) {
    return *bgp_glue::Prefix::parse(text);
}
bgp_glue::IpAddress ba(std::string_view text) {
    return *bgp_glue::IpAddress::parse(text);
}

TEST(DaemonDebouncer, IsolatedChangeIsDueAtOnceAStormIsBatched) {
    mpsa::ManualClock clock;
    Debouncer debouncer(clock, milliseconds(50));
    EXPECT_FALSE(debouncer.pending());
    EXPECT_FALSE(debouncer.take_due());
    // After a quiet spell: due at once (leading edge).
    EXPECT_EQ(debouncer.notify(), clock.now());
    EXPECT_TRUE(debouncer.take_due());
    // A storm right after: batched, at most one take per interval.
    clock.advance(milliseconds(10));
    const auto armed = debouncer.notify();
    ASSERT_TRUE(armed);
    EXPECT_EQ(*armed, clock.now() + milliseconds(40)) << "50 ms after the last take";
    clock.advance(milliseconds(30));
    EXPECT_FALSE(debouncer.notify()) << "joins the armed deadline";
    EXPECT_EQ(debouncer.deadline(), armed);
    EXPECT_FALSE(debouncer.take_due());
    clock.advance(milliseconds(10));
    EXPECT_TRUE(debouncer.take_due());
    EXPECT_FALSE(debouncer.take_due()) << "once per batch";
    EXPECT_FALSE(debouncer.pending());
    // Quiet again for a full interval: the next change is due at once.
    clock.advance(milliseconds(50));
    EXPECT_EQ(debouncer.notify(), clock.now());
}

mpsa::MpsaPut put(std::uint32_t spi) {
    mpsa::MpsaPut p;
    p.spi = spi;
    p.suite = mpsa::suites::default_suite();
    p.nonce = ike::Bytes(32, 0x11);
    p.sk_d = ike::SecretBytes(ike::Bytes(32, 0x22));
    p.lifetime_s = 3600;
    return p;
}

class DaemonCpeController : public ::testing::Test {
  protected:
    DaemonCpeController()
        : lifecycle_(clock_, {}),
          controller_(node(), *group_layout(7), lifecycle_, clock_, milliseconds(50)) {}
    static NodeFacts node() {
        NodeFacts n;
        n.esp_address = xfrm::IpAddress::from("192.0.2.1");
        n.underlay_interface = "eth1";
        return n;
    }
    mpsa::ManualClock clock_;
    mpsa::CpeGroupSaLifecycle lifecycle_;
    CpeController controller_;
};

TEST_F(DaemonCpeController, BatchesAStormOfChangesIntoOneRebuild) {
    using RK = bgp_glue::RouteChange::Kind;
    ASSERT_TRUE(lifecycle_.on_mpsa_put(put(0x4000)));
    (void)lifecycle_.advance();
    controller_.on_group_sa_changed();
    // The first change after a quiet spell is rebuilt at once (leading edge)...
    EXPECT_EQ(controller_.next_deadline(), clock_.now());
    auto first = controller_.take_rebuild();
    ASSERT_TRUE(first);
    EXPECT_TRUE(first->destinations.empty());
    // ...a storm right behind it is batched into one rebuild one interval later.
    clock_.advance(milliseconds(1));
    controller_.on_model_change(
        bgp_glue::RouteChange{RK::added, bp("10.200.0.0/16"), {ba("192.0.2.2")}, {}});
    const auto deadline = controller_.next_deadline();
    ASSERT_TRUE(deadline);
    EXPECT_EQ(*deadline, clock_.now() + milliseconds(49));
    controller_.on_model_change(
        bgp_glue::RouteChange{RK::removed, bp("10.200.0.0/16"), {}, {ba("192.0.2.2")}});
    for (int i = 0; i < 100; ++i) {
        const auto prefix = bp("10." + std::to_string(i) + ".0.0/16");
        controller_.on_model_change(
            bgp_glue::RouteChange{RK::added, prefix, {ba("192.0.2.2")}, {}});
    }
    controller_.on_model_change(
        bgp_glue::PeerChange{bgp_glue::PeerChange::Kind::resolved, ba("192.0.2.2"), {}});
    EXPECT_EQ(controller_.next_deadline(), deadline);
    clock_.advance(milliseconds(48));
    EXPECT_FALSE(controller_.take_rebuild());
    clock_.advance(milliseconds(1));
    auto rebuilt = controller_.take_rebuild();
    ASSERT_TRUE(rebuilt);
    EXPECT_EQ(rebuilt->layout.interface_name, "mpsa7");
    EXPECT_EQ(rebuilt->destinations.size(), 100U);
    EXPECT_EQ(rebuilt->state.sas.size(), 2U);
    for (const auto& d : rebuilt->destinations) EXPECT_EQ(d.state, DestinationState::kEncrypted);
    EXPECT_FALSE(controller_.take_rebuild());
    EXPECT_FALSE(controller_.next_deadline());
}

TEST_F(DaemonCpeController, ChangesThatChangeNothingScheduleNothing) {
    using RK = bgp_glue::RouteChange::Kind;
    controller_.on_model_change(bgp_glue::RouteChange{RK::removed, bp("10.0.0.0/8"), {}, {}});
    controller_.on_model_change(
        bgp_glue::PeerChange{bgp_glue::PeerChange::Kind::tracked, ba("192.0.2.2"), {}});
    EXPECT_FALSE(controller_.next_deadline());
    clock_.advance(seconds(1));
    EXPECT_FALSE(controller_.take_rebuild());
    // build_now() is always available (start-up adoption): interface and rules, blocked nothing.
    const auto now = controller_.build_now();
    EXPECT_EQ(now.state.interfaces.size(), 1U);
    EXPECT_TRUE(now.destinations.empty());
}

TEST_F(DaemonCpeController, NewNodeFactsRebuildOnceWithThem) {
    auto facts = node();
    facts.never_overlay = {xfrm::IpAddress::from("198.51.100.20")};  // a new gateway address
    controller_.set_node(facts);
    EXPECT_EQ(controller_.node().never_overlay, facts.never_overlay);
    ASSERT_TRUE(controller_.next_deadline());
    clock_.advance(milliseconds(50));
    const auto rebuilt = controller_.take_rebuild();
    ASSERT_TRUE(rebuilt);
    xfrm::Rule exclusion;
    exclusion.family = xfrm::Family::kIpv4;
    exclusion.priority = kPeerExclusionRulePriority;
    exclusion.table = kMainTable;
    exclusion.dst = xfrm::Prefix::from("198.51.100.20/32");
    EXPECT_TRUE(rebuilt->state.rules.contains(exclusion));
    EXPECT_FALSE(controller_.take_rebuild());
}

}  // namespace
}  // namespace mpsa::daemon
