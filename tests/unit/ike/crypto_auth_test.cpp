#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "mpsa/ike/auth.hpp"
#include "mpsa/ike/crypto_x509.hpp"

namespace mpsa::ike {
namespace {

Bytes pattern(std::uint8_t start, std::size_t length) {
    Bytes out(length);
    for (std::size_t i = 0; i < length; ++i) out[i] = static_cast<std::uint8_t>(start + i);
    return out;
}

Bytes ascii(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

// ---- PSK (RFC 7296 2.15), vectors from tests/vectors/gen_key_schedule.py (Python hmac) ----

const Bytes kIdBody = [] {
    Bytes b{2, 0, 0, 0};  // ID_FQDN | RESERVED
    for (char c : std::string_view("cpe1.example.net")) b.push_back(static_cast<std::uint8_t>(c));
    return b;
}();
const Bytes kPsk = ascii("mpsa test pre-shared key");

TEST(AuthPsk, MatchesIndependentVectors) {
    const Bytes message = pattern(0x20, 300);
    const Bytes peer_nonce = pattern(0x40, 32);
    auto octets = auth_signed_octets(PrfId::kHmacSha2_256, SecretBytes(pattern(0xA0, 32)), message,
                                     peer_nonce, kIdBody);
    ASSERT_TRUE(octets);
    ASSERT_EQ(octets->size(), 300U + 32U + 32U);
    EXPECT_TRUE(std::equal(message.begin(), message.end(), octets->begin()));
    auto auth = psk_auth_value(PrfId::kHmacSha2_256, kPsk, *octets);
    ASSERT_TRUE(auth);
    EXPECT_EQ(to_hex(*auth), "d886cf9b90544c707695195c6b9819b0ab04b58f658da14bb4e5a29c3d0f6d4e");

    auto octets384 = auth_signed_octets(PrfId::kHmacSha2_384, SecretBytes(pattern(0xA0, 48)),
                                        message, peer_nonce, kIdBody);
    ASSERT_TRUE(octets384);
    auto auth384 = psk_auth_value(PrfId::kHmacSha2_384, kPsk, *octets384);
    ASSERT_TRUE(auth384);
    EXPECT_EQ(to_hex(*auth384),
              "a10e954da315fbecc1bef098d2f9b8edc2faa3a3b6a59c7fde4553a5816c51d448227145f1c9d58dbe8"
              "71fb50a4cb802");
}

TEST(AuthPsk, VerifyRejectsAnyDifference) {
    const Bytes octets = pattern(0x11, 100);
    auto auth = psk_auth_value(PrfId::kHmacSha2_256, kPsk, octets);
    ASSERT_TRUE(auth);
    EXPECT_TRUE(verify_psk_auth(PrfId::kHmacSha2_256, kPsk, octets, *auth));
    EXPECT_EQ(verify_psk_auth(PrfId::kHmacSha2_256, ascii("other key"), octets, *auth).error(),
              AuthError::kMismatch);
    Bytes changed = octets;
    changed[50] ^= 0x01;
    EXPECT_EQ(verify_psk_auth(PrfId::kHmacSha2_256, kPsk, changed, *auth).error(),
              AuthError::kMismatch);
    Bytes truncated(auth->begin(), auth->end() - 1);
    EXPECT_EQ(verify_psk_auth(PrfId::kHmacSha2_256, kPsk, octets, truncated).error(),
              AuthError::kMismatch);
    EXPECT_EQ(verify_psk_auth(PrfId::kHmacSha2_384, kPsk, octets, *auth).error(),
              AuthError::kMismatch);
    // The responder's octets (other nonce, other SK_p) give another value.
    auto other = auth_signed_octets(PrfId::kHmacSha2_256, SecretBytes(pattern(0xB0, 32)), octets,
                                    pattern(0x40, 32), kIdBody);
    auto same = auth_signed_octets(PrfId::kHmacSha2_256, SecretBytes(pattern(0xA0, 32)), octets,
                                   pattern(0x40, 32), kIdBody);
    ASSERT_TRUE(other && same);
    EXPECT_NE(*other, *same);
}

// ---- Throw-away PKI built with the OpenSSL API at test time ----

struct X509Free {
    void operator()(X509* c) const { X509_free(c); }
};
using OwnedCert = std::unique_ptr<X509, X509Free>;

EVP_PKEY* new_key(std::string_view kind) {
    if (kind == "RSA") return EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
    return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", kind == "P-384" ? "P-384" : "P-256");
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    ASSERT_NE(ext, nullptr) << value;
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

// issuer == nullptr: self-signed. san may be empty.
OwnedCert make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                    bool ca, const std::string& san, long serial) {
    OwnedCert cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 86400);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("mpsa test"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
    X509* signer = issuer ? issuer : cert.get();
    add_extension(cert.get(), signer, NID_basic_constraints,
                  ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    if (ca) add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
    if (!san.empty()) add_extension(cert.get(), signer, NID_subject_alt_name, san.c_str());
    EXPECT_GT(X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()), 0);
    return cert;
}

Certificate wrap(const OwnedCert& c) {
    X509_up_ref(c.get());
    return Certificate(c.get());
}

constexpr const char* kLeafSan =
    "DNS:cpe1.example.net,email:ops@example.net,IP:192.0.2.1,IP:2001:db8::1";

class AuthPki : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ca_key_ = new_key("P-256");
        other_ca_key_ = new_key("P-256");
        rsa_key_ = new_key("RSA");
        p256_key_ = new_key("P-256");
        p384_key_ = new_key("P-384");
        ca_ = make_cert(ca_key_, "mpsa test CA", nullptr, nullptr, true, "", 1);
        other_ca_ = make_cert(other_ca_key_, "mpsa test CA", nullptr, nullptr, true, "", 1);
        rsa_cert_ = make_cert(rsa_key_, "cpe1 rsa", ca_.get(), ca_key_, false, kLeafSan, 2);
        p256_cert_ = make_cert(p256_key_, "cpe1 p256", ca_.get(), ca_key_, false, kLeafSan, 3);
        p384_cert_ = make_cert(p384_key_, "cpe1 p384", ca_.get(), ca_key_, false, kLeafSan, 4);
    }
    static void TearDownTestSuite() {
        ca_.reset();
        other_ca_.reset();
        rsa_cert_.reset();
        p256_cert_.reset();
        p384_cert_.reset();
        for (EVP_PKEY* k : {ca_key_, other_ca_key_, rsa_key_, p256_key_, p384_key_})
            EVP_PKEY_free(k);
    }

