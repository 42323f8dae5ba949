#include "mpsa/mpsa/group_manager.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace mpsa::mpsa {
namespace {

using std::chrono::seconds;

class CountingRandom final : public RandomSource {
  public:
    bool fill(std::span<std::uint8_t> out) override {
        if (fail) return false;
        for (auto& b : out) b = next++;
        return true;
    }
    std::uint8_t next = 1;
    bool fail = false;
};

struct SentPut {
    IkeSaId ike_sa;
    RequestHandle handle;
    std::uint32_t spi;
    std::uint32_t lifetime;
    std::uint32_t roll1;
    std::uint32_t roll2;
    ike::Bytes sk_d;
};

class RecordingSender final : public MpsaPutSender {
  public:
    std::optional<RequestHandle> send_mpsa_put(IkeSaId ike_sa, const MpsaPut& put) override {
        // Everything the manager sends must be encodable as-is.
        EXPECT_TRUE(encode_mpsa_put_payload(put, 0).has_value());
        if (refuse) return std::nullopt;
        const RequestHandle h = next_handle++;
        sent.push_back({ike_sa, h, put.spi, put.lifetime_s, put.roll1_s, put.roll2_s,
                        ike::Bytes(put.sk_d.view().begin(), put.sk_d.view().end())});
        return h;
    }
    std::vector<SentPut> take() { return std::exchange(sent, {}); }
    std::vector<SentPut> sent;
    RequestHandle next_handle = 100;
    bool refuse = false;
};

GroupConfig base_config() {
    GroupConfig c;
    c.name = "g1";
    c.member_patterns = {"cpe-*.example"};
    c.lifetime = seconds(3600);
    c.roll1 = seconds(30);
    c.roll2 = seconds(60);
    c.rekey_margin = seconds(300);
    c.min_rekey_interval = seconds(60);
    c.retransmit_timeout = seconds(10);
    c.max_attempts = 3;
    return c;
}

class GroupManagerTest : public ::testing::Test {
  protected:
    void at(int s) {
        clock.set(start + seconds(s));
        manager.advance();
    }
    // Joins a member and acknowledges everything it was sent.
    void join_and_ack(IkeSaId ike, const std::string& identity) {
        manager.on_ike_sa_up(ike, identity, true);
        for (const auto& s : sender.take()) manager.on_put_acked(s.handle);
    }
    std::uint32_t current_spi() { return *manager.status("g1")->current_spi; }

