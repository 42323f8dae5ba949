// Pure negotiation helpers: proposal encoding and selection, traffic selector narrowing, NAT
// detection hashes, port-4500 framing and stateless cookies.
#include <gtest/gtest.h>

#include "mpsa/ike/cookie.hpp"
#include "mpsa/ike/exchange.hpp"
#include "mpsa/ike/nat.hpp"
#include "mpsa/ike/notify_types.hpp"
#include "mpsa/ike/transport.hpp"
#include "sa_test_harness.hpp"

namespace mpsa::ike {
namespace {

using testing::suite;

TEST(ExchangeProposals, SuiteRoundTripsThroughAProposal) {
    for (const char* keywords :
         {"aes256-sha256-modp2048", "aes128gcm16-prfsha256-x25519", "aes256-sha384-ecp384"}) {
        const Suite s = suite(keywords);
        EXPECT_EQ(suite_from_proposal(ike_proposal(s, 1, {})), s) << keywords;
    }
    const EspSuite esp{EncrId::kAesCbc, 128, IntegId::kHmacSha2_256_128};
    EXPECT_EQ(esp_suite_from_proposal(esp_proposal(esp, 1, {1, 2, 3, 4})), esp);
}

TEST(ExchangeProposals, ResponderPrefersItsOwnOrderButAvoidsInvalidKe) {
    const std::vector<Proposal> offered{ike_proposal(suite("aes128gcm16-prfsha256-x25519"), 1, {}),
                                        ike_proposal(suite("aes256-sha256-modp2048"), 2, {})};
    const std::vector<Suite> configured{suite("aes256-sha256-modp2048"),
                                        suite("aes128gcm16-prfsha256-x25519")};
    auto chosen = select_ike_suite(offered, configured, std::nullopt);
    ASSERT_TRUE(chosen.has_value());
    EXPECT_EQ(chosen->suite, suite("aes256-sha256-modp2048"));
    EXPECT_EQ(chosen->proposal->number, 2);
    chosen = select_ike_suite(offered, configured, 31);
    ASSERT_TRUE(chosen.has_value());
    EXPECT_EQ(chosen->suite, suite("aes128gcm16-prfsha256-x25519"));
    EXPECT_FALSE(select_ike_suite(offered, std::vector<Suite>{suite("aes256-sha384-ecp384")}, 20));
}

TEST(ExchangeProposals, MultiTransformProposalMatchesAnyListedAlgorithm) {
    Proposal p = ike_proposal(suite("aes256-sha256-modp2048"), 1, {});
    p.transforms.push_back(make_transform(TransformType::kKeyExchange, 31));
    p.transforms.push_back(make_transform(TransformType::kIntegrity, 13));
    p.transforms.push_back(make_transform(TransformType::kPrf, 6));
    const std::vector<Proposal> offered{p};
    const std::vector<Suite> configured{suite("aes256-sha384-x25519")};
    const auto chosen = select_ike_suite(offered, configured, 14);
    ASSERT_TRUE(chosen.has_value());
    EXPECT_EQ(chosen->suite, suite("aes256-sha384-x25519"));
    // An answer must carry one transform per type.
    EXPECT_FALSE(suite_from_proposal(p).has_value());
}

TEST(ExchangeProposals, EspPfsProposalsDoNotMatch) {
    const EspSuite esp{EncrId::kAesGcm16, 128, IntegId::kNone};
    Proposal pfs = esp_proposal(esp, 1, {1, 2, 3, 4});
    pfs.transforms.push_back(make_transform(TransformType::kKeyExchange, 19));
    const std::vector<Proposal> offered{pfs};
    EXPECT_FALSE(select_esp_suite(offered, std::vector<EspSuite>{esp}).has_value());
    Proposal optional_pfs = pfs;
    optional_pfs.transforms.push_back(make_transform(TransformType::kKeyExchange, 0));
    const std::vector<Proposal> offered2{optional_pfs};
    EXPECT_TRUE(select_esp_suite(offered2, std::vector<EspSuite>{esp}).has_value());
}

TEST(ExchangeProposals, EspPfsSelectionPrefersTheReceivedKeGroup) {
    const EspSuite esp{EncrId::kAesGcm16, 128, IntegId::kNone};
    const std::vector<DhGroup> offered_groups{DhGroup::kEcp256, DhGroup::kCurve25519};
    const std::vector<Proposal> offered{esp_proposal(esp, 1, {1, 2, 3, 4}, offered_groups)};
    const std::vector<EspSuite> configured{esp};
    const std::vector<DhGroup> ours{DhGroup::kCurve25519, DhGroup::kEcp256};
    // Our first group, unless the KE came in another acceptable group.
    auto chosen = select_esp_suite_pfs(offered, configured, ours, std::nullopt);
    ASSERT_TRUE(chosen.has_value());
    EXPECT_EQ(chosen->group, DhGroup::kCurve25519);
    chosen = select_esp_suite_pfs(offered, configured, ours, 19);
    ASSERT_TRUE(chosen.has_value());
    EXPECT_EQ(chosen->group, DhGroup::kEcp256);
    // KE in a group we do not accept: our choice, and the caller answers INVALID_KE_PAYLOAD.
    chosen = select_esp_suite_pfs(offered, configured, std::vector{DhGroup::kCurve25519}, 19);
    ASSERT_TRUE(chosen.has_value());
    EXPECT_EQ(chosen->group, DhGroup::kCurve25519);
    // PFS required but not offered, or offered only in other groups: no match.
    const std::vector<Proposal> plain{esp_proposal(esp, 1, {1, 2, 3, 4})};
    EXPECT_FALSE(select_esp_suite_pfs(plain, configured, ours, std::nullopt));
    EXPECT_FALSE(select_esp_suite_pfs(offered, configured, std::vector{DhGroup::kModp2048}, 14));
    // No PFS configured: as select_esp_suite.
    EXPECT_FALSE(select_esp_suite_pfs(offered, configured, {}, 31));
    chosen = select_esp_suite_pfs(plain, configured, {}, std::nullopt);
    ASSERT_TRUE(chosen.has_value());
    EXPECT_FALSE(chosen->group.has_value());
    // IKE_AUTH ignores KE transforms altogether.
    EXPECT_TRUE(select_esp_suite_ignoring_ke(offered, configured).has_value());
}

struct NarrowCase {
    const char* name;
    TrafficSelector proposed;
    TrafficSelector allowed;
    std::optional<TrafficSelector> expected;
};

TrafficSelector with_ports(TrafficSelector ts, std::uint8_t protocol, std::uint16_t start,
                           std::uint16_t end) {
    ts.ip_protocol = protocol;
    ts.start_port = start;
    ts.end_port = end;
    return ts;
}

TEST(ExchangeTrafficSelectors, IntersectionTable) {
    const auto net10 = ipv4_prefix_selector(10, 0, 0, 0, 8);
    const auto net10_2 = ipv4_prefix_selector(10, 2, 0, 0, 16);
    const auto net192 = ipv4_prefix_selector(192, 168, 0, 0, 16);
    const NarrowCase cases[] = {
        {"wider proposal narrowed", net10, net10_2, net10_2},
        {"narrower proposal kept", net10_2, net10, net10_2},
        {"disjoint", net10, net192, std::nullopt},
        {"protocol taken from the specific side", net10_2, with_ports(net10, 6, 0, 65535),
         with_ports(net10_2, 6, 0, 65535)},
        {"different protocols", with_ports(net10, 17, 0, 65535), with_ports(net10, 6, 0, 65535),
         std::nullopt},
        {"port ranges intersect", with_ports(net10, 6, 100, 200), with_ports(net10, 6, 150, 300),
         with_ports(net10, 6, 150, 200)},
        {"port ranges disjoint", with_ports(net10, 6, 100, 200), with_ports(net10, 6, 201, 300),
         std::nullopt},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(intersect(c.proposed, c.allowed), c.expected) << c.name;
    }
    const std::vector<TrafficSelector> proposed{net10, net192};
    const std::vector<TrafficSelector> allowed{net10_2};
    EXPECT_EQ(narrow_traffic_selectors(proposed, allowed), allowed);
    EXPECT_TRUE(traffic_selectors_within(allowed, proposed));
    EXPECT_FALSE(traffic_selectors_within(proposed, allowed));
}

TEST(ExchangeNat, DetectionHashesFollowTheEndpoints) {
    const Endpoint a{IpAddress::v4(10, 0, 0, 1), 500};
    const Endpoint b{IpAddress::v4(10, 0, 0, 2), 500};
    std::vector<Payload> payloads;
    NotifyPayload source;
    source.type = static_cast<std::uint16_t>(NotifyType::kNatDetectionSourceIp);
    source.data = nat_detection_hash(1, 0, a);
    NotifyPayload destination;
    destination.type = static_cast<std::uint16_t>(NotifyType::kNatDetectionDestinationIp);
    destination.data = nat_detection_hash(1, 0, b);
    payloads.emplace_back(source);
    payloads.emplace_back(destination);
    EXPECT_EQ(nat_detection_hash(1, 0, a).size(), 20U);
    auto direct = detect_nat(payloads, 1, 0, a, b);
    ASSERT_TRUE(direct.has_value());
    EXPECT_FALSE(direct->any());
    const Endpoint mapped{IpAddress::v4(198, 51, 100, 1), 40000};
    auto natted = detect_nat(payloads, 1, 0, mapped, b);
    ASSERT_TRUE(natted.has_value());
    EXPECT_TRUE(natted->peer_behind_nat);
    EXPECT_FALSE(natted->local_behind_nat);
    EXPECT_FALSE(detect_nat(std::vector<Payload>{}, 1, 0, a, b).has_value());
}

TEST(ExchangeTransport, NonEspMarkerFraming) {
    Datagram d;
    d.local = Endpoint{IpAddress::v4(10, 0, 0, 1), kNatTPort};
    d.data = {0xaa, 0xbb};
    EXPECT_EQ(frame_for_udp(d), (Bytes{0, 0, 0, 0, 0xaa, 0xbb}));
    d.local.port = kIkePort;
    EXPECT_EQ(frame_for_udp(d), (Bytes{0xaa, 0xbb}));
    d.kind = DatagramKind::kNatKeepalive;
    EXPECT_EQ(frame_for_udp(d), Bytes{0xff});

    const Bytes ike{0, 0, 0, 0, 0xaa};
    const auto c = classify_udp_payload(ike, kNatTPort);
    EXPECT_EQ(c.kind, UdpPayloadKind::kIke);
    EXPECT_EQ(Bytes(c.ike.begin(), c.ike.end()), Bytes{0xaa});
    EXPECT_EQ(classify_udp_payload(Bytes{0, 0, 0, 1, 2}, kNatTPort).kind, UdpPayloadKind::kEsp);
    EXPECT_EQ(classify_udp_payload(Bytes{0xff}, kNatTPort).kind, UdpPayloadKind::kNatKeepalive);
    EXPECT_EQ(classify_udp_payload(Bytes{0, 0}, kNatTPort).kind, UdpPayloadKind::kMalformed);
    EXPECT_EQ(classify_udp_payload(Bytes{1, 2, 3, 4, 5}, kIkePort).kind, UdpPayloadKind::kIke);
    EXPECT_EQ(to_string(Endpoint{IpAddress::v4(192, 0, 2, 1), 4500}), "192.0.2.1:4500");
}

Message init_request(std::uint64_t spi, Bytes nonce, std::optional<Bytes> cookie) {
    Message m;
    m.header.initiator_spi = spi;
    m.header.initiator = true;
    if (cookie) {
        NotifyPayload n;
        n.type = static_cast<std::uint16_t>(NotifyType::kCookie);
        n.data = *cookie;
        m.payloads.emplace_back(n);
    }
    m.payloads.emplace_back(NoncePayload{std::move(nonce)});
    return m;
}

TEST(ExchangeCookie, RequiredAboveThresholdAndBoundToSenderSpiAndNonce) {
    ManualClock clock;
    testing::ScriptedRandom random(9);
    CookieGuard guard(
        CookiePolicy{.half_open_threshold = 10, .secret_lifetime = std::chrono::minutes(2)}, clock,
        random);
    const Endpoint from{IpAddress::v4(10, 0, 0, 1), 500};
    const Bytes nonce(32, 7);
    EXPECT_FALSE(guard.check(init_request(5, nonce, std::nullopt), from, 9).has_value());
    const auto reply = guard.check(init_request(5, nonce, std::nullopt), from, 10);
    ASSERT_TRUE(reply.has_value());
    const auto decoded = decode(*reply);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_TRUE(decoded->header.response);
    EXPECT_EQ(decoded->header.responder_spi, 0U);
    const auto* cookie =
        find_notify(decoded->payloads, static_cast<std::uint16_t>(NotifyType::kCookie));
    ASSERT_NE(cookie, nullptr);
    EXPECT_FALSE(guard.check(init_request(5, nonce, cookie->data), from, 10).has_value());
    // Another SPI, nonce or address: the cookie does not fit.
    EXPECT_TRUE(guard.check(init_request(6, nonce, cookie->data), from, 10).has_value());
    EXPECT_TRUE(guard.check(init_request(5, Bytes(32, 8), cookie->data), from, 10).has_value());
    const Endpoint other{IpAddress::v4(10, 0, 0, 9), 500};
    EXPECT_TRUE(guard.check(init_request(5, nonce, cookie->data), other, 10).has_value());
    // Still valid one secret later, not two.
    clock.advance(std::chrono::minutes(3));
    EXPECT_FALSE(guard.check(init_request(5, nonce, cookie->data), from, 10).has_value());
    clock.advance(std::chrono::minutes(3));
    EXPECT_TRUE(guard.check(init_request(5, nonce, cookie->data), from, 10).has_value());
}

}  // namespace
}  // namespace mpsa::ike
