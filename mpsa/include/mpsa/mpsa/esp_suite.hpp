// ESP algorithms a group SA may use, their key lengths, and the named suites.
//
// Kept deliberately small and local to mpsa/ so this module does not wait on ike/'s crypto
// suites; once ike/ publishes its ENCR/INTEG transform IDs and Suite type, EncrId/IntegId below
// should become aliases of those (the numeric values are the IANA ones in both places).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <tl/expected.hpp>

#include "mpsa/ike/prf.hpp"

namespace mpsa::mpsa {

using ike::PrfId;

// IANA "Transform Type 1 - Encryption Algorithm Transform IDs" (the ones we support for ESP).
enum class EncrId : std::uint16_t {
    kAesCbc = 12,
    kAesGcm16 = 20,  // AEAD, 16-octet ICV (RFC 4106); opt-in only, see SuitePolicy
};

// IANA "Transform Type 3 - Integrity Algorithm Transform IDs".
enum class IntegId : std::uint16_t {
    kNone = 0,
    kHmacSha1_96 = 2,
    kHmacSha2_256_128 = 12,
    kHmacSha2_384_192 = 13,
    kHmacSha2_512_256 = 14,
};

struct EspSuite {
    EncrId encr = EncrId::kAesCbc;
    std::uint16_t encr_key_bits = 256;  // the ENCR transform's Key Length attribute
    PrfId prf = PrfId::kHmacSha2_256;   // used for KEYMAT = prf+(SK_d, Nonce)
    IntegId integ = IntegId::kHmacSha2_256_128;
    friend bool operator==(const EspSuite&, const EspSuite&) = default;
};

[[nodiscard]] std::optional<EncrId> encr_from_transform_id(std::uint16_t id);
[[nodiscard]] std::optional<IntegId> integ_from_transform_id(std::uint16_t id);
[[nodiscard]] bool is_aead(EncrId id);
[[nodiscard]] bool valid_encr_key_bits(EncrId id, std::uint16_t bits);

// Octets of KEYMAT taken for encryption: the cipher key, plus the 4-octet salt for AES-GCM
// (RFC 4106 8.1), in the order the kernel's rfc4106 algorithm expects (key | salt).
[[nodiscard]] std::size_t encr_keymat_length(const EspSuite& suite);
[[nodiscard]] std::size_t integ_key_length(IntegId id);
[[nodiscard]] std::size_t integ_icv_bits(IntegId id);
[[nodiscard]] inline std::size_t keymat_length(const EspSuite& suite) {
    return encr_keymat_length(suite) + integ_key_length(suite.integ);
}

// Linux crypto API names, for the xfrm layer.
[[nodiscard]] std::string_view kernel_encr_name(EncrId id);
[[nodiscard]] std::string_view kernel_integ_name(IntegId id);

// Suites offered by name in configuration.
namespace suites {
// Default: AES-CBC-256 + HMAC-SHA2-256-128, PRF HMAC-SHA2-256.
[[nodiscard]] constexpr EspSuite default_suite() {
    return {EncrId::kAesCbc, 256, PrfId::kHmacSha2_256, IntegId::kHmacSha2_256_128};
}
// The example of draft-yamaya-ipsecme-mpsa-04 3.2.2: AES-CBC-256, PRF HMAC-SHA1, HMAC-SHA1-96.
[[nodiscard]] constexpr EspSuite draft_example() {
    return {EncrId::kAesCbc, 256, PrfId::kHmacSha1, IntegId::kHmacSha1_96};
}
// AES-GCM-16-256 with PRF HMAC-SHA2-256. Needs SuitePolicy::allow_aead.
[[nodiscard]] constexpr EspSuite aes_gcm_256() {
    return {EncrId::kAesGcm16, 256, PrfId::kHmacSha2_256, IntegId::kNone};
}
}  // namespace suites

// AES-GCM is off unless explicitly enabled: every member of a group encrypts with the same key,
// and GCM's per-packet IV (the ESP sequence number or a counter in practice) is chosen by each
// sender independently, so two senders can use the same nonce under the same key, which breaks
// GCM's confidentiality and lets an observer forge packets. CBC+HMAC degrades gracefully.
struct SuitePolicy {
    bool allow_aead = false;
};

enum class SuiteError {
    kAeadNotAllowed,
    kBadKeyLength,
    kMissingInteg,   // a non-AEAD cipher needs an integrity algorithm
    kIntegWithAead,  // AEAD takes INTEG NONE
};

[[nodiscard]] tl::expected<void, SuiteError> validate_suite(const EspSuite& suite,
                                                            SuitePolicy policy);
[[nodiscard]] std::string_view to_string(SuiteError error);

}  // namespace mpsa::mpsa
