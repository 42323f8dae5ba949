// INFORMATIONAL exchanges, the message window and retransmissions between two IkeSa objects:
// application notifies and their outcomes, lost and duplicated messages, liveness checks,
// Delete of IKE and CHILD SAs in both directions.
#include <gtest/gtest.h>

#include "mpsa/ike/message.hpp"
#include "mpsa/ike/notify_types.hpp"
#include "mpsa/ike/retransmit.hpp"
#include "sa_test_harness.hpp"

namespace mpsa::ike {
namespace {

using testing::SaPair;
using namespace std::chrono_literals;

NotifyPayload mpsa_put(std::uint8_t marker) {
    NotifyPayload n;
    n.protocol = ProtocolId::kEsp;
    n.spi = {0x11, 0x22, 0x33, marker};
    n.type = static_cast<std::uint16_t>(NotifyType::kMpsaPut);
    n.data = Bytes(40, marker);
    return n;
}

TEST(SaRetransmit, StrongSwanDefaultSchedule) {
    const RetransmitPolicy policy;
    EXPECT_EQ(retransmit_wait(policy, 0), Duration(4s));
    EXPECT_NEAR(std::chrono::duration<double>(retransmit_wait(policy, 1)).count(), 7.2, 1e-6);
    EXPECT_NEAR(std::chrono::duration<double>(retransmit_wait(policy, 5)).count(), 75.58272, 1e-4);
    EXPECT_TRUE(may_retransmit(policy, 4));
    EXPECT_FALSE(may_retransmit(policy, 5));
}

TEST(SaInformational, NotifyIsAnsweredWithAnEmptyResponse) {
    SaPair pair;
    pair.establish();
    const RequestId id = pair.i.sa->send_notifies({mpsa_put(1)});
    pair.pump();
    const auto received = pair.r.got<NotifiesReceived>();
    ASSERT_EQ(received.size(), 1U);
    ASSERT_EQ(received[0].notifies.size(), 1U);
    EXPECT_EQ(received[0].notifies[0], mpsa_put(1));
    const auto done = pair.i.got<NotifyRequestDone>();
    ASSERT_EQ(done.size(), 1U);
    EXPECT_EQ(done[0].id, id);
    EXPECT_EQ(done[0].outcome, NotifyOutcome::kAnswered);
    EXPECT_TRUE(done[0].response.empty());
}

TEST(SaInformational, QueuedNotifiesGoOneAtATime) {
    SaPair pair;
    pair.establish();
    pair.r.sa->send_notifies({mpsa_put(1)});
    pair.r.sa->send_notifies({mpsa_put(2)});
    EXPECT_EQ(pair.take(pair.r).size(), 1U) << "window size 1";
    // (the first request was lost; it is retransmitted, then the second follows)
    pair.clock.advance(4s);
    pair.r.sa->on_timer();
    pair.pump();
    const auto received = pair.i.got<NotifiesReceived>();
    ASSERT_EQ(received.size(), 2U);
    EXPECT_EQ(received[0].notifies[0], mpsa_put(1));
    EXPECT_EQ(received[1].notifies[0], mpsa_put(2));
    EXPECT_EQ(pair.r.got<NotifyRequestDone>().size(), 2U);
}

TEST(SaInformational, LostResponseIsAnsweredFromTheCacheWithoutReprocessing) {
    SaPair pair;
    pair.establish();
    pair.i.sa->send_notifies({mpsa_put(7)});
    pair.deliver_all(pair.i, pair.r);
    ASSERT_EQ(pair.take(pair.r).size(), 1U);  // response lost
    pair.clock.advance(4s);
    pair.i.sa->on_timer();
    auto retransmitted = pair.take(pair.i);
    ASSERT_EQ(retransmitted.size(), 1U);
    EXPECT_EQ(pair.i.sa->counters().retransmitted_requests, 1U);
    pair.deliver(pair.r, retransmitted[0]);
    EXPECT_EQ(pair.r.sa->counters().retransmitted_responses, 1U);
    pair.pump();
    EXPECT_EQ(pair.r.got<NotifiesReceived>().size(), 1U) << "processed once";
    const auto done = pair.i.got<NotifyRequestDone>();
    ASSERT_EQ(done.size(), 1U);
    EXPECT_EQ(done[0].outcome, NotifyOutcome::kAnswered);
}

TEST(SaInformational, DuplicateAndOldRequestsAndStaleResponsesAreIgnored) {
    SaPair pair;
    pair.establish();
    pair.i.sa->send_notifies({mpsa_put(1)});
    const auto first_request = pair.take(pair.i);
    for (const auto& d : first_request) pair.deliver(pair.r, d);
    const auto first_response = pair.take(pair.r);
    for (const auto& d : first_response) pair.deliver(pair.i, d);
    pair.i.sa->send_notifies({mpsa_put(2)});
    pair.pump();
    ASSERT_EQ(pair.r.got<NotifiesReceived>().size(), 2U);

    // An old request (two message IDs back): dropped, nothing sent.
    for (const auto& d : first_request) pair.deliver(pair.r, d);
    EXPECT_TRUE(pair.take(pair.r).empty());
    EXPECT_EQ(pair.r.sa->counters().unexpected_message_id, 1U);
    // A stale response: dropped.
    for (const auto& d : first_response) pair.deliver(pair.i, d);
    EXPECT_EQ(pair.i.sa->counters().unexpected_message_id, 1U);
    EXPECT_EQ(pair.r.got<NotifiesReceived>().size(), 2U);
    EXPECT_EQ(pair.i.got<NotifyRequestDone>().size(), 2U);
}

TEST(SaInformational, ReorderedRequestsFromBothSidesCross) {
    SaPair pair;
    pair.establish();
    pair.i.sa->send_notifies({mpsa_put(1)});
    pair.r.sa->send_notifies({mpsa_put(2)});
    auto from_i = pair.take(pair.i);
    auto from_r = pair.take(pair.r);
    // Both requests cross in flight; the responses come back duplicated.
    for (const auto& d : from_r) pair.deliver(pair.i, d);
    for (const auto& d : from_i) pair.deliver(pair.r, d);
    auto resp_i = pair.take(pair.i);
    auto resp_r = pair.take(pair.r);
    for (int twice = 0; twice < 2; ++twice) {
        for (const auto& d : resp_i) pair.deliver(pair.r, d);
        for (const auto& d : resp_r) pair.deliver(pair.i, d);
    }
    pair.pump();
    EXPECT_EQ(pair.i.got<NotifyRequestDone>().size(), 1U);
    EXPECT_EQ(pair.r.got<NotifyRequestDone>().size(), 1U);
    EXPECT_EQ(pair.i.got<NotifiesReceived>().size(), 1U);
    EXPECT_EQ(pair.r.got<NotifiesReceived>().size(), 1U);
}

TEST(SaInformational, UnansweredNotifyTimesOutAfterTheBackoffAndTakesTheSaDown) {
    SaPair pair;
    pair.establish();
    const TimePoint start = pair.clock.now();
    const RequestId timed_out = pair.i.sa->send_notifies({mpsa_put(1)});
    const RequestId queued = pair.i.sa->send_notifies({mpsa_put(2)});
    std::vector<double> sent_at;
    while (pair.i.sa->state() != IkeSaState::kDown) {
        for (const auto& d : pair.take(pair.i)) {
            (void)d;  // all lost
            sent_at.push_back(std::chrono::duration<double>(pair.clock.now() - start).count());
        }
        pair.clock.set(*pair.i.sa->next_timer());
        pair.i.sa->on_timer();
    }
    const std::vector<double> expected{0, 4, 11.2, 24.16, 47.488, 89.4784};
    ASSERT_EQ(sent_at.size(), expected.size());
    for (std::size_t n = 0; n < expected.size(); ++n) EXPECT_NEAR(sent_at[n], expected[n], 1e-3);
    EXPECT_NEAR(std::chrono::duration<double>(pair.clock.now() - start).count(), 165.06112, 1e-3);

    const auto done = pair.i.got<NotifyRequestDone>();
    ASSERT_EQ(done.size(), 2U);
    EXPECT_EQ(done[0].id, timed_out);
    EXPECT_EQ(done[0].outcome, NotifyOutcome::kTimedOut);
    EXPECT_EQ(done[1].id, queued);
    EXPECT_EQ(done[1].outcome, NotifyOutcome::kIkeSaGone);
    const auto down = pair.i.got<IkeSaDown>();
    ASSERT_EQ(down.size(), 1U);
    EXPECT_EQ(down[0].reason, DownReason::kTimeout);
    EXPECT_TRUE(pair.i.installer.installed.empty());
}

TEST(SaInformational, NotifyOnAnSaThatIsNotUpIsGoneAtOnce) {
    SaPair pair;
    pair.start();
    const RequestId id = pair.i.sa->send_notifies({mpsa_put(1)});
    const auto done = pair.i.got<NotifyRequestDone>();
    ASSERT_EQ(done.size(), 1U);
    EXPECT_EQ(done[0].id, id);
    EXPECT_EQ(done[0].outcome, NotifyOutcome::kIkeSaGone);
}

TEST(SaInformational, PeerDeletingTheIkeSaFailsQueuedNotifies) {
    SaPair pair;
    pair.establish();
    pair.i.sa->send_notifies({mpsa_put(1)});  // outstanding, will never be answered
    pair.take(pair.i);
    pair.i.sa->send_notifies({mpsa_put(2)});  // queued
    pair.r.sa->close();
    pair.deliver_all(pair.r, pair.i);
    const auto done = pair.i.got<NotifyRequestDone>();
    ASSERT_EQ(done.size(), 2U);
    EXPECT_EQ(done[0].outcome, NotifyOutcome::kIkeSaGone);
    EXPECT_EQ(done[1].outcome, NotifyOutcome::kIkeSaGone);
}

TEST(SaInformational, LivenessCheckKeepsAnAnsweringPeer) {
    SaPair pair;
    pair.i.config.dpd_interval = 10s;
    pair.r.config.dpd_interval = 0s;
    pair.establish();
    pair.clock.advance(10s);
    pair.i.sa->on_timer();
    auto dpd = pair.take(pair.i);
    ASSERT_EQ(dpd.size(), 1U);
    auto m = peek_header(dpd[0].data);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->exchange_type, ExchangeType::kInformational);
    for (const auto& d : dpd) pair.deliver(pair.r, d);
    pair.pump();
    EXPECT_EQ(pair.i.sa->state(), IkeSaState::kEstablished);
    EXPECT_TRUE(pair.r.got<NotifiesReceived>().empty());
    EXPECT_EQ(*pair.i.sa->next_timer(), pair.clock.now() + 10s);
}

TEST(SaInformational, LivenessCheckTimeoutTakesTheSaDown) {
    SaPair pair;
    pair.i.config.dpd_interval = 10s;
    pair.establish();
    const TimePoint start = pair.clock.now();
    while (pair.i.sa->state() != IkeSaState::kDown) {
        (void)pair.take(pair.i);  // the peer is gone
        pair.clock.set(*pair.i.sa->next_timer());
        pair.i.sa->on_timer();
    }
    EXPECT_NEAR(std::chrono::duration<double>(pair.clock.now() - start).count(), 175.06112, 1e-3);
    const auto down = pair.i.got<IkeSaDown>();
    ASSERT_EQ(down.size(), 1U);
    EXPECT_EQ(down[0].reason, DownReason::kTimeout);
    EXPECT_EQ(down[0].peer_id, testing::fqdn("gw.example"));
    EXPECT_EQ(down[0].peer, pair.r.endpoint);
    EXPECT_EQ(pair.i.got<ChildSaDown>().size(), 1U);
}

class SaDeleteIke : public ::testing::TestWithParam<bool> {};

TEST_P(SaDeleteIke, EitherSideClosesAndBothGoDown) {
    SaPair pair;
    pair.establish();
    const bool initiator_closes = GetParam();
    auto& closer = initiator_closes ? pair.i : pair.r;
    auto& peer = initiator_closes ? pair.r : pair.i;
    closer.sa->close();
    EXPECT_EQ(closer.sa->state(), IkeSaState::kDeleting);
    pair.pump();
    EXPECT_EQ(closer.sa->state(), IkeSaState::kDown);
    EXPECT_EQ(peer.sa->state(), IkeSaState::kDown);
    const auto closer_down = closer.got<IkeSaDown>();
    const auto peer_down = peer.got<IkeSaDown>();
    ASSERT_EQ(closer_down.size(), 1U);
    ASSERT_EQ(peer_down.size(), 1U);
    EXPECT_EQ(closer_down[0].reason, DownReason::kClosedLocally);
    EXPECT_EQ(peer_down[0].reason, DownReason::kDeletedByPeer);
    EXPECT_TRUE(pair.i.installer.installed.empty());
    EXPECT_TRUE(pair.r.installer.installed.empty());
    EXPECT_FALSE(closer.sa->next_timer().has_value());
}

INSTANTIATE_TEST_SUITE_P(Sides, SaDeleteIke, ::testing::Bool());

TEST(SaInformational, SimultaneousDeletesTakeBothSidesDown) {
    SaPair pair;
    pair.establish();
    pair.i.sa->close();
    pair.r.sa->close();
    pair.pump();
    EXPECT_EQ(pair.i.sa->state(), IkeSaState::kDown);
    EXPECT_EQ(pair.r.sa->state(), IkeSaState::kDown);
    EXPECT_EQ(pair.i.got<IkeSaDown>().size(), 1U);
    EXPECT_EQ(pair.r.got<IkeSaDown>().size(), 1U);
    EXPECT_TRUE(pair.i.installer.installed.empty());
    EXPECT_TRUE(pair.r.installer.installed.empty());
}

class SaDeleteChild : public ::testing::TestWithParam<bool> {};

TEST_P(SaDeleteChild, EitherSideDeletesTheChildSaAndTheIkeSaStays) {
    SaPair pair;
    pair.establish();
    auto& deleter = GetParam() ? pair.i : pair.r;
    auto& peer = GetParam() ? pair.r : pair.i;
    const auto child = deleter.sa->child_sas().at(0);
    deleter.sa->delete_child_sa(child.inbound_spi);
    pair.pump();
    EXPECT_TRUE(pair.i.installer.installed.empty());
    EXPECT_TRUE(pair.r.installer.installed.empty());
    EXPECT_TRUE(pair.i.sa->child_sas().empty());
    EXPECT_TRUE(pair.r.sa->child_sas().empty());
    EXPECT_EQ(deleter.got<ChildSaDown>().size(), 1U);
    EXPECT_EQ(peer.got<ChildSaDown>().size(), 1U);
    EXPECT_EQ(pair.i.sa->state(), IkeSaState::kEstablished);
    EXPECT_EQ(pair.r.sa->state(), IkeSaState::kEstablished);
}

INSTANTIATE_TEST_SUITE_P(Sides, SaDeleteChild, ::testing::Bool());

TEST(SaFragmentation, LargeMessagesTravelAsReorderedFragmentsBothWays) {
    SaPair pair;
    pair.i.config.fragment_size = 576;
    pair.r.config.fragment_size = 576;
    pair.establish();
    NotifyPayload big = mpsa_put(9);
    big.data = Bytes(2000, 0x5a);
    pair.i.sa->send_notifies({big});
    auto fragments = pair.take(pair.i);
    ASSERT_GE(fragments.size(), 4U);
    for (const auto& f : fragments) EXPECT_LE(f.data.size(), 576U - 28U);
    // Delivered last to first, the first one twice.
    pair.deliver(pair.r, fragments.front());
    for (auto it = fragments.rbegin(); it != fragments.rend(); ++it) pair.deliver(pair.r, *it);
    const auto received = pair.r.got<NotifiesReceived>();
    ASSERT_EQ(received.size(), 1U);
    EXPECT_EQ(received[0].notifies[0], big);
    pair.pump();
    EXPECT_EQ(pair.i.got<NotifyRequestDone>().size(), 1U);

    // A lost fragment: nothing until the retransmission brings all of them again.
    pair.r.sa->send_notifies({big});
    auto from_r = pair.take(pair.r);
    ASSERT_GE(from_r.size(), 4U);
    for (std::size_t n = 1; n < from_r.size(); ++n) pair.deliver(pair.i, from_r[n]);
    EXPECT_TRUE(pair.take(pair.i).empty());
    EXPECT_TRUE(pair.i.got<NotifiesReceived>().empty());
    pair.clock.advance(std::chrono::seconds(4));
    pair.r.sa->on_timer();
    pair.pump();
    ASSERT_EQ(pair.i.got<NotifiesReceived>().size(), 1U);
    EXPECT_EQ(pair.r.got<NotifyRequestDone>().size(), 1U);
}

TEST(SaFragmentation, NotUsedWithoutThePeersSupport) {
    SaPair pair;
    pair.i.config.fragment_size = 576;
    pair.r.config.send_fragmentation_supported = false;
    pair.establish();
    NotifyPayload big = mpsa_put(9);
    big.data = Bytes(2000, 0x5a);
    pair.i.sa->send_notifies({big});
    EXPECT_EQ(pair.take(pair.i).size(), 1U);
}

TEST(SaInformational, RequestsWithABadIntegrityCheckAreDropped) {
    SaPair pair;
    pair.establish();
    pair.i.sa->send_notifies({mpsa_put(1)});
    auto sent = pair.take(pair.i);
    ASSERT_EQ(sent.size(), 1U);
    sent[0].data.back() ^= 0x01;
    pair.deliver(pair.r, sent[0]);
    EXPECT_TRUE(pair.take(pair.r).empty());
    EXPECT_EQ(pair.r.sa->counters().decode_errors, 1U);
    EXPECT_TRUE(pair.r.got<NotifiesReceived>().empty());
}

}  // namespace
}  // namespace mpsa::ike
