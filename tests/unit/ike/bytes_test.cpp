#include "mpsa/ike/bytes.hpp"

#include <gtest/gtest.h>

namespace mpsa::ike {
namespace {

TEST(Bytes, HexRoundTrip) {
    const Bytes b{0x00, 0x01, 0xab, 0xff};
    EXPECT_EQ(to_hex(b), "0001abff");
    EXPECT_EQ(from_hex("00 01:AB ff"), b);
}

TEST(Bytes, FromHexRejectsGarbage) {
    EXPECT_TRUE(from_hex("0g").empty());
    EXPECT_TRUE(from_hex("abc").empty());  // odd number of digits
}

TEST(Bytes, ConstantTimeEqual) {
    const Bytes a{1, 2, 3}, b{1, 2, 3}, c{1, 2, 4}, d{1, 2};
    EXPECT_TRUE(constant_time_equal(a, b));
    EXPECT_FALSE(constant_time_equal(a, c));
    EXPECT_FALSE(constant_time_equal(a, d));
    EXPECT_TRUE(constant_time_equal(ByteView{}, ByteView{}));
}

TEST(SecretBytes, SliceAndWipe) {
    const Bytes raw{1, 2, 3, 4, 5};
    SecretBytes s(raw);
    auto part = s.slice(1, 3);
    ASSERT_EQ(part.size(), 3u);
    EXPECT_EQ(part.data()[0], 2);
    EXPECT_TRUE(s.slice(4, 2).empty());  // out of range gives nothing, never a partial key
    s.wipe();
    EXPECT_TRUE(s.empty());
}

TEST(SecretBytes, MoveLeavesSourceEmpty) {
    SecretBytes a(Bytes{9, 9});
    SecretBytes b(std::move(a));
    EXPECT_EQ(b.size(), 2u);
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
}

}  // namespace
}  // namespace mpsa::ike