    ManualClock clock;
    TimePoint start = clock.now();
    CountingRandom random;
    RecordingSender sender;
    GatewayGroupManager manager{clock, random, sender};
};

TEST(MpsaGroupConfig, Validation) {
    struct Case {
        const char* name;
        void (*mutate)(GroupConfig&);
        std::optional<GroupError> expected;
    };
    const Case cases[] = {
        {"valid", [](GroupConfig&) {}, std::nullopt},
        {"empty name", [](GroupConfig& c) { c.name.clear(); }, GroupError::kEmptyName},
        {"no members", [](GroupConfig& c) { c.member_patterns.clear(); },
         GroupError::kNoMemberPatterns},
        {"GCM without opt-in", [](GroupConfig& c) { c.suite = suites::aes_gcm_256(); },
         GroupError::kSuiteRejected},
        {"GCM with opt-in",
         [](GroupConfig& c) {
             c.suite = suites::aes_gcm_256();
             c.suite_policy.allow_aead = true;
         },
         std::nullopt},
        {"roll1 > roll2", [](GroupConfig& c) { c.roll1 = seconds(61); }, GroupError::kBadTimes},
        {"roll2 >= margin", [](GroupConfig& c) { c.roll2 = seconds(300); }, GroupError::kBadTimes},
        {"margin >= lifetime", [](GroupConfig& c) { c.rekey_margin = seconds(3600); },
         GroupError::kBadTimes},
        {"lifetime beyond 32 bits", [](GroupConfig& c) { c.lifetime = seconds(1LL << 32); },
         GroupError::kBadTimes},
        {"nonce 8", [](GroupConfig& c) { c.nonce_size = 8; }, GroupError::kBadNonceSize},
        {"no attempts", [](GroupConfig& c) { c.max_attempts = 0; }, GroupError::kBadRetransmission},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        GroupConfig config = base_config();
        c.mutate(config);
        const auto result = validate(config);
        if (c.expected) {
            ASSERT_FALSE(result.has_value());
            EXPECT_EQ(result.error(), *c.expected);
        } else {
            EXPECT_TRUE(result.has_value());
        }
    }
}

TEST(MpsaGroupConfig, IdentityPatterns) {
    EXPECT_TRUE(identity_matches("cpe-*.example", "cpe-17.example"));
    EXPECT_TRUE(identity_matches("cpe-*.example", "cpe-.example"));
    EXPECT_FALSE(identity_matches("cpe-*.example", "cpe-17.example.org"));
    EXPECT_TRUE(identity_matches("cpe-??", "cpe-42"));
    EXPECT_FALSE(identity_matches("cpe-??", "cpe-4"));
    EXPECT_TRUE(identity_matches("*", ""));
    EXPECT_TRUE(identity_matches("a*b*c", "aXXbYYbc"));
    EXPECT_FALSE(identity_matches("a*b*c", "aXXbYYb"));
    EXPECT_TRUE(identity_matches("exact@x", "exact@x"));
    EXPECT_FALSE(identity_matches("exact@x", "exact@y"));
}

TEST_F(GroupManagerTest, SaGeneratedBeforeAnyMemberConnects) {
    ASSERT_TRUE(manager.add_group(base_config()));
    const auto status = manager.status("g1");
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->current_spi, 0x01020304U);  // first four bytes of the RNG
    EXPECT_FALSE(status->next_spi.has_value());
    EXPECT_EQ(status->members, 0U);
    EXPECT_TRUE(sender.sent.empty());
    EXPECT_EQ(manager.add_group(base_config()).error(), GroupError::kDuplicateName);
}

TEST_F(GroupManagerTest, RandomFailureIsReported) {
    random.fail = true;
    EXPECT_EQ(manager.add_group(base_config()).error(), GroupError::kRandomFailed);
    EXPECT_FALSE(manager.status("g1").has_value());
}

TEST_F(GroupManagerTest, PushedWhenMemberIkeSaComesUp) {
    ASSERT_TRUE(manager.add_group(base_config()));
    manager.on_ike_sa_up(1, "other.example", true);
    manager.on_ike_sa_up(2, "cpe-b.example", false);  // no MPSA Vendor ID: never used
    EXPECT_TRUE(sender.sent.empty());
    at(100);
    manager.on_ike_sa_up(3, "cpe-a.example", true);
    const auto sent = sender.take();
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_EQ(sent[0].ike_sa, 3U);
    EXPECT_EQ(sent[0].spi, current_spi());
    EXPECT_EQ(sent[0].lifetime, 3500U);  // time left, not the configured lifetime
    EXPECT_EQ(sent[0].roll1, 0U);        // no rollover in progress: use it at once
    EXPECT_EQ(sent[0].roll2, 0U);
    EXPECT_EQ(sent[0].sk_d.size(), 32U);
    EXPECT_EQ(manager.delivery_state("g1", 3, current_spi()), DeliveryState::kInFlight);
    EXPECT_EQ(manager.status("g1")->members, 1U);
}

TEST_F(GroupManagerTest, AcknowledgementTracked) {
    ASSERT_TRUE(manager.add_group(base_config()));
    manager.on_ike_sa_up(1, "cpe-a.example", true);
    manager.on_ike_sa_up(2, "cpe-b.example", true);
    const auto sent = sender.take();
    ASSERT_EQ(sent.size(), 2U);
    manager.on_put_acked(sent[1].handle);
    manager.on_put_acked(9999);  // unknown handle: ignored
    EXPECT_EQ(manager.delivery_state("g1", 2, current_spi()), DeliveryState::kAcked);
    EXPECT_EQ(manager.delivery_state("g1", 1, current_spi()), DeliveryState::kInFlight);
    EXPECT_EQ(manager.status("g1")->acked_current, 1U);
}

