// CREATE_CHILD_SA with PFS (RFC 7296 1.3.1, 1.3.3: a KE payload in CHILD_SA creation and rekey,
// INVALID_KE_PAYLOAD answered by a retry in the group asked for) and additional CHILD_SAs on one
// IKE SA. Both peers are our IkeSa; the test reads the CREATE_CHILD_SA messages on the wire by
// opening them with the IKE SA keys a test key log receives.
#include <algorithm>

#include <gtest/gtest.h>

#include "mpsa/ike/cipher.hpp"
#include "mpsa/ike/keylog.hpp"
#include "mpsa/ike/keys.hpp"
#include "mpsa/ike/message_protection.hpp"
#include "mpsa/ike/notify_types.hpp"
#include "sa_test_harness.hpp"

namespace mpsa::ike {
namespace {

using testing::SaPair;
using testing::Side;

class RecordingKeyLog final : public KeyLogSink {
  public:
    void ike_sa_keys(const IkeSpis&, const Suite& s, const IkeSaKeys& k) override {
        suite = s;
        keys = k;
    }
    void child_sa_keys(const ChildSaInstall&) override {}
    Suite suite;
    IkeSaKeys keys;
};

// A pair whose CHILD_SAs use PFS groups as given (empty: no PFS) and whose exchanges are
// recorded in the clear, as far as they are CREATE_CHILD_SA.
class PfsPair : public SaPair {
  public:
    PfsPair(std::vector<DhGroup> initiator_groups, std::vector<DhGroup> responder_groups) {
        i.config.child->pfs_groups = std::move(initiator_groups);
        r.config.child->pfs_groups = std::move(responder_groups);
        i.deps.keylog = &keylog;
    }

    // As SaPair::pump, keeping the decrypted CREATE_CHILD_SA messages in `seen`.
    void pump_recording(int max_rounds = 50) {
        for (int round = 0; round < max_rounds; ++round) {
            auto from_i = take(i);
            auto from_r = take(r);
            if (from_i.empty() && from_r.empty()) break;
            for (const auto& d : from_i) {
                record(d);
                deliver(r, d);
            }
            for (const auto& d : from_r) {
                record(d);
                deliver(i, d);
            }
        }
        i.collect();
        r.collect();
    }

    void record(const Datagram& d) {
        const auto header = peek_header(d.data);
        if (!header || header->exchange_type != ExchangeType::kCreateChildSa) return;
        const bool from_i = header->initiator;
        auto transform =
            make_sk_transform(keylog.suite.encr, keylog.suite.encr_key_bits, keylog.suite.integ,
                              from_i ? keylog.keys.sk_ei : keylog.keys.sk_er,
                              from_i ? keylog.keys.sk_ai : keylog.keys.sk_ar);
        ASSERT_TRUE(transform.has_value());
        auto m = open_message(d.data, **transform);
        ASSERT_TRUE(m.has_value());
        seen.push_back(std::move(*m));
    }

