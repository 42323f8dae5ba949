// The pure parts of the CPE role: reconnect backoff and the status API documents.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>

#include <mpsa/ike/bytes.hpp>
#include <mpsa/mpsa/cpe_group_sa.hpp>

#include "mpsa/daemon/cpe_reconnect.hpp"
#include "mpsa/daemon/cpe_snapshot.hpp"
#include "mpsa/daemon/desired_state_builder.hpp"

namespace mpsa::daemon {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(DaemonReconnectBackoff, DoublesUpToTheCapAndResetsOnSuccess) {
    ReconnectBackoff backoff(BackoffPolicy{milliseconds(1000), milliseconds(8000), 0});
    EXPECT_EQ(backoff.next(0), milliseconds(1000));
    EXPECT_EQ(backoff.next(0), milliseconds(2000));
    EXPECT_EQ(backoff.next(0), milliseconds(4000));
    EXPECT_EQ(backoff.next(0), milliseconds(8000));
    EXPECT_EQ(backoff.next(0), milliseconds(8000)) << "capped";
    for (int i = 0; i < 100; ++i) (void)backoff.next(0xffffffffU);
    EXPECT_EQ(backoff.next(0), milliseconds(8000)) << "no overflow after many failures";
    EXPECT_GT(backoff.failures(), 5U);
    backoff.reset();
    EXPECT_EQ(backoff.failures(), 0U);
    EXPECT_EQ(backoff.next(0), milliseconds(1000));
}

TEST(DaemonReconnectBackoff, JitterOnlyShortensWithinItsShare) {
    ReconnectBackoff low(BackoffPolicy{milliseconds(1000), milliseconds(60000), 20});
    ReconnectBackoff high(BackoffPolicy{milliseconds(1000), milliseconds(60000), 20});
    EXPECT_EQ(low.next(0), milliseconds(1000)) << "draw 0: the full delay";
    const auto shortest = high.next(0xffffffffU);
    EXPECT_GE(shortest, milliseconds(800));
    EXPECT_LT(shortest, milliseconds(1000));
    EXPECT_EQ(low.next(0x80000000U), milliseconds(1800)) << "half the 20 % of 2000 ms";
}

TEST(DaemonReconnectBackoff, DegenerateConfigurationStillWaits) {
    ReconnectBackoff backoff(BackoffPolicy{milliseconds(0), milliseconds(0), 100});
    EXPECT_GE(backoff.next(0xffffffffU), milliseconds(1));
}

TEST(DaemonCpeSnapshot, FormatsSpisAndNamesSuites) {
    EXPECT_EQ(spi_text(0x1234), "0x00001234");
    EXPECT_EQ(spi_text(0xdeadbeef), "0xdeadbeef");
    EXPECT_EQ(ike_spi_text(0x0102030405060708ULL), "0x0102030405060708");
    const auto names = suite_names(mpsa::suites::default_suite());
    EXPECT_EQ(names.encryption, "aes256");
    EXPECT_EQ(names.integrity, "sha256");
    EXPECT_EQ(names.prf, "prfsha256");
    const auto gcm = suite_names(mpsa::suites::aes_gcm_256());
    EXPECT_EQ(gcm.encryption, "aes256gcm16");
    EXPECT_FALSE(gcm.integrity);
}

TEST(DaemonCpeSnapshot, ReasonsBecomeStableLabelValues) {
    EXPECT_EQ(metric_label("payload too short"), "payload_too_short");
    EXPECT_EQ(metric_label("notify SPI size is not 4"), "notify_spi_size_is_not_4");
    EXPECT_EQ(metric_label("  a--b  "), "a_b");
    EXPECT_EQ(metric_label(""), "");
    EXPECT_EQ(put_rejection_label(mpsa::PutRejection::kNoVendorId), "no_vendor_id");
    EXPECT_EQ(put_rejection_label(mpsa::PutRejection::kMalformed), "malformed");
}

mpsa::MpsaPut make_put(std::uint32_t spi, std::uint32_t lifetime, std::uint32_t roll1,
                       std::uint32_t roll2) {
    mpsa::MpsaPut put;
    put.spi = spi;
    put.suite = mpsa::suites::default_suite();
    put.nonce = ike::Bytes(32, static_cast<std::uint8_t>(spi));
    put.sk_d = ike::SecretBytes(ike::Bytes(32, 0x77));
    put.lifetime_s = lifetime;
    put.roll1_s = roll1;
    put.roll2_s = roll2;
    return put;
}

class DaemonCpeSnapshotDocuments : public ::testing::Test {
  protected:
    DaemonCpeSnapshotDocuments() : lifecycle_(clock_, mpsa::CpeLifecycleConfig{}) {
        clock_.set(mpsa::TimePoint{} + seconds(5000));
        node_.esp_address = xfrm::IpAddress::from("192.0.2.1");
        node_.underlay_interface = "eth1";
        overlay_.set_route(*bgp_glue::Prefix::parse("10.2.0.0/24"),
                           {*bgp_glue::IpAddress::parse("192.0.2.2")});
        overlay_.set_route(*bgp_glue::Prefix::parse("fd00:2::/64"),
                           {*bgp_glue::IpAddress::parse("192.0.2.2")});
        overlay_.set_resolved(*bgp_glue::IpAddress::parse("192.0.2.2"), true);
        overlay_.set_route(*bgp_glue::Prefix::parse("10.3.0.0/24"),
                           {*bgp_glue::IpAddress::parse("192.0.2.3")});  // unresolved
    }
    void put(std::uint32_t spi, std::uint32_t lifetime, std::uint32_t roll1, std::uint32_t roll2) {
        ASSERT_TRUE(lifecycle_.on_mpsa_put(make_put(spi, lifetime, roll1, roll2)));
        (void)lifecycle_.advance();
    }
    GroupDesiredState build() {
        return build_group_state(node_, *group_layout(7), lifecycle_, overlay_, clock_.now());
    }
    CpeGroupView view() {
        CpeGroupView group;
        group.name = "corp";
        group.layout = *group_layout(7);
        group.records = &lifecycle_.sas();
        group.desired = lifecycle_.desired();
        group.now = clock_.now();
        return group;
    }

