// Group SA keys (draft-yamaya-ipsecme-mpsa-04 3.3.2): KEYMAT = prf+(SK_d, Nonce) with the
// MPSA's PRF, i.e. RFC 7296 2.17 with Ni | Nr replaced by the MPSA_PUT's Nonce. The encryption
// key is taken first, then the integrity key; the same keys serve inbound and outbound.
#pragma once

#include <string_view>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/mpsa/esp_suite.hpp"
#include "mpsa/mpsa/mpsa_put.hpp"

namespace mpsa::mpsa {

struct GroupSaKeys {
    ike::SecretBytes encryption_key;  // for AES-GCM: key | 4-octet salt (RFC 4106 8.1)
    ike::SecretBytes integrity_key;   // empty for AEAD
};

enum class KeymatError { kBadSkdSize, kBadNonceSize, kPrfFailed };
[[nodiscard]] std::string_view to_string(KeymatError error);

[[nodiscard]] tl::expected<GroupSaKeys, KeymatError> derive_group_sa_keys(const EspSuite& suite,
                                                                          ike::ByteView sk_d,
                                                                          ike::ByteView nonce);
[[nodiscard]] tl::expected<GroupSaKeys, KeymatError> derive_group_sa_keys(const MpsaPut& put);

}  // namespace mpsa::mpsa