    static PrivateKey key(EVP_PKEY* k) {
        EVP_PKEY_up_ref(k);
        return PrivateKey(k);
    }

    static inline EVP_PKEY* ca_key_ = nullptr;
    static inline EVP_PKEY* other_ca_key_ = nullptr;
    static inline EVP_PKEY* rsa_key_ = nullptr;
    static inline EVP_PKEY* p256_key_ = nullptr;
    static inline EVP_PKEY* p384_key_ = nullptr;
    static inline OwnedCert ca_;
    static inline OwnedCert other_ca_;
    static inline OwnedCert rsa_cert_;
    static inline OwnedCert p256_cert_;
    static inline OwnedCert p384_cert_;
};

struct SignCase {
    SignatureScheme scheme;
    EVP_PKEY* key;
    X509* cert;
    const char* what;
};

TEST_F(AuthPki, SignVerifyAndTamperingForEveryScheme) {
    const Bytes octets = pattern(0x33, 200);
    const SignCase cases[] = {
        {SignatureScheme::kRsaPssSha256, rsa_key_, rsa_cert_.get(), "rsa-pss-sha256"},
        {SignatureScheme::kRsaPssSha384, rsa_key_, rsa_cert_.get(), "rsa-pss-sha384"},
        {SignatureScheme::kRsaPssSha512, rsa_key_, rsa_cert_.get(), "rsa-pss-sha512"},
        {SignatureScheme::kRsaPkcs1Sha256, rsa_key_, rsa_cert_.get(), "rsa-pkcs1-sha256"},
        {SignatureScheme::kEcdsaSha256, p256_key_, p256_cert_.get(), "ecdsa-p256-sha256"},
        {SignatureScheme::kEcdsaSha384, p384_key_, p384_cert_.get(), "ecdsa-p384-sha384"},
        {SignatureScheme::kEcdsaSha512, p256_key_, p256_cert_.get(), "ecdsa-p256-sha512"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        X509_up_ref(c.cert);
        const Certificate signer(c.cert);
        auto auth = sign_auth_rfc7427(key(c.key), c.scheme, octets);
        ASSERT_TRUE(auth);
        const ByteView algorithm = signature_algorithm_identifier(c.scheme);
        ASSERT_EQ((*auth)[0], algorithm.size());
        EXPECT_TRUE(std::equal(algorithm.begin(), algorithm.end(), auth->begin() + 1));
        EXPECT_TRUE(verify_auth_rfc7427(signer, *auth, octets));

        Bytes bad_signature = *auth;
        bad_signature.back() ^= 0x01;
        EXPECT_EQ(verify_auth_rfc7427(signer, bad_signature, octets).error(), AuthError::kMismatch);
        Bytes bad_octets = octets;
        bad_octets[0] ^= 0x80;
        EXPECT_EQ(verify_auth_rfc7427(signer, *auth, bad_octets).error(), AuthError::kMismatch);
        Bytes bad_algorithm = *auth;
        bad_algorithm[algorithm.size()] = 0x7f;  // last AlgorithmIdentifier octet
        EXPECT_EQ(verify_auth_rfc7427(signer, bad_algorithm, octets).error(),
                  AuthError::kUnknownAlgorithm);
        EXPECT_EQ(verify_auth_rfc7427(signer, ByteView(auth->data(), 1 + algorithm.size()), octets)
                      .error(),
                  AuthError::kMalformed);
    }
}

TEST_F(AuthPki, SignatureFromAnotherKeyIsRejected) {
    const Bytes octets = pattern(0x44, 64);
    auto auth = sign_auth_rfc7427(key(p384_key_), SignatureScheme::kEcdsaSha384, octets);
    ASSERT_TRUE(auth);
    EXPECT_EQ(verify_auth_rfc7427(wrap(p256_cert_), *auth, octets).error(), AuthError::kMismatch);
    // An ECDSA AlgorithmIdentifier against an RSA certificate.
    EXPECT_EQ(verify_auth_rfc7427(wrap(rsa_cert_), *auth, octets).error(), AuthError::kKeyMismatch);
    EXPECT_EQ(sign_auth_rfc7427(key(rsa_key_), SignatureScheme::kEcdsaSha256, octets).error(),
              AuthError::kKeyMismatch);
    EXPECT_EQ(sign_auth_rfc7427(key(p256_key_), SignatureScheme::kRsaPssSha256, octets).error(),
              AuthError::kKeyMismatch);
    EXPECT_EQ(verify_auth_rfc7427(wrap(p256_cert_), Bytes{}, octets).error(),
              AuthError::kMalformed);
    EXPECT_EQ(verify_auth_rfc7427(wrap(p256_cert_), Bytes{200, 1, 2}, octets).error(),
              AuthError::kMalformed);
}

TEST_F(AuthPki, DefaultSchemesFollowTheKey) {
    EXPECT_EQ(default_signature_scheme(key(rsa_key_)), SignatureScheme::kRsaPssSha256);
    EXPECT_EQ(default_signature_scheme(key(p256_key_)), SignatureScheme::kEcdsaSha256);
    EXPECT_EQ(default_signature_scheme(key(p384_key_)), SignatureScheme::kEcdsaSha384);
    EXPECT_EQ(signature_hash_algorithm(SignatureScheme::kRsaPssSha256), 2);
    EXPECT_EQ(signature_hash_algorithm(SignatureScheme::kEcdsaSha384), 3);
    EXPECT_EQ(signature_hash_algorithm(SignatureScheme::kEcdsaSha512), 4);
}

TEST_F(AuthPki, SchemeFollowsThePeersHashAlgorithms) {
    using S = SignatureScheme;
    const std::uint16_t all[] = {1, 2, 3, 4};
    const std::uint16_t only384[] = {3};
    const std::uint16_t sha1_512[] = {1, 4};
    const std::uint16_t sha1_only[] = {1, 5};
    EXPECT_EQ(choose_signature_scheme(key(rsa_key_), all), S::kRsaPssSha256);
    EXPECT_EQ(choose_signature_scheme(key(rsa_key_), only384), S::kRsaPssSha384);
    EXPECT_EQ(choose_signature_scheme(key(rsa_key_), sha1_512), S::kRsaPssSha512);
    EXPECT_EQ(choose_signature_scheme(key(p384_key_), all), S::kEcdsaSha384);
    EXPECT_EQ(choose_signature_scheme(key(p256_key_), only384), S::kEcdsaSha384);
    EXPECT_EQ(choose_signature_scheme(key(p256_key_), sha1_512), S::kEcdsaSha512);
    EXPECT_FALSE(choose_signature_scheme(key(p256_key_), sha1_only));
    EXPECT_FALSE(choose_signature_scheme(key(rsa_key_), {}));
    const auto ours = supported_signature_hash_algorithms();
    EXPECT_EQ(std::vector<std::uint16_t>(ours.begin(), ours.end()),
              (std::vector<std::uint16_t>{2, 3, 4}));
}

// r | s of a DER Ecdsa-Sig-Value (short-form lengths), parsed here by hand so the check does
// not reuse the library's conversion.
Bytes der_signature_to_raw(ByteView der, std::size_t n) {
    Bytes raw;
    std::size_t at = 2;  // SEQUENCE, length
    for (int part = 0; part < 2; ++part) {
        EXPECT_EQ(der[at], 0x02);  // INTEGER
        std::size_t length = der[at + 1];
        at += 2;
        while (length > n) {  // sign octet
            ++at;
            --length;
        }
        raw.insert(raw.end(), n - length, 0);
        raw.insert(raw.end(), der.begin() + static_cast<long>(at),
                   der.begin() + static_cast<long>(at + length));
        at += length;
    }
    return raw;
}

TEST_F(AuthPki, LegacyEcdsaMatchesTheDerSignature) {
    const Bytes octets = pattern(0x77, 90);
    for (int round = 0; round < 8; ++round) {
        auto rfc7427 = sign_auth_rfc7427(key(p384_key_), SignatureScheme::kEcdsaSha384, octets);
        ASSERT_TRUE(rfc7427);
        const std::size_t algorithm_length = (*rfc7427)[0];
        const ByteView der = ByteView(*rfc7427).subspan(1 + algorithm_length);
        const Bytes raw = der_signature_to_raw(der, 48);
        ASSERT_EQ(raw.size(), 96U);
        EXPECT_TRUE(verify_auth_legacy(wrap(p384_cert_), 10, raw, octets));
        // r and s swapped is not the same signature.
        Bytes swapped(raw.begin() + 48, raw.end());
        swapped.insert(swapped.end(), raw.begin(), raw.begin() + 48);
        EXPECT_FALSE(verify_auth_legacy(wrap(p384_cert_), 10, swapped, octets));
    }
}

TEST_F(AuthPki, LegacyMethodsSignAndVerify) {
    const Bytes octets = pattern(0x66, 150);
    struct Case {
        EVP_PKEY* key;
        X509* cert;
        std::uint8_t method;
        std::size_t length;  // 0: variable (RSA modulus size)
    };
    const Case cases[] = {{rsa_key_, rsa_cert_.get(), 1, 256},
                          {p256_key_, p256_cert_.get(), 9, 64},
                          {p384_key_, p384_cert_.get(), 10, 96}};
    for (const auto& c : cases) {
        SCOPED_TRACE(static_cast<int>(c.method));
        EXPECT_EQ(legacy_auth_method(key(c.key)), c.method);
        X509_up_ref(c.cert);
        const Certificate signer(c.cert);
        // ECDSA signatures are randomised: several rounds exercise short r or s values.
        for (int round = 0; round < 8; ++round) {
            auto auth = sign_auth_legacy(key(c.key), c.method, octets);
            ASSERT_TRUE(auth);
            EXPECT_EQ(auth->size(), c.length);
            EXPECT_TRUE(verify_auth_legacy(signer, c.method, *auth, octets));
            Bytes tampered = *auth;
            tampered[tampered.size() / 2 - 1] ^= 0x10;
            EXPECT_EQ(verify_auth_legacy(signer, c.method, tampered, octets).error(),
                      AuthError::kMismatch);
        }
    }
    auto p256 = sign_auth_legacy(key(p256_key_), 9, octets);
    ASSERT_TRUE(p256);
    // Method and curve are bound together (RFC 4754).
    EXPECT_EQ(sign_auth_legacy(key(p256_key_), 10, octets).error(), AuthError::kKeyMismatch);
    EXPECT_EQ(verify_auth_legacy(wrap(p256_cert_), 10, *p256, octets).error(),
              AuthError::kKeyMismatch);
    EXPECT_EQ(verify_auth_legacy(wrap(rsa_cert_), 9, *p256, octets).error(),
              AuthError::kKeyMismatch);
    EXPECT_EQ(verify_auth_legacy(wrap(p256_cert_), 9, ByteView(p256->data(), 63), octets).error(),
              AuthError::kMalformed);
    EXPECT_EQ(verify_auth_legacy(wrap(p384_cert_), 9 + 1, *p256, octets).error(),
              AuthError::kMalformed);
    EXPECT_EQ(sign_auth_legacy(key(p256_key_), 14, octets).error(), AuthError::kUnknownAlgorithm);
    EXPECT_EQ(verify_auth_legacy(wrap(p256_cert_), 2, *p256, octets).error(),
              AuthError::kUnknownAlgorithm);
}

// The AlgorithmIdentifier constants decode, with OpenSSL's ASN.1 parser, to what they claim.
TEST(AuthAlgorithmIdentifier, DecodesToTheClaimedAlgorithm) {
    struct Expect {
        SignatureScheme scheme;
        int nid;
        int hash_nid;  // PSS only
        long salt;     // PSS only
    };
    const Expect expectations[] = {
        {SignatureScheme::kRsaPssSha256, NID_rsassaPss, NID_sha256, 32},
        {SignatureScheme::kRsaPssSha384, NID_rsassaPss, NID_sha384, 48},
        {SignatureScheme::kRsaPssSha512, NID_rsassaPss, NID_sha512, 64},
        {SignatureScheme::kRsaPkcs1Sha256, NID_sha256WithRSAEncryption, 0, 0},
        {SignatureScheme::kEcdsaSha256, NID_ecdsa_with_SHA256, 0, 0},
        {SignatureScheme::kEcdsaSha384, NID_ecdsa_with_SHA384, 0, 0},
        {SignatureScheme::kEcdsaSha512, NID_ecdsa_with_SHA512, 0, 0},
    };
    for (const auto& e : expectations) {
        const ByteView der = signature_algorithm_identifier(e.scheme);
        const unsigned char* p = der.data();
        X509_ALGOR* algor = d2i_X509_ALGOR(nullptr, &p, static_cast<long>(der.size()));
        ASSERT_NE(algor, nullptr);
        EXPECT_EQ(p, der.data() + der.size());
        const ASN1_OBJECT* oid = nullptr;
        int param_type = 0;
        const void* param = nullptr;
        X509_ALGOR_get0(&oid, &param_type, &param, algor);
        EXPECT_EQ(OBJ_obj2nid(oid), e.nid);
        if (e.nid == NID_rsassaPss) {
            ASSERT_EQ(param_type, V_ASN1_SEQUENCE);
            const auto* seq = static_cast<const ASN1_STRING*>(param);
            const unsigned char* q = ASN1_STRING_get0_data(seq);
            RSA_PSS_PARAMS* pss = d2i_RSA_PSS_PARAMS(nullptr, &q, ASN1_STRING_length(seq));
            ASSERT_NE(pss, nullptr);
            const ASN1_OBJECT* hash = nullptr;
            X509_ALGOR_get0(&hash, nullptr, nullptr, pss->hashAlgorithm);
            EXPECT_EQ(OBJ_obj2nid(hash), e.hash_nid);
            const ASN1_OBJECT* mgf = nullptr;
            X509_ALGOR_get0(&mgf, nullptr, nullptr, pss->maskGenAlgorithm);
            EXPECT_EQ(OBJ_obj2nid(mgf), NID_mgf1);
            EXPECT_EQ(ASN1_INTEGER_get(pss->saltLength), e.salt);
            RSA_PSS_PARAMS_free(pss);
        } else if (e.nid != NID_sha256WithRSAEncryption) {
            EXPECT_EQ(param_type, V_ASN1_UNDEF);  // ECDSA: parameters absent (RFC 5758)
        }
        X509_ALGOR_free(algor);
    }
}

// ---- Chain validation and identities ----

TEST_F(AuthPki, ChainValidatesAgainstItsCaOnly) {
    TrustStore store;
    ASSERT_TRUE(store.add_ca(wrap(ca_)));
    EXPECT_TRUE(store.verify(wrap(p256_cert_)));
    EXPECT_TRUE(store.verify(wrap(rsa_cert_)));

    TrustStore other;
    ASSERT_TRUE(other.add_ca(wrap(other_ca_)));
    auto rejected = other.verify(wrap(p256_cert_));
    ASSERT_FALSE(rejected);
    EXPECT_EQ(rejected.error().error, X509Error::kUntrusted);
    EXPECT_FALSE(rejected.error().reason.empty());

    // Out of the validity period.
    auto expired = store.verify(wrap(p256_cert_), {}, std::time(nullptr) + 365L * 86400);
    ASSERT_FALSE(expired);
    EXPECT_EQ(expired.error().error, X509Error::kUntrusted);
}

// CERTREQ names a CA by the SHA-1 of its whole SubjectPublicKeyInfo (RFC 7296 3.7), not by the
// key identifier (SHA-1 of the bare public key bits).
TEST_F(AuthPki, CaKeyHashesForCertReq) {
    const Certificate ca = wrap(ca_);
    unsigned char* spki = nullptr;
    const int spki_length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(ca_.get()), &spki);
    ASSERT_GT(spki_length, 0);
    Bytes expected(20);
    unsigned int expected_length = 0;
    ASSERT_EQ(EVP_Digest(spki, static_cast<std::size_t>(spki_length), expected.data(),
                         &expected_length, EVP_sha1(), nullptr),
              1);
    OPENSSL_free(spki);
    EXPECT_EQ(ca.public_key_info_sha1(), expected);
    std::array<unsigned char, 20> key_bits_hash{};
    unsigned int key_bits_length = 0;
    ASSERT_EQ(X509_pubkey_digest(ca_.get(), EVP_sha1(), key_bits_hash.data(), &key_bits_length), 1);
    EXPECT_NE(ca.public_key_info_sha1(), Bytes(key_bits_hash.begin(), key_bits_hash.end()));

    TrustStore store;
    ASSERT_TRUE(store.add_ca(ca));
    ASSERT_TRUE(store.add_ca(wrap(other_ca_)));
    ASSERT_EQ(store.ca_key_hashes().size(), 2U);
    EXPECT_EQ(store.ca_key_hashes()[0], expected);
    EXPECT_NE(store.ca_key_hashes()[1], expected);
}

TEST_F(AuthPki, IntermediatesComeFromTheCaller) {
    EVP_PKEY* sub_key = new_key("P-256");
    EVP_PKEY* leaf_key = new_key("P-256");
    auto sub = make_cert(sub_key, "mpsa sub CA", ca_.get(), ca_key_, true, "", 10);
    auto leaf = make_cert(leaf_key, "cpe9", sub.get(), sub_key, false, "DNS:cpe9.example.net", 11);
    TrustStore store;
    ASSERT_TRUE(store.add_ca(wrap(ca_)));
    EXPECT_FALSE(store.verify(wrap(leaf)));
    const Certificate intermediates[] = {wrap(sub)};
    EXPECT_TRUE(store.verify(wrap(leaf), intermediates));
    // A leaf certificate (CA:FALSE) cannot act as an intermediate.
    auto forged = make_cert(leaf_key, "cpe10", p256_cert_.get(), p256_key_, false, "", 12);
    const Certificate fake_intermediates[] = {wrap(p256_cert_)};
    EXPECT_FALSE(store.verify(wrap(forged), fake_intermediates));
    EVP_PKEY_free(sub_key);
    EVP_PKEY_free(leaf_key);
}

TEST_F(AuthPki, IdentityMatchesSubjectAltNameAndDn) {
    const Certificate cert = wrap(p256_cert_);
    EXPECT_TRUE(certificate_matches_identity(cert, 2, ascii("cpe1.example.net")));
    EXPECT_FALSE(certificate_matches_identity(cert, 2, ascii("cpe2.example.net")));
    EXPECT_FALSE(certificate_matches_identity(cert, 2, ascii("example.net")));
    EXPECT_FALSE(certificate_matches_identity(cert, 2, ascii("cpe1 p256")));  // CN is not used
    EXPECT_TRUE(certificate_matches_identity(cert, 3, ascii("ops@example.net")));
    EXPECT_FALSE(certificate_matches_identity(cert, 3, ascii("root@example.net")));
    EXPECT_TRUE(certificate_matches_identity(cert, 1, Bytes{192, 0, 2, 1}));
    EXPECT_FALSE(certificate_matches_identity(cert, 1, Bytes{192, 0, 2, 2}));
    EXPECT_TRUE(
        certificate_matches_identity(cert, 5, from_hex("20010db8000000000000000000000001")));
    EXPECT_FALSE(
        certificate_matches_identity(cert, 5, from_hex("20010db8000000000000000000000002")));
    // An IPv4 address sent as an FQDN string does not match an iPAddress entry.
    EXPECT_FALSE(certificate_matches_identity(cert, 2, ascii("192.0.2.1")));
    EXPECT_TRUE(certificate_matches_identity(cert, 9, cert.subject_der()));
    EXPECT_FALSE(certificate_matches_identity(cert, 9, wrap(rsa_cert_).subject_der()));
    EXPECT_FALSE(certificate_matches_identity(cert, 11, ascii("cpe1.example.net")));
    EXPECT_FALSE(certificate_matches_identity(cert, 2, Bytes{}));
    EXPECT_NE(cert.subject_text().find("CN=cpe1 p256"), std::string::npos);
}

// ---- PEM / DER loading ----

std::string to_pem(X509* cert) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(length));
    BIO_free(bio);
    return out;
}

