// One negotiated IKE SA cryptographic suite (RFC 7296 3.3: one transform of each type) and the
// strongSwan proposal keywords used in configuration and tests, e.g. "aes256-sha256-modp2048",
// "aes128gcm16-prfsha256-x25519", "aes256-sha384-ecp384".
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "mpsa/ike/cipher.hpp"
#include "mpsa/ike/dh.hpp"
#include "mpsa/ike/prf.hpp"

namespace mpsa::ike {

struct Suite {
    EncrId encr = EncrId::kAesGcm16;
    unsigned encr_key_bits = 128;
    IntegId integ = IntegId::kNone;  // kNone exactly when encr is AEAD
    PrfId prf = PrfId::kHmacSha2_256;
    DhGroup dh = DhGroup::kCurve25519;

    [[nodiscard]] bool is_aead() const { return encr_is_aead(encr); }
    // Key lengths of RFC 7296 2.14: SK_e* (with the GCM salt), SK_a*, and SK_d/SK_p*.
    [[nodiscard]] std::size_t encr_key_material_length() const {
        return ike::encr_key_material_length(encr, encr_key_bits);
    }
    [[nodiscard]] std::size_t integ_key_length() const { return ike::integ_key_length(integ); }
    [[nodiscard]] std::size_t prf_key_length() const { return ike::prf_key_length(prf); }
    // Canonical strongSwan form; parse_suite(to_string()) gives the same suite back. The PRF is
    // written only when the integrity keyword does not imply it.
    [[nodiscard]] std::string to_string() const;

    friend bool operator==(const Suite&, const Suite&) = default;
};

enum class SuiteParseError {
    kUnknownKeyword,
    kDuplicate,  // two algorithms of one transform type (a Suite is one choice per type)
    kMissingEncryption,
    kMissingIntegrity,  // non-AEAD cipher without an integrity algorithm
    kMissingPrf,        // AEAD cipher without prfXXX (or an integrity keyword implying one)
    kMissingDhGroup,
};

struct SuiteParseFailure {
    SuiteParseError error;
    std::string keyword;  // the offending keyword, empty for kMissing*
};

// Keywords, separated by '-': aes128 aes256 (aes = aes128), aes128gcm16 aes256gcm16 (also
// ...gcm128 and ...gcm), sha1 sha256 sha384 sha512 (also sha2_256 ...: integrity plus the
// matching PRF unless one is given; with AEAD only the PRF), prfsha1 prfsha256 prfsha384
// prfsha512, modp2048 ecp256 ecp384 x25519 (also curve25519).
[[nodiscard]] tl::expected<Suite, SuiteParseFailure> parse_suite(std::string_view proposal);

}  // namespace mpsa::ike
