// An IKEv2 message and its plain (unprotected) encoding: header plus payload chain.
#pragma once

#include <span>
#include <vector>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/ike/codec_errors.hpp"
#include "mpsa/ike/header.hpp"
#include "mpsa/ike/payloads.hpp"

namespace mpsa::ike {

struct Message {
    Header header;
    std::vector<Payload> payloads;
    friend bool operator==(const Message&, const Message&) = default;
};

// First payload of type T, or nullptr.
template <class T>
[[nodiscard]] const T* find_payload(std::span<const Payload> payloads) {
    for (const auto& payload : payloads) {
        if (const auto* found = std::get_if<T>(&payload)) return found;
    }
    return nullptr;
}

// First Notify of the given type, or nullptr.
[[nodiscard]] const NotifyPayload* find_notify(std::span<const Payload> payloads,
                                               std::uint16_t type);

// Header next_payload and length are derived from the payloads (header fields ignored). An
// EncryptedPayload/EncryptedFragmentPayload is written as is and must be last. Unprotected only:
// use seal_message() (message_protection.hpp) for IKE_AUTH and later exchanges.
[[nodiscard]] tl::expected<Bytes, EncodeError> encode(const Message& message);

// Strict decode of one datagram. Unknown payloads are skipped (counted) unless critical; an SK
// or SKF payload is returned still protected as EncryptedPayload/EncryptedFragmentPayload.
// counters may be nullptr; on failure the error's counter is incremented.
[[nodiscard]] tl::expected<Message, DecodeFailure> decode(ByteView datagram,
                                                          DecodeCounters* counters = nullptr);

}  // namespace mpsa::ike
