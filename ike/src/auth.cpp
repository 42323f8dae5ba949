#include "mpsa/ike/auth.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <memory>

namespace mpsa::ike {
namespace {

// RFC 7296 2.15: the pad string, without a terminating NUL.
constexpr std::string_view kKeyPad = "Key Pad for IKEv2";

// DER AlgorithmIdentifier encodings (RFC 7427 appendix A; PSS parameters of A.4.3 with the
// hash, MGF1 hash and salt length changed together).
constexpr std::array<std::uint8_t, 67> kRsaPssSha256 = {
    0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30,
    0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
    0x02, 0x01, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
    0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
    0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20};
constexpr std::array<std::uint8_t, 67> kRsaPssSha384 = {
    0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30,
    0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
    0x02, 0x02, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
    0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
    0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x30};
constexpr std::array<std::uint8_t, 67> kRsaPssSha512 = {
    0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30,
    0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
    0x02, 0x03, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
    0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
    0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x40};
constexpr std::array<std::uint8_t, 15> kRsaPkcs1Sha256 = {
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
constexpr std::array<std::uint8_t, 12> kEcdsaSha256 = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                                       0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
constexpr std::array<std::uint8_t, 12> kEcdsaSha384 = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                                       0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
constexpr std::array<std::uint8_t, 12> kEcdsaSha512 = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                                       0x48, 0xce, 0x3d, 0x04, 0x03, 0x04};

constexpr std::array<SignatureScheme, 7> kAllSchemes = {
    SignatureScheme::kRsaPssSha256, SignatureScheme::kRsaPssSha384,
    SignatureScheme::kRsaPssSha512, SignatureScheme::kRsaPkcs1Sha256,
    SignatureScheme::kEcdsaSha256,  SignatureScheme::kEcdsaSha384,
    SignatureScheme::kEcdsaSha512};

bool is_pss(SignatureScheme s) {
    return s == SignatureScheme::kRsaPssSha256 || s == SignatureScheme::kRsaPssSha384 ||
           s == SignatureScheme::kRsaPssSha512;
}

bool is_rsa(SignatureScheme s) {
    return is_pss(s) || s == SignatureScheme::kRsaPkcs1Sha256;
}

const char* digest_name(SignatureScheme s) {
    switch (s) {
        case SignatureScheme::kRsaPssSha384:
        case SignatureScheme::kEcdsaSha384:
            return "SHA2-384";
        case SignatureScheme::kRsaPssSha512:
        case SignatureScheme::kEcdsaSha512:
            return "SHA2-512";
        default:
            return "SHA2-256";
    }
}

struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// Initialises a sign or verify operation with the scheme's hash and padding.
bool init_signature(EVP_MD_CTX* ctx, SignatureScheme scheme, EVP_PKEY* key, bool sign) {
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    const int ok = sign ? EVP_DigestSignInit_ex(ctx, &pctx, digest_name(scheme), nullptr, nullptr,
                                                key, nullptr)
                        : EVP_DigestVerifyInit_ex(ctx, &pctx, digest_name(scheme), nullptr, nullptr,
                                                  key, nullptr);
    if (ok != 1) return false;
    if (is_pss(scheme)) {
        // Salt length = hash length, MGF1 with the same hash: what the AlgorithmIdentifier says.
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, digest_name(scheme), nullptr) != 1)
            return false;
    } else if (is_rsa(scheme)) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
    }
    return true;
}

struct LegacyMethod {
    const char* digest;
    bool rsa;
    int curve_bits;                 // ECDSA only
    std::size_t coordinate_length;  // ECDSA only: octets of r and of s
};

std::optional<LegacyMethod> legacy_method(std::uint8_t auth_method) {
    switch (auth_method) {
        case 1:
            return LegacyMethod{"SHA1", true, 0, 0};
        case 9:
            return LegacyMethod{"SHA2-256", false, 256, 32};
        case 10:
            return LegacyMethod{"SHA2-384", false, 384, 48};
        case 11:
            return LegacyMethod{"SHA2-512", false, 521, 66};
        default:
            return std::nullopt;
    }
}

bool legacy_key_fits(EVP_PKEY* key, const LegacyMethod& m) {
    if (m.rsa) return EVP_PKEY_is_a(key, "RSA") == 1;
    return EVP_PKEY_is_a(key, "EC") == 1 && EVP_PKEY_get_bits(key) == m.curve_bits;
}