    mpsa::ManualClock clock_;
    mpsa::CpeGroupSaLifecycle lifecycle_;
    NodeFacts node_;
    OverlayRoutes overlay_;
};

TEST_F(DaemonCpeSnapshotDocuments, RoutesAndPeersCarryTheDestinationStates) {
    put(0x1000, 3600, 10, 20);
    const auto state = build();
    const auto routes = cpe_routes_document("corp", state);
    ASSERT_EQ(routes["routes"].size(), 3U);
    const auto& first = routes["routes"][0];
    EXPECT_EQ(first["group"], "corp");
    EXPECT_EQ(first["destination"], "10.2.0.0/24");
    EXPECT_EQ(first["peer"], "192.0.2.2");
    EXPECT_EQ(first["state"], "encrypted");
    EXPECT_EQ(first["interface"], "mpsa7");
    EXPECT_EQ(first["table"], 0x6d700007U);
    EXPECT_EQ(routes["routes"][1]["state"], "blocked-peer-unresolved");

    const auto peers = cpe_peers_document("corp", state);
    ASSERT_EQ(peers["peers"].size(), 2U);
    EXPECT_EQ(peers["peers"][0]["address"], "192.0.2.2");
    EXPECT_EQ(peers["peers"][0]["state"], "encrypted");
    EXPECT_EQ(peers["peers"][0]["reason"], nullptr);
    EXPECT_EQ(peers["peers"][0]["outbound_spi"], "0x00001000");
    EXPECT_EQ(peers["peers"][0]["destinations"], 2);
    EXPECT_EQ(peers["peers"][1]["address"], "192.0.2.3");
    EXPECT_EQ(peers["peers"][1]["state"], "blocked");
    EXPECT_EQ(peers["peers"][1]["reason"], "blocked-peer-unresolved");
    EXPECT_EQ(peers["peers"][1]["outbound_spi"], nullptr);
}

TEST_F(DaemonCpeSnapshotDocuments, ProtectedPrefixesAreListedAsBlockedRoutes) {
    put(0x1000, 3600, 10, 20);
    node_.protected_prefixes = {xfrm::Prefix::from("10.0.0.0/8"), xfrm::Prefix::from("fd00::/8")};
    const auto state = build();
    const auto routes = cpe_routes_document("corp", state)["routes"];
    ASSERT_EQ(routes.size(), 5U);
    const auto& v4 = routes[3];
    EXPECT_EQ(v4["destination"], "10.0.0.0/8");
    EXPECT_EQ(v4["state"], "blocked-protected");
    EXPECT_EQ(v4["peer"], nullptr);
    EXPECT_EQ(v4["interface"], "mpsa7");
    EXPECT_EQ(routes[4]["destination"], "fd00::/8");
    EXPECT_EQ(routes[4]["state"], "blocked-protected");
    // Not a peer: the peers document only counts learned destinations.
    EXPECT_EQ(cpe_peers_document("corp", state)["peers"].size(), 2U);
}

TEST_F(DaemonCpeSnapshotDocuments, NoSaYetBlocksEveryPeer) {
    const auto state = build();
    const auto peers = cpe_peers_document("corp", state);
    for (const auto& peer : peers["peers"]) EXPECT_EQ(peer["state"], "blocked");
    EXPECT_EQ(cpe_routes_document("corp", state)["routes"][0]["state"], "blocked-no-outbound-sa");
    const auto groups = cpe_groups_document(view());
    EXPECT_EQ(groups["groups"][0]["outbound_spi"], nullptr);
    EXPECT_EQ(groups["groups"][0]["suite"], nullptr);
    EXPECT_TRUE(groups["groups"][0]["sas"].empty());
}

TEST_F(DaemonCpeSnapshotDocuments, GroupsShowTheRolloverRoles) {
    put(0x1000, 3600, 10, 20);
    clock_.advance(seconds(100));
    put(0x2000, 3600, 10, 20);  // next: outbound after ROLL1
    const auto groups = cpe_groups_document(view());
    const auto& group = groups["groups"][0];
    EXPECT_EQ(group["name"], "corp");
    EXPECT_EQ(group["id"], 7);
    EXPECT_EQ(group["interface"], "mpsa7");
    EXPECT_EQ(group["outbound_spi"], "0x00001000");
    EXPECT_EQ(group["suite"]["encryption"], "aes256");
    EXPECT_EQ(group["lifetime_seconds"], 3600);
    EXPECT_EQ(group["roll1_seconds"], 10);
    EXPECT_EQ(group["roll2_seconds"], 20);
    ASSERT_EQ(group["sas"].size(), 2U);
    EXPECT_EQ(group["sas"][0]["spi"], "0x00001000");
    EXPECT_EQ(group["sas"][0]["role"], "current");
    EXPECT_EQ(group["sas"][0]["outbound"], true);
    EXPECT_EQ(group["sas"][0]["expires_in_seconds"], 3500);
    EXPECT_EQ(group["sas"][1]["role"], "next");
    EXPECT_EQ(group["sas"][1]["inbound"], true);
    EXPECT_EQ(group["sas"][1]["outbound"], false);

    clock_.advance(seconds(10));
    (void)lifecycle_.advance();
    const auto after = cpe_groups_document(view());
    EXPECT_EQ(after["groups"][0]["sas"][0]["role"], "previous");
    EXPECT_EQ(after["groups"][0]["sas"][1]["role"], "current");
}

TEST_F(DaemonCpeSnapshotDocuments, SasListIkeChildAndGroupSasWithKernelCounters) {
    put(0x1000, 3600, 10, 20);
    const auto state = build();
    IkeSaView ike_sa;
    ike_sa.spi_initiator = 0x11;
    ike_sa.spi_responder = 0x22;
    ike_sa.local = "192.0.2.1";
    ike_sa.remote = "198.51.100.10";
    ike_sa.suite = ike::parse_suite("aes256-sha256-x25519").value();
    ChildSaView child;
    child.inbound_spi = 0xc0000001;
    child.outbound_spi = 0xc0000002;
    child.local = "192.0.2.1";
    child.remote = "198.51.100.10";
    child.suite = ike::EspSuite{ike::EncrId::kAesGcm16, 256, ike::IntegId::kNone};
    SaCounterMap counters;
    xfrm::SaCounters out;
    out.key.dst = xfrm::IpAddress::from("192.0.2.2");
    out.key.spi = 0x1000;
    out.bytes = 1234;
    out.packets = 12;
    counters[out.key] = out;

    const auto sas = cpe_sas_document({ike_sa}, {child}, view(), state, counters)["sas"];
    ASSERT_EQ(sas.size(), 1U + 2U + 2U);  // IKE, child in+out, group in + out to 192.0.2.2
    EXPECT_EQ(sas[0]["type"], "ike");
    EXPECT_EQ(sas[0]["spi"], "0x0000000000000011");
    EXPECT_EQ(sas[0]["encryption"], "aes256");
    EXPECT_EQ(sas[0]["prf"], "prfsha256");
    EXPECT_EQ(sas[1]["type"], "child");
    EXPECT_EQ(sas[1]["direction"], "in");
    EXPECT_EQ(sas[1]["spi"], "0xc0000001");
    EXPECT_EQ(sas[1]["encryption"], "aes256gcm16");
    EXPECT_EQ(sas[1]["integrity"], nullptr);
    EXPECT_EQ(sas[2]["direction"], "out");
    std::size_t group_rows = 0;
    for (const auto& sa : sas) {
        if (sa["type"] != "group") continue;
        ++group_rows;
        EXPECT_EQ(sa["spi"], "0x00001000");
        EXPECT_EQ(sa["group"], "corp");
        EXPECT_EQ(sa["lifetime_seconds"], 3600);
        if (sa["direction"] == "out") {
            EXPECT_EQ(sa["remote"], "192.0.2.2");
            EXPECT_EQ(sa["bytes"], 1234);
            EXPECT_EQ(sa["packets"], 12);
        } else {
            EXPECT_EQ(sa["local"], "192.0.2.1");
            EXPECT_EQ(sa["bytes"], nullptr) << "no counters read for it";
        }
    }
    EXPECT_EQ(group_rows, 2U);

    // No key bytes anywhere in the documents.
    const auto text = sas.dump() + cpe_groups_document(view()).dump();
    const auto& keys = lifecycle_.find(0x1000)->keys;
    for (const auto* key : {&keys.encryption_key, &keys.integrity_key}) {
        const auto hex = ike::to_hex(key->view());
        std::string lower = text;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        EXPECT_EQ(lower.find(hex.substr(0, 16)), std::string::npos);
    }
}

TEST_F(DaemonCpeSnapshotDocuments, StatusCountsAndKernelSection) {
    put(0x1000, 3600, 10, 20);
    const auto state = build();
    CpeStatusView view;
    view.identity = "cpe1.example";
    view.version = "0.1";
    view.pid = 42;
    view.gateway_address = "198.51.100.10";
    view.gateway_ike_state = "established";
    view.ike_sas = 1;
    view.kernel.in_sync = true;
    view.kernel.changes = 0;
    const auto peers = cpe_peers_document("corp", state);
    const auto routes = cpe_routes_document("corp", state);
    const auto sas = cpe_sas_document({}, {}, this->view(), state, {});
    const auto status = cpe_status_document(view, peers, routes, sas);
    EXPECT_EQ(status["role"], "cpe");
    EXPECT_EQ(status["identity"], "cpe1.example");
    EXPECT_EQ(status["counts"]["peers"], 2);
    EXPECT_EQ(status["counts"]["routes"], 3);
    EXPECT_EQ(status["counts"]["sas"], sas["sas"].size());
    EXPECT_EQ(status["counts"]["groups"], 1);
    EXPECT_EQ(status["kernel"]["changes"], 0);
    EXPECT_EQ(status["kernel"]["in_sync"], true);
    EXPECT_EQ(status["kernel"]["last_error"], nullptr);
    EXPECT_EQ(status["gateway"]["address"], "198.51.100.10");
    EXPECT_EQ(status["gateway"]["ike_sa"], "established");
    EXPECT_FALSE(status.contains("members")) << "no members on a CPE";
}

}  // namespace
}  // namespace mpsa::daemon
