// IKE SA (and ESP KEYMAT sizing) encryption and integrity transforms, IANA "Transform Type 1/3":
//   ENCR_AES_CBC (12), 128/256-bit keys: RFC 3602, IKEv2 use per RFC 7296 3.14;
//   ENCR_AES_GCM_16 (20), 128/256-bit keys: RFC 5282 (8-octet explicit IV, 4-octet salt taken
//     from the end of the key material, 16-octet ICV);
//   AUTH_HMAC_SHA1_96 (2): RFC 2404; AUTH_HMAC_SHA2_256_128/384_192/512_256 (12/13/14): RFC 4868.
// make_sk_transform() builds the SkTransform (sk_transform.hpp) for one direction's keys.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/ike/sk_transform.hpp"

namespace mpsa::ike {

enum class EncrId : std::uint16_t {
    kAesCbc = 12,
    kAesGcm16 = 20,
};

enum class IntegId : std::uint16_t {
    kNone = 0,  // AEAD ciphers negotiate no integrity transform
    kHmacSha1_96 = 2,
    kHmacSha2_256_128 = 12,
    kHmacSha2_384_192 = 13,
    kHmacSha2_512_256 = 14,
};

[[nodiscard]] std::optional<EncrId> encr_from_transform_id(std::uint16_t id);
[[nodiscard]] std::optional<IntegId> integ_from_transform_id(std::uint16_t id);

[[nodiscard]] bool encr_is_aead(EncrId id);
// Key Length attribute values we support: 128 and 256.
[[nodiscard]] bool encr_key_bits_supported(EncrId id, unsigned key_bits);
// Octets of key material taken from prf+ for the cipher: the AES key, plus the 4-octet salt for
// AES-GCM (RFC 5282 7.1).
[[nodiscard]] std::size_t encr_key_material_length(EncrId id, unsigned key_bits);
// strongSwan proposal keyword: aes128, aes256, aes128gcm16, aes256gcm16.
[[nodiscard]] std::string_view encr_name(EncrId id, unsigned key_bits);

// HMAC key length (= digest length, RFC 2404 / RFC 4868 2.1.1); 0 for kNone.
[[nodiscard]] std::size_t integ_key_length(IntegId id);
// Truncated ICV length; 0 for kNone.
[[nodiscard]] std::size_t integ_icv_length(IntegId id);
// strongSwan proposal keyword: sha1, sha256, sha384, sha512 ("none" for kNone).
[[nodiscard]] std::string_view integ_name(IntegId id);

enum class CipherSetupError {
    kUnsupported,   // unknown combination (AEAD with integrity, CBC without, bad key size)
    kBadKeyLength,  // key material of the wrong size
    kCrypto,        // OpenSSL failure
};

// One direction's SK protection (SK_ei + SK_ai, or SK_er + SK_ar). For AEAD integ must be kNone
// and integ_key empty. The keys are copied into OpenSSL contexts; the arguments may be wiped.
//
// Behaviour beyond the SkTransform contract:
//  * AES-CBC: the IV is 16 fresh octets from the OpenSSL RNG per message; seal() of a plaintext
//    that is not a whole number of blocks fails with kTooShort; open() of a body with no
//    ciphertext block fails with kTooShort.
//  * AES-GCM: the 8-octet IV is a message counter XOR a random 64-bit mask chosen at
//    construction (unique per transform without relying on the RNG per message; the mask makes
//    a collision between two transforms built from the same key unlikely); seal() fails with
//    kCrypto once 2^64 - 1 messages have been sealed.
//  * Not thread-safe: one transform belongs to one IKE SA's event loop.
[[nodiscard]] tl::expected<std::unique_ptr<SkTransform>, CipherSetupError> make_sk_transform(
    EncrId encr, unsigned key_bits, IntegId integ, const SecretBytes& encr_key,
    const SecretBytes& integ_key);

}  // namespace mpsa::ike
