#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "mpsa/ike/dh.hpp"

namespace mpsa::ike {
namespace {

std::string hex(const SecretBytes& s) {
    return to_hex(s.view());
}

struct KnownAnswer {
    DhGroup group;
    const char* private_i;
    const char* public_i;
    const char* private_r;
    const char* public_r;
    const char* shared;
};

class DhKnownAnswer : public ::testing::TestWithParam<KnownAnswer> {};

// Both sides compute the published public values and the published shared secret.
TEST_P(DhKnownAnswer, MatchesPublishedVector) {
    const auto& v = GetParam();
    auto initiator = DhKeyPair::from_private_key(v.group, from_hex(v.private_i));
    auto responder = DhKeyPair::from_private_key(v.group, from_hex(v.private_r));
    ASSERT_TRUE(initiator);
    ASSERT_TRUE(responder);
    EXPECT_EQ(to_hex(initiator->public_value()), to_hex(from_hex(v.public_i)));
    EXPECT_EQ(to_hex(responder->public_value()), to_hex(from_hex(v.public_r)));
    auto ir = initiator->shared_secret(responder->public_value());
    auto ri = responder->shared_secret(initiator->public_value());
    ASSERT_TRUE(ir);
    ASSERT_TRUE(ri);
    EXPECT_EQ(hex(*ir), to_hex(from_hex(v.shared)));
    EXPECT_EQ(hex(*ri), to_hex(from_hex(v.shared)));
}

INSTANTIATE_TEST_SUITE_P(
    Published, DhKnownAnswer,
    ::testing::Values(
        // RFC 3526 group 14 with exponents of 32 octets; tests/vectors/gen_modp2048.py (Python
        // pow(), independent of OpenSSL).
        KnownAnswer{
            DhGroup::kModp2048, "1112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30",
            "66e539f7e0fdaa3ec0ddc5e78503e695f16dfc75675b7927dd37d9409b63513a3c4dfad039f4b47f"
            "4e3f66de5339a10906e0aa82da59c28d7499bf55d0cb5f12e8ef0aa55ab331de9ff364d3917f66e1"
            "376bace4a5a243c2b74606f9718c391d2c4f31f0bbe6b9262b17adcfae3e2358d58a74b334ea7828"
            "55aae7f280cbf5832957efd47a3d29b8a5404f42e50be103e9dce931b0aa79b146b5f79a612350c1"
            "316f5ea4ea0c7970e4c777bd0ffb498b156ed7ec6f599220eb7feda94f8116560d00334b7174b99a"
            "f87adf5b0b0a7daf4bd9080c752e2b29e54ec2aadf012347e62b9310aa7f960d31a86dd39cc1dbe9"
            "8ce8fa3c41133175ed3b7eab45908089",
            "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0",
            "3919b103e145b98743530840b6360803a2f42e360975f9ef721a03c0d6d078c143f5780a92278428"
            "3949f842abfb7f30ada4be8c74319b3c5858f104cd700edcea75a676eb8eee701e84e1e282189ad9"
            "16632190a871e40da115b4a9485c4cb9ee9bb3ab7a725a164155831fea065d0ff2806eb324725996"
            "1a48a7764912515a591c730a6120181daa597629a7fc78c29f7b5ba39b038e84207affbd626c1c8c"
            "8bdec0a8a17252988ed499298eea3fc8878844cc6bf9fc5a4170b7d020fd191b32b097919cbe9405"
            "e1863cb62fe61446826edee620a5c7805c03322851f48e3a52a1974e3673dd1d16289f68bab91131"
            "e5cf96f19eaeed3bd9e37648f1f2a568",
            "6fbbe3950342777057f7df8e2694ac66c3d718c45ecb63883c9c0f34c753f1c051d8db8e154db347"
            "a072a66f615c20caa87dda4d4162ef9438cc0efeaa1cfe1c19fcb75d24edcb73d253bc4ad2ac7522"
            "b2b9719f5f612f305ce4b82db3c6a4d0470d4d9eef67ed629afbb4747091fbf79dd7052e41a577b0"
            "f024307dc06f01196c00cc86064918857a068caa19b8cbf93b1600d18b4fec7abedd017b74f54c04"
            "f62980fc59ec5bf707128e45112236412a4c5cefe9a0e1bfc50bdb61cd932c4637add0c551aefc43"
            "b7bebae785e468161a287d06fe05924ac175922b71d4530244018cd3c1d336a1f5380613ab6b67dc"
            "39afab72b2064383d79969acbd76d16b"},
        // RFC 7748 section 6.1 (Alice = i, Bob = r).
        KnownAnswer{DhGroup::kCurve25519,
                    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
                    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
                    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
                    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
                    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"},
        // RFC 5903 section 8.1: public value gx | gy, shared secret girx only.
        KnownAnswer{DhGroup::kEcp256,
                    "C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433",
                    "DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180"
                    "5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3",
                    "C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53",
                    "D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63"
                    "56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB",
                    "D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE"},
        // RFC 5903 section 8.2.
        KnownAnswer{DhGroup::kEcp384,
                    "099F3C70 34D4A2C6 99884D73 A375A67F 7624EF7C 6B3C0F16 0647B674 14DCE655"
                    "E35B5380 41E649EE 3FAEF896 783AB194",
                    "667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 1634FE72 B4C55EE6"
                    "DE3AC808 ACB4BDB4 C88732AE E95F41AA"
                    "9482ED1F C0EEB9CA FC498462 5CCFC23F 65032149 E0E144AD A0241815 35A0F38E"
                    "EB9FCFF3 C2C947DA E69B4C63 4573A81C",
                    "41CB0779 B4BDB85D 47846725 FBEC3C94 30FAB46C C8DC5060 855CC9BD A0AA2942"
                    "E0308312 916B8ED2 960E4BD5 5A7448FC",
                    "E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D 83CFA417 32BC509D"
                    "0D1AC43A 0336DEF9 6FDA41D0 774A3571"
                    "DCFBEC7A ACF31964 72169E83 8430367F 66EEBE3C 6E70C416 DD5F0C68 759DD1FF"
                    "F83FA401 42209DFF 5EAAD96D B9E6386C",
                    "11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 7521287E 7156C5C4"
                    "D6031355 69B9E9D0 9CF5D4A2 70F59746"}));

Bytes modp_value(std::uint8_t last) {
    Bytes v(256, 0);
    v.back() = last;
    return v;
}

// Tiny exponents make g^x computable by hand and exercise the left padding of RFC 7296 3.4:
// 2^2 = 4, 2^3 = 8, shared 2^6 = 64, each in 256 octets.
TEST(DhModp, TinyExponentsArePaddedToPrimeLength) {
    auto a = DhKeyPair::from_private_key(DhGroup::kModp2048, Bytes{2});
    auto b = DhKeyPair::from_private_key(DhGroup::kModp2048, Bytes{3});
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_EQ(a->public_value(), modp_value(4));
    EXPECT_EQ(b->public_value(), modp_value(8));
    auto ab = a->shared_secret(b->public_value());
    ASSERT_TRUE(ab);
    EXPECT_EQ(hex(*ab), to_hex(modp_value(64)));
}

Bytes modp_prime_minus(std::uint8_t subtrahend) {
    // RFC 3526 group 14 prime ends in ...FFFFFFFF, so p - k only touches the last octet.
    Bytes p = from_hex(
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
        "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
        "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA4836"
        "1C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804"
        "F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6"
        "955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF");
    p.back() = static_cast<std::uint8_t>(p.back() - subtrahend);
    return p;
}

TEST(DhModp, RejectsOutOfRangePeerValues) {
    EXPECT_EQ(check_dh_public_value(DhGroup::kModp2048, modp_value(0)).error(),
              DhError::kBadPublicValue);
    EXPECT_EQ(check_dh_public_value(DhGroup::kModp2048, modp_value(1)).error(),
              DhError::kBadPublicValue);
    EXPECT_EQ(check_dh_public_value(DhGroup::kModp2048, modp_prime_minus(1)).error(),
              DhError::kBadPublicValue);
    EXPECT_EQ(check_dh_public_value(DhGroup::kModp2048, modp_prime_minus(0)).error(),
              DhError::kBadPublicValue);
    EXPECT_EQ(check_dh_public_value(DhGroup::kModp2048, Bytes(256, 0xff)).error(),
              DhError::kBadPublicValue);
    EXPECT_TRUE(check_dh_public_value(DhGroup::kModp2048, modp_value(2)));
    EXPECT_TRUE(check_dh_public_value(DhGroup::kModp2048, modp_prime_minus(2)));
    EXPECT_EQ(check_dh_public_value(DhGroup::kModp2048, Bytes(255, 0x01)).error(),
              DhError::kBadPublicLength);
    EXPECT_EQ(check_dh_public_value(DhGroup::kModp2048, Bytes(257, 0x01)).error(),
              DhError::kBadPublicLength);

    auto pair = DhKeyPair::generate(DhGroup::kModp2048);
    ASSERT_TRUE(pair);
    EXPECT_EQ(pair->shared_secret(modp_value(1)).error(), DhError::kBadPublicValue);
}

TEST(DhEcp, RejectsPointsOffTheCurve) {
    for (auto group : {DhGroup::kEcp256, DhGroup::kEcp384}) {
        auto pair = DhKeyPair::generate(group);
        ASSERT_TRUE(pair);
        Bytes moved = pair->public_value();
        EXPECT_TRUE(check_dh_public_value(group, moved));
        moved.back() ^= 0x01;  // y + 1 (or - 1) is not on the curve for the same x
        EXPECT_EQ(check_dh_public_value(group, moved).error(), DhError::kBadPublicValue);
        EXPECT_EQ(pair->shared_secret(moved).error(), DhError::kBadPublicValue);
        EXPECT_EQ(check_dh_public_value(group, Bytes(moved.size(), 0)).error(),
                  DhError::kBadPublicValue);
        EXPECT_EQ(check_dh_public_value(group, Bytes(moved.size(), 0xff)).error(),
                  DhError::kBadPublicValue);
        // With the SEC1 0x04 prefix the value is one octet too long.
        Bytes prefixed(pair->public_value().size() + 1, 0x04);
        std::copy(pair->public_value().begin(), pair->public_value().end(), prefixed.begin() + 1);
        EXPECT_EQ(check_dh_public_value(group, prefixed).error(), DhError::kBadPublicLength);
    }
}

TEST(DhCurve25519, RejectsLowOrderPointsAsZeroSecret) {
    auto pair = DhKeyPair::generate(DhGroup::kCurve25519);
    ASSERT_TRUE(pair);
    Bytes zero(32, 0);
    Bytes one(32, 0);
    one[0] = 1;  // little-endian u = 1
    EXPECT_EQ(pair->shared_secret(zero).error(), DhError::kZeroSharedSecret);
    EXPECT_EQ(pair->shared_secret(one).error(), DhError::kZeroSharedSecret);
    EXPECT_EQ(pair->shared_secret(Bytes(31, 9)).error(), DhError::kBadPublicLength);
}

class DhGenerated : public ::testing::TestWithParam<DhGroup> {};

TEST_P(DhGenerated, FreshPairsAgreeAndDiffer) {
    const DhGroup group = GetParam();
    auto a = DhKeyPair::generate(group);
    auto b = DhKeyPair::generate(group);
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_EQ(a->group(), group);
    EXPECT_EQ(a->public_value().size(), dh_public_length(group));
    EXPECT_NE(a->public_value(), b->public_value());
    auto ab = a->shared_secret(b->public_value());
    auto ba = b->shared_secret(a->public_value());
    ASSERT_TRUE(ab);
    ASSERT_TRUE(ba);
    EXPECT_EQ(ab->size(), dh_shared_secret_length(group));
    EXPECT_TRUE(constant_time_equal(ab->view(), ba->view()));
}

INSTANTIATE_TEST_SUITE_P(AllGroups, DhGenerated,
                         ::testing::Values(DhGroup::kModp2048, DhGroup::kEcp256, DhGroup::kEcp384,
                                           DhGroup::kCurve25519));

TEST(DhGroupIds, TransformIdsAndNames) {
    EXPECT_EQ(dh_group_from_transform_id(14), DhGroup::kModp2048);
    EXPECT_EQ(dh_group_from_transform_id(19), DhGroup::kEcp256);
    EXPECT_EQ(dh_group_from_transform_id(20), DhGroup::kEcp384);
    EXPECT_EQ(dh_group_from_transform_id(31), DhGroup::kCurve25519);
    EXPECT_FALSE(dh_group_from_transform_id(2));
    EXPECT_FALSE(dh_group_from_transform_id(32));
    EXPECT_EQ(dh_group_name(DhGroup::kEcp384), "ecp384");
}

TEST(DhPrivateKeys, WrongSizesAreRejected) {
    EXPECT_EQ(DhKeyPair::from_private_key(DhGroup::kCurve25519, Bytes(31, 1)).error(),
              DhError::kBadPrivateKey);
    EXPECT_EQ(DhKeyPair::from_private_key(DhGroup::kEcp256, Bytes(48, 1)).error(),
              DhError::kBadPrivateKey);
    EXPECT_EQ(DhKeyPair::from_private_key(DhGroup::kEcp256, Bytes(32, 0)).error(),
              DhError::kBadPrivateKey);
    EXPECT_EQ(DhKeyPair::from_private_key(DhGroup::kModp2048, Bytes{1}).error(),
              DhError::kBadPrivateKey);
}

}  // namespace
}  // namespace mpsa::ike