bool init_legacy(EVP_MD_CTX* ctx, const LegacyMethod& m, EVP_PKEY* key, bool sign) {
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    const int ok =
        sign ? EVP_DigestSignInit_ex(ctx, &pctx, m.digest, nullptr, nullptr, key, nullptr)
             : EVP_DigestVerifyInit_ex(ctx, &pctx, m.digest, nullptr, nullptr, key, nullptr);
    if (ok != 1) return false;
    return !m.rsa || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
}

struct EcdsaSigFree {
    void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

bool key_fits(EVP_PKEY* key, SignatureScheme scheme) {
    return EVP_PKEY_is_a(key, is_rsa(scheme) ? "RSA" : "EC") == 1;
}

}  // namespace

std::string_view auth_error_name(AuthError error) {
    switch (error) {
        case AuthError::kMismatch:
            return "authentication value mismatch";
        case AuthError::kMalformed:
            return "malformed authentication data";
        case AuthError::kUnknownAlgorithm:
            return "unsupported signature algorithm";
        case AuthError::kKeyMismatch:
            return "signature scheme does not fit the key";
        case AuthError::kCrypto:
            return "crypto library failure";
    }
    return "unknown";
}

tl::expected<Bytes, AuthError> auth_signed_octets(PrfId prf_id, const SecretBytes& sk_p,
                                                  ByteView real_message, ByteView peer_nonce,
                                                  ByteView id_payload_body) {
    auto maced_id = prf(prf_id, sk_p.view(), id_payload_body);
    if (!maced_id) return tl::unexpected(AuthError::kCrypto);
    Bytes octets;
    octets.reserve(real_message.size() + peer_nonce.size() + maced_id->size());
    octets.insert(octets.end(), real_message.begin(), real_message.end());
    octets.insert(octets.end(), peer_nonce.begin(), peer_nonce.end());
    octets.insert(octets.end(), maced_id->data(), maced_id->data() + maced_id->size());
    return octets;
}

tl::expected<Bytes, AuthError> psk_auth_value(PrfId prf_id, ByteView shared_secret,
                                              ByteView signed_octets) {
    const auto* pad = reinterpret_cast<const std::uint8_t*>(kKeyPad.data());
    auto padded_key = prf(prf_id, shared_secret, ByteView(pad, kKeyPad.size()));
    if (!padded_key) return tl::unexpected(AuthError::kCrypto);
    auto auth = prf(prf_id, padded_key->view(), signed_octets);
    if (!auth) return tl::unexpected(AuthError::kCrypto);
    return Bytes(auth->data(), auth->data() + auth->size());
}

tl::expected<void, AuthError> verify_psk_auth(PrfId prf_id, ByteView shared_secret,
                                              ByteView signed_octets, ByteView received_auth) {
    auto expected = psk_auth_value(prf_id, shared_secret, signed_octets);
    if (!expected) return tl::unexpected(expected.error());
    if (!constant_time_equal(*expected, received_auth)) return tl::unexpected(AuthError::kMismatch);
    return {};
}

std::optional<SignatureScheme> default_signature_scheme(const PrivateKey& key) {
    if (key.is_rsa()) return SignatureScheme::kRsaPssSha256;
    switch (key.ec_bits()) {
        case 256:
            return SignatureScheme::kEcdsaSha256;
        case 384:
            return SignatureScheme::kEcdsaSha384;
        case 521:
            return SignatureScheme::kEcdsaSha512;
        default:
            return std::nullopt;
    }
}

std::uint16_t signature_hash_algorithm(SignatureScheme scheme) {
    switch (scheme) {
        case SignatureScheme::kRsaPssSha384:
        case SignatureScheme::kEcdsaSha384:
            return 3;
        case SignatureScheme::kRsaPssSha512:
        case SignatureScheme::kEcdsaSha512:
            return 4;
        default:
            return 2;
    }
}

std::span<const std::uint16_t> supported_signature_hash_algorithms() {
    static constexpr std::array<std::uint16_t, 3> kHashes = {2, 3, 4};
    return kHashes;
}

