// RFC 7296 2.21.4 both ways: a gateway that lost its IKE SAs (restart) answers requests for
// them with an unprotected INVALID_IKE_SPI, rate-limited; the initiator treats such an answer as
// an unauthenticated hint only: the IKE SA stays as it is.
#include <gtest/gtest.h>

#include "mpsa/ike/ike_session.hpp"
#include "mpsa/ike/message.hpp"
#include "mpsa/ike/notify_types.hpp"
#include "mpsa/ike/rate_limit.hpp"
#include "sa_test_harness.hpp"

namespace mpsa::ike {
namespace {

using testing::FakeInstaller;
using testing::fqdn;
using testing::psk;
using testing::ScriptedRandom;

constexpr auto kInvalidIkeSpi = static_cast<std::uint16_t>(NotifyType::kInvalidIkeSpi);

class InvalidIkeSpi : public ::testing::Test {
  protected:
    InvalidIkeSpi() : cpes_(clock_, cpe_random_, CookiePolicy{}, nullptr) {
        clock_.set(TimePoint{} + std::chrono::hours(1));
        gateway_ = make_gateway();
    }

    std::unique_ptr<IkeSessions> make_gateway() {
        return std::make_unique<IkeSessions>(
            clock_, gw_random_, CookiePolicy{},
            [this](const Endpoint&, const Endpoint&) -> std::optional<ResponderSetup> {
                return ResponderSetup{config("gw.example"), deps(gw_random_, gw_installer_)};
            });
    }
    IkeSaConfig config(const std::string& id) {
        IkeSaConfig c;
        c.proposals = {testing::suite("aes128gcm16-prfsha256-x25519")};
        c.local_id = fqdn(id);
        return c;
    }
    IkeSaDeps deps(ScriptedRandom& random, FakeInstaller& installer) {
        return IkeSaDeps{&clock_, &random, &auth_, &installer};
    }
    SessionId start_cpe() {
        auto id =
            cpes_.initiate(config("cpe1.example"), deps(cpe_random_, cpe_installer_), cpe_, gw_);
        EXPECT_TRUE(id.has_value());
        return id.value_or(0);
    }
    void pump() {
        for (int round = 0; round < 50; ++round) {
            auto up = cpes_.take_outgoing();
            auto down = gateway_->take_outgoing();
            if (up.empty() && down.empty()) return;
            for (const auto& d : up) gateway_->receive(flip(d));
            for (const auto& d : down) cpes_.receive(flip(d));
        }
    }
    static Datagram flip(const Datagram& d) { return Datagram{d.remote, d.local, d.kind, d.data}; }

    // An established IKE SA, then the gateway "restarts": a fresh IkeSessions without it.
    SessionId established_then_gateway_restart() {
        const SessionId id = start_cpe();
        pump();
        EXPECT_EQ(cpes_.find(id)->state(), IkeSaState::kEstablished);
        (void)cpes_.take_events();
        gateway_ = make_gateway();
        return id;
    }

    // A bare IKE header message (no payloads) from `from` to the gateway.
    Datagram bare(const Header& h, const Endpoint& from) {
        Message m{h, {}};
        auto bytes = encode(m);
        EXPECT_TRUE(bytes.has_value());
        return Datagram{gw_, from, DatagramKind::kIke, bytes.value_or(Bytes())};
    }
    static Header request_header(std::uint64_t spi_i, std::uint64_t spi_r, std::uint32_t mid) {
        Header h;
        h.initiator_spi = spi_i;
        h.responder_spi = spi_r;
        h.exchange_type = ExchangeType::kInformational;
        h.initiator = true;
        h.message_id = mid;
        return h;
    }

