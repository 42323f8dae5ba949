// IKE_SA_INIT + IKE_AUTH between two IkeSa objects: suites, PSK, INVALID_KE_PAYLOAD, COOKIE,
// NAT detection, Vendor IDs, CHILD_SA modes and selector narrowing.
#include <gtest/gtest.h>

#include "mpsa/ike/message.hpp"
#include "mpsa/ike/notify_types.hpp"
#include "sa_test_harness.hpp"

namespace mpsa::ike {
namespace {

using testing::events_of;
using testing::fqdn;
using testing::SaPair;
using testing::suite;

class SaHandshakeSuites : public ::testing::TestWithParam<const char*> {};

TEST_P(SaHandshakeSuites, PskHandshakeEstablishesIkeAndChildSa) {
    SaPair pair;
    pair.i.config.proposals = {suite(GetParam())};
    pair.r.config.proposals = {suite("aes128-sha1-modp2048"), suite(GetParam())};
    pair.establish();

    EXPECT_EQ(pair.i.sa->suite(), suite(GetParam()));
    EXPECT_EQ(pair.r.sa->suite(), suite(GetParam()));
    EXPECT_EQ(pair.i.sa->spis(), pair.r.sa->spis());

    const auto up_i = pair.i.got<IkeSaUp>();
    const auto up_r = pair.r.got<IkeSaUp>();
    ASSERT_EQ(up_i.size(), 1U);
    ASSERT_EQ(up_r.size(), 1U);
    EXPECT_EQ(up_i[0].peer_id, fqdn("gw.example"));
    EXPECT_EQ(up_r[0].peer_id, fqdn("cpe1.example"));
    EXPECT_EQ(up_r[0].peer, pair.i.endpoint);

    // One CHILD_SA, the same keys in opposite directions on both sides.
    ASSERT_EQ(pair.i.installer.installed.size(), 1U);
    ASSERT_EQ(pair.r.installer.installed.size(), 1U);
    const auto& ci = pair.i.installer.installed.begin()->second;
    const auto& cr = pair.r.installer.installed.begin()->second;
    EXPECT_EQ(ci.outbound.spi, cr.inbound.spi);
    EXPECT_EQ(ci.inbound.spi, cr.outbound.spi);
    EXPECT_TRUE(constant_time_equal(ci.outbound.encr_key.view(), cr.inbound.encr_key.view()));
    EXPECT_TRUE(constant_time_equal(ci.inbound.encr_key.view(), cr.outbound.encr_key.view()));
    EXPECT_FALSE(constant_time_equal(ci.inbound.encr_key.view(), ci.outbound.encr_key.view()));
    EXPECT_EQ(ci.outbound.suite, (EspSuite{EncrId::kAesGcm16, 256, IntegId::kNone}));
    EXPECT_EQ(ci.outbound.mode, ChildMode::kTunnel);
    EXPECT_FALSE(ci.outbound.udp_encap);
    EXPECT_EQ(ci.outbound.destination, pair.r.endpoint);
    EXPECT_EQ(pair.i.got<ChildSaUp>().size(), 1U);
    EXPECT_EQ(pair.r.got<ChildSaUp>().size(), 1U);
}

INSTANTIATE_TEST_SUITE_P(Suites, SaHandshakeSuites,
                         ::testing::Values("aes256-sha256-modp2048", "aes128gcm16-prfsha256-x25519",
                                           "aes256-sha384-ecp384"));

TEST(SaHandshake, WrongPskIsRejectedWithAuthenticationFailed) {
    SaPair pair;
    pair.i.auth = PskAuthenticator(testing::psk("not the secret"));
    pair.start();
    pair.deliver_all(pair.i, pair.r);  // IKE_SA_INIT request
    pair.deliver_all(pair.r, pair.i);  // response
    pair.deliver_all(pair.i, pair.r);  // IKE_AUTH request
    auto answer = pair.take(pair.r);
    ASSERT_EQ(answer.size(), 1U);
    EXPECT_EQ(pair.r.sa->state(), IkeSaState::kDown);
    for (const auto& d : answer) pair.deliver(pair.i, d);
    EXPECT_EQ(pair.i.sa->state(), IkeSaState::kDown);
    const auto down_i = pair.i.got<IkeSaDown>();
    const auto down_r = pair.r.got<IkeSaDown>();
    ASSERT_EQ(down_i.size(), 1U);
    ASSERT_EQ(down_r.size(), 1U);
    EXPECT_EQ(down_i[0].reason, DownReason::kAuthenticationFailed);
    EXPECT_EQ(down_r[0].reason, DownReason::kAuthenticationFailed);
    EXPECT_TRUE(pair.i.installer.installed.empty());
    EXPECT_TRUE(pair.r.installer.installed.empty());
    EXPECT_TRUE(pair.i.got<IkeSaUp>().empty());
}

TEST(SaHandshake, ResponderAuthRejectedByTheInitiatorIsReported) {
    SaPair pair;
    // The responder signs with another key than the one the initiator expects from it.
    pair.r.auth = PskAuthenticator(testing::psk("other"), [](const Identification&) {
        return std::optional<SecretBytes>(testing::psk("secret"));
    });
    pair.start();
    pair.pump();
    EXPECT_EQ(pair.i.sa->state(), IkeSaState::kDown);
    const auto down_i = pair.i.got<IkeSaDown>();
    ASSERT_EQ(down_i.size(), 1U);
    EXPECT_EQ(down_i[0].reason, DownReason::kAuthenticationFailed);
    // The responder was up, then learnt about it from the AUTHENTICATION_FAILED notify.
    EXPECT_EQ(pair.r.got<IkeSaUp>().size(), 1U);
    EXPECT_EQ(pair.r.sa->state(), IkeSaState::kDown);
    const auto down_r = pair.r.got<IkeSaDown>();
    ASSERT_EQ(down_r.size(), 1U);
    EXPECT_EQ(down_r[0].reason, DownReason::kAuthenticationFailed);
    EXPECT_TRUE(pair.r.installer.installed.empty());
    const auto told = pair.r.got<NotifiesReceived>();
    ASSERT_EQ(told.size(), 1U);
    EXPECT_EQ(told[0].notifies[0].type,
              static_cast<std::uint16_t>(NotifyType::kAuthenticationFailed));
}

TEST(SaHandshake, UnexpectedPeerIdentityIsRejected) {
    SaPair pair;
    pair.r.config.remote_id = fqdn("someone-else.example");
    pair.start();
    pair.pump();
    EXPECT_EQ(pair.r.sa->state(), IkeSaState::kDown);
    EXPECT_EQ(pair.i.sa->state(), IkeSaState::kDown);
}

TEST(SaHandshake, InvalidKePayloadRetriesWithTheRequestedGroup) {
    SaPair pair;
    pair.i.config.proposals = {suite("aes128gcm16-prfsha256-x25519"),
                               suite("aes256-sha256-modp2048")};
    pair.r.config.proposals = {suite("aes256-sha256-modp2048")};
    pair.establish();
    EXPECT_EQ(pair.stateless_replies, 1);
    EXPECT_EQ(pair.i.sa->suite(), suite("aes256-sha256-modp2048"));
}

TEST(SaHandshake, InvalidKePayloadForAGroupNeverOfferedFails) {
    SaPair pair;
    pair.i.config.proposals = {suite("aes128gcm16-prfsha256-x25519")};
    pair.r.config.proposals = {suite("aes128gcm16-prfsha256-ecp256")};
    pair.start();
    pair.pump();
    EXPECT_FALSE(pair.r.sa);
    EXPECT_EQ(pair.i.sa->state(), IkeSaState::kDown);
    const auto down = pair.i.got<IkeSaDown>();
    ASSERT_EQ(down.size(), 1U);
    EXPECT_EQ(down[0].reason, DownReason::kNegotiationFailed);
}

TEST(SaHandshake, CookieRequiredAboveHalfOpenThreshold) {
    SaPair pair;
    pair.guard = std::make_unique<CookieGuard>(CookiePolicy{.half_open_threshold = 5}, pair.clock,
                                               pair.r.random);
    pair.half_open = 5;
    pair.establish();
    EXPECT_EQ(pair.cookie_replies, 1);
}

TEST(SaHandshake, CookieAndInvalidKeTogether) {
    SaPair pair;
    pair.guard = std::make_unique<CookieGuard>(CookiePolicy{.half_open_threshold = 0}, pair.clock,
                                               pair.r.random);
    pair.i.config.proposals = {suite("aes128gcm16-prfsha256-x25519"),
                               suite("aes256-sha384-ecp384")};
    pair.r.config.proposals = {suite("aes256-sha384-ecp384")};
    pair.establish();
    EXPECT_EQ(pair.cookie_replies, 1);
    EXPECT_EQ(pair.stateless_replies, 1);
}

TEST(SaHandshake, NoCookieBelowThreshold) {
    SaPair pair;
    pair.guard = std::make_unique<CookieGuard>(CookiePolicy{.half_open_threshold = 5}, pair.clock,
                                               pair.r.random);
    pair.half_open = 4;
    pair.establish();
    EXPECT_EQ(pair.cookie_replies, 0);
}

TEST(SaHandshake, VendorIdsAreExchangedAndExposed) {
    SaPair pair;
    const std::string mpsa_vid = "multi-point SA";
    pair.i.config.vendor_ids = {Bytes(mpsa_vid.begin(), mpsa_vid.end())};
    pair.r.config.vendor_ids = {Bytes(mpsa_vid.begin(), mpsa_vid.end()), Bytes{1, 2, 3}};
    pair.establish();
    EXPECT_EQ(pair.r.sa->peer_vendor_ids(), pair.i.config.vendor_ids);
    EXPECT_EQ(pair.i.sa->peer_vendor_ids(), pair.r.config.vendor_ids);
    const auto up = pair.i.got<IkeSaUp>();
    ASSERT_EQ(up.size(), 1U);
    EXPECT_EQ(up[0].peer_vendor_ids, pair.r.config.vendor_ids);
}

TEST(SaHandshake, InitRequestCarriesTheAdvertisedNotifies) {
    SaPair pair;
    pair.start();
    auto sent = pair.take(pair.i);
    ASSERT_EQ(sent.size(), 1U);
    auto m = decode(sent[0].data);
    ASSERT_TRUE(m.has_value());
    for (auto type :
         {NotifyType::kNatDetectionSourceIp, NotifyType::kNatDetectionDestinationIp,
          NotifyType::kIkev2FragmentationSupported, NotifyType::kSignatureHashAlgorithms}) {
        EXPECT_NE(find_notify(m->payloads, static_cast<std::uint16_t>(type)), nullptr)
            << notify_type_name(static_cast<std::uint16_t>(type));
    }
    EXPECT_EQ(sent[0].remote.port, kIkePort);
}

TEST(SaHandshake, NatDetectedFloatsToPort4500AndEncapsulatesEsp) {
    SaPair pair;
    pair.nat_source = Endpoint{IpAddress::v4(198, 51, 100, 7), 40000};
    pair.start();
    pair.deliver_all(pair.i, pair.r);
    pair.deliver_all(pair.r, pair.i);
    auto auth = pair.take(pair.i);
    ASSERT_EQ(auth.size(), 1U);
    EXPECT_EQ(auth[0].local.port, kNatTPort);
    EXPECT_EQ(auth[0].remote.port, kNatTPort);
    EXPECT_EQ(frame_for_udp(auth[0]).size(), auth[0].data.size() + 4);  // non-ESP marker
    for (const auto& d : auth) pair.deliver(pair.r, d);
    pair.pump();
    ASSERT_EQ(pair.i.sa->state(), IkeSaState::kEstablished);
    ASSERT_EQ(pair.r.sa->state(), IkeSaState::kEstablished);
    EXPECT_TRUE(pair.i.sa->local_behind_nat());
    EXPECT_TRUE(pair.r.sa->peer_behind_nat());
    EXPECT_FALSE(pair.r.sa->local_behind_nat());
    // The responder answers the NAT's mapping of port 4500.
    EXPECT_EQ(pair.r.sa->remote_endpoint().port, 40001);
    const auto& ci = pair.i.installer.installed.begin()->second;
    const auto& cr = pair.r.installer.installed.begin()->second;
    EXPECT_TRUE(ci.outbound.udp_encap);
    EXPECT_TRUE(cr.outbound.udp_encap);
    EXPECT_EQ(cr.outbound.destination.port, 40001);
    EXPECT_EQ(ci.outbound.destination.port, kNatTPort);

    // The side behind the NAT sends keepalives when it has sent nothing else for 20 s.
    const int before = pair.keepalives;
    pair.clock.advance(std::chrono::seconds(21));
    pair.i.sa->on_timer();
    pair.r.sa->on_timer();
    pair.pump();
    EXPECT_EQ(pair.keepalives, before + 1);
}

TEST(SaHandshake, TransportModeWhenBothAgree) {
    SaPair pair;
    pair.i.config.child->mode = ChildMode::kTransport;
    pair.r.config.child->mode = ChildMode::kTransport;
    pair.establish();
    EXPECT_EQ(pair.i.installer.installed.begin()->second.inbound.mode, ChildMode::kTransport);
    EXPECT_EQ(pair.r.installer.installed.begin()->second.inbound.mode, ChildMode::kTransport);
}

TEST(SaHandshake, TransportModeDeclinedByTheResponderFallsBackToTunnel) {
    SaPair pair;
    pair.i.config.child->mode = ChildMode::kTransport;
    pair.establish();
    // RFC 7296 1.3.1: without USE_TRANSPORT_MODE in the answer the CHILD_SA is a tunnel.
    ASSERT_EQ(pair.i.installer.installed.size(), 1U);
    EXPECT_EQ(pair.i.installer.installed.begin()->second.inbound.mode, ChildMode::kTunnel);
    EXPECT_EQ(pair.r.installer.installed.begin()->second.inbound.mode, ChildMode::kTunnel);
}

TEST(SaHandshake, TrafficSelectorsAreNarrowedToTheResponderConfiguration) {
    SaPair pair;
    pair.i.config.child->remote_ts = {ipv4_prefix_selector(10, 0, 0, 0, 8)};
    pair.establish();
    const auto& ci = pair.i.installer.installed.begin()->second;
    ASSERT_EQ(ci.outbound.destination_ts.size(), 1U);
    EXPECT_EQ(ci.outbound.destination_ts[0], ipv4_prefix_selector(10, 2, 0, 0, 16));
}

TEST(SaHandshake, DisjointSelectorsGiveTsUnacceptableButKeepTheIkeSa) {
    SaPair pair;
    pair.i.config.child->remote_ts = {ipv4_prefix_selector(192, 168, 0, 0, 16)};
    pair.establish();
    const auto failed = pair.i.got<ChildSaFailed>();
    ASSERT_EQ(failed.size(), 1U);
    EXPECT_EQ(failed[0].notify_type, static_cast<std::uint16_t>(NotifyType::kTsUnacceptable));
    EXPECT_TRUE(pair.i.installer.installed.empty());
    EXPECT_TRUE(pair.r.installer.installed.empty());
}

TEST(SaHandshake, KernelRefusingTheResponderChildSaKeepsTheIkeSa) {
    // strongSwan fails the whole IKE_AUTH on TEMPORARY_FAILURE; a local install failure must be
    // answered with a CHILD_SA-only error so the IKE SA survives on both sides.
    SaPair pair;
    pair.r.installer.reject = true;
    pair.establish();
    EXPECT_EQ(pair.i.got<IkeSaUp>().size(), 1U);
    EXPECT_EQ(pair.r.got<IkeSaUp>().size(), 1U);
    const auto failed = pair.i.got<ChildSaFailed>();
    ASSERT_EQ(failed.size(), 1U);
    EXPECT_EQ(failed[0].notify_type, static_cast<std::uint16_t>(NotifyType::kNoProposalChosen));
    EXPECT_TRUE(pair.i.installer.installed.empty());
    EXPECT_TRUE(pair.r.installer.installed.empty());
}

TEST(SaHandshake, NoCommonIkeProposalIsAnsweredStatelessly) {
    SaPair pair;
    pair.i.config.proposals = {suite("aes128-sha1-modp2048")};
    pair.r.config.proposals = {suite("aes256gcm16-prfsha384-ecp384")};
    pair.start();
    pair.pump();
    EXPECT_FALSE(pair.r.sa);
    EXPECT_EQ(pair.stateless_replies, 1);
    EXPECT_EQ(pair.i.sa->state(), IkeSaState::kDown);
}

TEST(SaHandshake, LostInitAndAuthResponsesAreRecoveredByRetransmission) {
    SaPair pair;
    pair.start();
    pair.deliver_all(pair.i, pair.r);
    ASSERT_EQ(pair.take(pair.r).size(), 1U);  // IKE_SA_INIT response lost
    pair.clock.advance(std::chrono::seconds(4));
    pair.i.sa->on_timer();
    auto init_again = pair.take(pair.i);
    ASSERT_EQ(init_again.size(), 1U);
    pair.deliver(pair.r, init_again[0]);
    pair.deliver(pair.r, init_again[0]);  // and a duplicate of it
    EXPECT_EQ(pair.r.sa->counters().retransmitted_responses, 2U);
    auto init_responses = pair.take(pair.r);
    ASSERT_EQ(init_responses.size(), 2U);
    EXPECT_EQ(init_responses[0].data, init_responses[1].data);
    for (const auto& d : init_responses) pair.deliver(pair.i, d);  // the second is stale
    EXPECT_EQ(pair.i.sa->counters().unexpected_message_id, 1U);

    pair.deliver_all(pair.i, pair.r);         // IKE_AUTH request
    ASSERT_EQ(pair.take(pair.r).size(), 1U);  // IKE_AUTH response lost
    EXPECT_EQ(pair.r.sa->state(), IkeSaState::kEstablished);
    EXPECT_EQ(pair.i.sa->state(), IkeSaState::kAuthSent);
    pair.clock.advance(std::chrono::seconds(4));
    pair.i.sa->on_timer();
    pair.pump();
    EXPECT_EQ(pair.i.sa->state(), IkeSaState::kEstablished);
    EXPECT_EQ(pair.r.got<IkeSaUp>().size(), 1U);
    EXPECT_EQ(pair.r.installer.installed.size(), 1U) << "IKE_AUTH processed once";
    EXPECT_EQ(pair.i.installer.installed.size(), 1U);
}

TEST(SaHandshake, UnansweredInitTimesOut) {
    SaPair pair;
    pair.start();
    while (pair.i.sa->state() != IkeSaState::kDown) {
        (void)pair.take(pair.i);
        pair.clock.set(*pair.i.sa->next_timer());
        pair.i.sa->on_timer();
    }
    const auto down = pair.i.got<IkeSaDown>();
    ASSERT_EQ(down.size(), 1U);
    EXPECT_EQ(down[0].reason, DownReason::kTimeout);
    EXPECT_FALSE(down[0].peer_id.has_value());
}

TEST(SaHandshake, HalfOpenResponderTimesOut) {
    SaPair pair;
    pair.start();
    pair.deliver_all(pair.i, pair.r);
    ASSERT_TRUE(pair.r.sa);
    EXPECT_EQ(pair.r.sa->state(), IkeSaState::kInitDone);
    pair.clock.advance(std::chrono::seconds(31));
    pair.r.sa->on_timer();
    EXPECT_EQ(pair.r.sa->state(), IkeSaState::kDown);
}

}  // namespace
}  // namespace mpsa::ike
