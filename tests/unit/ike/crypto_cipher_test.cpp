#include <gtest/gtest.h>

#include <set>
#include <string>

#include "mpsa/ike/cipher.hpp"

namespace mpsa::ike {
namespace {

SecretBytes counting_key(std::uint8_t first, std::size_t length) {
    SecretBytes key(length);
    for (std::size_t i = 0; i < length; ++i) key.data()[i] = static_cast<std::uint8_t>(first + i);
    return key;
}

struct SuiteParams {
    EncrId encr;
    unsigned key_bits;
    IntegId integ;
};

std::unique_ptr<SkTransform> make(const SuiteParams& s, const SecretBytes& encr_key,
                                  const SecretBytes& integ_key) {
    auto t = make_sk_transform(s.encr, s.key_bits, s.integ, encr_key, integ_key);
    EXPECT_TRUE(t);
    return t ? std::move(*t) : nullptr;
}

std::unique_ptr<SkTransform> make(const SuiteParams& s) {
    return make(s, counting_key(0x10, encr_key_material_length(s.encr, s.key_bits)),
                counting_key(0x80, integ_key_length(s.integ)));
}

// Vectors printed by tests/vectors/gen_sk_vectors.py (pure-Python AES checked against FIPS-197
// and the GCM specification, AES-CBC also against `openssl enc`, HMAC from Python's hmac).
const Bytes kAad = from_hex("00112233445566778899aabbccddeeff2e20250800000001000000502900002c");

Bytes cbc_plaintext() {
    Bytes p;
    for (int i = 0; i < 47; ++i) p.push_back(static_cast<std::uint8_t>(0x30 + i));
    p.push_back(0);  // pad length
    return p;
}

Bytes gcm_plaintext() {
    const std::string text = "inner payloads of an IKE_AUTH request";
    Bytes p(text.begin(), text.end());
    p.push_back(0);
    return p;
}

struct KnownBody {
    SuiteParams suite;
    const char* body;
};

class SkKnownAnswer : public ::testing::TestWithParam<KnownBody> {};

TEST_P(SkKnownAnswer, OpensIndependentlyComputedBody) {
    const auto& v = GetParam();
    const bool gcm = v.suite.encr == EncrId::kAesGcm16;
    SecretBytes encr_key;
    if (gcm) {
        Bytes material = from_hex(to_hex(counting_key(0x20, v.suite.key_bits / 8).view()));
        for (auto b : from_hex("a1b2c3d4")) material.push_back(b);
        encr_key = SecretBytes(material);
    } else {
        encr_key = counting_key(0x10, v.suite.key_bits / 8);
    }
    auto transform = make(v.suite, encr_key, counting_key(0x80, integ_key_length(v.suite.integ)));
    ASSERT_TRUE(transform);
    const Bytes body = from_hex(v.body);
    // Twice: the per-message re-initialisation must reuse the key, not chain state.
    for (int round = 0; round < 2; ++round) {
        auto opened = transform->open(kAad, body);
        ASSERT_TRUE(opened) << "round " << round;
        EXPECT_EQ(*opened, gcm ? gcm_plaintext() : cbc_plaintext());
    }
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, SkKnownAnswer,
    ::testing::Values(
        KnownBody{{EncrId::kAesCbc, 128, IntegId::kHmacSha1_96},
                  "f0e1d2c3b4a5968778695a4b3c2d1e0f5fef0e2e87584c05c6a9a70ce29b7f21b6978b23637a1ee"
                  "a595456a510557f4484df74d14452ec109f34e14a2ddee56fc38b915199e9a89112ecdecf"},
        KnownBody{{EncrId::kAesCbc, 256, IntegId::kHmacSha2_256_128},
                  "f0e1d2c3b4a5968778695a4b3c2d1e0f61fa8efdbbe37ec78947f19262fafbd98ee0fcdc47d803e"
                  "31129dd437a6864414f98b1ea36e1679f03978bd9c9ba83d4224c052bf22850bd7fd63d344e2c60"
                  "8c"},
        KnownBody{{EncrId::kAesCbc, 256, IntegId::kHmacSha2_384_192},
                  "f0e1d2c3b4a5968778695a4b3c2d1e0f61fa8efdbbe37ec78947f19262fafbd98ee0fcdc47d803e"
                  "31129dd437a6864414f98b1ea36e1679f03978bd9c9ba83d4de53b15555c1d93c8dda9ee8c19037"
                  "1eb98a3f8e108da1f4"},
        KnownBody{{EncrId::kAesCbc, 128, IntegId::kHmacSha2_512_256},
                  "f0e1d2c3b4a5968778695a4b3c2d1e0f5fef0e2e87584c05c6a9a70ce29b7f21b6978b23637a1ee"
                  "a595456a510557f4484df74d14452ec109f34e14a2ddee56fe275e31d5e6e164f08bec38fe55712"
                  "1159558ba3efe1be6a665401e2d4d52c22"},
        KnownBody{{EncrId::kAesGcm16, 128, IntegId::kNone},
                  "010203040506070801590f310bbe30a8af9009cd66570dcf307d687b6ded5997539dc8aec4cac5b"
                  "b28a82c941c85814aedc6d639ea3a0309d4b017798889"},
        KnownBody{{EncrId::kAesGcm16, 256, IntegId::kNone},
                  "0102030405060708c7b1b60c19f73ce687f3560610932f83e479028e86b0c0b2873cfc1c28b5ec4"
                  "70af99525d12949486c39bb393eb447cf4a1fcc39f969"}));

class SkAllSuites : public ::testing::TestWithParam<SuiteParams> {
  protected:
    Bytes plaintext() const {
        const std::size_t length = GetParam().encr == EncrId::kAesCbc ? 64 : 61;
        Bytes p(length);
        for (std::size_t i = 0; i < length; ++i) p[i] = static_cast<std::uint8_t>(i * 7);
        return p;
    }
};

TEST_P(SkAllSuites, PeerWithSameKeysOpensWhatWasSealed) {
    auto sender = make(GetParam());
    auto receiver = make(GetParam());
    ASSERT_TRUE(sender && receiver);
    const Bytes pt = plaintext();
    auto body = sender->seal(kAad, pt);
    ASSERT_TRUE(body);
    EXPECT_EQ(body->size(), sender->iv_length() + pt.size() + sender->icv_length());
    auto opened = receiver->open(kAad, *body);
    ASSERT_TRUE(opened);
    EXPECT_EQ(*opened, pt);
    // The ciphertext is not the plaintext.
    EXPECT_NE(Bytes(body->begin() + static_cast<long>(sender->iv_length()),
                    body->begin() + static_cast<long>(sender->iv_length() + pt.size())),
              pt);
}

TEST_P(SkAllSuites, LengthsMatchTheTransform) {
    auto t = make(GetParam());
    ASSERT_TRUE(t);
    if (GetParam().encr == EncrId::kAesGcm16) {
        EXPECT_EQ(t->iv_length(), 8U);
        EXPECT_EQ(t->icv_length(), 16U);
        EXPECT_EQ(t->block_size(), 1U);
    } else {
        EXPECT_EQ(t->iv_length(), 16U);
        EXPECT_EQ(t->icv_length(), integ_icv_length(GetParam().integ));
        EXPECT_EQ(t->block_size(), 16U);
    }
}

TEST_P(SkAllSuites, EveryFlippedBitIsRejected) {
    auto t = make(GetParam());
    ASSERT_TRUE(t);
    const Bytes pt = plaintext();
    auto body = t->seal(kAad, pt);
    ASSERT_TRUE(body);
    for (std::size_t bit = 0; bit < body->size() * 8; ++bit) {
        Bytes tampered = *body;
        tampered[bit / 8] ^= static_cast<std::uint8_t>(1U << (bit % 8));
        auto r = t->open(kAad, tampered);
        ASSERT_FALSE(r) << "body bit " << bit;
        EXPECT_EQ(r.error(), SkError::kIntegrityFailed) << "body bit " << bit;
    }
    for (std::size_t bit = 0; bit < kAad.size() * 8; ++bit) {
        Bytes aad = kAad;
        aad[bit / 8] ^= static_cast<std::uint8_t>(1U << (bit % 8));
        auto r = t->open(aad, *body);
        ASSERT_FALSE(r) << "aad bit " << bit;
        EXPECT_EQ(r.error(), SkError::kIntegrityFailed) << "aad bit " << bit;
    }
    EXPECT_TRUE(t->open(kAad, *body));  // the untouched message still opens
}

TEST_P(SkAllSuites, TruncatedBodiesAreRejected) {
    auto t = make(GetParam());
    ASSERT_TRUE(t);
    auto body = t->seal(kAad, plaintext());
    ASSERT_TRUE(body);
    const bool cbc = GetParam().encr == EncrId::kAesCbc;
    const std::size_t minimum = t->iv_length() + t->icv_length() + (cbc ? 16 : 0);
    for (std::size_t length = 0; length < body->size(); ++length) {
        auto r = t->open(kAad, ByteView(body->data(), length));
        ASSERT_FALSE(r) << "length " << length;
        const std::size_t ciphertext = length >= minimum ? length - minimum : 0;
        if (length < minimum || (cbc && ciphertext % 16 != 0)) {
            EXPECT_EQ(r.error(), SkError::kTooShort) << "length " << length;
        } else {
            EXPECT_EQ(r.error(), SkError::kIntegrityFailed) << "length " << length;
        }
    }
}

TEST_P(SkAllSuites, IvsNeverRepeat) {
    auto t = make(GetParam());
    ASSERT_TRUE(t);
    std::set<Bytes> ivs;
    for (int i = 0; i < 1000; ++i) {
        auto body = t->seal(kAad, plaintext());
        ASSERT_TRUE(body);
        ivs.insert(Bytes(body->begin(), body->begin() + static_cast<long>(t->iv_length())));
    }
    EXPECT_EQ(ivs.size(), 1000U);
}

TEST_P(SkAllSuites, WrongKeysFailIntegrity) {
    auto sender = make(GetParam());
    auto body = sender->seal(kAad, plaintext());
    ASSERT_TRUE(body);
    const auto& s = GetParam();
    auto other = make(s, counting_key(0x11, encr_key_material_length(s.encr, s.key_bits)),
                      counting_key(0x81, integ_key_length(s.integ)));
    ASSERT_TRUE(other);
    EXPECT_EQ(other->open(kAad, *body).error(), SkError::kIntegrityFailed);
}

INSTANTIATE_TEST_SUITE_P(
    Suites, SkAllSuites,
    ::testing::Values(SuiteParams{EncrId::kAesCbc, 128, IntegId::kHmacSha1_96},
                      SuiteParams{EncrId::kAesCbc, 128, IntegId::kHmacSha2_256_128},
                      SuiteParams{EncrId::kAesCbc, 256, IntegId::kHmacSha2_256_128},
                      SuiteParams{EncrId::kAesCbc, 256, IntegId::kHmacSha2_384_192},
                      SuiteParams{EncrId::kAesCbc, 256, IntegId::kHmacSha2_512_256},
                      SuiteParams{EncrId::kAesGcm16, 128, IntegId::kNone},
                      SuiteParams{EncrId::kAesGcm16, 256, IntegId::kNone}));

TEST(SkCbc, SealRefusesPartialBlocks) {
    auto t = make({EncrId::kAesCbc, 128, IntegId::kHmacSha2_256_128});
    ASSERT_TRUE(t);
    EXPECT_EQ(t->seal(kAad, Bytes(17, 0)).error(), SkError::kTooShort);
    EXPECT_TRUE(t->seal(kAad, Bytes(32, 0)));
}

TEST(SkSetup, RejectsInconsistentParameters) {
    const SecretBytes k16 = counting_key(0, 16);
    const SecretBytes k20 = counting_key(0, 20);
    const SecretBytes k32 = counting_key(0, 32);
    const SecretBytes none;
    EXPECT_EQ(
        make_sk_transform(EncrId::kAesGcm16, 128, IntegId::kHmacSha2_256_128, k20, k32).error(),
        CipherSetupError::kUnsupported);
    EXPECT_EQ(make_sk_transform(EncrId::kAesCbc, 128, IntegId::kNone, k16, none).error(),
              CipherSetupError::kUnsupported);
    EXPECT_EQ(make_sk_transform(EncrId::kAesCbc, 192, IntegId::kHmacSha1_96, k16, k20).error(),
              CipherSetupError::kUnsupported);
    // GCM key material includes the 4-octet salt.
    EXPECT_EQ(make_sk_transform(EncrId::kAesGcm16, 128, IntegId::kNone, k16, none).error(),
              CipherSetupError::kBadKeyLength);
    EXPECT_TRUE(make_sk_transform(EncrId::kAesGcm16, 128, IntegId::kNone, k20, none));
    EXPECT_EQ(make_sk_transform(EncrId::kAesCbc, 256, IntegId::kHmacSha1_96, k16, k20).error(),
              CipherSetupError::kBadKeyLength);
    EXPECT_EQ(make_sk_transform(EncrId::kAesCbc, 128, IntegId::kHmacSha1_96, k16, k32).error(),
              CipherSetupError::kBadKeyLength);
}

TEST(SkIds, TransformIdsLengthsAndNames) {
    EXPECT_EQ(encr_from_transform_id(12), EncrId::kAesCbc);
    EXPECT_EQ(encr_from_transform_id(20), EncrId::kAesGcm16);
    EXPECT_FALSE(encr_from_transform_id(3));
    EXPECT_EQ(integ_from_transform_id(2), IntegId::kHmacSha1_96);
    EXPECT_EQ(integ_from_transform_id(14), IntegId::kHmacSha2_512_256);
    EXPECT_FALSE(integ_from_transform_id(0));
    EXPECT_EQ(encr_key_material_length(EncrId::kAesGcm16, 256), 36U);
    EXPECT_EQ(encr_key_material_length(EncrId::kAesCbc, 256), 32U);
    EXPECT_EQ(integ_key_length(IntegId::kHmacSha2_384_192), 48U);
    EXPECT_EQ(integ_icv_length(IntegId::kHmacSha2_384_192), 24U);
    EXPECT_EQ(encr_name(EncrId::kAesGcm16, 128), "aes128gcm16");
    EXPECT_EQ(integ_name(IntegId::kHmacSha2_256_128), "sha256");
}

}  // namespace
}  // namespace mpsa::ike
