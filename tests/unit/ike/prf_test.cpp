#include "mpsa/ike/prf.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mpsa::ike {
namespace {

std::string hex(const SecretBytes& s) {
    return to_hex(s.view());
}
Bytes ascii(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

// RFC 4231 test case 2 ("Jefe" / "what do ya want for nothing?") and RFC 2202 for SHA-1.
TEST(Prf, Rfc4231Case2) {
    const auto key = ascii("Jefe");
    const auto data = ascii("what do ya want for nothing?");
    EXPECT_EQ(hex(*prf(PrfId::kHmacSha1, key, data)), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    EXPECT_EQ(hex(*prf(PrfId::kHmacSha2_256, key, data)),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(hex(*prf(PrfId::kHmacSha2_384, key, data)),
              "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
              "8e2240ca5e69e2c78b3239ecfab21649");
    EXPECT_EQ(hex(*prf(PrfId::kHmacSha2_512, key, data)),
              "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
              "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
}

// RFC 4231 test case 1: key = 0x0b x 20, data = "Hi There".
TEST(Prf, Rfc4231Case1) {
    const Bytes key(20, 0x0b);
    const auto data = ascii("Hi There");
    EXPECT_EQ(hex(*prf(PrfId::kHmacSha2_256, key, data)),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

// Vectors from tests/vectors/gen_prf_plus.py (Python hmac, independent of this code).
struct PrfPlusVector {
    PrfId id;
    const char* expected;
};

class PrfPlus : public ::testing::TestWithParam<PrfPlusVector> {};

TEST_P(PrfPlus, MatchesIndependentVector) {
    Bytes key(32);
    for (unsigned i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i);
    const auto seed = ascii("mpsa prf+ vector seed");
    auto out = prf_plus(GetParam().id, key, seed, 100);
    ASSERT_TRUE(out);
    EXPECT_EQ(hex(*out), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, PrfPlus,
    ::testing::Values(
        PrfPlusVector{PrfId::kHmacSha1,
                      "5d76845fdae35212a9274ea6ac954d86b7bf34db902fa738ef3648944fa9cb11482db448"
                      "833cf272e46343c9ecee46b9d1aa9316212c2d0907164b74684c0227aa5c1147ec02acae"
                      "870b7c4f226c96a43dc8e223d33e9d68e9efb51ec06bbde516db455d"},
        PrfPlusVector{PrfId::kHmacSha2_256,
                      "33be969548deb61d07844eaa4e2cdc068168d6fa1f0bdd334a7bbf012abc7ef7b6d3985e"
                      "2546045f65cceff3c2a582d7470923708f54d0834e1f3e998409ed960110113e24f12384"
                      "98927df6bf0d8289f3d15de9511f394f6a4bde20c1b8d11177117ab4"},
        PrfPlusVector{PrfId::kHmacSha2_384,
                      "6541ae997f0d97d2e63bcc5980ec05824b57a8902cc4e412cae52d530d0c85b3c21fa1dd"
                      "2af096ed83d5b2ebd19b7fbeb069c2971131ddceff612e678561215d51140f1a43003f52"
                      "463b912c622c90941bf0bfa2fa1b6a2dc05f55612af5829d7f7e6c2a"},
        PrfPlusVector{PrfId::kHmacSha2_512,
                      "a17a74c7f313f9cb5cb0f4c3b81bf0f3990dda434cfb0b437d7db0f125ad4b235eaf37f2"
                      "31761d5562672dbaba03f3a848c0ebae73bbc33956d80dcd05f9d3603e8968441e91824c"
                      "bfe2f966d98159d96fea37499e945a8b7870fcf7fc17e6f30f416181"}));

TEST(PrfPlusLimits, RejectsMoreThan255Blocks) {
    const Bytes key(20, 1);
    EXPECT_FALSE(prf_plus(PrfId::kHmacSha1, key, key, 20 * 255 + 1));
    EXPECT_TRUE(prf_plus(PrfId::kHmacSha1, key, key, 20 * 255));
}

TEST(PrfIds, TransformIdMapping) {
    EXPECT_EQ(prf_from_transform_id(5), PrfId::kHmacSha2_256);
    EXPECT_FALSE(prf_from_transform_id(1).has_value());  // HMAC-MD5: not supported
    EXPECT_EQ(prf_key_length(PrfId::kHmacSha1), 20u);
}

}  // namespace
}  // namespace mpsa::ike
