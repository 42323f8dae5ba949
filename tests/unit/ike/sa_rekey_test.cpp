// CREATE_CHILD_SA rekeys of the IKE SA (2.18) and of the CHILD_SA, started by either side, and
// simultaneous rekeys resolved by the lowest nonce (2.8.1, 2.8.2), table-driven over which of
// the four nonces is the lowest.
#include <gtest/gtest.h>

#include "mpsa/ike/message.hpp"
#include "mpsa/ike/notify_types.hpp"
#include "sa_test_harness.hpp"

namespace mpsa::ike {
namespace {

using testing::SaPair;
using testing::Side;

NotifyPayload app_notify(std::uint8_t marker) {
    NotifyPayload n;
    n.type = static_cast<std::uint16_t>(NotifyType::kMpsaPut);
    n.data = Bytes(8, marker);
    return n;
}

// Both directions still work on whatever IKE SA the two sides now share.
void expect_working_ike_sa(SaPair& pair) {
    ASSERT_EQ(pair.i.sa->spis(), pair.r.sa->spis());
    pair.i.sa->send_notifies({app_notify(1)});
    pair.r.sa->send_notifies({app_notify(2)});
    pair.pump();
    for (Side* s : {&pair.i, &pair.r}) {
        const auto done = s->got<NotifyRequestDone>();
        ASSERT_FALSE(done.empty());
        EXPECT_EQ(done.back().outcome, NotifyOutcome::kAnswered);
    }
}

void cross_requests(SaPair& pair);

class SaIkeRekey : public ::testing::TestWithParam<bool> {};

TEST_P(SaIkeRekey, EitherSideRekeysTheIkeSa) {
    SaPair pair;
    pair.establish();
    const bool by_initiator = GetParam();
    Side& rekeyer = by_initiator ? pair.i : pair.r;
    const IkeSpis old_spis = pair.i.sa->spis();
    const auto old_child = pair.i.installer.installed;
    rekeyer.sa->rekey_ike_sa();
    pair.pump();

    const IkeSpis new_spis = pair.i.sa->spis();
    EXPECT_EQ(new_spis, pair.r.sa->spis());
    EXPECT_NE(new_spis.initiator, old_spis.initiator);
    EXPECT_NE(new_spis.responder, old_spis.responder);
    // 2.18: whoever started the rekey is the new SA's original initiator.
    EXPECT_EQ(rekeyer.sa->is_original_initiator(), true);
    EXPECT_EQ((by_initiator ? pair.r : pair.i).sa->is_original_initiator(), false);
    for (Side* s : {&pair.i, &pair.r}) {
        const auto rekeyed = s->got<IkeSaRekeyed>();
        ASSERT_EQ(rekeyed.size(), 1U);
        EXPECT_EQ(rekeyed[0].old_spis, old_spis);
        EXPECT_EQ(rekeyed[0].new_spis, new_spis);
        EXPECT_FALSE(s->sa->owns_spi(old_spis.initiator)) << "old IKE SA deleted";
        EXPECT_EQ(s->sa->ike_sa_count(), 1U);
        EXPECT_TRUE(s->got<IkeSaDown>().empty());
        EXPECT_EQ(s->sa->state(), IkeSaState::kEstablished);
    }
    EXPECT_EQ(pair.i.installer.installed.size(), 1U) << "the CHILD_SA moved along";
    EXPECT_EQ(pair.i.installer.installed.begin()->first, old_child.begin()->first);
    expect_working_ike_sa(pair);
}

INSTANTIATE_TEST_SUITE_P(Sides, SaIkeRekey, ::testing::Bool());

TEST(SaIkeRekey, QueuedApplicationRequestsRunOnTheNewSa) {
    SaPair pair;
    pair.establish();
    pair.i.sa->rekey_ike_sa();
    pair.i.sa->send_notifies({app_notify(3)});
    pair.pump();
    const auto done = pair.i.got<NotifyRequestDone>();
    ASSERT_EQ(done.size(), 1U);
    EXPECT_EQ(done[0].outcome, NotifyOutcome::kAnswered);
}

TEST(SaIkeRekey, OutstandingRequestMovesToTheNewSaWhenThePeerRekeys) {
    SaPair pair;
    pair.establish();
    pair.i.sa->send_notifies({app_notify(4)});
    (void)pair.take(pair.i);  // lost on the old SA
    pair.r.sa->rekey_ike_sa();
    pair.pump();
    const IkeSpis now_spis = pair.i.sa->spis();
    EXPECT_EQ(now_spis, pair.r.sa->spis());
    const auto done = pair.i.got<NotifyRequestDone>();
    ASSERT_EQ(done.size(), 1U);
    EXPECT_EQ(done[0].outcome, NotifyOutcome::kAnswered);
    const auto received = pair.r.got<NotifiesReceived>();
    ASSERT_EQ(received.size(), 1U);
}

TEST(SaIkeRekey, ChildRekeyAnsweredOnTheOldSaWhileThePeerRekeysTheIkeSa) {
    SaPair pair;
    pair.establish();
    const auto old_child = pair.i.sa->child_sas().at(0);
    pair.i.sa->rekey_child_sa(old_child.inbound_spi);
    pair.r.sa->rekey_ike_sa();
    cross_requests(pair);
    EXPECT_EQ(pair.i.sa->spis(), pair.r.sa->spis());
    for (Side* s : {&pair.i, &pair.r}) {
        EXPECT_EQ(s->sa->ike_sa_count(), 1U);
        EXPECT_EQ(s->got<IkeSaRekeyed>().size(), 1U);
        EXPECT_EQ(s->got<ChildSaRekeyed>().size(), 1U);
        ASSERT_EQ(s->installer.installed.size(), 1U);
    }
    const auto& ci = pair.i.installer.installed.begin()->second;
    const auto& cr = pair.r.installer.installed.begin()->second;
    EXPECT_NE(ci.inbound.spi, old_child.inbound_spi);
    EXPECT_EQ(ci.outbound.spi, cr.inbound.spi);
    EXPECT_TRUE(constant_time_equal(ci.outbound.encr_key.view(), cr.inbound.encr_key.view()));
    expect_working_ike_sa(pair);
}

TEST(SaIkeRekey, RekeyedSaUsesFreshKeysDerivedFromTheOldSkD) {
    SaPair pair;
    pair.i.config.proposals = {testing::suite("aes128gcm16-prfsha256-x25519")};
    pair.r.config.proposals = pair.i.config.proposals;
    pair.establish();
    pair.i.sa->rekey_ike_sa();
    pair.pump();
    pair.i.sa->rekey_ike_sa();  // and once more, from the rekeyed SA
    pair.pump();
    EXPECT_EQ(pair.i.got<IkeSaRekeyed>().size(), 2U);
    expect_working_ike_sa(pair);
}

class SaChildRekey : public ::testing::TestWithParam<bool> {};

TEST_P(SaChildRekey, EitherSideRekeysTheChildSa) {
    SaPair pair;
    pair.establish();
    Side& rekeyer = GetParam() ? pair.i : pair.r;
    const auto old_child = rekeyer.sa->child_sas().at(0);
    rekeyer.sa->rekey_child_sa(old_child.inbound_spi);
    pair.pump();
    ASSERT_EQ(pair.i.installer.installed.size(), 1U);
    ASSERT_EQ(pair.r.installer.installed.size(), 1U);
    const auto& ci = pair.i.installer.installed.begin()->second;
    const auto& cr = pair.r.installer.installed.begin()->second;
    EXPECT_EQ(ci.outbound.spi, cr.inbound.spi);
    EXPECT_EQ(ci.inbound.spi, cr.outbound.spi);
    EXPECT_TRUE(constant_time_equal(ci.outbound.encr_key.view(), cr.inbound.encr_key.view()));
    EXPECT_NE(rekeyer.installer.installed.begin()->first, old_child.inbound_spi);
    EXPECT_EQ(rekeyer.installer.removed, std::vector<std::uint32_t>{old_child.inbound_spi});
    for (Side* s : {&pair.i, &pair.r}) {
        EXPECT_EQ(s->got<ChildSaRekeyed>().size(), 1U);
        EXPECT_EQ(s->got<ChildSaDown>().size(), 1U);
    }
}

INSTANTIATE_TEST_SUITE_P(Sides, SaChildRekey, ::testing::Bool());

TEST(SaRekeyTimers, IkeAndChildSasAreRekeyedOnTheirOwnAfterTheirIntervals) {
    SaPair pair;
    using std::chrono::seconds;
    pair.i.config.ike_rekey_interval = seconds(100);
    pair.i.config.child_rekey_interval = seconds(50);
    pair.i.config.rekey_jitter = seconds(10);
    pair.r.config.ike_rekey_interval = Duration::zero();
    pair.r.config.child_rekey_interval = Duration::zero();
    pair.i.config.dpd_interval = pair.r.config.dpd_interval = Duration::zero();
    pair.establish();
    const TimePoint start = pair.clock.now();
    const IkeSpis first = pair.i.sa->spis();
    EXPECT_EQ(pair.r.sa->next_timer(), std::nullopt);
    const TimePoint child_due = *pair.i.sa->next_timer();
    EXPECT_GT(child_due, start + seconds(40));
    EXPECT_LE(child_due, start + seconds(50));
    pair.advance_to_next_timer();
    pair.pump();
    EXPECT_EQ(pair.i.got<ChildSaRekeyed>().size(), 1U);
    EXPECT_EQ(pair.i.sa->spis(), first);
    while (pair.i.got<IkeSaRekeyed>().empty()) {
        ASSERT_LT(pair.clock.now(), start + seconds(101));
        pair.advance_to_next_timer();
        pair.pump();
    }
    EXPECT_GT(pair.clock.now(), start + seconds(90));
    EXPECT_NE(pair.i.sa->spis(), first);
    EXPECT_EQ(pair.i.sa->spis(), pair.r.sa->spis());
    EXPECT_EQ(pair.i.installer.installed.size(), 1U);
}

// The four nonces of two simultaneous rekeys: the initiator's exchange uses Ni = i_ni and
// Nr = r_nr, the responder's Ni = r_ni and Nr = i_nr. Exactly one is the lowest.
enum class Lowest { kInitiatorNi, kResponderNr, kResponderNi, kInitiatorNr };

struct CollisionCase {
    const char* name;
    Lowest lowest;
    bool initiator_exchange_survives;
};

void PrintTo(const CollisionCase& c, std::ostream* os) {
    *os << c.name;
}

const CollisionCase kCollisionCases[] = {
    {"InitiatorNiLowest", Lowest::kInitiatorNi, false},
    {"ResponderNrLowest", Lowest::kResponderNr, false},
    {"ResponderNiLowest", Lowest::kResponderNi, true},
    {"InitiatorNrLowest", Lowest::kInitiatorNr, true},
};

// Scripts the rekey nonces: the lowest starts with 0x01, the others with 0x80..0x82.
void script_nonces(SaPair& pair, Lowest lowest) {
    auto nonce = [](bool low, std::uint8_t other) {
        Bytes n(32, 0x55);
        n[0] = low ? 0x01 : other;
        return n;
    };
    // Fill order on each side: its own request's Ni first, then its response's Nr.
    pair.i.random.script(nonce(lowest == Lowest::kInitiatorNi, 0x80));
    pair.i.random.script(nonce(lowest == Lowest::kInitiatorNr, 0x81));
    pair.r.random.script(nonce(lowest == Lowest::kResponderNi, 0x82));
    pair.r.random.script(nonce(lowest == Lowest::kResponderNr, 0x83));
}

void cross_requests(SaPair& pair) {
    auto from_i = pair.take(pair.i);
    auto from_r = pair.take(pair.r);
    ASSERT_EQ(from_i.size(), 1U);
    ASSERT_EQ(from_r.size(), 1U);
    pair.deliver(pair.r, from_i[0]);
    pair.deliver(pair.i, from_r[0]);
    pair.pump();
}

class SaChildRekeyCollision : public ::testing::TestWithParam<CollisionCase> {};

TEST_P(SaChildRekeyCollision, LowestNonceSaIsDeletedAndOneChildRemains) {
    const CollisionCase& c = GetParam();
    SaPair pair;
    pair.establish();
    const std::uint32_t old_i = pair.i.sa->child_sas().at(0).inbound_spi;
    const std::uint32_t old_r = pair.r.sa->child_sas().at(0).inbound_spi;
    script_nonces(pair, c.lowest);
    pair.i.sa->rekey_child_sa(old_i);
    pair.r.sa->rekey_child_sa(old_r);
    cross_requests(pair);

    ASSERT_EQ(pair.i.installer.installed.size(), 1U);
    ASSERT_EQ(pair.r.installer.installed.size(), 1U);
    const auto& ci = pair.i.installer.installed.begin()->second;
    const auto& cr = pair.r.installer.installed.begin()->second;
    EXPECT_EQ(ci.outbound.spi, cr.inbound.spi);
    EXPECT_EQ(ci.inbound.spi, cr.outbound.spi);
    EXPECT_TRUE(constant_time_equal(ci.outbound.encr_key.view(), cr.inbound.encr_key.view()));
    // The initiator allocated old_i + 1 for its own request, old_i + 2 answering the peer's.
    EXPECT_EQ(ci.inbound.spi, c.initiator_exchange_survives ? old_i + 1 : old_i + 2);
    EXPECT_EQ(pair.i.sa->child_sas().size(), 1U);
    EXPECT_EQ(pair.r.sa->child_sas().size(), 1U);
    for (Side* s : {&pair.i, &pair.r}) {
        EXPECT_EQ(s->sa->state(), IkeSaState::kEstablished);
        const auto rekeyed = s->got<ChildSaRekeyed>();
        ASSERT_EQ(rekeyed.size(), 1U);
        EXPECT_EQ(rekeyed[0].new_inbound_spi, s->installer.installed.begin()->first);
    }
}

INSTANTIATE_TEST_SUITE_P(Table, SaChildRekeyCollision, ::testing::ValuesIn(kCollisionCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

class SaIkeRekeyCollision : public ::testing::TestWithParam<CollisionCase> {};

TEST_P(SaIkeRekeyCollision, LowestNonceSaIsDeletedAndOneIkeSaRemains) {
    const CollisionCase& c = GetParam();
    SaPair pair;
    pair.establish();
    const IkeSpis old_spis = pair.i.sa->spis();
    script_nonces(pair, c.lowest);
    pair.i.sa->rekey_ike_sa();
    pair.r.sa->rekey_ike_sa();
    cross_requests(pair);

    EXPECT_EQ(pair.i.sa->spis(), pair.r.sa->spis());
    EXPECT_NE(pair.i.sa->spis(), old_spis);
    // The survivor's original initiator is whoever started the surviving exchange.
    EXPECT_EQ(pair.i.sa->is_original_initiator(), c.initiator_exchange_survives);
    EXPECT_EQ(pair.r.sa->is_original_initiator(), !c.initiator_exchange_survives);
    for (Side* s : {&pair.i, &pair.r}) {
        EXPECT_EQ(s->sa->state(), IkeSaState::kEstablished);
        EXPECT_FALSE(s->sa->owns_spi(old_spis.initiator));
        EXPECT_EQ(s->got<IkeSaRekeyed>().size(), 1U);
        EXPECT_TRUE(s->got<IkeSaDown>().empty());
        EXPECT_FALSE(s->sa->next_timer() && *s->sa->next_timer() <= pair.clock.now());
    }
    // Only the survivor's SPIs remain: the redundant SA was deleted by its creator.
    const IkeSpis survivor = pair.i.sa->spis();
    for (Side* s : {&pair.i, &pair.r}) {
        std::size_t owned = 0;
        for (std::uint64_t spi : {survivor.initiator, survivor.responder}) {
            owned += s->sa->owns_spi(spi) ? 1 : 0;
        }
        EXPECT_EQ(owned, 2U);
        EXPECT_EQ(s->sa->ike_sa_count(), 1U);
    }
    EXPECT_EQ(pair.i.installer.installed.size(), 1U);
    expect_working_ike_sa(pair);
}

INSTANTIATE_TEST_SUITE_P(Table, SaIkeRekeyCollision, ::testing::ValuesIn(kCollisionCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace mpsa::ike