TEST_F(GroupManagerTest, RetransmitsOnFailureThenGivesUp) {
    ASSERT_TRUE(manager.add_group(base_config()));
    manager.on_ike_sa_up(1, "cpe-a.example", true);
    auto sent = sender.take();
    ASSERT_EQ(sent.size(), 1U);
    manager.on_put_failed(sent[0].handle);
    sent = sender.take();
    ASSERT_EQ(sent.size(), 1U);  // attempt 2
    EXPECT_EQ(sent[0].spi, current_spi());
    manager.on_put_failed(sent[0].handle);
    sent = sender.take();
    ASSERT_EQ(sent.size(), 1U);  // attempt 3 = max
    manager.on_put_failed(sent[0].handle);
    EXPECT_TRUE(sender.take().empty());
    EXPECT_EQ(manager.delivery_state("g1", 1, current_spi()), DeliveryState::kFailed);
    EXPECT_EQ(manager.status("g1")->failed_deliveries, 1U);
    at(100);
    EXPECT_TRUE(sender.take().empty());
}

TEST_F(GroupManagerTest, RetransmitsWhenUnansweredOrRefused) {
    ASSERT_TRUE(manager.add_group(base_config()));
    sender.refuse = true;
    manager.on_ike_sa_up(1, "cpe-a.example", true);
    EXPECT_EQ(manager.delivery_state("g1", 1, current_spi()), DeliveryState::kAwaitingRetry);
    EXPECT_EQ(manager.next_deadline(), start + seconds(10));
    sender.refuse = false;
    at(9);
    EXPECT_TRUE(sender.take().empty());
    at(10);
    auto sent = sender.take();
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_EQ(sent[0].lifetime, 3590U);  // rebuilt with the time left now
    at(20);                              // silence for retransmit_timeout: sent again
    sent = sender.take();
    ASSERT_EQ(sent.size(), 1U);
    manager.on_put_acked(sent[0].handle);
    EXPECT_EQ(manager.delivery_state("g1", 1, current_spi()), DeliveryState::kAcked);
}

TEST_F(GroupManagerTest, RekeysBeforeLifetimeEndsWithRollover) {
    ASSERT_TRUE(manager.add_group(base_config()));
    join_and_ack(1, "cpe-a.example");
    join_and_ack(2, "cpe-b.example");
    join_and_ack(3, "cpe-c.example");
    const std::uint32_t old_spi = current_spi();
    EXPECT_EQ(manager.next_deadline(), start + seconds(3600 - 300));
    at(3299);
    EXPECT_TRUE(sender.sent.empty());
    at(3300);
    const auto sent = sender.take();
    ASSERT_EQ(sent.size(), 3U);
    const auto status = manager.status("g1");
    ASSERT_TRUE(status->next_spi.has_value());
    EXPECT_EQ(status->current_spi, old_spi);
    for (const auto& s : sent) {
        EXPECT_EQ(s.spi, *status->next_spi);
        EXPECT_EQ(s.lifetime, 3600U);
        EXPECT_EQ(s.roll1, 30U);
        EXPECT_EQ(s.roll2, 60U);
        manager.on_put_acked(s.handle);
    }
    EXPECT_NE(*status->next_spi, old_spi);
    EXPECT_EQ(manager.status("g1")->acked_next, 3U);
    EXPECT_EQ(manager.next_deadline(), start + seconds(3360));  // end of the rollover
    at(3360);
    const auto after = manager.status("g1");
    EXPECT_EQ(after->current_spi, status->next_spi);
    EXPECT_FALSE(after->next_spi.has_value());
    EXPECT_EQ(after->acked_current, 3U);
    EXPECT_EQ(after->rekeys, 1U);
    EXPECT_FALSE(manager.delivery_state("g1", 1, old_spi).has_value());
    EXPECT_EQ(manager.next_deadline(), start + seconds(3300 + 3300));
}

