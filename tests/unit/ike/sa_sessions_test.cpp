// IkeSessions: many IKE SAs behind one "socket" on each host, datagrams routed by SPI, responder
// SAs created per IKE_SA_INIT with cookies above the half-open threshold.
#include <gtest/gtest.h>

#include "mpsa/ike/ike_session.hpp"
#include "sa_test_harness.hpp"

namespace mpsa::ike {
namespace {

using testing::events_of;
using testing::FakeInstaller;
using testing::fqdn;
using testing::psk;
using testing::ScriptedRandom;

class SaSessions : public ::testing::Test {
  protected:
    SaSessions()
        : gateway_(clock_, gw_random_, CookiePolicy{.half_open_threshold = 5},
                   [this](const Endpoint&, const Endpoint&) -> std::optional<ResponderSetup> {
                       return ResponderSetup{config("gw.example"), deps(gw_random_, gw_installer_)};
                   }),
          cpes_(clock_, cpe_random_, CookiePolicy{}, nullptr) {
        clock_.set(TimePoint{} + std::chrono::hours(1));
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

    static Endpoint cpe_endpoint(std::uint8_t n) {
        return Endpoint{IpAddress::v4(10, 0, 1, n), kIkePort};
    }

    SessionId start_cpe(std::uint8_t n) {
        auto id = cpes_.initiate(config("cpe" + std::to_string(n) + ".example"),
                                 deps(cpe_random_, cpe_installer_), cpe_endpoint(n), gw_);
        EXPECT_TRUE(id.has_value());
        return id.value_or(0);
    }

    // Moves datagrams between the two hosts until both are quiet.
    void pump() {
        for (int round = 0; round < 50; ++round) {
            auto up = cpes_.take_outgoing();
            auto down = gateway_.take_outgoing();
            if (up.empty() && down.empty()) return;
            for (const auto& d : up) gateway_.receive(Datagram{d.remote, d.local, d.kind, d.data});
            for (const auto& d : down) cpes_.receive(Datagram{d.remote, d.local, d.kind, d.data});
        }
    }

    ManualClock clock_;
    ScriptedRandom gw_random_{11};
    ScriptedRandom cpe_random_{12};
    FakeInstaller gw_installer_{0xa0000000};
    FakeInstaller cpe_installer_{0xb0000000};
    PskAuthenticator auth_{psk("group secret")};
    Endpoint gw_{IpAddress::v4(10, 0, 0, 1), kIkePort};
    IkeSessions gateway_;
    IkeSessions cpes_;
};

TEST_F(SaSessions, ManyPeersAreRoutedToTheirOwnIkeSa) {
    std::vector<SessionId> ids;
    for (std::uint8_t n = 1; n <= 4; ++n) ids.push_back(start_cpe(n));
    pump();
    EXPECT_EQ(gateway_.size(), 4U);
    EXPECT_EQ(gateway_.half_open(), 0U);
    EXPECT_EQ(gateway_.counters().cookies_sent, 0U);
    const auto up = gateway_.take_events();
    std::size_t ups = 0;
    for (const auto& e : up) ups += std::holds_alternative<IkeSaUp>(e.event) ? 1 : 0;
    EXPECT_EQ(ups, 4U);
    for (SessionId id : ids) {
        ASSERT_NE(cpes_.find(id), nullptr);
        EXPECT_EQ(cpes_.find(id)->state(), IkeSaState::kEstablished);
    }
    // Application notifies from the gateway reach the right CPE.
    for (const auto& e : up) {
        if (std::holds_alternative<IkeSaUp>(e.event)) {
            gateway_.find(e.session)->send_notifies({NotifyPayload{}});
            gateway_.collect(e.session);
        }
    }
    pump();
    std::size_t received = 0;
    for (const auto& e : cpes_.take_events()) {
        received += std::holds_alternative<NotifiesReceived>(e.event) ? 1 : 0;
    }
    EXPECT_EQ(received, 4U);
}

// The timer index must agree with a scan of every SA's next_timer(), including SAs driven
// directly through find() without collect(), and must run exactly the SAs that are due.
TEST_F(SaSessions, TimerIndexMatchesAScanOfAllSas) {
    auto scan = [](IkeSessions& sessions, const std::vector<SessionId>& ids) {
        std::optional<TimePoint> next;
        for (SessionId id : ids) {
            IkeSa* sa = sessions.find(id);
            if (sa == nullptr) continue;
            const auto t = sa->next_timer();
            if (t && (!next || *t < *next)) next = t;
        }
        return next;
    };
    std::vector<SessionId> ids;
    for (std::uint8_t n = 1; n <= 6; ++n) {
        ids.push_back(start_cpe(n));
        clock_.advance(std::chrono::milliseconds(100));  // distinct retransmission deadlines
    }
    ASSERT_TRUE(cpes_.next_timer().has_value());
    EXPECT_EQ(cpes_.next_timer(), scan(cpes_, ids));
    pump();
    EXPECT_EQ(cpes_.next_timer(), scan(cpes_, ids)) << "liveness checks of established SAs";
    // Driven directly (a liveness check queued by a notify request), not collected.
    cpes_.find(ids[3])->send_notifies({NotifyPayload{}});
    EXPECT_EQ(cpes_.next_timer(), scan(cpes_, ids));
    EXPECT_LT(*cpes_.next_timer(), clock_.now() + std::chrono::seconds(10))
        << "the outstanding request's retransmission, earlier than any liveness check";
    // Run the due timer: only the SA with the outstanding request retransmits.
    clock_.set(*cpes_.next_timer());
    cpes_.on_timer();
    // The request (never collected) and its retransmission, the same bytes, from CPE 4 only.
    const auto sent = cpes_.take_outgoing();
    ASSERT_EQ(sent.size(), 2U);
    EXPECT_EQ(sent[0].local, cpe_endpoint(4));
    EXPECT_EQ(sent[1].local, cpe_endpoint(4));
    EXPECT_EQ(sent[0].data, sent[1].data);
    EXPECT_EQ(cpes_.next_timer(), scan(cpes_, ids));
}

TEST_F(SaSessions, CookiesAboveTheHalfOpenThresholdThenEveryoneGetsIn) {
    for (std::uint8_t n = 1; n <= 8; ++n) start_cpe(n);
    for (const auto& d : cpes_.take_outgoing()) {
        gateway_.receive(Datagram{d.remote, d.local, d.kind, d.data});
    }
    EXPECT_EQ(gateway_.half_open(), 5U);
    EXPECT_EQ(gateway_.counters().cookies_sent, 3U);
    pump();
    EXPECT_EQ(gateway_.size(), 8U);
    EXPECT_EQ(gateway_.half_open(), 0U);
    std::size_t ups = 0;
    for (const auto& e : cpes_.take_events()) {
        ups += std::holds_alternative<IkeSaUp>(e.event) ? 1 : 0;
    }
    EXPECT_EQ(ups, 8U);
}

TEST_F(SaSessions, RetransmittedInitReachesTheSameHalfOpenSa) {
    start_cpe(1);
    auto init = cpes_.take_outgoing();
    ASSERT_EQ(init.size(), 1U);
    const Datagram seen{init[0].remote, init[0].local, init[0].kind, init[0].data};
    gateway_.receive(seen);
    gateway_.receive(seen);
    EXPECT_EQ(gateway_.size(), 1U);
    const auto answers = gateway_.take_outgoing();
    ASSERT_EQ(answers.size(), 2U);
    EXPECT_EQ(answers[0].data, answers[1].data);
}

TEST_F(SaSessions, UnknownSpiIsCountedAndClosedSasAreForgotten) {
    const SessionId id = start_cpe(1);
    pump();
    ASSERT_EQ(gateway_.size(), 1U);
    cpes_.find(id)->close();
    cpes_.collect(id);
    pump();
    EXPECT_EQ(gateway_.size(), 0U);
    EXPECT_EQ(cpes_.size(), 0U);
    EXPECT_EQ(cpes_.find(id), nullptr);
    // A message for the deleted SA's SPI.
    Datagram stray;
    stray.data = Bytes(28, 0);
    stray.data[7] = 1;
    stray.data[17] = 0x25;  // version 2.0; exchange INFORMATIONAL
    stray.data[16] = 0x20;
    gateway_.receive(stray);
    EXPECT_EQ(gateway_.counters().unknown_spi, 1U);
}

}  // namespace
}  // namespace mpsa::ike