    RecordingKeyLog keylog;
    std::vector<Message> seen;
};

const KePayload* ke_of(const Message& m) {
    return find_payload<KePayload>(m.payloads);
}

bool has_notify(const Message& m, NotifyType type) {
    return find_notify(m.payloads, static_cast<std::uint16_t>(type)) != nullptr;
}

// The two ends of every CHILD_SA agree on keys: our inbound is the peer's outbound.
void expect_matching_children(Side& a, Side& b) {
    ASSERT_EQ(a.installer.installed.size(), b.installer.installed.size());
    for (const auto& [inbound, sa] : a.installer.installed) {
        const auto peer = b.installer.installed.find(sa.outbound.spi);
        ASSERT_NE(peer, b.installer.installed.end()) << std::hex << sa.outbound.spi;
        EXPECT_EQ(peer->second.outbound.spi, inbound);
        EXPECT_TRUE(peer->second.outbound.encr_key.view().size() == sa.inbound.encr_key.size() &&
                    std::equal(peer->second.outbound.encr_key.view().begin(),
                               peer->second.outbound.encr_key.view().end(),
                               sa.inbound.encr_key.view().begin()));
    }
}

// Keys of the CHILD_SA that a CREATE_CHILD_SA (request, response) made, derived as if without
// PFS: must differ from the installed ones when a KE was exchanged.
SecretBytes no_pfs_initiator_key(const PfsPair& pair, const Message& request,
                                 const Message& response, std::size_t key_length) {
    const auto* ni = find_payload<NoncePayload>(request.payloads);
    const auto* nr = find_payload<NoncePayload>(response.payloads);
    EXPECT_TRUE(ni != nullptr && nr != nullptr);
    if (ni == nullptr || nr == nullptr) return {};
    auto keys = derive_child_sa_keys(pair.keylog.suite.prf, pair.keylog.keys.sk_d,
                                     ChildSaKeyLengths{key_length, 0}, ni->data, nr->data);
    EXPECT_TRUE(keys.has_value());
    return keys ? keys->encr_i : SecretBytes{};
}

bool same(const SecretBytes& a, const SecretBytes& b) {
    return a.size() == b.size() && std::equal(a.view().begin(), a.view().end(), b.view().begin());
}

class SaChildPfsRekey : public ::testing::TestWithParam<bool> {};

TEST_P(SaChildPfsRekey, RekeyCarriesKeAndKeysIncludeTheNewSecret) {
    PfsPair pair({DhGroup::kCurve25519}, {DhGroup::kCurve25519});
    pair.establish();
    const bool by_initiator = GetParam();
    Side& rekeyer = by_initiator ? pair.i : pair.r;
    const std::uint32_t old_inbound = rekeyer.installer.installed.begin()->first;
    rekeyer.sa->rekey_child_sa(old_inbound);
    pair.pump_recording();

    ASSERT_GE(pair.seen.size(), 2U);
    const Message& request = pair.seen[0];
    const Message& response = pair.seen[1];
    EXPECT_TRUE(has_notify(request, NotifyType::kRekeySa));
    ASSERT_NE(ke_of(request), nullptr) << "PFS: KEi in the rekey request";
    ASSERT_NE(ke_of(response), nullptr) << "PFS: KEr in the response";
    EXPECT_EQ(ke_of(request)->group, 31);
    EXPECT_EQ(ke_of(response)->group, 31);

    const auto rekeyed = rekeyer.got<ChildSaRekeyed>();
    ASSERT_EQ(rekeyed.size(), 1U);
    EXPECT_EQ(rekeyed[0].old_inbound_spi, old_inbound);
    EXPECT_EQ(pair.i.installer.installed.size(), 1U) << "old CHILD_SA deleted";
    expect_matching_children(pair.i, pair.r);
    const auto& fresh = rekeyer.installer.installed.at(rekeyed[0].new_inbound_spi);
    // The rekeyer initiated the exchange: its outbound key is the initiator's.
    const auto without_pfs =
        no_pfs_initiator_key(pair, request, response, fresh.outbound.encr_key.size());
    EXPECT_FALSE(same(without_pfs, fresh.outbound.encr_key))
        << "KEYMAT must include g^ir (new) of the CREATE_CHILD_SA";
}

INSTANTIATE_TEST_SUITE_P(Sides, SaChildPfsRekey, ::testing::Bool());

TEST(SaChildPfs, WithoutPfsTheRekeyHasNoKe) {
    PfsPair pair({}, {});
    pair.establish();
    pair.i.sa->rekey_child_sa(pair.i.installer.installed.begin()->first);
    pair.pump_recording();
    ASSERT_GE(pair.seen.size(), 2U);
    EXPECT_EQ(ke_of(pair.seen[0]), nullptr);
    EXPECT_EQ(ke_of(pair.seen[1]), nullptr);
    EXPECT_EQ(pair.i.got<ChildSaRekeyed>().size(), 1U);
    expect_matching_children(pair.i, pair.r);
}

TEST(SaChildPfs, InvalidKePayloadIsRetriedInTheGroupAskedFor) {
    // The initiator's KE is ECP-256, the responder only accepts Curve25519, which the
    // initiator's proposals also list: INVALID_KE_PAYLOAD(31), then a second request.
    PfsPair pair({DhGroup::kEcp256, DhGroup::kCurve25519}, {DhGroup::kCurve25519});
    pair.establish();
    const std::uint32_t old_inbound = pair.i.installer.installed.begin()->first;
    pair.i.sa->rekey_child_sa(old_inbound);
    pair.pump_recording();

    ASSERT_GE(pair.seen.size(), 4U);
    ASSERT_NE(ke_of(pair.seen[0]), nullptr);
    EXPECT_EQ(ke_of(pair.seen[0])->group, 19);
    const auto* invalid = find_notify(pair.seen[1].payloads,
                                      static_cast<std::uint16_t>(NotifyType::kInvalidKePayload));
    ASSERT_NE(invalid, nullptr);
    EXPECT_EQ(invalid->data, (Bytes{0, 31}));
    EXPECT_EQ(find_payload<SaPayload>(pair.seen[1].payloads), nullptr);
    ASSERT_NE(ke_of(pair.seen[2]), nullptr);
    EXPECT_EQ(ke_of(pair.seen[2])->group, 31);
    ASSERT_NE(ke_of(pair.seen[3]), nullptr);

    const auto rekeyed = pair.i.got<ChildSaRekeyed>();
    ASSERT_EQ(rekeyed.size(), 1U);
    EXPECT_EQ(rekeyed[0].old_inbound_spi, old_inbound);
    EXPECT_EQ(pair.i.installer.installed.size(), 1U);
    expect_matching_children(pair.i, pair.r);
    // The SPI allocated for the refused attempt was released.
    EXPECT_EQ(pair.i.installer.installed.count(rekeyed[0].new_inbound_spi), 1U);
}

TEST(SaChildPfs, InvalidKePayloadForAGroupWeDidNotOfferFailsTheRekey) {
    // Responder requires ECP-256, which the initiator never offered: NO_PROPOSAL_CHOSEN.
    PfsPair pair({DhGroup::kCurve25519}, {DhGroup::kEcp256});
    pair.establish();
    const std::uint32_t old_inbound = pair.i.installer.installed.begin()->first;
    pair.i.sa->rekey_child_sa(old_inbound);
    pair.pump_recording();
    ASSERT_EQ(pair.seen.size(), 2U);
    EXPECT_TRUE(has_notify(pair.seen[1], NotifyType::kNoProposalChosen));
    EXPECT_TRUE(pair.i.got<ChildSaRekeyed>().empty());
    EXPECT_EQ(pair.i.installer.installed.count(old_inbound), 1U) << "old CHILD_SA stays";
    EXPECT_EQ(pair.i.installer.installed.size(), 1U) << "new SPI released";
    EXPECT_EQ(pair.i.sa->state(), IkeSaState::kEstablished);
}

TEST(SaChildPfs, PfsRequiredByOneSideOnlyIsNoProposalChosen) {
    for (const bool initiator_wants_pfs : {true, false}) {
        SCOPED_TRACE(initiator_wants_pfs);
        PfsPair pair(
            initiator_wants_pfs ? std::vector{DhGroup::kCurve25519} : std::vector<DhGroup>{},
            initiator_wants_pfs ? std::vector<DhGroup>{} : std::vector{DhGroup::kCurve25519});
        pair.establish();  // IKE_AUTH's CHILD_SA has no KE either way
        ASSERT_EQ(pair.i.installer.installed.size(), 1U);
        const std::uint32_t old_inbound = pair.i.installer.installed.begin()->first;
        pair.i.sa->rekey_child_sa(old_inbound);
        pair.pump_recording();
        ASSERT_EQ(pair.seen.size(), 2U);
        EXPECT_TRUE(has_notify(pair.seen[1], NotifyType::kNoProposalChosen));
        EXPECT_TRUE(pair.i.got<ChildSaRekeyed>().empty());
        EXPECT_EQ(pair.i.installer.installed.size(), 1U);
        EXPECT_EQ(pair.r.installer.installed.size(), 1U);
    }
}

// 2.8.1 with PFS: both sides rekey the same CHILD_SA at once; the exchange with the lowest
// nonce is redundant. Param: whose request nonce is the lowest (its exchange loses).
class SaChildPfsRekeyCollision : public ::testing::TestWithParam<bool> {};

TEST_P(SaChildPfsRekeyCollision, OneChildSaRemainsWithMatchingKeys) {
    const bool initiator_ni_lowest = GetParam();
    PfsPair pair({DhGroup::kCurve25519}, {DhGroup::kCurve25519});
    pair.establish();
    auto nonce = [](std::uint8_t first) {
        Bytes n(32, 0x55);
        n[0] = first;
        return n;
    };
    // Each side fills its own request's Ni first, then its response's Nr.
    pair.i.random.script(nonce(initiator_ni_lowest ? 0x01 : 0x80));
    pair.i.random.script(nonce(0x81));
    pair.r.random.script(nonce(initiator_ni_lowest ? 0x82 : 0x01));
    pair.r.random.script(nonce(0x83));
    const std::uint32_t old_i = pair.i.sa->child_sas().at(0).inbound_spi;
    pair.i.sa->rekey_child_sa(old_i);
    pair.r.sa->rekey_child_sa(pair.r.sa->child_sas().at(0).inbound_spi);
    auto from_i = pair.take(pair.i);
    auto from_r = pair.take(pair.r);
    ASSERT_EQ(from_i.size(), 1U);
    ASSERT_EQ(from_r.size(), 1U);
    pair.record(from_i[0]);
    pair.record(from_r[0]);
    pair.deliver(pair.r, from_i[0]);
    pair.deliver(pair.i, from_r[0]);
    pair.pump_recording();

    ASSERT_GE(pair.seen.size(), 4U);
    for (std::size_t n = 0; n < 4; ++n) EXPECT_NE(ke_of(pair.seen[n]), nullptr) << n;
    for (Side* s : {&pair.i, &pair.r}) {
        EXPECT_EQ(s->sa->state(), IkeSaState::kEstablished);
        ASSERT_EQ(s->installer.installed.size(), 1U);
        const auto rekeyed = s->got<ChildSaRekeyed>();
        ASSERT_EQ(rekeyed.size(), 1U);
        EXPECT_EQ(rekeyed[0].new_inbound_spi, s->installer.installed.begin()->first);
    }
    expect_matching_children(pair.i, pair.r);
    // The initiator allocated old_i + 1 for its own request, old_i + 2 answering the peer's.
    EXPECT_EQ(pair.i.installer.installed.begin()->first,
              initiator_ni_lowest ? old_i + 2 : old_i + 1);
}

INSTANTIATE_TEST_SUITE_P(Nonces, SaChildPfsRekeyCollision, ::testing::Bool());

class SaAdditionalChild : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(SaAdditionalChild, CreateChildSaAddsASecondChildSa) {
    const auto [by_initiator, pfs] = GetParam();
    std::vector<DhGroup> groups;
    if (pfs) groups = {DhGroup::kCurve25519};
    PfsPair pair(groups, groups);
    pair.establish();
    Side& creator = by_initiator ? pair.i : pair.r;
    Side& other = by_initiator ? pair.r : pair.i;
    const std::uint32_t first = creator.installer.installed.begin()->first;
    creator.events.clear();
    other.events.clear();
    creator.sa->create_child_sa();
    pair.pump_recording();