TEST_F(GroupManagerTest, FreshKeysAndSpiOnRekey) {
    ASSERT_TRUE(manager.add_group(base_config()));
    manager.on_ike_sa_up(1, "cpe-a.example", true);
    const auto first = sender.take();
    manager.on_put_acked(first[0].handle);
    at(3300);
    const auto second = sender.take();
    ASSERT_EQ(second.size(), 1U);
    EXPECT_NE(second[0].spi, first[0].spi);
    EXPECT_NE(second[0].sk_d, first[0].sk_d);
}

TEST_F(GroupManagerTest, MemberLeaveTriggersRekeyDamped) {
    ASSERT_TRUE(manager.add_group(base_config()));
    join_and_ack(1, "cpe-a.example");
    join_and_ack(2, "cpe-b.example");
    join_and_ack(3, "cpe-c.example");
    at(100);
    manager.on_ike_sa_down(1);  // last rekey (creation) 100 s ago: rekey at once
    auto sent = sender.take();
    ASSERT_EQ(sent.size(), 2U);  // to the two remaining members
    EXPECT_EQ(manager.status("g1")->rekeys, 1U);
    for (const auto& s : sent) {
        EXPECT_NE(s.ike_sa, 1U);
        manager.on_put_acked(s.handle);
    }
    at(110);
    manager.on_ike_sa_down(2);  // within min interval and during the rollover: deferred
    EXPECT_TRUE(sender.take().empty());
    EXPECT_EQ(manager.status("g1")->pending_rekey_at, start + seconds(160));
    at(130);
    manager.on_member_removed("cpe-x.example");  // unknown: nothing
    EXPECT_TRUE(sender.take().empty());
    at(160);
    sent = sender.take();
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_EQ(sent[0].ike_sa, 3U);
    EXPECT_EQ(manager.status("g1")->rekeys, 2U);
}

TEST_F(GroupManagerTest, FlappingMemberCausesNoRekeyStorm) {
    ASSERT_TRUE(manager.add_group(base_config()));
    join_and_ack(10, "cpe-a.example");
    join_and_ack(2, "cpe-b.example");
    IkeSaId ike = 10;
    for (int t = 10; t < 50; t += 10) {  // down and back every 10 s, inside the damping window
        at(t);
        manager.on_ike_sa_down(ike);
        EXPECT_TRUE(manager.status("g1")->pending_rekey_at.has_value());
        at(t + 5);
        ++ike;
        join_and_ack(ike, "cpe-a.example");  // came back: the pending rekey is cancelled
        EXPECT_FALSE(manager.status("g1")->pending_rekey_at.has_value());
    }
    at(200);
    EXPECT_EQ(manager.status("g1")->rekeys, 0U);
    // Once the window has passed a leave rekeys at once (it cannot be taken back), but a member
    // flapping every 10 s for 2 minutes still causes only one rekey per min_rekey_interval.
    for (int t = 200; t < 320; t += 10) {
        at(t);
        manager.on_ike_sa_down(ike);
        ++ike;
        manager.on_ike_sa_up(ike, "cpe-a.example", true);
        for (const auto& s : sender.take()) manager.on_put_acked(s.handle);
    }
    EXPECT_EQ(manager.status("g1")->rekeys, 2U);  // at 200 s and 260 s
}

TEST_F(GroupManagerTest, LeaveWithoutReturnRekeysAfterDamping) {
    ASSERT_TRUE(manager.add_group(base_config()));
    join_and_ack(1, "cpe-a.example");
    join_and_ack(2, "cpe-b.example");
    at(10);
    manager.on_ike_sa_down(1);
    at(20);
    join_and_ack(3, "cpe-a.example");
    at(30);
    manager.on_ike_sa_down(3);  // left again and stays away
    at(59);
    EXPECT_EQ(manager.status("g1")->rekeys, 0U);
    at(60);
    EXPECT_EQ(manager.status("g1")->rekeys, 1U);
}

