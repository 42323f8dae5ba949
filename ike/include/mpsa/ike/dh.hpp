// IKEv2 Diffie-Hellman groups (RFC 7296 3.4 KE payload, IANA "Transform Type 4").
//   14 MODP-2048  RFC 3526 section 3; public value and g^ir padded to 256 octets (RFC 7296 3.4).
//   19 ECP-256, 20 ECP-384  RFC 5903 section 7: public value x | y (no 0x04 point-format
//      octet), shared secret the x coordinate of the shared point.
//   31 Curve25519  RFC 8031 section 3: 32-octet u coordinates; an all-zero shared secret is
//      rejected (section 2.1 / RFC 7748 section 6.1).
// Peer public values are checked before use (RFC 7296 5.12 and the references above): exact
// length, 1 < y < p-1 for MODP, point on the curve for ECP.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include <openssl/types.h>
#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"

namespace mpsa::ike {

enum class DhGroup : std::uint16_t {
    kModp2048 = 14,
    kEcp256 = 19,
    kEcp384 = 20,
    kCurve25519 = 31,
};

[[nodiscard]] std::optional<DhGroup> dh_group_from_transform_id(std::uint16_t id);
// strongSwan proposal keyword: modp2048, ecp256, ecp384, x25519.
[[nodiscard]] std::string_view dh_group_name(DhGroup group);
// Octets of the KE payload's key exchange data.
[[nodiscard]] std::size_t dh_public_length(DhGroup group);
// Octets of g^ir as used in SKEYSEED.
[[nodiscard]] std::size_t dh_shared_secret_length(DhGroup group);

enum class DhError {
    kBadPublicLength,   // peer value not dh_public_length() octets
    kBadPublicValue,    // MODP y outside (1, p-1), or ECP point not on the curve / invalid
    kBadPrivateKey,     // fixed private key of the wrong length or out of range
    kZeroSharedSecret,  // X25519 low-order peer point
    kCrypto,            // OpenSSL failure
};

[[nodiscard]] std::string_view dh_error_name(DhError error);

// Checks a peer's KE data for `group` without computing anything secret.
[[nodiscard]] tl::expected<void, DhError> check_dh_public_value(DhGroup group, ByteView peer);

// One ephemeral key pair. The private key lives inside OpenSSL (cleared when freed).
class DhKeyPair {
  public:
    [[nodiscard]] static tl::expected<DhKeyPair, DhError> generate(DhGroup group);
    // Deterministic key pair for known-answer tests: big-endian private exponent (MODP, at most
    // 256 octets), scalar (ECP, exactly 32/48 octets) or X25519 private key (32 octets).
    [[nodiscard]] static tl::expected<DhKeyPair, DhError> from_private_key(DhGroup group,
                                                                           ByteView private_key);

    [[nodiscard]] DhGroup group() const { return group_; }
    // KE payload key exchange data in the group's wire encoding.
    [[nodiscard]] const Bytes& public_value() const { return public_value_; }
    // g^ir in the group's wire encoding; checks the peer value first.
    [[nodiscard]] tl::expected<SecretBytes, DhError> shared_secret(ByteView peer_public) const;

  private:
    struct PkeyFree {
        void operator()(EVP_PKEY* key) const;
    };
    DhKeyPair(DhGroup group, std::unique_ptr<EVP_PKEY, PkeyFree> key, Bytes public_value)
        : group_(group), key_(std::move(key)), public_value_(std::move(public_value)) {}

    DhGroup group_;
    std::unique_ptr<EVP_PKEY, PkeyFree> key_;
    Bytes public_value_;
};

}  // namespace mpsa::ike
