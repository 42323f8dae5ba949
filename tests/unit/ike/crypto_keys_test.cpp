#include <gtest/gtest.h>

#include <string>

#include "mpsa/ike/keys.hpp"

namespace mpsa::ike {
namespace {

Bytes pattern(std::uint8_t start, std::size_t length) {
    Bytes out(length);
    for (std::size_t i = 0; i < length; ++i) out[i] = static_cast<std::uint8_t>(start + i);
    return out;
}

std::string hex(const SecretBytes& s) {
    return to_hex(s.view());
}

std::string joined(const IkeSaKeys& k) {
    return hex(k.sk_d) + hex(k.sk_ai) + hex(k.sk_ar) + hex(k.sk_ei) + hex(k.sk_er) + hex(k.sk_pi) +
           hex(k.sk_pr);
}

const Bytes kNi = pattern(0x00, 32);
const Bytes kNr = pattern(0x40, 32);
const Bytes kSpiI = from_hex("0102030405060708");
const Bytes kSpiR = from_hex("f1f2f3f4f5f6f7f8");

// Printed by tests/vectors/gen_key_schedule.py (Python hmac, independent of this code).
struct ScheduleVector {
    const char* suite;
    std::size_t prf_key, integ_key, encr_key;
    std::size_t shared_length;
    const char* skeyseed;
    const char* keys;
    const char* rekey_skeyseed;
    const char* child_cbc;  // KEYMAT for ESP aes128 + sha256_128; its first 72 octets serve GCM
    const char* child_pfs;  // KEYMAT for ESP aes256gcm16 with PFS
};

class KeySchedule : public ::testing::TestWithParam<ScheduleVector> {};

TEST_P(KeySchedule, MatchesIndependentVector) {
    const auto& v = GetParam();
    auto suite = parse_suite(v.suite);
    ASSERT_TRUE(suite);
    const SecretBytes shared(pattern(0x80, v.shared_length));
    auto skeyseed = compute_skeyseed(suite->prf, kNi, kNr, shared);
    ASSERT_TRUE(skeyseed);
    EXPECT_EQ(hex(*skeyseed), v.skeyseed);

    auto keys = derive_ike_sa_keys(*suite, *skeyseed, kNi, kNr, kSpiI, kSpiR);
    ASSERT_TRUE(keys);
    EXPECT_EQ(keys->sk_d.size(), v.prf_key);
    EXPECT_EQ(keys->sk_pi.size(), v.prf_key);
    EXPECT_EQ(keys->sk_pr.size(), v.prf_key);
    EXPECT_EQ(keys->sk_ai.size(), v.integ_key);
    EXPECT_EQ(keys->sk_ar.size(), v.integ_key);
    EXPECT_EQ(keys->sk_ei.size(), v.encr_key);
    EXPECT_EQ(keys->sk_er.size(), v.encr_key);
    EXPECT_EQ(joined(*keys), v.keys);

    // Rekey started by the original responder: its nonce is Ni of the CREATE_CHILD_SA.
    const SecretBytes new_shared(pattern(0x90, v.shared_length));
    auto rekeyed = compute_rekey_skeyseed(suite->prf, keys->sk_d, new_shared, kNr, kNi);
    ASSERT_TRUE(rekeyed);
    EXPECT_EQ(hex(*rekeyed), v.rekey_skeyseed);

    auto cbc = derive_child_sa_keys(suite->prf, keys->sk_d, {16, 32}, kNi, kNr);
    ASSERT_TRUE(cbc);
    EXPECT_EQ(hex(cbc->encr_i) + hex(cbc->integ_i) + hex(cbc->encr_r) + hex(cbc->integ_r),
              v.child_cbc);
    EXPECT_EQ(cbc->encr_i.size(), 16U);
    EXPECT_EQ(cbc->integ_r.size(), 32U);

    auto gcm = derive_child_sa_keys(suite->prf, keys->sk_d, {36, 0}, kNi, kNr);
    ASSERT_TRUE(gcm);
    EXPECT_TRUE(gcm->integ_i.empty());
    EXPECT_TRUE(gcm->integ_r.empty());
    EXPECT_EQ(hex(gcm->encr_i) + hex(gcm->encr_r), std::string(v.child_cbc).substr(0, 144));

    auto pfs = derive_child_sa_keys(suite->prf, keys->sk_d, {36, 0}, kNi, kNr, &new_shared);
    ASSERT_TRUE(pfs);
    EXPECT_EQ(hex(pfs->encr_i) + hex(pfs->encr_r), v.child_pfs);
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, KeySchedule,
    ::testing::Values(
        ScheduleVector{
            "aes256-sha256-modp2048", 32, 32, 32, 256,
            "1bd57a99193d26d6ac078aa10ab045dfc3c10399d14e72ef4ea02d92002a548b",
            "8ba38a3233accaf04faa5c97d7001ce583680b83de0087f1796f53929e01a41ddbfda49255c7fa77b56605"
            "26cd711937e9d92f1954b94ff68e144e512018f992c7d7409bb53862b34bc1354ed12605e5202ca9ebf450"
            "f4a5e7916c1ebe43ab33f09e1071c6603fcef28298e4d36d733313ad023009d1e87324a928ef1c2cb8c022"
            "cb9c66188df97e11935eb0f8bf986435c3881c8803050ef8ff084b28ddff28a5f675d705ca73efd335f93d"
            "463c862d841efea6b51c47780e1027d933079a4eae4edcf402277a79774ebd81965b6c4d29fcf642127e6e"
            "04cbe6e6f9db963e60",
            "908d4c32d1d1f9778fab634f0bd03ae50593627d511e4e72f281975bfddd5080",
            "cde82e83ac25864b9f6dfa51cfdbbab350f09612a2b9ce65e74124f19d3872c2ee1c77de423146dad35744"
            "e0330d0f98ea46f23c62b98aec3c2a3a73bdb8aa0351e3ad6f1fc467ecfdb69f266342a511dd155db3c23b"
            "8d8a0c92aa60f7c8ddcc",
            "b2a081d1fc03c8e6f96c82f3fa8e3295a30804fb4769330ad8ca2f22625ce3a7ceef8b4ec052393494f694"
            "c768690df634bce79812db6e6c0008b1b905febf02ceedae2b22fadb73"},
        ScheduleVector{
            "aes128gcm16-prfsha256-x25519", 32, 0, 20, 32,
            "65779e9a368f12ac71ea474988dd7d9e3fe5793e784d0ba98d72ee64b7edb745",
            "b06d74a707714800efff594f0d3d686d14afcd67705b08c4e18010432783274ef75324c76ef2331094f09a"
            "6c20c7f5e7bba44ba76098a6fd4a4b4db42629aae236e0e266ac204fa8d04383bf9047a3e472ca0a78eae0"
            "bbe0bdc5cf7c653ba6e5ab46d455fd4fc4f4dfb06ac51fa6f24aef7f1a801be7744cce271a14dd45798561"
            "8584b97a8dde89",
            "681ccafd6ec908fef1ee8378166a9d0927d6e92104283c2d8239f9a2ba29a1f4",
            "834501cd4020204917b904b57b4422faefdd2619db0f6ffaa099efdaaed91b8d81dfd227d88dbe58ebdd1e"
            "8b96456f5178137e3d4da853daf88cdf356561b9f4f465ce271e631f15821dc669b06cc65f84d74ba97b40"
            "7dd79ad644f902aefbb8",
            "d152599dd932b228a1f032be26aad52974de8773f66ceba9edfabd5d4d282132ea8184733da7a9304d513e"
            "dcadef8ef822bd9d07ea198b097715cfc483c630570c529965261dcee1"},
        ScheduleVector{
            "aes256-sha384-ecp384", 48, 48, 32, 48,
            "6923c6b37097a3a45833f1a9ef0214693b43693d14f7847c007d33669881d8d798b1a41be04ecb43754ec0"
            "3da4800670",
            "b3518c63c5596f0ba90cc6d78a1d47933db0b2b91883ed83f7acb3c0d6c6774128c53b7f4d5298b095bc34"
            "19249b7fa6763c8464579080b47f44e6e2be561bf675a3e9fd4588244014987673026425a341cddf847973"
            "06cf170a37a6d5cc5e05d9f2ef6bcbacb5e0a2575486390fda8312efae5170035689bda21ca5e8230c61ec"
            "9ea03b138e2ef0e777324666f9019219c4eef1c69d6742b314486888e31573847e349ef896e51f434e7dc8"
            "7f39b0236aac4b3499fcab6277e433dcdd16d2eb75a293fd6540bbac989fb9e14535a0d4416f2b570f0ae2"
            "9d94143888331d0d2c7899878e96196c2a335fa61de4d6a5622e1671e74c2ff99ddbf6000514316e9ba6f6"
            "9a0bfd66bcc0e1a06a23659677049a73e2dba5b4c43ffa4a51f6925495a6aa546036a4e204bf04074090f4"
            "d37ee0",
            "5f8660db8fb72cc245b1f4a789426f0e8d4f0c707226c2a86b5db98cbb182095044ac943a85e3673da2dcd"
            "935b72d8ee",
            "e03e37978992bf70c7f0d76a797ff39ef898f48f517ab72a8f9f4e5e0c302151fbea90be62d435569fc8c9"
            "4c41bc76f272e76ae9d18200ad64643f9e2a8f57cdb4333cc7bcb3127e5141a3f7836bf788c9c6f9515610"
            "a2ba442f83aa8064393e",
            "39b78477722da9460f40531b6a2f83852edd4a6ef2d626d1875a3b1f4de5fa567da094dd9fb0feee5909ac"
            "1fba738232e832ffc458b55ed4b9d3303e382267acd20383a06df7bd4d"},
        ScheduleVector{
            "aes128-sha1-ecp256", 20, 20, 16, 32, "b2d55be0ad91b76121957b6fdefdbae7f711af66",
            "48dc9a038b56ba2a5fa6fc18edc7f6a3c972b0e4bbf396b44b27cfae030a39c6c762b6ac9bd8f224c67ec4"
            "bb32e6dec0e333aaa84885b1d660c08c856ccd2951daa171f15145ab4ce617b608ba5ac2b2a4c1f1edbc07"
            "32f9ac7a106124f3e8bb5c61ee24d5e20e22ed83e26efe8be7e0e73e05a4cf61671441714317557bdac4ff"
            "240cc1",
            "01be45419833d3b642e24719dc800a2fcd03bf85",
            "968139186c0b65c3bfbf2b8caa8b49f1d2211fd702785a9e7b3d984a7e9093fd46642ead70d1b9e1d2e714"
            "1199f7f9c415f8b7694502db21f6fea66a3c0189a2ab4adedcafd35bf44e5b4680b4115026a13bc57fad9b"
            "d1c78aa15031b3f54835",
            "87c7082fd5c308a54ca5630b1c3457a09bef68f58cc08d329a9f8f259649a44d2f1e9839a461d540d558b2"
            "31d785b1c5d4e5ec29bcb967f05b2e5eaefde89313cecbd07a5dade802"}));

TEST(KeyDerivation, RejectsBadInput) {
    const SecretBytes shared(pattern(1, 32));
    const SecretBytes seed(pattern(2, 32));
    EXPECT_EQ(compute_skeyseed(PrfId::kHmacSha2_256, {}, kNr, shared).error(),
              KeyDerivationError::kBadInput);
    EXPECT_EQ(compute_skeyseed(PrfId::kHmacSha2_256, kNi, kNr, SecretBytes{}).error(),
              KeyDerivationError::kBadInput);
    const Suite suite = *parse_suite("aes128gcm16-prfsha256-x25519");
    EXPECT_EQ(derive_ike_sa_keys(suite, seed, kNi, kNr, Bytes(4, 1), kSpiR).error(),
              KeyDerivationError::kBadInput);
    EXPECT_EQ(derive_ike_sa_keys(suite, SecretBytes{}, kNi, kNr, kSpiI, kSpiR).error(),
              KeyDerivationError::kBadInput);
    EXPECT_EQ(compute_rekey_skeyseed(PrfId::kHmacSha2_256, SecretBytes{}, shared, kNi, kNr).error(),
              KeyDerivationError::kBadInput);
    EXPECT_EQ(derive_child_sa_keys(PrfId::kHmacSha2_256, seed, {0, 0}, kNi, kNr).error(),
              KeyDerivationError::kBadInput);
    const SecretBytes empty;
    EXPECT_EQ(derive_child_sa_keys(PrfId::kHmacSha2_256, seed, {16, 0}, kNi, kNr, &empty).error(),
              KeyDerivationError::kBadInput);
    // prf+ stops at 255 blocks.
    EXPECT_EQ(derive_child_sa_keys(PrfId::kHmacSha1, seed, {4000, 0}, kNi, kNr).error(),
              KeyDerivationError::kCrypto);
}

TEST(KeyDerivation, EveryInputChangesTheKeys) {
    const Suite suite = *parse_suite("aes256-sha256-modp2048");
    const SecretBytes shared(pattern(0x80, 256));
    auto base_seed = compute_skeyseed(suite.prf, kNi, kNr, shared);
    ASSERT_TRUE(base_seed);
    auto base = derive_ike_sa_keys(suite, *base_seed, kNi, kNr, kSpiI, kSpiR);
    ASSERT_TRUE(base);
    // Swapping the SPIs (a responder mixing up roles) must not give the same keys.
    auto swapped = derive_ike_sa_keys(suite, *base_seed, kNi, kNr, kSpiR, kSpiI);
    ASSERT_TRUE(swapped);
    EXPECT_NE(joined(*base), joined(*swapped));
    // Swapping the nonces changes SKEYSEED.
    auto other_seed = compute_skeyseed(suite.prf, kNr, kNi, shared);
    ASSERT_TRUE(other_seed);
    EXPECT_NE(hex(*base_seed), hex(*other_seed));
    // All seven keys differ from each other.
    EXPECT_NE(hex(base->sk_ai), hex(base->sk_ar));
    EXPECT_NE(hex(base->sk_ei), hex(base->sk_er));
    EXPECT_NE(hex(base->sk_pi), hex(base->sk_pr));
}

}  // namespace
}  // namespace mpsa::ike
