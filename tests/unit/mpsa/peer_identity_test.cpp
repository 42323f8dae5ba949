// IKE identities as the text group member patterns are matched against.
#include <gtest/gtest.h>

#include "mpsa/mpsa/group_manager.hpp"
#include "mpsa/mpsa/peer_identity.hpp"

namespace mpsa::mpsa {
namespace {

ike::Identification id(ike::IdType type, ike::Bytes data) {
    return {type, std::move(data)};
}

TEST(PeerIdentity, TextForEachIdType) {
    EXPECT_EQ(identity_text(id(ike::IdType::kFqdn, {'c', 'p', 'e', '1'})), "cpe1");
    EXPECT_EQ(identity_text(id(ike::IdType::kRfc822Addr, {'a', '@', 'b'})), "a@b");
    EXPECT_EQ(identity_text(id(ike::IdType::kIpv4Addr, {192, 0, 2, 1})), "192.0.2.1");
    EXPECT_EQ(identity_text(
                  id(ike::IdType::kIpv6Addr, ike::from_hex("20010db8000000000000000000000001"))),
              "2001:db8:0:0:0:0:0:1");
    EXPECT_EQ(identity_text(id(ike::IdType::kDerAsn1Dn, {0x30, 0x00})), "der:3000");
    // A malformed address is not shown as one.
    EXPECT_EQ(identity_text(id(ike::IdType::kIpv4Addr, {1, 2, 3})), "der:010203");
}

TEST(PeerIdentity, PatternsMatchTheText) {
    EXPECT_TRUE(identity_matches(
        "cpe*.example", identity_text(id(ike::IdType::kFqdn, {'c', 'p', 'e', '7', '.', 'e', 'x',
                                                              'a', 'm', 'p', 'l', 'e'}))));
    EXPECT_TRUE(
        identity_matches("192.0.2.*", identity_text(id(ike::IdType::kIpv4Addr, {192, 0, 2, 77}))));
    EXPECT_FALSE(identity_matches("cpe*", identity_text(id(ike::IdType::kDerAsn1Dn, {'c'}))));
}

}  // namespace
}  // namespace mpsa::mpsa