TEST_F(GroupManagerTest, RemovedMemberRekeyIsNotCancelledByOthersJoining) {
    ASSERT_TRUE(manager.add_group(base_config()));
    join_and_ack(1, "cpe-a.example");
    join_and_ack(2, "cpe-b.example");
    at(10);
    manager.on_member_removed("cpe-a.example");
    EXPECT_EQ(manager.status("g1")->members, 1U);
    EXPECT_EQ(manager.status("g1")->pending_rekey_at, start + seconds(60));
    join_and_ack(3, "cpe-c.example");
    at(60);
    EXPECT_EQ(manager.status("g1")->rekeys, 1U);
    const auto sent = sender.take();
    ASSERT_EQ(sent.size(), 2U);
    for (const auto& s : sent) EXPECT_NE(s.ike_sa, 1U);
}

TEST_F(GroupManagerTest, JoinDuringRolloverGetsCurrentAndNext) {
    ASSERT_TRUE(manager.add_group(base_config()));
    join_and_ack(1, "cpe-a.example");
    at(3300);
    for (const auto& s : sender.take()) manager.on_put_acked(s.handle);
    const auto status = manager.status("g1");
    at(3310);
    manager.on_ike_sa_up(2, "cpe-b.example", true);
    const auto sent = sender.take();
    ASSERT_EQ(sent.size(), 2U);
    EXPECT_EQ(sent[0].spi, *status->current_spi);  // current first
    EXPECT_EQ(sent[0].lifetime, 290U);
    EXPECT_EQ(sent[0].roll1, 0U);  // the SA everyone uses now
    EXPECT_EQ(sent[0].roll2, 0U);
    EXPECT_EQ(sent[1].spi, *status->next_spi);
    EXPECT_EQ(sent[1].lifetime, 3590U);
    EXPECT_EQ(sent[1].roll1, 20U);  // switch at the same absolute time as everyone else
    EXPECT_EQ(sent[1].roll2, 50U);
}

TEST_F(GroupManagerTest, InFlightPutResentOnRekeyedIkeSa) {
    ASSERT_TRUE(manager.add_group(base_config()));
    manager.on_ike_sa_up(1, "cpe-a.example", true);
    auto sent = sender.take();
    ASSERT_EQ(sent.size(), 1U);
    join_and_ack(2, "cpe-b.example");
    // Member 1 did not answer within retransmit_timeout: in flight again.
    at(10);
    sent = sender.take();
    ASSERT_EQ(sent.size(), 1U);
    const RequestHandle old_handle = sent[0].handle;
    manager.on_ike_sa_rekeyed(1, 11);
    manager.on_ike_sa_rekeyed(2, 12);  // member 2 had acked: nothing to resend
    sent = sender.take();
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_EQ(sent[0].ike_sa, 11U);
    EXPECT_EQ(sent[0].spi, current_spi());
    manager.on_put_failed(old_handle);  // the old IKE SA's exchange died with it: ignored
    EXPECT_TRUE(sender.take().empty());
    manager.on_put_acked(sent[0].handle);
    EXPECT_EQ(manager.delivery_state("g1", 11, current_spi()), DeliveryState::kAcked);
    EXPECT_FALSE(manager.delivery_state("g1", 1, current_spi()).has_value());
    EXPECT_EQ(manager.status("g1")->rekeys, 0U);  // an IKE rekey is not a leave
}

TEST_F(GroupManagerTest, RekeyPushInFlightDuringIkeRekeyIsResent) {
    ASSERT_TRUE(manager.add_group(base_config()));
    join_and_ack(1, "cpe-a.example");
    at(3300);
    auto sent = sender.take();
    ASSERT_EQ(sent.size(), 1U);
    const auto next_spi = *manager.status("g1")->next_spi;
    manager.on_ike_sa_rekeyed(1, 2);
    sent = sender.take();
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_EQ(sent[0].ike_sa, 2U);
    EXPECT_EQ(sent[0].spi, next_spi);
    EXPECT_EQ(sent[0].roll1, 30U);
    manager.on_put_acked(sent[0].handle);
    EXPECT_EQ(manager.status("g1")->acked_next, 1U);
}