    ManualClock clock_;
    ScriptedRandom gw_random_{21};
    ScriptedRandom cpe_random_{22};
    FakeInstaller gw_installer_{0xa0000000};
    FakeInstaller cpe_installer_{0xb0000000};
    PskAuthenticator auth_{psk("group secret")};
    Endpoint gw_{IpAddress::v4(10, 0, 0, 1), kIkePort};
    Endpoint cpe_{IpAddress::v4(10, 0, 1, 1), kIkePort};
    std::unique_ptr<IkeSessions> gateway_;
    IkeSessions cpes_;
};

TEST_F(InvalidIkeSpi, RestartedResponderAnswersAndInitiatorGetsAHintButKeepsItsSa) {
    const SessionId id = established_then_gateway_restart();
    IkeSa* sa = cpes_.find(id);
    const IkeSpis spis = sa->spis();
    (void)sa->send_notifies({});  // an empty INFORMATIONAL, as a liveness check
    cpes_.collect(id);
    auto request = cpes_.take_outgoing();
    ASSERT_EQ(request.size(), 1U);
    const auto request_header = peek_header(request[0].data);
    ASSERT_TRUE(request_header.has_value());

    gateway_->receive(flip(request[0]));
    auto answer = gateway_->take_outgoing();
    ASSERT_EQ(answer.size(), 1U);
    EXPECT_EQ(gateway_->counters().invalid_spi_sent, 1U);
    EXPECT_EQ(gateway_->size(), 0U);  // stateless
    auto m = decode(answer[0].data);
    ASSERT_TRUE(m.has_value());
    EXPECT_TRUE(m->header.response);
    EXPECT_FALSE(m->header.initiator);
    EXPECT_EQ(m->header.exchange_type, ExchangeType::kInformational);
    EXPECT_EQ(m->header.initiator_spi, spis.initiator);
    EXPECT_EQ(m->header.responder_spi, spis.responder);
    EXPECT_EQ(m->header.message_id, request_header->message_id);
    ASSERT_EQ(m->payloads.size(), 1U);
    const auto* notify = std::get_if<NotifyPayload>(&m->payloads[0]);
    ASSERT_NE(notify, nullptr);
    EXPECT_EQ(notify->type, kInvalidIkeSpi);

    cpes_.receive(flip(answer[0]));
    auto hints = cpes_.take_hints();
    ASSERT_EQ(hints.size(), 1U);
    EXPECT_EQ(hints[0].session, id);
    EXPECT_EQ(hints[0].hint.spis, spis);
    EXPECT_EQ(hints[0].hint.peer, gw_);
    ASSERT_TRUE(hints[0].hint.peer_id.has_value());
    EXPECT_EQ(*hints[0].hint.peer_id, fqdn("gw.example"));
    // Unauthenticated: nothing torn down, no event, the request is still outstanding.
    ASSERT_NE(cpes_.find(id), nullptr);
    EXPECT_EQ(cpes_.find(id)->state(), IkeSaState::kEstablished);
    EXPECT_TRUE(cpes_.take_events().empty());
    EXPECT_EQ(cpes_.find(id)->counters().peer_lost_sa_hints, 1U);

    // The same answer again (to a retransmission) is counted but hinted only once.
    cpes_.receive(flip(answer[0]));
    EXPECT_TRUE(cpes_.take_hints().empty());
    EXPECT_EQ(cpes_.find(id)->counters().peer_lost_sa_hints, 2U);
    EXPECT_EQ(cpes_.find(id)->state(), IkeSaState::kEstablished);
}

TEST_F(InvalidIkeSpi, SpoofedAnswerLeavesAWorkingSaAlone) {
    const SessionId id = start_cpe();
    pump();
    IkeSa* sa = cpes_.find(id);
    ASSERT_EQ(sa->state(), IkeSaState::kEstablished);
    (void)cpes_.take_events();
    const RequestId request = sa->send_notifies({});
    cpes_.collect(id);
    auto sent = cpes_.take_outgoing();
    ASSERT_EQ(sent.size(), 1U);
    const auto h = peek_header(sent[0].data);
    ASSERT_TRUE(h.has_value());

    // An off-path attacker's INVALID_IKE_SPI with the right SPIs and message ID.
    Message spoof;
    spoof.header = *h;
    spoof.header.response = true;
    spoof.header.initiator = false;
    NotifyPayload n;
    n.type = kInvalidIkeSpi;
    spoof.payloads.emplace_back(n);
    auto bytes = encode(spoof);
    ASSERT_TRUE(bytes.has_value());
    cpes_.receive(Datagram{cpe_, gw_, DatagramKind::kIke, *bytes});
    EXPECT_EQ(cpes_.take_hints().size(), 1U);

    // The real gateway still answers, and the request completes normally.
    gateway_->receive(flip(sent[0]));
    for (const auto& d : gateway_->take_outgoing()) cpes_.receive(flip(d));
    ASSERT_NE(cpes_.find(id), nullptr);
    EXPECT_EQ(cpes_.find(id)->state(), IkeSaState::kEstablished);
    bool done = false;
    for (const auto& e : cpes_.take_events()) {
        if (const auto* d = std::get_if<NotifyRequestDone>(&e.event)) {
            done = d->id == request && d->outcome == NotifyOutcome::kAnswered;
        }
    }
    EXPECT_TRUE(done);
}

TEST_F(InvalidIkeSpi, AnswerToNoOutstandingRequestIsNoHint) {
    const SessionId id = established_then_gateway_restart();
    const IkeSpis spis = cpes_.find(id)->spis();
    Message spoof;
    spoof.header = request_header(spis.initiator, spis.responder, 7);
    spoof.header.response = true;
    spoof.header.initiator = false;
    NotifyPayload n;
    n.type = kInvalidIkeSpi;
    spoof.payloads.emplace_back(n);
    auto bytes = encode(spoof);
    ASSERT_TRUE(bytes.has_value());
    cpes_.receive(Datagram{cpe_, gw_, DatagramKind::kIke, *bytes});
    EXPECT_TRUE(cpes_.take_hints().empty());
    EXPECT_EQ(cpes_.find(id)->state(), IkeSaState::kEstablished);
}

TEST_F(InvalidIkeSpi, ResponsesAndTruncatedMessagesGetNothing) {
    Header response = request_header(0x1111, 0x2222, 3);
    response.response = true;
    response.initiator = false;
    gateway_->receive(bare(response, cpe_));
    EXPECT_EQ(gateway_->counters().unknown_spi, 1U);
    Datagram truncated{gw_, cpe_, DatagramKind::kIke, Bytes(27, 0)};
    gateway_->receive(truncated);
    EXPECT_EQ(gateway_->counters().malformed, 1U);
    EXPECT_TRUE(gateway_->take_outgoing().empty());
    EXPECT_EQ(gateway_->counters().invalid_spi_sent, 0U);
    EXPECT_EQ(gateway_->counters().invalid_spi_suppressed, 0U);
}

TEST_F(InvalidIkeSpi, FloodIsRateLimitedPerSourceAndGlobally) {
    gateway_->set_unsolicited_reply_limits(UnsolicitedReplyLimits{
        .per_source_burst = 3,
        .per_source_interval = std::chrono::seconds(1),
        .global_burst = 5,
        .global_interval = std::chrono::seconds(1),
    });
    for (std::uint32_t mid = 0; mid < 100; ++mid) {
        gateway_->receive(bare(request_header(0x1111, 0x2222, mid), cpe_));
    }
    EXPECT_EQ(gateway_->take_outgoing().size(), 3U);
    EXPECT_EQ(gateway_->counters().invalid_spi_sent, 3U);
    EXPECT_EQ(gateway_->counters().invalid_spi_suppressed, 97U);

    // Other sources get their own burst, until the global cap (5) is reached.
    for (std::uint8_t n = 2; n < 12; ++n) {
        gateway_->receive(
            bare(request_header(0x3333, 0x4444, 0), Endpoint{IpAddress::v4(10, 0, 1, n), 500}));
    }
    EXPECT_EQ(gateway_->take_outgoing().size(), 2U);

    // Tokens come back with time.
    clock_.advance(std::chrono::seconds(1));
    gateway_->receive(bare(request_header(0x1111, 0x2222, 100), cpe_));
    EXPECT_EQ(gateway_->take_outgoing().size(), 1U);
    EXPECT_EQ(gateway_->counters().invalid_spi_sent, 6U);
}

TEST(TokenBucket, BurstThenOnePerInterval) {
    TokenBucket bucket(1, std::chrono::seconds(10));
    const TimePoint t0 = TimePoint{} + std::chrono::hours(1);
    EXPECT_TRUE(bucket.take(t0));
    EXPECT_FALSE(bucket.take(t0));
    EXPECT_FALSE(bucket.take(t0 + std::chrono::seconds(9)));
    EXPECT_TRUE(bucket.take(t0 + std::chrono::seconds(10)));
    EXPECT_FALSE(bucket.take(t0 + std::chrono::seconds(19)));
    // A long pause does not bank more than the burst.
    EXPECT_TRUE(bucket.take(t0 + std::chrono::seconds(100)));
    EXPECT_FALSE(bucket.take(t0 + std::chrono::seconds(101)));
}

}  // namespace
}  // namespace mpsa::ike
