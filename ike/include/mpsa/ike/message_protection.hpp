// Protected IKEv2 messages (RFC 7296 3.14): IKE header + one SK payload wrapping the inner
// payloads, encrypted and authenticated by an SkTransform.
#pragma once

#include <span>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/ike/codec_errors.hpp"
#include "mpsa/ike/message.hpp"
#include "mpsa/ike/payloads.hpp"
#include "mpsa/ike/sk_transform.hpp"

namespace mpsa::ike {

// header.next_payload/length are ignored (set to SK and the final length). Inner payloads must
// not contain SK/SKF. Padding is the minimum that fills the transform's block size.
[[nodiscard]] tl::expected<Bytes, EncodeError> seal_message(const Header& header,
                                                            std::span<const Payload> inner,
                                                            SkTransform& transform);

// Opens a datagram whose first payload is SK: checks the header and SK framing, verifies and
// decrypts, strips padding and decodes the inner payloads (which may not contain SK/SKF). The
// returned header is as received; payloads are the inner ones only, all authenticated.
[[nodiscard]] tl::expected<Message, DecodeFailure> open_message(ByteView datagram,
                                                                SkTransform& transform,
                                                                DecodeCounters* counters = nullptr);

}  // namespace mpsa::ike