TEST_F(GroupManagerTest, InFlightPutOnDeletedIkeSaGoesToTheNewOne) {
    ASSERT_TRUE(manager.add_group(base_config()));
    join_and_ack(2, "cpe-b.example");
    manager.on_ike_sa_up(1, "cpe-a.example", true);
    const auto sent = sender.take();
    ASSERT_EQ(sent.size(), 1U);
    at(5);
    manager.on_ike_sa_down(1);
    manager.on_put_failed(sent[0].handle);  // late report for the deleted SA: harmless
    manager.on_ike_sa_up(5, "cpe-a.example", true);
    const auto again = sender.take();
    // The re-join cancelled the leave rekey; only the current SA goes out, on the new IKE SA.
    ASSERT_EQ(again.size(), 1U);
    EXPECT_EQ(again[0].ike_sa, 5U);
    EXPECT_EQ(again[0].spi, current_spi());
}

TEST_F(GroupManagerTest, Roll1FollowsMeasuredDistributionTime) {
    GroupConfig config = base_config();
    config.roll1 = seconds(5);
    config.roll2 = seconds(10);
    ASSERT_TRUE(manager.add_group(config));
    join_and_ack(1, "cpe-a.example");
    join_and_ack(2, "cpe-b.example");
    join_and_ack(3, "cpe-c.example");
    EXPECT_EQ(manager.status("g1")->roll1_in_use, seconds(5));
    at(3300);
    auto sent = sender.take();
    ASSERT_EQ(sent.size(), 3U);
    EXPECT_EQ(sent[0].roll1, 5U);
    clock.set(start + seconds(3301));
    manager.on_put_acked(sent[0].handle);
    clock.set(start + seconds(3302));
    manager.on_put_acked(sent[1].handle);
    clock.set(start + seconds(3307));
    manager.on_put_acked(sent[2].handle);
    const auto status = manager.status("g1");
    EXPECT_EQ(status->last_distribution_time, seconds(7));
    EXPECT_EQ(status->roll1_in_use, seconds(14));  // twice the slowest distribution
    // The next rekey announces it, and starts early enough for the longer rollover.
    at(3310);  // rollover ends at 3300 + ROLL2 (10)
    EXPECT_FALSE(manager.status("g1")->next_spi.has_value());
    at(3300 + 3300);
    sent = sender.take();
    ASSERT_EQ(sent.size(), 3U);
    EXPECT_EQ(sent[0].roll1, 14U);
    EXPECT_EQ(sent[0].roll2, 19U);
}

TEST_F(GroupManagerTest, MemberInTwoGroupsGetsBothWithDistinctSpis) {
    GroupConfig second = base_config();
    second.name = "g2";
    second.member_patterns = {"cpe-a.*"};
    ASSERT_TRUE(manager.add_group(base_config()));
    ASSERT_TRUE(manager.add_group(second));
    manager.on_ike_sa_up(1, "cpe-a.example", true);
    manager.on_ike_sa_up(2, "cpe-b.example", true);
    const auto sent = sender.take();
    ASSERT_EQ(sent.size(), 3U);
    EXPECT_NE(*manager.status("g1")->current_spi, *manager.status("g2")->current_spi);
    EXPECT_EQ(manager.status("g2")->members, 1U);
    EXPECT_TRUE(manager.remove_group("g2"));
    EXPECT_EQ(manager.remove_group("g2").error(), GroupError::kUnknownGroup);
}

TEST_F(GroupManagerTest, GroupAddedLaterReachesConnectedMembers) {
    manager.on_ike_sa_up(1, "cpe-a.example", true);
    manager.on_ike_sa_up(2, "other", true);
    EXPECT_TRUE(sender.sent.empty());
    ASSERT_TRUE(manager.add_group(base_config()));
    const auto sent = sender.take();
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_EQ(sent[0].ike_sa, 1U);
    EXPECT_EQ(sent[0].spi, current_spi());
}

