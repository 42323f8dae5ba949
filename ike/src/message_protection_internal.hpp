// Internal to the IKEv2 codec: the SK/SKF framing shared by message_protection.cpp and
// fragment.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/ike/codec_errors.hpp"
#include "mpsa/ike/header.hpp"
#include "mpsa/ike/sk_transform.hpp"

namespace mpsa::ike::wire {

struct FragmentPosition {
    std::uint16_t number;
    std::uint16_t total;
};

[[nodiscard]] DecodeError to_decode_error(SkError error);

// Overwrites a plaintext buffer before it is freed (inner payloads may carry MPSA_PUT keys).
void wipe(Bytes& bytes);

// One protected message: header (next payload = outer_type) | SK or SKF header | transform body
// over data | padding | pad length.
[[nodiscard]] tl::expected<Bytes, EncodeError> seal_chunk(const Header& header,
                                                          PayloadType outer_type,
                                                          PayloadType first_inner,
                                                          std::optional<FragmentPosition> fragment,
                                                          ByteView data, SkTransform& transform);

// Checks the IKE header and that the first payload is outer_type, at least outer_header_size
// long and reaching exactly the end of the datagram. Returns the payload (generic header
// included) and fills header.
[[nodiscard]] tl::expected<ByteView, DecodeFailure> check_outer(ByteView datagram,
                                                                PayloadType outer_type,
                                                                std::size_t outer_header_size,
                                                                DecodeCounters* counters,
                                                                Header& header);

// The inner payload bytes of a decrypted plaintext (padding and pad length octet removed).
[[nodiscard]] tl::expected<ByteView, DecodeFailure> strip_padding(const Bytes& plaintext,
                                                                  std::uint8_t type,
                                                                  DecodeCounters* counters);

}  // namespace mpsa::ike::wire
