#include <gtest/gtest.h>

#include <mpsa/xfrm/address.hpp>

namespace mpsa::xfrm {
namespace {

TEST(XfrmAddress, ParsesAndFormatsBothFamilies) {
    auto v4 = IpAddress::parse("192.0.2.1");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->family, Family::kIpv4);
    EXPECT_EQ(v4->size(), 4U);
    EXPECT_EQ(v4->to_string(), "192.0.2.1");
    auto v6 = IpAddress::parse("2001:db8::1");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->family, Family::kIpv6);
    EXPECT_EQ(v6->to_string(), "2001:db8::1");
    EXPECT_FALSE(IpAddress::parse("192.0.2"));
    EXPECT_FALSE(IpAddress::parse(""));
    EXPECT_FALSE(IpAddress::parse("2001:db8::1/64"));
    EXPECT_EQ(IpAddress{}.to_string(), "unspec");
}

TEST(XfrmAddress, PrefixesRejectHostBitsAndBadLengths) {
    EXPECT_EQ(Prefix::from("10.0.0.0/8").to_string(), "10.0.0.0/8");
    EXPECT_EQ(Prefix::from("2001:db8::/32").length, 32);
    EXPECT_EQ(Prefix::from("192.0.2.7").length, 32);
    EXPECT_EQ(Prefix::from("2001:db8::7").length, 128);
    EXPECT_EQ(Prefix::from("0.0.0.0/0").length, 0);
    EXPECT_FALSE(Prefix::parse("10.0.0.1/8"));
    EXPECT_FALSE(Prefix::parse("10.0.0.0/33"));
    EXPECT_FALSE(Prefix::parse("2001:db8::/129"));
    EXPECT_FALSE(Prefix::parse("10.0.0.0/"));
    EXPECT_FALSE(Prefix::parse("10.0.0.0/8x"));
    EXPECT_THROW((void)Prefix::from("nonsense"), std::invalid_argument);
}

TEST(XfrmAddress, OrdersByFamilyThenBytes) {
    EXPECT_LT(IpAddress::from("10.0.0.1"), IpAddress::from("10.0.0.2"));
    EXPECT_LT(IpAddress::from("255.0.0.1"), IpAddress::from("::1"));
    EXPECT_LT(Prefix::from("10.0.0.0/8"), Prefix::from("10.0.0.0/16"));
}

}  // namespace
}  // namespace mpsa::xfrm
