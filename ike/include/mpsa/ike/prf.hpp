// IKEv2 pseudo-random functions (RFC 7296 2.13) and prf+; MPSA's KEYMAT uses the same prf+.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"

namespace mpsa::ike {

// IANA "Transform Type 2 - Pseudorandom Function Transform IDs".
enum class PrfId : std::uint16_t {
    kHmacSha1 = 2,
    kHmacSha2_256 = 5,
    kHmacSha2_384 = 6,
    kHmacSha2_512 = 7,
};

[[nodiscard]] std::optional<PrfId> prf_from_transform_id(std::uint16_t id);
[[nodiscard]] std::string_view prf_name(PrfId id);
// Output length of the PRF and its preferred key length (RFC 7296 2.13: equal for HMAC PRFs).
[[nodiscard]] std::size_t prf_output_length(PrfId id);
[[nodiscard]] inline std::size_t prf_key_length(PrfId id) {
    return prf_output_length(id);
}

enum class PrfError { kCrypto, kOutputTooLong };

// prf(K, S) = HMAC(K, S)
[[nodiscard]] tl::expected<SecretBytes, PrfError> prf(PrfId id, ByteView key, ByteView data);

// prf+(K, S) = T1 | T2 | ..., Tn = prf(K, Tn-1 | S | n); at most 255 blocks (RFC 7296 2.13).
[[nodiscard]] tl::expected<SecretBytes, PrfError> prf_plus(PrfId id, ByteView key, ByteView seed,
                                                           std::size_t length);

}  // namespace mpsa::ike
