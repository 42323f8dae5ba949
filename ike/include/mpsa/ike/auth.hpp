// IKEv2 AUTH payload computation (RFC 7296 2.15) for shared keys and for digital signatures
// (RFC 7427, Auth Method 14).
//   octets = RealMessage | Nonce of the peer | prf(SK_p, ID payload body)
//     (SK_pi / IDi for the initiator's AUTH, SK_pr / IDr for the responder's).
//   PSK:   AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), octets), compared in constant time.
//   RFC 7427: AUTH data = ASN.1 length (1 octet) | AlgorithmIdentifier | signature value, with
//     the AlgorithmIdentifier encodings of RFC 7427 appendix A for RSASSA-PSS (SHA-256/384/512,
//     MGF1 with the same hash, salt = hash length), sha256WithRSAEncryption and
//     ecdsa-with-SHA256/384/512 (signature DER Ecdsa-Sig-Value). Signing uses EVP_DigestSign.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/ike/crypto_x509.hpp"
#include "mpsa/ike/prf.hpp"

namespace mpsa::ike {

enum class AuthError {
    kMismatch,          // the AUTH value or signature does not verify
    kMalformed,         // RFC 7427 data too short or its length octet is inconsistent
    kUnknownAlgorithm,  // AlgorithmIdentifier or Auth Method we do not accept
    kKeyMismatch,       // scheme not usable with this key (e.g. ECDSA with an RSA key)
    kCrypto,            // OpenSSL failure
};

[[nodiscard]] std::string_view auth_error_name(AuthError error);

// id_payload_body: the IDi/IDr payload after its generic header (ID Type | RESERVED | data).
[[nodiscard]] tl::expected<Bytes, AuthError> auth_signed_octets(PrfId prf, const SecretBytes& sk_p,
                                                                ByteView real_message,
                                                                ByteView peer_nonce,
                                                                ByteView id_payload_body);

// AUTH data for Auth Method 2 (Shared Key Message Integrity Code).
[[nodiscard]] tl::expected<Bytes, AuthError> psk_auth_value(PrfId prf, ByteView shared_secret,
                                                            ByteView signed_octets);
[[nodiscard]] tl::expected<void, AuthError> verify_psk_auth(PrfId prf, ByteView shared_secret,
                                                            ByteView signed_octets,
                                                            ByteView received_auth);

enum class SignatureScheme {
    kRsaPssSha256,
    kRsaPssSha384,
    kRsaPssSha512,
    kRsaPkcs1Sha256,
    kEcdsaSha256,
    kEcdsaSha384,
    kEcdsaSha512,
};

// RSA: RSASSA-PSS with SHA-256; EC: ECDSA with the hash matching the curve (P-256/384/521).
[[nodiscard]] std::optional<SignatureScheme> default_signature_scheme(const PrivateKey& key);

// RFC 7427 section 4 SIGNATURE_HASH_ALGORITHMS identifier of the scheme's hash (2 SHA2-256,
// 3 SHA2-384, 4 SHA2-512).
[[nodiscard]] std::uint16_t signature_hash_algorithm(SignatureScheme scheme);

// Hash identifiers for our own SIGNATURE_HASH_ALGORITHMS notify: SHA2-256, SHA2-384, SHA2-512.
[[nodiscard]] std::span<const std::uint16_t> supported_signature_hash_algorithms();

// The scheme to sign with, given the hash identifiers the peer announced: the key's default
// hash if offered, else the first of SHA2-256/384/512 offered; RSA keys always use RSASSA-PSS.
// nullopt when nothing fits (the peer did not send the notify, or offered only SHA-1/identity).
[[nodiscard]] std::optional<SignatureScheme> choose_signature_scheme(
    const PrivateKey& key, std::span<const std::uint16_t> peer_hash_algorithms);

// The DER AlgorithmIdentifier sent for `scheme`.
[[nodiscard]] ByteView signature_algorithm_identifier(SignatureScheme scheme);

// AUTH data for Auth Method 14.
[[nodiscard]] tl::expected<Bytes, AuthError> sign_auth_rfc7427(const PrivateKey& key,
                                                               SignatureScheme scheme,
                                                               ByteView signed_octets);

// Checks AUTH data of Auth Method 14 against the signer's certificate (whose chain and identity
// the caller checks with TrustStore and certificate_matches_identity).
[[nodiscard]] tl::expected<void, AuthError> verify_auth_rfc7427(const Certificate& signer,
                                                                ByteView auth_data,
                                                                ByteView signed_octets);

// Signatures for peers that announce no SIGNATURE_HASH_ALGORITHMS:
//   Auth Method 1, RSA Digital Signature: EMSA-PKCS1-v1_5 with SHA-1 (RFC 7296 3.8);
//   Auth Methods 9/10/11: ECDSA with SHA-256 on P-256, SHA-384 on P-384, SHA-512 on P-521
//     (RFC 4754), AUTH data = r | s, each left-padded to the curve size.
// The AUTH data carries no algorithm identifier: the method fixes hash and curve.
[[nodiscard]] std::optional<std::uint8_t> legacy_auth_method(const PrivateKey& key);
[[nodiscard]] tl::expected<Bytes, AuthError> sign_auth_legacy(const PrivateKey& key,
                                                              std::uint8_t auth_method,
                                                              ByteView signed_octets);
[[nodiscard]] tl::expected<void, AuthError> verify_auth_legacy(const Certificate& signer,
                                                               std::uint8_t auth_method,
                                                               ByteView auth_data,
                                                               ByteView signed_octets);

}  // namespace mpsa::ike
