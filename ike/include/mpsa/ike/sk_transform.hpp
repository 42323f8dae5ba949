// Protection of the SK (RFC 7296 3.14) and SKF (RFC 7383) payload body: one direction's keys.
// The codec frames the message, the transform encrypts and authenticates it.
//
// Contract (same for AES-CBC + HMAC and for AEAD per RFC 5282):
//   aad       = IKE header .. SK/SKF payload header (and SKF's fragment fields), with every
//               length field already set to its final value;
//   plaintext = inner payloads | padding | pad length octet, padded by the caller to a multiple
//               of block_size();
//   body      = IV | ciphertext | ICV, of length iv_length() + plaintext.size() + icv_length().
// For AES-CBC + HMAC the ICV is the truncated HMAC over aad | IV | ciphertext; for AES-GCM the
// nonce is salt | IV and aad is the GCM additional data.
#pragma once

#include <cstddef>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"

namespace mpsa::ike {

enum class SkError {
    kTooShort,         // body shorter than IV + ICV, or ciphertext not a whole number of blocks
    kIntegrityFailed,  // ICV mismatch (compared in constant time)
    kCrypto,           // OpenSSL failure
};

class SkTransform {
  public:
    virtual ~SkTransform() = default;
    [[nodiscard]] virtual std::size_t iv_length() const = 0;
    [[nodiscard]] virtual std::size_t icv_length() const = 0;
    // Plaintext granularity: the cipher block for CBC, 1 for AEAD.
    [[nodiscard]] virtual std::size_t block_size() const = 0;
    [[nodiscard]] virtual tl::expected<Bytes, SkError> seal(ByteView aad, ByteView plaintext) = 0;
    [[nodiscard]] virtual tl::expected<Bytes, SkError> open(ByteView aad, ByteView body) = 0;
};

}  // namespace mpsa::ike