std::optional<SignatureScheme> choose_signature_scheme(
    const PrivateKey& key, std::span<const std::uint16_t> peer_hash_algorithms) {
    const auto preferred = default_signature_scheme(key);
    if (!preferred) return std::nullopt;
    const auto offered = [&](std::uint16_t hash) {
        return std::find(peer_hash_algorithms.begin(), peer_hash_algorithms.end(), hash) !=
               peer_hash_algorithms.end();
    };
    if (offered(signature_hash_algorithm(*preferred))) return preferred;
    const bool rsa = key.is_rsa();
    for (std::uint16_t hash : supported_signature_hash_algorithms()) {
        if (!offered(hash)) continue;
        switch (hash) {
            case 2:
                return rsa ? SignatureScheme::kRsaPssSha256 : SignatureScheme::kEcdsaSha256;
            case 3:
                return rsa ? SignatureScheme::kRsaPssSha384 : SignatureScheme::kEcdsaSha384;
            default:
                return rsa ? SignatureScheme::kRsaPssSha512 : SignatureScheme::kEcdsaSha512;
        }
    }
    return std::nullopt;
}

ByteView signature_algorithm_identifier(SignatureScheme scheme) {
    switch (scheme) {
        case SignatureScheme::kRsaPssSha256:
            return kRsaPssSha256;
        case SignatureScheme::kRsaPssSha384:
            return kRsaPssSha384;
        case SignatureScheme::kRsaPssSha512:
            return kRsaPssSha512;
        case SignatureScheme::kRsaPkcs1Sha256:
            return kRsaPkcs1Sha256;
        case SignatureScheme::kEcdsaSha256:
            return kEcdsaSha256;
        case SignatureScheme::kEcdsaSha384:
            return kEcdsaSha384;
        case SignatureScheme::kEcdsaSha512:
            return kEcdsaSha512;
    }
    return {};
}

tl::expected<Bytes, AuthError> sign_auth_rfc7427(const PrivateKey& key, SignatureScheme scheme,
                                                 ByteView signed_octets) {
    if (key.get() == nullptr || !key_fits(key.get(), scheme))
        return tl::unexpected(AuthError::kKeyMismatch);
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (!ctx || !init_signature(ctx.get(), scheme, key.get(), true))
        return tl::unexpected(AuthError::kCrypto);
    std::size_t signature_length = 0;
    if (EVP_DigestSign(ctx.get(), nullptr, &signature_length, signed_octets.data(),
                       signed_octets.size()) != 1)
        return tl::unexpected(AuthError::kCrypto);
    const ByteView algorithm = signature_algorithm_identifier(scheme);
    Bytes auth(1 + algorithm.size() + signature_length);
    auth[0] = static_cast<std::uint8_t>(algorithm.size());
    std::copy(algorithm.begin(), algorithm.end(), auth.begin() + 1);
    std::uint8_t* signature = auth.data() + 1 + algorithm.size();
    if (EVP_DigestSign(ctx.get(), signature, &signature_length, signed_octets.data(),
                       signed_octets.size()) != 1)
        return tl::unexpected(AuthError::kCrypto);
    // DER ECDSA signatures vary in length; keep what was written.
    auth.resize(1 + algorithm.size() + signature_length);
    return auth;
}

tl::expected<void, AuthError> verify_auth_rfc7427(const Certificate& signer, ByteView auth_data,
                                                  ByteView signed_octets) {
    if (auth_data.empty()) return tl::unexpected(AuthError::kMalformed);
    const std::size_t algorithm_length = auth_data[0];
    if (algorithm_length == 0 || auth_data.size() <= 1 + algorithm_length)
        return tl::unexpected(AuthError::kMalformed);
    const ByteView algorithm = auth_data.subspan(1, algorithm_length);
    const ByteView signature = auth_data.subspan(1 + algorithm_length);
    std::optional<SignatureScheme> scheme;
    for (auto candidate : kAllSchemes) {
        const ByteView known = signature_algorithm_identifier(candidate);
        if (std::equal(known.begin(), known.end(), algorithm.begin(), algorithm.end()))
            scheme = candidate;
    }
    if (!scheme) return tl::unexpected(AuthError::kUnknownAlgorithm);
    EVP_PKEY* key = X509_get0_pubkey(signer.get());
    if (key == nullptr) return tl::unexpected(AuthError::kCrypto);
    if (!key_fits(key, *scheme)) return tl::unexpected(AuthError::kKeyMismatch);
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (!ctx || !init_signature(ctx.get(), *scheme, key, false))
        return tl::unexpected(AuthError::kCrypto);
    const int verified = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                                          signed_octets.data(), signed_octets.size());
    // 0 is a bad signature; negative values include malformed DER, which is as bad.
    if (verified != 1) return tl::unexpected(AuthError::kMismatch);
    return {};
}