TEST_F(GroupManagerTest, RekeyRetriedWhenRandomFails) {
    ASSERT_TRUE(manager.add_group(base_config()));
    join_and_ack(1, "cpe-a.example");
    random.fail = true;
    at(3300);
    EXPECT_TRUE(sender.take().empty());
    EXPECT_EQ(manager.next_deadline(), start + seconds(3301));
    random.fail = false;
    at(3301);
    EXPECT_EQ(sender.take().size(), 1U);
    EXPECT_EQ(manager.status("g1")->rekeys, 1U);
}

TEST_F(GroupManagerTest, ReauthenticationWithSameIdentityIsNoLeave) {
    ASSERT_TRUE(manager.add_group(base_config()));
    join_and_ack(1, "cpe-a.example");
    join_and_ack(2, "cpe-b.example");
    at(100);
    // cpe-a comes back with a new IKE SA (INITIAL_CONTACT), then the old one is deleted.
    manager.on_ike_sa_up(3, "cpe-a.example", true);
    const auto sent = sender.take();
    ASSERT_EQ(sent.size(), 1U);  // the current SA, to the new IKE SA
    EXPECT_EQ(sent[0].ike_sa, 3U);
    manager.on_put_acked(sent[0].handle);
    manager.on_ike_sa_down(1);
    EXPECT_TRUE(sender.take().empty());
    EXPECT_EQ(manager.status("g1")->rekeys, 0U);
    EXPECT_FALSE(manager.status("g1")->pending_rekey_at);
    EXPECT_EQ(manager.status("g1")->members, 2U);
    // A real leave still rekeys.
    manager.on_ike_sa_down(3);
    EXPECT_EQ(manager.status("g1")->rekeys, 1U);
}

TEST_F(GroupManagerTest, UpdateGroupReevaluatesMembersAndKeepsCurrentSuite) {
    ASSERT_TRUE(manager.add_group(base_config()));
    join_and_ack(1, "cpe-a.example");
    join_and_ack(2, "other-b.example");  // matches no pattern yet
    EXPECT_EQ(manager.status("g1")->members, 1U);
    const auto spi = current_spi();
    at(100);
    auto changed = base_config();
    changed.member_patterns = {"other-*.example"};
    changed.suite = suites::draft_example();
    ASSERT_TRUE(manager.update_group(changed));
    // other-b gets the current SA; cpe-a is dropped and the group rekeys (it must not keep
    // reading the group's traffic).
    const auto sent = sender.take();
    ASSERT_FALSE(sent.empty());
    EXPECT_EQ(sent[0].ike_sa, 2U);
    EXPECT_EQ(sent[0].spi, spi);
    EXPECT_EQ(manager.status("g1")->members, 1U);
    EXPECT_EQ(manager.status("g1")->rekeys, 1U);
    ASSERT_TRUE(manager.status("g1")->next_spi);
    // The current SA keeps the suite it was announced with; the new one has the new suite.
    EXPECT_EQ(manager.status("g1")->current_suite, suites::default_suite());
    const auto exported = manager.export_sas();
    ASSERT_EQ(exported.size(), 1U);
    ASSERT_TRUE(exported[0].next);
    EXPECT_EQ(exported[0].next->suite, suites::draft_example());
    EXPECT_EQ(manager
                  .update_group([] {
                      auto c = base_config();
                      c.name = "nope";
                      return c;
                  }())
                  .error(),
              GroupError::kUnknownGroup);
}

