#include "mpsa/daemon/ike_profile.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "mpsa/ike/udp_socket.hpp"
#include "mpsa/mpsa/peer_identity.hpp"
#include "mpsa/mpsa/vendor_id.hpp"

namespace mpsa::daemon {
namespace {

ike::IpAddress ip(const std::string& text) {
    auto a = ike::parse_ip_address(text);
    EXPECT_TRUE(a) << text;
    return a.value_or(ike::IpAddress{});
}

TEST(IkeProfile, IdentificationTypes) {
    EXPECT_EQ(make_identification("cpe1.example.net").type, ike::IdType::kFqdn);
    EXPECT_EQ(make_identification("ops@example.net").type, ike::IdType::kRfc822Addr);
    const auto v4 = make_identification("192.0.2.7");
    EXPECT_EQ(v4.type, ike::IdType::kIpv4Addr);
    EXPECT_EQ(v4.data, (ike::Bytes{192, 0, 2, 7}));
    EXPECT_EQ(make_identification("2001:db8::1").type, ike::IdType::kIpv6Addr);
    // Member patterns match the configured text.
    EXPECT_EQ(mpsa::identity_text(make_identification("cpe1.example.net")), "cpe1.example.net");
    EXPECT_EQ(mpsa::identity_text(make_identification("192.0.2.7")), "192.0.2.7");
}

TEST(IkeProfile, BaseConfigCarriesVendorIdAndTimers) {
    Config config;
    config.identity = "gw.example.net";
    config.timers.dpd = std::chrono::seconds(7);
    const auto c = base_ike_sa_config(config);
    EXPECT_FALSE(c.proposals.empty());
    EXPECT_TRUE(mpsa::peer_supports_mpsa(c.vendor_ids));
    EXPECT_EQ(c.dpd_interval, std::chrono::seconds(7));
    EXPECT_EQ(c.local_id, make_identification("gw.example.net"));
    EXPECT_FALSE(c.child);
}

TEST(IkeProfile, BgpChildSaIsTransportTcpHostToHost) {
    const auto child = bgp_child_sa_config(ip("100.64.0.1"), ip("100.64.1.2"));
    EXPECT_EQ(child.mode, ike::ChildMode::kTransport);
    ASSERT_EQ(child.local_ts.size(), 1u);
    ASSERT_EQ(child.remote_ts.size(), 1u);
    EXPECT_EQ(child.local_ts[0].ip_protocol, kIpProtoTcp);
    EXPECT_EQ(child.remote_ts[0].ip_protocol, kIpProtoTcp);
    EXPECT_EQ(child.local_ts[0].start_address, child.local_ts[0].end_address);
    EXPECT_EQ(child.remote_ts[0].start_address[3], 2);
    EXPECT_EQ(child.remote_ts[0].type, ike::TsType::kIpv4AddrRange);
    const auto v6 = bgp_child_sa_config(ip("2001:db8::1"), ip("2001:db8::2"));
    EXPECT_EQ(v6.local_ts[0].type, ike::TsType::kIpv6AddrRange);
}

TEST(IkeProfile, ListenWildcardsExpandToHostAddressesOfTheirFamily) {
    const std::vector<ike::IpAddress> host{ip("127.0.0.1"), ip("192.0.2.1"), ip("2001:db8::1")};
    EXPECT_EQ(expand_listen_addresses({"0.0.0.0"}, host),
              (std::vector<ike::IpAddress>{ip("127.0.0.1"), ip("192.0.2.1")}));
    EXPECT_EQ(expand_listen_addresses({"::"}, host),
              (std::vector<ike::IpAddress>{ip("2001:db8::1")}));
    // explicit + wildcard: no duplicates, order kept
    EXPECT_EQ(expand_listen_addresses({"192.0.2.1", "0.0.0.0"}, host),
              (std::vector<ike::IpAddress>{ip("192.0.2.1"), ip("127.0.0.1")}));
    // the real host always has at least loopback
    auto real = resolve_listen_addresses({"0.0.0.0"});
    ASSERT_TRUE(real) << real.error();
    EXPECT_FALSE(real->empty());
}

class PskFile : public ::testing::Test {
  protected:
    std::string path = ::testing::TempDir() + "/mpsa_psk_" + std::to_string(::getpid());
    void write(const std::string& content) { std::ofstream(path, std::ios::binary) << content; }
    void TearDown() override { std::remove(path.c_str()); }
};

TEST_F(PskFile, TextWithoutTrailingNewline) {
    write("s3cret\n");
    auto key = read_psk_file(path);
    ASSERT_TRUE(key) << key.error();
    EXPECT_EQ(std::string(key->view().begin(), key->view().end()), "s3cret");
}

TEST_F(PskFile, Hex) {
    write("0x00ff10\n");
    auto key = read_psk_file(path);
    ASSERT_TRUE(key) << key.error();
    EXPECT_EQ(ike::Bytes(key->view().begin(), key->view().end()), (ike::Bytes{0x00, 0xff, 0x10}));
}

TEST_F(PskFile, ErrorsNameTheFileNotTheKey) {
    write("0xzz-secret");
    auto bad = read_psk_file(path);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find(path), std::string::npos);
    EXPECT_EQ(bad.error().find("secret"), std::string::npos);
    write("\n");
    EXPECT_FALSE(read_psk_file(path));
    EXPECT_FALSE(read_psk_file(path + ".missing"));
    Credentials creds;
    creds.psk_file = path + ".missing";
    EXPECT_FALSE(load_authenticator(creds, {}));
}

TEST(IkeProfile, AddressText) {
    EXPECT_EQ(address_text(ip("192.0.2.1")), "192.0.2.1");
    EXPECT_EQ(address_text(ip("2001:db8::1")), "2001:db8::1");
}

}  // namespace
}  // namespace mpsa::daemon
