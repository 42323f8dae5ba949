// IKEv2 key derivation.
//   RFC 7296 2.14: SKEYSEED = prf(Ni | Nr, g^ir);
//     {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi |
//     SPIr) All our PRFs are HMACs, which take the whole Ni | Nr as key (the 64-bit truncation
//     of 2.14 applies only to fixed-key-length PRFs such as AES-XCBC, which we do not offer).
//   RFC 7296 2.18: rekeyed IKE SA: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), with the
//     OLD IKE SA's PRF; the key split then uses the new suite's PRF and the new SPIs.
//   RFC 7296 2.17: CHILD_SA KEYMAT = prf+(SK_d, Ni | Nr), or prf+(SK_d, g^ir (new) | Ni | Nr)
//     with PFS; taken as initiator-to-responder encryption key (with the GCM salt, RFC 4106 8.1)
//     then its integrity key, then the same for responder-to-initiator.
// Every intermediate secret is a SecretBytes and is wiped when it goes out of scope.
#pragma once

#include <cstddef>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/ike/prf.hpp"
#include "mpsa/ike/suite.hpp"

namespace mpsa::ike {

struct IkeSaKeys {
    SecretBytes sk_d;
    SecretBytes sk_ai;  // empty for AEAD suites
    SecretBytes sk_ar;
    SecretBytes sk_ei;  // AES key | 4-octet salt for AES-GCM
    SecretBytes sk_er;
    SecretBytes sk_pi;
    SecretBytes sk_pr;
};

enum class KeyDerivationError {
    kBadInput,  // empty nonce or shared secret, SPI not 8 octets, SK_d empty
    kCrypto,    // OpenSSL failure, or more key material than prf+ can produce
};

[[nodiscard]] tl::expected<SecretBytes, KeyDerivationError> compute_skeyseed(
    PrfId prf, ByteView nonce_i, ByteView nonce_r, const SecretBytes& shared_secret);

// old_prf and old_sk_d belong to the IKE SA being rekeyed; the nonces are those of the
// CREATE_CHILD_SA exchange (Ni from its initiator).
[[nodiscard]] tl::expected<SecretBytes, KeyDerivationError> compute_rekey_skeyseed(
    PrfId old_prf, const SecretBytes& old_sk_d, const SecretBytes& shared_secret, ByteView nonce_i,
    ByteView nonce_r);

// Splits prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) by the suite's key lengths.
[[nodiscard]] tl::expected<IkeSaKeys, KeyDerivationError> derive_ike_sa_keys(
    const Suite& suite, const SecretBytes& skeyseed, ByteView nonce_i, ByteView nonce_r,
    ByteView spi_i, ByteView spi_r);

// Lengths of one direction's CHILD_SA keys (ESP: encryption key material including any salt,
// and integrity key, 0 for AEAD).
struct ChildSaKeyLengths {
    std::size_t encr = 0;
    std::size_t integ = 0;
};

struct ChildSaKeys {
    SecretBytes encr_i;  // initiator to responder
    SecretBytes integ_i;
    SecretBytes encr_r;  // responder to initiator
    SecretBytes integ_r;
};

// pfs_shared_secret: the new g^ir of a CREATE_CHILD_SA with KE payloads, or nullptr.
[[nodiscard]] tl::expected<ChildSaKeys, KeyDerivationError> derive_child_sa_keys(
    PrfId prf, const SecretBytes& sk_d, ChildSaKeyLengths lengths, ByteView nonce_i,
    ByteView nonce_r, const SecretBytes* pfs_shared_secret = nullptr);

}  // namespace mpsa::ike