std::string key_to_pem(EVP_PKEY* key, const char* passphrase) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (passphrase != nullptr) {
        PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(), passphrase,
                                      static_cast<int>(std::strlen(passphrase)), nullptr, nullptr);
    } else {
        PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    }
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(length));
    BIO_free(bio);
    return out;
}

TEST_F(AuthPki, PemAndDerLoading) {
    auto cert = Certificate::from_pem(to_pem(rsa_cert_.get()));
    ASSERT_TRUE(cert);
    auto key_pem = PrivateKey::from_pem(key_to_pem(rsa_key_, nullptr));
    ASSERT_TRUE(key_pem);
    EXPECT_TRUE(key_pem->is_rsa());
    EXPECT_TRUE(cert->matches_private_key(*key_pem));
    EXPECT_FALSE(cert->matches_private_key(key(p256_key_)));

    // DER round trip (CERT payload data); trailing octets are refused.
    const Bytes der = cert->der();
    auto from_der = Certificate::from_der(der);
    ASSERT_TRUE(from_der);
    EXPECT_EQ(from_der->der(), der);
    Bytes trailing = der;
    trailing.push_back(0);
    EXPECT_EQ(Certificate::from_der(trailing).error(), X509Error::kParse);
    EXPECT_EQ(Certificate::from_der(ByteView(der.data(), der.size() - 1)).error(),
              X509Error::kParse);

    // Clones share the object and outlive the original.
    Certificate copy = [&] {
        const Certificate original = cert->clone();
        return original.clone();
    }();
    EXPECT_EQ(copy.get(), cert->get());
    EXPECT_EQ(copy.der(), der);
    EXPECT_TRUE(copy.matches_private_key(key_pem->clone()));

    EXPECT_EQ(Certificate::from_pem("not a certificate").error(), X509Error::kParse);
    EXPECT_EQ(PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                  .error(),
              X509Error::kParse);
    // Encrypted keys are refused without prompting.
    EXPECT_EQ(PrivateKey::from_pem(key_to_pem(p256_key_, "secret passphrase")).error(),
              X509Error::kParse);

    // Files (the only I/O in this module).
    const auto dir = std::filesystem::temp_directory_path() /
                     ("mpsa_crypto_auth_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto cert_path = (dir / "cert.pem").string();
    const auto key_path = (dir / "key.pem").string();
    std::ofstream(cert_path) << to_pem(p256_cert_.get());
    std::ofstream(key_path) << key_to_pem(p256_key_, nullptr);
    auto file_cert = Certificate::load_pem_file(cert_path);
    auto file_key = PrivateKey::load_pem_file(key_path);
    ASSERT_TRUE(file_cert);
    ASSERT_TRUE(file_key);
    EXPECT_TRUE(file_cert->matches_private_key(*file_key));
    EXPECT_EQ(file_key->ec_bits(), 256);
    EXPECT_EQ(Certificate::load_pem_file((dir / "missing.pem").string()).error(), X509Error::kIo);
    EXPECT_EQ(PrivateKey::load_pem_file((dir / "missing.pem").string()).error(), X509Error::kIo);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mpsa::ike
