// Gateway and CPEs over our own IKEv2, messages passed by hand (two_party_harness.hpp): group SA
// distribution, rekey with rollover, a member leaving, an IKE SA rekey while an MPSA_PUT is in
// flight, peers without the Vendor ID, and what a CPE refuses.
#include <gtest/gtest.h>

#include "mpsa/ike/notify_types.hpp"
#include "mpsa/mpsa/keymat.hpp"
#include "two_party_harness.hpp"

namespace mpsa::mpsa {
namespace {

using testing::CpeNode;
using testing::TwoPartyNet;
using namespace std::chrono_literals;

GroupConfig branch_group() {
    GroupConfig g;
    g.name = "branch";
    g.member_patterns = {"cpe*.example"};
    g.lifetime = 3600s;
    g.roll1 = 30s;
    g.roll2 = 60s;
    g.rekey_margin = 300s;
    g.min_rekey_interval = 60s;
    return g;
}

bool same_keys(const CpeGroupSa& a, const CpeGroupSa& b) {
    return ike::constant_time_equal(a.keys.encryption_key.view(), b.keys.encryption_key.view()) &&
           ike::constant_time_equal(a.keys.integrity_key.view(), b.keys.integrity_key.view());
}

std::size_t count_events(const CpeNode& cpe, CpeEventKind kind, std::uint32_t spi) {
    return static_cast<std::size_t>(
        std::count_if(cpe.timeline.begin(), cpe.timeline.end(),
                      [&](const auto& t) { return t.event.kind == kind && t.event.spi == spi; }));
}

std::optional<TimePoint> event_time(const CpeNode& cpe, CpeEventKind kind, std::uint32_t spi) {
    for (const auto& t : cpe.timeline)
        if (t.event.kind == kind && t.event.spi == spi) return t.at;
    return std::nullopt;
}

// Gateway up with the group, three CPEs connected and served.
struct ThreeCpes : ::testing::Test {
    void SetUp() override {
        net.delay = 20ms;
        ASSERT_TRUE(net.gateway().groups().add_group(branch_group()).has_value());
        group_created = net.clock.now();
        net.connect_all();
        net.run_for(5s);
        const auto status = net.gateway().groups().status("branch");
        ASSERT_TRUE(status && status->current_spi);
        first_spi = *status->current_spi;
    }
    TwoPartyNet net{3};
    TimePoint group_created;
    std::uint32_t first_spi = 0;
};

TEST_F(ThreeCpes, AllCpesGetTheSameGroupSa) {
    const auto status = net.gateway().groups().status("branch");
    EXPECT_EQ(status->members, 3U);
    EXPECT_EQ(status->acked_current, 3U);
    const CpeGroupSa* reference = net.cpe(1).bridge.lifecycle().find(first_spi);
    ASSERT_NE(reference, nullptr);
    for (int i = 1; i <= 3; ++i) {
        CpeNode& cpe = net.cpe(i);
        ASSERT_EQ(cpe.sa->state(), ike::IkeSaState::kEstablished) << cpe.name;
        const auto desired = cpe.bridge.lifecycle().desired();
        EXPECT_EQ(desired.inbound_spis, std::vector<std::uint32_t>{first_spi}) << cpe.name;
        EXPECT_EQ(desired.outbound_spi, first_spi) << cpe.name << ": first SA used at once";
        const CpeGroupSa* sa = cpe.bridge.lifecycle().find(first_spi);
        ASSERT_NE(sa, nullptr);
        EXPECT_EQ(sa->suite, suites::default_suite());
        EXPECT_EQ(sa->keys.encryption_key.size(), 32U);
        EXPECT_EQ(sa->keys.integrity_key.size(), 32U);
        EXPECT_TRUE(same_keys(*sa, *reference)) << cpe.name;
        EXPECT_EQ(cpe.bridge.counters().installed, 1U);
    }
    EXPECT_EQ(net.gateway().counters().puts_acked, 3U);
    // The three IKE SAs the bridge sent on (the harness drains every SA, so it never asks).
    EXPECT_EQ(net.gateway().take_driven().size(), 3U);
    EXPECT_TRUE(net.gateway().take_driven().empty());
    EXPECT_EQ(net.gateway().counters().puts_failed, 0U);
    // The keys are KEYMAT of what was sent: derived again from the CPE's copy of Nonce and SK_d.
    const auto again =
        derive_group_sa_keys(reference->suite, reference->sk_d.view(), reference->nonce);
    ASSERT_TRUE(again.has_value());
    EXPECT_TRUE(ike::constant_time_equal(again->encryption_key.view(),
                                         reference->keys.encryption_key.view()));
}

TEST_F(ThreeCpes, RekeyWithRolloverReachesAllAndTheTimelinesFollowRoll1AndRoll2) {
    // Lifetime 3600 s, rekey margin 300 s: the rekey starts 3300 s after the group was created.
    net.run_until(group_created + 3300s + 1s);
    const auto status = net.gateway().groups().status("branch");
    ASSERT_TRUE(status->next_spi.has_value()) << "rollover in progress";
    const std::uint32_t new_spi = *status->next_spi;
    EXPECT_NE(new_spi, first_spi);
    EXPECT_EQ(status->acked_next, 3U);
    EXPECT_EQ(status->rekeys, 1U);

    net.run_for(120s);
    const CpeGroupSa* reference = nullptr;
    for (int i = 1; i <= 3; ++i) {
        CpeNode& cpe = net.cpe(i);
        const auto installed = event_time(cpe, CpeEventKind::kInstalled, new_spi);
        const auto switched = event_time(cpe, CpeEventKind::kOutboundChanged, new_spi);
        const auto old_removed = event_time(cpe, CpeEventKind::kRolledOver, first_spi);
        ASSERT_TRUE(installed && switched && old_removed) << cpe.name;
        EXPECT_GE(*installed, group_created + 3300s);
        EXPECT_LT(*installed, group_created + 3301s);
        EXPECT_EQ(*switched - *installed, Duration(30s)) << cpe.name << ": outbound after ROLL1";
        EXPECT_EQ(*old_removed - *installed, Duration(60s)) << cpe.name << ": old gone after ROLL2";
        EXPECT_EQ(count_events(cpe, CpeEventKind::kExpired, first_spi), 0U);
        const auto desired = cpe.bridge.lifecycle().desired();
        EXPECT_EQ(desired.inbound_spis, std::vector<std::uint32_t>{new_spi});
        EXPECT_EQ(desired.outbound_spi, new_spi);
        const CpeGroupSa* sa = cpe.bridge.lifecycle().find(new_spi);
        ASSERT_NE(sa, nullptr);
        if (reference == nullptr) reference = sa;
        EXPECT_TRUE(same_keys(*sa, *reference)) << cpe.name;
    }
    // All three switch at most one network delay apart: nobody sends on an SA a peer lacks.
    const auto first_switch = event_time(net.cpe(1), CpeEventKind::kOutboundChanged, new_spi);
    for (int i = 2; i <= 3; ++i) {
        const auto t = event_time(net.cpe(i), CpeEventKind::kOutboundChanged, new_spi);
        EXPECT_LE(std::chrono::abs(*t - *first_switch), Duration(1s));
    }
    EXPECT_EQ(net.gateway().groups().status("branch")->current_spi, new_spi);
}

TEST_F(ThreeCpes, MembersLeavingTriggerOneDampedRekeyForTheOthers) {
    // min_rekey_interval 60 s since the group's first SA: the leave's rekey waits for it.
    net.cpe(3).sa->close();
    net.run_for(2s);
    EXPECT_EQ(net.cpe(3).ike_downs, 1U);
    auto status = net.gateway().groups().status("branch");
    EXPECT_EQ(status->members, 2U);
    ASSERT_TRUE(status->pending_rekey_at.has_value());
    EXPECT_EQ(*status->pending_rekey_at, group_created + 60s);
    // A second member leaves meanwhile: the same rekey covers it (no rekey storm).
    net.cpe(2).sa->close();
    net.run_until(group_created + 59s);
    EXPECT_EQ(net.gateway().groups().status("branch")->rekeys, 0U);
    net.run_until(group_created + 300s);
    status = net.gateway().groups().status("branch");
    EXPECT_EQ(status->rekeys, 1U);
    ASSERT_TRUE(status->current_spi.has_value());
    const std::uint32_t new_spi = *status->current_spi;
    EXPECT_NE(new_spi, first_spi);
    const auto installed = event_time(net.cpe(1), CpeEventKind::kInstalled, new_spi);
    ASSERT_TRUE(installed.has_value());
    EXPECT_GE(*installed, group_created + 60s);
    EXPECT_LT(*installed, group_created + 61s);
    EXPECT_EQ(net.cpe(1).bridge.lifecycle().desired().outbound_spi, new_spi);
    EXPECT_EQ(net.cpe(1).bridge.lifecycle().find(first_spi), nullptr) << "rolled over";
    for (int i = 2; i <= 3; ++i)
        EXPECT_EQ(net.cpe(i).bridge.lifecycle().find(new_spi), nullptr)
            << "a leaver does not get the new SA";
}

TEST_F(ThreeCpes, FlappingMemberWithinTheDampingIntervalCausesNoRekey) {
    // Right after the group was created, a leave's rekey is held for min_rekey_interval.
    net.cpe(3).sa->close();
    net.run_for(2s);
    ASSERT_TRUE(net.gateway().groups().status("branch")->pending_rekey_at.has_value());
    net.connect(net.cpe(3));
    net.run_for(120s);
    const auto status = net.gateway().groups().status("branch");
    EXPECT_EQ(status->rekeys, 0U);
    EXPECT_EQ(status->members, 3U);
    EXPECT_EQ(status->acked_current, 3U);
    EXPECT_EQ(net.cpe(3).bridge.lifecycle().desired().outbound_spi, first_spi);
}

TEST(TwoParty, MemberJoiningDuringARolloverGetsBothSasAndSwitchesWithTheOthers) {
    TwoPartyNet net{3};
    net.delay = 20ms;
    ASSERT_TRUE(net.gateway().groups().add_group(branch_group()).has_value());
    const TimePoint created = net.clock.now();
    net.connect(net.cpe(1));
    net.connect(net.cpe(2));
    net.run_until(created + 3300s + 10s);  // 10 s into the rollover (ROLL1 30 s, ROLL2 60 s)
    const auto status = net.gateway().groups().status("branch");
    ASSERT_TRUE(status->current_spi && status->next_spi);
    const std::uint32_t old_spi = *status->current_spi;
    const std::uint32_t new_spi = *status->next_spi;

    CpeNode& late = net.cpe(3);
    net.connect(late);
    net.run_for(5s);
    EXPECT_EQ(late.bridge.lifecycle().desired().inbound_spis,
              (std::vector<std::uint32_t>{std::min(old_spi, new_spi), std::max(old_spi, new_spi)}));
    EXPECT_EQ(late.bridge.lifecycle().desired().outbound_spi, old_spi)
        << "sends on the SA everyone else still sends on";
    net.run_for(120s);
    const auto early_switch = event_time(net.cpe(1), CpeEventKind::kOutboundChanged, new_spi);
    const auto late_switch = event_time(late, CpeEventKind::kOutboundChanged, new_spi);
    const auto early_removal = event_time(net.cpe(1), CpeEventKind::kRolledOver, old_spi);
    const auto late_removal = event_time(late, CpeEventKind::kRolledOver, old_spi);
    ASSERT_TRUE(early_switch && late_switch && early_removal && late_removal);
    // Announced as time left in whole seconds: the same absolute time within a second.
    EXPECT_LE(std::chrono::abs(*late_switch - *early_switch), Duration(1s));
    EXPECT_LE(std::chrono::abs(*late_removal - *early_removal), Duration(1s));
    EXPECT_EQ(late.bridge.lifecycle().desired().inbound_spis, std::vector<std::uint32_t>{new_spi});
}

TEST(TwoParty, UnreachableMemberTimesOutAndCountsAsLeft) {
    TwoPartyNet net{2};
    ASSERT_TRUE(net.gateway().groups().add_group(branch_group()).has_value());
    const TimePoint created = net.clock.now();
    net.connect_all();
    net.run_for(5s);
    ASSERT_EQ(net.gateway().groups().status("branch")->acked_current, 2U);
    // cpe2 drops off the network just before the rekey: its MPSA_PUT is never answered.
    net.run_until(created + 3299s);
    CpeNode& gone = net.cpe(2);
    net.drop = [&](const ike::Datagram& d) {
        return d.remote == gone.endpoint || d.local == gone.endpoint;
    };
    net.run_until(created + 3300s + 400s);
    // The INFORMATIONAL timed out: the IKE SA went down with it, the member left, and the
    // leave's rekey reached the remaining member.
    EXPECT_GE(net.gateway().counters().puts_failed, 1U);
    EXPECT_EQ(net.gateway_sa(gone), nullptr);
    const auto status = net.gateway().groups().status("branch");
    EXPECT_EQ(status->members, 1U);
    EXPECT_EQ(status->rekeys, 2U) << "lifetime rekey, then the rekey for the leaver";
    ASSERT_TRUE(status->current_spi.has_value());
    EXPECT_NE(net.cpe(1).bridge.lifecycle().find(*status->current_spi), nullptr);
    EXPECT_EQ(gone.bridge.lifecycle().find(*status->current_spi), nullptr);
}

TEST(TwoParty, LossyNetworkStillBringsEveryCpeTheSameSasThroughARekey) {
    TwoPartyNet net{3};
    net.delay = 50ms;
    std::size_t seen = 0;
    net.drop = [&](const ike::Datagram&) { return ++seen % 4 == 0; };  // every 4th datagram
    ASSERT_TRUE(net.gateway().groups().add_group(branch_group()).has_value());
    const TimePoint created = net.clock.now();
    net.connect_all();
    net.run_until(created + 3300s + 200s);
    EXPECT_GT(net.dropped, 10U);
    const auto status = net.gateway().groups().status("branch");
    EXPECT_EQ(status->members, 3U);
    EXPECT_EQ(status->rekeys, 1U);
    ASSERT_TRUE(status->current_spi.has_value());
    const CpeGroupSa* reference = net.cpe(1).bridge.lifecycle().find(*status->current_spi);
    ASSERT_NE(reference, nullptr);
    for (int i = 1; i <= 3; ++i) {
        CpeNode& cpe = net.cpe(i);
        EXPECT_EQ(cpe.ike_downs, 0U) << cpe.name;
        EXPECT_EQ(cpe.bridge.lifecycle().desired().outbound_spi, status->current_spi) << cpe.name;
        const CpeGroupSa* sa = cpe.bridge.lifecycle().find(*status->current_spi);
        ASSERT_NE(sa, nullptr) << cpe.name;
        EXPECT_TRUE(same_keys(*sa, *reference)) << cpe.name;
    }
}

TEST(TwoParty, IkeSaRekeyWhileAnMpsaPutIsInFlightSendsItAgainOnTheNewIkeSa) {
    TwoPartyNet net{1};
    ASSERT_TRUE(net.gateway().groups().add_group(branch_group()).has_value());
    CpeNode& cpe = net.cpe(1);
    // The gateway's first INFORMATIONAL request (the MPSA_PUT) never arrives.
    bool dropped_put = false;
    net.drop = [&](const ike::Datagram& d) {
        if (dropped_put || d.remote != cpe.endpoint || !testing::is_informational_request(d))
            return false;
        dropped_put = true;
        return true;
    };
    net.connect(cpe);
    net.run_for(1s);
    ASSERT_TRUE(dropped_put);
    ASSERT_EQ(cpe.sa->state(), ike::IkeSaState::kEstablished);
    const std::uint32_t spi = *net.gateway().groups().status("branch")->current_spi;
    EXPECT_EQ(cpe.bridge.lifecycle().find(spi), nullptr);

    // Before the gateway retransmits (4 s), the CPE rekeys the IKE SA.
    const ike::IkeSpis old_spis = cpe.sa->spis();
    cpe.sa->rekey_ike_sa();
    net.run_for(1s);
    const ike::IkeSpis new_spis = cpe.sa->spis();
    ASSERT_NE(new_spis, old_spis);
    ASSERT_FALSE(cpe.puts_received_on.empty()) << "the PUT came before any retransmission";
    for (const auto& on : cpe.puts_received_on) EXPECT_EQ(on, new_spis);
    ASSERT_NE(cpe.bridge.lifecycle().find(spi), nullptr);
    EXPECT_EQ(cpe.bridge.counters().installed, 1U);
    // Sent twice by the bridge (first try, again after the rekey); the engine also carries the
    // unanswered first request over to the new IKE SA, so the CPE may see it as a duplicate.
    EXPECT_EQ(net.gateway().counters().puts_sent, 2U);
    EXPECT_EQ(cpe.puts_received_on.size(), 1U + cpe.bridge.counters().duplicates);
    EXPECT_EQ(net.gateway().groups().status("branch")->acked_current, 1U);
    EXPECT_EQ(cpe.sa->state(), ike::IkeSaState::kEstablished);
    EXPECT_EQ(net.gateway().counters().puts_failed, 0U);
}

TEST(TwoParty, PeerWithoutTheVendorIdGetsNoMpsaPut) {
    TwoPartyNet net{2};
    net.add_cpe(false);  // cpe3 does not send "multi-point SA"
    ASSERT_TRUE(net.gateway().groups().add_group(branch_group()).has_value());
    net.connect_all();
    net.run_for(10s);
    CpeNode& plain = net.cpe(3);
    ASSERT_EQ(plain.sa->state(), ike::IkeSaState::kEstablished) << "an IKEv2 peer like any other";
    EXPECT_TRUE(plain.puts_received_on.empty());
    EXPECT_EQ(net.gateway().groups().status("branch")->members, 2U);
    EXPECT_EQ(net.gateway().counters().peers_without_mpsa, 1U);
    EXPECT_EQ(net.gateway().counters().puts_sent, 2U);
    const auto view = net.gateway().member(*net.gateway_attached(plain));
    ASSERT_TRUE(view.has_value());
    EXPECT_EQ(view->identity, "cpe3.example");
    EXPECT_FALSE(view->mpsa);
    EXPECT_EQ(view->peer, plain.endpoint);
}

TEST(TwoParty, GatewayWithoutTheVendorIdSendsNothing) {
    TwoPartyNet net{2, /*gateway_sends_vid=*/false};
    ASSERT_TRUE(net.gateway().groups().add_group(branch_group()).has_value());
    net.connect_all();
    net.run_for(10s);
    EXPECT_EQ(net.gateway().groups().status("branch")->members, 0U);
    EXPECT_EQ(net.gateway().counters().puts_sent, 0U);
}

// A raw MPSA_PUT Notify as the IKE engine carries it.
ike::NotifyPayload put_notify(const MpsaPut& put) {
    ike::NotifyPayload n;
    n.protocol = ike::ProtocolId::kEsp;
    n.spi = {static_cast<std::uint8_t>(put.spi >> 24), static_cast<std::uint8_t>(put.spi >> 16),
             static_cast<std::uint8_t>(put.spi >> 8), static_cast<std::uint8_t>(put.spi)};
    n.type = kMpsaPutNotifyType;
    const auto data = encode_mpsa_put_data(put);
    EXPECT_TRUE(data.has_value());
    n.data.assign(data->data(), data->data() + data->size());
    return n;
}

MpsaPut sample_put(std::uint32_t spi) {
    MpsaPut put;
    put.spi = spi;
    put.suite = suites::default_suite();
    put.nonce = ike::Bytes(32, 0x5a);
    put.sk_d = ike::SecretBytes(ike::Bytes(32, 0xa5));
    put.lifetime_s = 600;
    return put;
}

// Sends notifies from the gateway's IKE SA to the CPE, past the bridge (as a buggy or hostile
// gateway would); returns the INFORMATIONAL's outcome as the gateway's IKE SA reports it.
std::optional<ike::NotifyRequestDone> push_raw(TwoPartyNet& net, CpeNode& cpe,
                                               std::vector<ike::NotifyPayload> notifies) {
    ike::IkeSa* sa = net.gateway_sa(cpe);
    if (sa == nullptr) return std::nullopt;
    const ike::RequestId id = sa->send_notifies(std::move(notifies));
    net.run_for(1s);
    for (const auto& done : net.gateway_requests_done)
        if (done.id == id) return done;
    return std::nullopt;
}

// The CPE answered with an empty SK payload: no error notify, the exchange completed.
void expect_empty_answer(const std::optional<ike::NotifyRequestDone>& done) {
    ASSERT_TRUE(done.has_value());
    EXPECT_EQ(done->outcome, ike::NotifyOutcome::kAnswered);
    EXPECT_TRUE(done->response.empty());
}

TEST(TwoParty, MalformedMpsaPutIsCountedByErrorAndTheIkeSaStays) {
    TwoPartyNet net{1};
    CpeNode& cpe = net.cpe(1);
    net.connect(cpe);
    net.run_for(2s);
    ASSERT_EQ(cpe.sa->state(), ike::IkeSaState::kEstablished);

    auto short_nonce = put_notify(sample_put(0x1000));
    short_nonce.spi = {0x00, 0x00, 0x20, 0x00};  // SPI field disagrees with the proposal
    auto truncated = put_notify(sample_put(0x1001));
    truncated.data.resize(truncated.data.size() - 3);
    std::vector<ike::NotifyPayload> notifies;
    notifies.push_back(std::move(short_nonce));
    notifies.push_back(std::move(truncated));
    notifies.push_back(put_notify(sample_put(0x1002)));  // a good one alongside
    expect_empty_answer(push_raw(net, cpe, std::move(notifies)));

    ASSERT_EQ(cpe.results.size(), 3U);
    EXPECT_EQ(cpe.results[0].outcome.error(), PutRejection::kMalformed);
    EXPECT_EQ(cpe.results[0].malformation, PutError::kSpiMismatch);
    EXPECT_EQ(cpe.results[1].outcome.error(), PutRejection::kMalformed);
    ASSERT_TRUE(cpe.results[1].malformation.has_value());
    EXPECT_NE(*cpe.results[1].malformation, PutError::kSpiMismatch);
    EXPECT_EQ(cpe.results[2].outcome.value(), PutDisposition::kInstalled);
    EXPECT_EQ(cpe.bridge.counters().malformed, 2U);
    EXPECT_EQ(cpe.bridge.counters().malformed_by_error.at(PutError::kSpiMismatch), 1U);
    EXPECT_EQ(cpe.bridge.counters().installed, 1U);
    EXPECT_EQ(cpe.sa->state(), ike::IkeSaState::kEstablished);
    EXPECT_EQ(net.gateway_sa(cpe)->state(), ike::IkeSaState::kEstablished);
    EXPECT_EQ(cpe.ike_downs, 0U);
}

TEST(TwoParty, CpeAcceptsMpsaPutOnlyFromTheConfiguredGatewayWithVendorIds) {
    {
        // The IKE SA's peer authenticated as gw.example, but the CPE expects another gateway.
        TwoPartyNet net{1, true, "other-gw.example"};
        CpeNode& cpe = net.cpe(1);
        cpe.config.remote_id = testing::fqdn("gw.example");
        net.connect(cpe);
        net.run_for(2s);
        std::vector<ike::NotifyPayload> notifies;
        notifies.push_back(put_notify(sample_put(0x2000)));
        expect_empty_answer(push_raw(net, cpe, std::move(notifies)));
        ASSERT_EQ(cpe.results.size(), 1U);
        EXPECT_EQ(cpe.results[0].outcome.error(), PutRejection::kNotFromGateway);
        EXPECT_EQ(cpe.results[0].spi, 0x2000U);
        EXPECT_EQ(cpe.bridge.lifecycle().find(0x2000), nullptr);
        EXPECT_EQ(cpe.sa->state(), ike::IkeSaState::kEstablished);
    }
    {
        // The gateway did not send the Vendor ID: MPSA is not in use on this IKE SA.
        TwoPartyNet net{1, /*gateway_sends_vid=*/false};
        CpeNode& cpe = net.cpe(1);
        net.connect(cpe);
        net.run_for(2s);
        std::vector<ike::NotifyPayload> notifies;
        notifies.push_back(put_notify(sample_put(0x2001)));
        expect_empty_answer(push_raw(net, cpe, std::move(notifies)));
        ASSERT_EQ(cpe.results.size(), 1U);
        EXPECT_EQ(cpe.results[0].outcome.error(), PutRejection::kNoVendorId);
        EXPECT_EQ(cpe.bridge.counters().without_vendor_id, 1U);
        EXPECT_EQ(cpe.sa->state(), ike::IkeSaState::kEstablished);
    }
    {
        // The CPE itself did not send it (MPSA not configured here): refused as well.
        TwoPartyNet net{0};
        CpeNode& cpe = net.add_cpe(false);
        net.connect(cpe);
        net.run_for(2s);
        std::vector<ike::NotifyPayload> notifies;
        notifies.push_back(put_notify(sample_put(0x2002)));
        expect_empty_answer(push_raw(net, cpe, std::move(notifies)));
        ASSERT_EQ(cpe.results.size(), 1U);
        EXPECT_EQ(cpe.results[0].outcome.error(), PutRejection::kNoVendorId);
        EXPECT_EQ(cpe.bridge.lifecycle().find(0x2002), nullptr);
    }
}

}  // namespace
}  // namespace mpsa::mpsa