TEST_F(GroupManagerTest, ExportedSasAreAdoptedByARestartedManager) {
    ASSERT_TRUE(manager.add_group(base_config()));
    at(3300);  // lifetime rekey: a rollover in progress
    ASSERT_TRUE(manager.status("g1")->next_spi);
    const auto exported = manager.export_sas();
    ASSERT_EQ(exported.size(), 1U);
    ASSERT_TRUE(exported[0].current && exported[0].next);

    RecordingSender sender2;
    CountingRandom random2;
    random2.next = 77;  // different keys than the first manager
    GatewayGroupManager restarted(clock, random2, sender2);
    ASSERT_TRUE(restarted.add_group(base_config()));
    EXPECT_NE(*restarted.status("g1")->current_spi, exported[0].current->spi);
    ASSERT_TRUE(restarted.adopt_sas(exported[0]));
    const auto status = restarted.status("g1");
    EXPECT_EQ(*status->current_spi, exported[0].current->spi);
    EXPECT_EQ(*status->next_spi, exported[0].next->spi);
    EXPECT_EQ(status->next_promoted_at, exported[0].next->created_at + exported[0].next->roll2);
    // A member joining now gets exactly the persisted SAs (same SK_d).
    restarted.on_ike_sa_up(9, "cpe-a.example", true);
    const auto sent = sender2.take();
    ASSERT_EQ(sent.size(), 2U);
    EXPECT_EQ(sent[0].spi, exported[0].current->spi);
    EXPECT_EQ(sent[0].sk_d, ike::Bytes(exported[0].current->sk_d.view().begin(),
                                       exported[0].current->sk_d.view().end()));
    EXPECT_EQ(sent[1].spi, exported[0].next->spi);
    // The rollover completes on the original schedule.
    clock.set(*status->next_promoted_at);
    restarted.advance();
    EXPECT_EQ(*restarted.status("g1")->current_spi, exported[0].next->spi);
}

TEST_F(GroupManagerTest, AdoptRefusesExpiredOrClashingSas) {
    ASSERT_TRUE(manager.add_group(base_config()));
    auto other = base_config();
    other.name = "g2";
    ASSERT_TRUE(manager.add_group(other));
    auto state = manager.export_sas()[0];
    const auto own_spi = state.current->spi;
    // g2 cannot adopt g1's SPI
    state.name = "g2";
    EXPECT_EQ(manager.adopt_sas(state).error(), GroupError::kBadAdoptedSa);
    state.name = "unknown";
    EXPECT_EQ(manager.adopt_sas(state).error(), GroupError::kUnknownGroup);
    state.name = "g1";
    auto expired = state;
    expired.current->expires_at = clock.now();
    EXPECT_EQ(manager.adopt_sas(expired).error(), GroupError::kBadAdoptedSa);
    auto bad_skd = state;
    bad_skd.current->sk_d = ike::SecretBytes(3);
    EXPECT_EQ(manager.adopt_sas(bad_skd).error(), GroupError::kBadAdoptedSa);
    auto none = state;
    none.current.reset();
    EXPECT_EQ(manager.adopt_sas(none).error(), GroupError::kBadAdoptedSa);
    EXPECT_EQ(current_spi(), own_spi);  // refused adoptions changed nothing
}

TEST_F(GroupManagerTest, MemberStatusReportsAckedSpiAndPendingPuts) {
    ASSERT_TRUE(manager.add_group(base_config()));
    manager.on_ike_sa_up(1, "cpe-a.example", true);
    auto members = manager.member_status("g1");
    ASSERT_EQ(members.size(), 1U);
    EXPECT_EQ(members[0].identity, "cpe-a.example");
    EXPECT_EQ(members[0].pending_puts, 1U);
    EXPECT_FALSE(members[0].acked_spi);
    for (const auto& s : sender.take()) manager.on_put_acked(s.handle);
    members = manager.member_status("g1");
    EXPECT_EQ(members[0].pending_puts, 0U);
    EXPECT_EQ(members[0].acked_spi, current_spi());
    EXPECT_TRUE(manager.member_status("none").empty());
}

TEST(MpsaRandom, OpenSslFills) {
    OpenSslRandom random;
    std::array<std::uint8_t, 64> a{};
    std::array<std::uint8_t, 64> b{};
    ASSERT_TRUE(random.fill(a));
    ASSERT_TRUE(random.fill(b));
    EXPECT_NE(a, b);
}

}  // namespace
}  // namespace mpsa::mpsa
