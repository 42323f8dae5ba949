#include "mpsa/mpsa/keymat.hpp"

#include <gtest/gtest.h>

#include "mpsa/mpsa/esp_suite.hpp"

namespace mpsa::mpsa {
namespace {

using ike::Bytes;
using ike::to_hex;

Bytes range_bytes(std::uint8_t first, std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(first + i);
    return b;
}

// tests/vectors/mpsa_keymat_vectors.py (Python hmac): nonce 10..2f, SK_d a0.. (PRF key length).
struct KeymatVector {
    const char* name;
    EspSuite suite;
    const char* encr;
    const char* integ;
};

TEST(MpsaKeymat, IndependentVectors) {
    const KeymatVector vectors[] = {
        {"draft_example", suites::draft_example(),
         "59cc09f10b801459e775875e95da851965bcd4b0bdc52e5443550f5f83c8cd1a",
         "ac44c0979bc9647bd9f249950c555fecccc5bb55"},
        {"default_suite", suites::default_suite(),
         "608706119639b3537d1742d32fa3a71c16f43db24bf1b89aede6bb0bd2a90cce",
         "74c9a132638aed158d2e4953f47d1b62547f5c12f1b814490bdab852bba9b14a"},
        {"aes_gcm_256", suites::aes_gcm_256(),
         "608706119639b3537d1742d32fa3a71c16f43db24bf1b89aede6bb0bd2a90cce74c9a132", ""},
    };
    for (const auto& v : vectors) {
        SCOPED_TRACE(v.name);
        const Bytes sk_d = range_bytes(0xa0, ike::prf_key_length(v.suite.prf));
        const auto keys = derive_group_sa_keys(v.suite, sk_d, range_bytes(0x10, 32));
        ASSERT_TRUE(keys.has_value());
        EXPECT_EQ(to_hex(keys->encryption_key.view()), v.encr);
        EXPECT_EQ(to_hex(keys->integrity_key.view()), v.integ);
    }
}

TEST(MpsaKeymat, FromMpsaPutEqualsFromParts) {
    MpsaPut put;
    put.spi = 0x1000;
    put.suite = suites::draft_example();
    put.nonce = range_bytes(0x10, 32);
    put.sk_d = ike::SecretBytes(range_bytes(0xa0, 20));
    const auto keys = derive_group_sa_keys(put);
    ASSERT_TRUE(keys.has_value());
    EXPECT_EQ(to_hex(keys->integrity_key.view()), "ac44c0979bc9647bd9f249950c555fecccc5bb55");
}

TEST(MpsaKeymat, RejectsWrongSizes) {
    const auto suite = suites::default_suite();
    EXPECT_EQ(derive_group_sa_keys(suite, range_bytes(0, 20), range_bytes(0, 32)).error(),
              KeymatError::kBadSkdSize);
    EXPECT_EQ(derive_group_sa_keys(suite, range_bytes(0, 32), range_bytes(0, 15)).error(),
              KeymatError::kBadNonceSize);
    EXPECT_EQ(derive_group_sa_keys(suite, range_bytes(0, 32), Bytes(257, 1)).error(),
              KeymatError::kBadNonceSize);
}

TEST(MpsaEspSuite, KeyLengths) {
    EXPECT_EQ(keymat_length(suites::default_suite()), 64U);
    EXPECT_EQ(keymat_length(suites::draft_example()), 52U);
    EXPECT_EQ(encr_keymat_length(suites::aes_gcm_256()), 36U);  // key + salt
    EXPECT_EQ(keymat_length(suites::aes_gcm_256()), 36U);
    EXPECT_EQ(integ_icv_bits(IntegId::kHmacSha1_96), 96U);
    EXPECT_EQ(integ_icv_bits(IntegId::kHmacSha2_256_128), 128U);
    EXPECT_EQ(kernel_encr_name(EncrId::kAesGcm16), "rfc4106(gcm(aes))");
    EXPECT_EQ(kernel_integ_name(IntegId::kHmacSha2_256_128), "hmac(sha256)");
}

TEST(MpsaEspSuite, GcmOnlyWithOptIn) {
    EXPECT_TRUE(validate_suite(suites::default_suite(), {}));
    EXPECT_TRUE(validate_suite(suites::draft_example(), {}));
    EXPECT_EQ(validate_suite(suites::aes_gcm_256(), {}).error(), SuiteError::kAeadNotAllowed);
    EXPECT_TRUE(validate_suite(suites::aes_gcm_256(), SuitePolicy{true}));
    EspSuite bad = suites::aes_gcm_256();
    bad.integ = IntegId::kHmacSha1_96;
    EXPECT_EQ(validate_suite(bad, SuitePolicy{true}).error(), SuiteError::kIntegWithAead);
    bad = suites::default_suite();
    bad.integ = IntegId::kNone;
    EXPECT_EQ(validate_suite(bad, {}).error(), SuiteError::kMissingInteg);
    bad = suites::default_suite();
    bad.encr_key_bits = 512;
    EXPECT_EQ(validate_suite(bad, {}).error(), SuiteError::kBadKeyLength);
}

}  // namespace
}  // namespace mpsa::mpsa
