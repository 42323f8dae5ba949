#include <gtest/gtest.h>

#include "mpsa/ike/suite.hpp"

namespace mpsa::ike {
namespace {

TEST(SuiteParse, ProposalsOfTheInteropMatrix) {
    auto cbc = parse_suite("aes256-sha256-modp2048");
    ASSERT_TRUE(cbc);
    EXPECT_EQ(cbc->encr, EncrId::kAesCbc);
    EXPECT_EQ(cbc->encr_key_bits, 256U);
    EXPECT_EQ(cbc->integ, IntegId::kHmacSha2_256_128);
    EXPECT_EQ(cbc->prf, PrfId::kHmacSha2_256);
    EXPECT_EQ(cbc->dh, DhGroup::kModp2048);
    EXPECT_FALSE(cbc->is_aead());
    EXPECT_EQ(cbc->encr_key_material_length(), 32U);
    EXPECT_EQ(cbc->integ_key_length(), 32U);
    EXPECT_EQ(cbc->prf_key_length(), 32U);

    auto gcm = parse_suite("aes128gcm16-prfsha256-x25519");
    ASSERT_TRUE(gcm);
    EXPECT_EQ(gcm->encr, EncrId::kAesGcm16);
    EXPECT_EQ(gcm->encr_key_bits, 128U);
    EXPECT_EQ(gcm->integ, IntegId::kNone);
    EXPECT_EQ(gcm->prf, PrfId::kHmacSha2_256);
    EXPECT_EQ(gcm->dh, DhGroup::kCurve25519);
    EXPECT_TRUE(gcm->is_aead());
    EXPECT_EQ(gcm->encr_key_material_length(), 20U);  // 16-octet key + 4-octet salt
    EXPECT_EQ(gcm->integ_key_length(), 0U);

    auto ecp = parse_suite("aes256-sha384-ecp384");
    ASSERT_TRUE(ecp);
    EXPECT_EQ(ecp->integ, IntegId::kHmacSha2_384_192);
    EXPECT_EQ(ecp->prf, PrfId::kHmacSha2_384);
    EXPECT_EQ(ecp->dh, DhGroup::kEcp384);
    EXPECT_EQ(ecp->prf_key_length(), 48U);
}

TEST(SuiteParse, AliasesAndExplicitPrf) {
    EXPECT_EQ(parse_suite("aes-sha1-modp2048")->encr_key_bits, 128U);
    EXPECT_EQ(parse_suite("aes-sha1-modp2048")->prf, PrfId::kHmacSha1);
    EXPECT_EQ(parse_suite("aes128-sha2_256-curve25519")->dh, DhGroup::kCurve25519);
    EXPECT_EQ(*parse_suite("aes256gcm128-prfsha384-ecp256"),
              *parse_suite("aes256gcm16-prfsha384-ecp256"));
    // An explicit PRF wins over the one implied by the integrity algorithm.
    EXPECT_EQ(parse_suite("aes128-sha256-prfsha512-ecp256")->prf, PrfId::kHmacSha2_512);
    // With AEAD an integrity keyword only names the PRF (as strongSwan does).
    auto gcm = parse_suite("aes256gcm16-sha384-x25519");
    ASSERT_TRUE(gcm);
    EXPECT_EQ(gcm->integ, IntegId::kNone);
    EXPECT_EQ(gcm->prf, PrfId::kHmacSha2_384);
}

TEST(SuiteParse, Errors) {
    EXPECT_EQ(parse_suite("").error().error, SuiteParseError::kUnknownKeyword);
    EXPECT_EQ(parse_suite("aes256--modp2048").error().error, SuiteParseError::kUnknownKeyword);
    auto unknown = parse_suite("3des-sha1-modp2048");
    EXPECT_EQ(unknown.error().error, SuiteParseError::kUnknownKeyword);
    EXPECT_EQ(unknown.error().keyword, "3des");
    EXPECT_EQ(parse_suite("AES256-sha256-modp2048").error().error,
              SuiteParseError::kUnknownKeyword);
    EXPECT_EQ(parse_suite("aes256-aes128-sha256-modp2048").error().error,
              SuiteParseError::kDuplicate);
    EXPECT_EQ(parse_suite("aes256-sha256-sha1-modp2048").error().error,
              SuiteParseError::kDuplicate);
    EXPECT_EQ(parse_suite("aes256-sha256-modp2048-ecp256").error().error,
              SuiteParseError::kDuplicate);
    EXPECT_EQ(parse_suite("sha256-modp2048").error().error, SuiteParseError::kMissingEncryption);
    EXPECT_EQ(parse_suite("aes256-prfsha256-modp2048").error().error,
              SuiteParseError::kMissingIntegrity);
    EXPECT_EQ(parse_suite("aes128gcm16-x25519").error().error, SuiteParseError::kMissingPrf);
    EXPECT_EQ(parse_suite("aes256-sha256").error().error, SuiteParseError::kMissingDhGroup);
    EXPECT_EQ(parse_suite("aes256-sha256-modp2048-").error().error,
              SuiteParseError::kUnknownKeyword);
}

TEST(SuiteToString, CanonicalFormsRoundTrip) {
    EXPECT_EQ(parse_suite("aes256-sha256-modp2048")->to_string(), "aes256-sha256-modp2048");
    EXPECT_EQ(parse_suite("aes128gcm16-prfsha256-x25519")->to_string(),
              "aes128gcm16-prfsha256-x25519");
    EXPECT_EQ(parse_suite("x25519-prfsha256-aes128gcm")->to_string(),
              "aes128gcm16-prfsha256-x25519");
    EXPECT_EQ(parse_suite("aes128-sha256-prfsha512-ecp256")->to_string(),
              "aes128-sha256-prfsha512-ecp256");

    // Every combination survives to_string -> parse_suite.
    for (auto encr : {EncrId::kAesCbc, EncrId::kAesGcm16})
        for (unsigned bits : {128U, 256U})
            for (auto integ : {IntegId::kHmacSha1_96, IntegId::kHmacSha2_256_128,
                               IntegId::kHmacSha2_384_192, IntegId::kHmacSha2_512_256})
                for (auto prf : {PrfId::kHmacSha1, PrfId::kHmacSha2_256, PrfId::kHmacSha2_384,
                                 PrfId::kHmacSha2_512})
                    for (auto dh : {DhGroup::kModp2048, DhGroup::kEcp256, DhGroup::kEcp384,
                                    DhGroup::kCurve25519}) {
                        Suite s{encr, bits, encr_is_aead(encr) ? IntegId::kNone : integ, prf, dh};
                        auto parsed = parse_suite(s.to_string());
                        ASSERT_TRUE(parsed) << s.to_string();
                        EXPECT_EQ(*parsed, s) << s.to_string();
                    }
}

}  // namespace
}  // namespace mpsa::ike
