// Key log lines (tshark uat formats) and UdpSocket round trips on loopback.
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "mpsa/ike/keylog.hpp"
#include "mpsa/ike/udp_socket.hpp"

namespace mpsa::ike {
namespace {

SecretBytes filled(std::size_t n, std::uint8_t v) {
    SecretBytes s(n);
    for (std::size_t i = 0; i < n; ++i) s.data()[i] = static_cast<std::uint8_t>(v + i);
    return s;
}

TEST(KeyLog, IkeLineForAeadSuiteHasSaltedKeysAndNoIntegrity) {
    Suite suite;  // aes128gcm16-prfsha256-x25519
    IkeSaKeys keys;
    keys.sk_ei = filled(20, 0x10);
    keys.sk_er = filled(20, 0x40);
    const auto line =
        ikev2_decryption_table_line({0x0102030405060708, 0xa1b2c3d4e5f60718}, suite, keys);
    EXPECT_EQ(line,
              "0102030405060708,a1b2c3d4e5f60718,"
              "101112131415161718191a1b1c1d1e1f20212223,"
              "404142434445464748494a4b4c4d4e4f50515253,"
              "\"AES-GCM-128 with 16 octet ICV [RFC5282]\",,,\"NONE [RFC4306]\"");
}

TEST(KeyLog, IkeLineForCbcSuiteNamesCipherAndIntegrity) {
    auto suite = parse_suite("aes256-sha384-ecp384");
    ASSERT_TRUE(suite);
    IkeSaKeys keys;
    keys.sk_ei = filled(32, 0);
    keys.sk_er = filled(32, 1);
    keys.sk_ai = filled(48, 2);
    keys.sk_ar = filled(48, 3);
    const auto line = ikev2_decryption_table_line({1, 2}, *suite, keys);
    EXPECT_NE(line.find(",\"AES-CBC-256 [RFC3602]\","), std::string::npos) << line;
    EXPECT_NE(line.find(",\"HMAC_SHA2_384_192 [RFC4868]\""), std::string::npos) << line;
}

TEST(KeyLog, EspLineAndFileMode) {
    EspSaParams sa;
    sa.spi = 0xc0ffee01;
    sa.source.address = IpAddress::v4(192, 0, 2, 1);
    sa.destination.address = IpAddress::v4(192, 0, 2, 2);
    sa.suite = {EncrId::kAesCbc, 128, IntegId::kHmacSha2_256_128};
    sa.encr_key = filled(2, 0xaa);
    sa.integ_key = filled(2, 0x01);
    EXPECT_EQ(esp_sa_line(sa),
              "\"IPv4\",\"192.0.2.1\",\"192.0.2.2\",\"0xc0ffee01\",\"AES-CBC [RFC3602]\","
              "\"0xaaab\",\"HMAC-SHA-256-128 [RFC4868]\",\"0x0102\"");

    const std::string path = testing::TempDir() + "/mpsa_esp_keylog_test";
    std::remove(path.c_str());
    {
        auto log = FileKeyLog::open({"", path});
        ASSERT_TRUE(log);
        ChildSaInstall install;
        install.inbound = sa;
        install.outbound = sa;
        (*log)->child_sa_keys(install);
        EXPECT_EQ((*log)->write_errors(), 0U);
    }
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600U);
    std::ifstream in(path);
    std::string line;
    int lines = 0;
    while (std::getline(in, line)) ++lines;
    EXPECT_EQ(lines, 2);
    std::remove(path.c_str());
}

// Runs the loop until `done` or the deadline.
template <typename Pred>
bool run_until(asio::io_context& io, Pred done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        io.run_for(std::chrono::milliseconds(20));
        io.restart();
    }
    return done();
}

void round_trip(const IpAddress& address) {
    asio::io_context io;
    UdpSocketOptions options;
    options.bypass_ipsec_policies = false;  // needs CAP_NET_ADMIN; the interop tests cover it
    auto a = UdpSocket::open(io, Endpoint{address, 0}, options);
    if (!a && address.v6) GTEST_SKIP() << "no IPv6 loopback: " << a.error().message();
    ASSERT_TRUE(a) << a.error().message();
    auto b = UdpSocket::open(io, Endpoint{address, 0}, options);
    ASSERT_TRUE(b);
    EXPECT_NE((*a)->local().port, 0);
    std::optional<Datagram> got;
    (*b)->start([&](Datagram&& d) { got = std::move(d); });
    Datagram d;
    d.local = (*a)->local();
    d.remote = (*b)->local();
    d.data = {1, 2, 3, 4, 5};
    EXPECT_FALSE((*a)->send(d));
    ASSERT_TRUE(run_until(io, [&] { return got.has_value(); }));
    EXPECT_EQ(got->data, d.data);
    EXPECT_EQ(got->remote, (*a)->local());
    EXPECT_EQ(got->local, (*b)->local());
    EXPECT_EQ((*b)->counters().received, 1U);
}

TEST(UdpSocket, RoundTripIpv4) {
    round_trip(IpAddress::v4(127, 0, 0, 1));
}

TEST(UdpSocket, RoundTripIpv6) {
    auto loopback = parse_ip_address("::1");
    ASSERT_TRUE(loopback);
    round_trip(*loopback);
}

TEST(UdpSocket, ParsesAddressesBothFamilies) {
    auto v4 = parse_ip_address("192.0.2.7");
    ASSERT_TRUE(v4);
    EXPECT_EQ(*v4, IpAddress::v4(192, 0, 2, 7));
    auto v6 = parse_ip_address("2001:db8::1");
    ASSERT_TRUE(v6);
    EXPECT_TRUE(v6->v6);
    EXPECT_EQ(v6->octets[0], 0x20);
    EXPECT_EQ(v6->octets[15], 0x01);
    EXPECT_FALSE(parse_ip_address("not an address"));
}

}  // namespace
}  // namespace mpsa::ike