    ASSERT_EQ(pair.seen.size(), 2U);
    EXPECT_FALSE(has_notify(pair.seen[0], NotifyType::kRekeySa));
    EXPECT_EQ(ke_of(pair.seen[0]) != nullptr, pfs);
    EXPECT_EQ(ke_of(pair.seen[1]) != nullptr, pfs);
    for (Side* s : {&creator, &other}) {
        EXPECT_EQ(s->got<ChildSaUp>().size(), 1U);
        EXPECT_TRUE(s->got<ChildSaFailed>().empty());
        EXPECT_EQ(s->installer.installed.size(), 2U);
        EXPECT_EQ(s->sa->child_sas().size(), 2U);
    }
    expect_matching_children(pair.i, pair.r);
    const auto second = creator.got<ChildSaUp>().front().inbound_spi;
    EXPECT_NE(second, first);

    // Both live on independently: the second is rekeyed, the first deleted.
    creator.sa->rekey_child_sa(second);
    pair.pump_recording();
    ASSERT_EQ(creator.got<ChildSaRekeyed>().size(), 1U);
    creator.sa->delete_child_sa(first);
    pair.pump_recording();
    EXPECT_EQ(pair.i.installer.installed.size(), 1U);
    EXPECT_EQ(pair.r.installer.installed.size(), 1U);
    EXPECT_EQ(creator.installer.installed.count(first), 0U);
    expect_matching_children(pair.i, pair.r);
}

INSTANTIATE_TEST_SUITE_P(Table, SaAdditionalChild,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()));

TEST(SaAdditionalChild, OwnTrafficSelectorsAreProposedAndNarrowed) {
    PfsPair pair({DhGroup::kCurve25519}, {DhGroup::kCurve25519});
    pair.establish();
    // A /24 of each side's /16, asked for by the initiator; the responder's policy allows it.
    const auto local = ipv4_prefix_selector(10, 1, 7, 0, 24);
    const auto remote = ipv4_prefix_selector(10, 2, 9, 0, 24);
    pair.i.events.clear();
    pair.i.sa->create_child_sa({local}, {remote});
    pair.pump_recording();
    const auto up = pair.i.got<ChildSaUp>();
    ASSERT_EQ(up.size(), 1U);
    EXPECT_EQ(up[0].local_ts, std::vector{local});
    EXPECT_EQ(up[0].remote_ts, std::vector{remote});
    const auto& theirs = pair.r.installer.installed.at(up[0].outbound_spi);
    EXPECT_EQ(theirs.inbound.destination_ts, std::vector{remote});
    EXPECT_EQ(theirs.inbound.source_ts, std::vector{local});
    expect_matching_children(pair.i, pair.r);
    // Outside what the responder allows: TS_UNACCEPTABLE, nothing installed.
    pair.i.events.clear();
    pair.i.sa->create_child_sa({ipv4_prefix_selector(10, 9, 0, 0, 16)}, {remote});
    pair.pump_recording();
    const auto failed = pair.i.got<ChildSaFailed>();
    ASSERT_EQ(failed.size(), 1U);
    EXPECT_EQ(failed[0].notify_type, static_cast<std::uint16_t>(NotifyType::kTsUnacceptable));
    EXPECT_EQ(pair.i.installer.installed.size(), 2U);
    EXPECT_EQ(pair.r.installer.installed.size(), 2U);
}

TEST(SaAdditionalChild, ResponderWithoutChildConfigAnswersNoAdditionalSas) {
    PfsPair pair({}, {});
    pair.r.config.child.reset();
    pair.establish();
    ASSERT_EQ(pair.i.got<ChildSaFailed>().size(), 1U) << "no CHILD_SA in IKE_AUTH either";
    pair.i.events.clear();
    pair.i.sa->create_child_sa();
    pair.pump_recording();
    ASSERT_EQ(pair.seen.size(), 2U);
    EXPECT_TRUE(has_notify(pair.seen[1], NotifyType::kNoAdditionalSas));
    const auto failed = pair.i.got<ChildSaFailed>();
    ASSERT_EQ(failed.size(), 1U);
    EXPECT_EQ(failed[0].notify_type, static_cast<std::uint16_t>(NotifyType::kNoAdditionalSas));
    EXPECT_TRUE(pair.i.installer.installed.empty()) << "the SPI allocated for it was released";
    EXPECT_EQ(pair.i.sa->state(), IkeSaState::kEstablished);
}

}  // namespace
}  // namespace mpsa::ike