std::optional<std::uint8_t> legacy_auth_method(const PrivateKey& key) {
    if (key.is_rsa()) return 1;
    switch (key.ec_bits()) {
        case 256:
            return 9;
        case 384:
            return 10;
        case 521:
            return 11;
        default:
            return std::nullopt;
    }
}

tl::expected<Bytes, AuthError> sign_auth_legacy(const PrivateKey& key, std::uint8_t auth_method,
                                                ByteView signed_octets) {
    const auto method = legacy_method(auth_method);
    if (!method) return tl::unexpected(AuthError::kUnknownAlgorithm);
    if (key.get() == nullptr || !legacy_key_fits(key.get(), *method))
        return tl::unexpected(AuthError::kKeyMismatch);
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (!ctx || !init_legacy(ctx.get(), *method, key.get(), true))
        return tl::unexpected(AuthError::kCrypto);
    std::size_t length = 0;
    if (EVP_DigestSign(ctx.get(), nullptr, &length, signed_octets.data(), signed_octets.size()) !=
        1)
        return tl::unexpected(AuthError::kCrypto);
    Bytes signature(length);
    if (EVP_DigestSign(ctx.get(), signature.data(), &length, signed_octets.data(),
                       signed_octets.size()) != 1)
        return tl::unexpected(AuthError::kCrypto);
    signature.resize(length);
    if (method->rsa) return signature;
    // OpenSSL produces DER Ecdsa-Sig-Value; RFC 4754 wants fixed-size r | s.
    const unsigned char* p = signature.data();
    std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(
        d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size())));
    if (!sig) return tl::unexpected(AuthError::kCrypto);
    const int n = static_cast<int>(method->coordinate_length);
    Bytes raw(2 * method->coordinate_length);
    if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), n) != n ||
        BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + n, n) != n)
        return tl::unexpected(AuthError::kCrypto);
    return raw;
}

tl::expected<void, AuthError> verify_auth_legacy(const Certificate& signer,
                                                 std::uint8_t auth_method, ByteView auth_data,
                                                 ByteView signed_octets) {
    const auto method = legacy_method(auth_method);
    if (!method) return tl::unexpected(AuthError::kUnknownAlgorithm);
    EVP_PKEY* key = X509_get0_pubkey(signer.get());
    if (key == nullptr) return tl::unexpected(AuthError::kCrypto);
    if (!legacy_key_fits(key, *method)) return tl::unexpected(AuthError::kKeyMismatch);
    Bytes der;
    ByteView signature = auth_data;
    if (!method->rsa) {
        if (auth_data.size() != 2 * method->coordinate_length)
            return tl::unexpected(AuthError::kMalformed);
        const int n = static_cast<int>(method->coordinate_length);
        std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
        BIGNUM* r = BN_bin2bn(auth_data.data(), n, nullptr);
        BIGNUM* s = BN_bin2bn(auth_data.data() + n, n, nullptr);
        if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
            BN_free(r);
            BN_free(s);
            return tl::unexpected(AuthError::kCrypto);
        }
        unsigned char* encoded = nullptr;
        const int length = i2d_ECDSA_SIG(sig.get(), &encoded);
        if (length <= 0) return tl::unexpected(AuthError::kCrypto);
        der.assign(encoded, encoded + length);
        OPENSSL_free(encoded);
        signature = der;
    } else if (auth_data.empty()) {
        return tl::unexpected(AuthError::kMalformed);
    }
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (!ctx || !init_legacy(ctx.get(), *method, key, false))
        return tl::unexpected(AuthError::kCrypto);
    if (EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), signed_octets.data(),
                         signed_octets.size()) != 1)
        return tl::unexpected(AuthError::kMismatch);
    return {};
}

}  // namespace mpsa::ike
