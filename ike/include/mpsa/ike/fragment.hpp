// IKEv2 message fragmentation (RFC 7383): split a protected message into SKF fragments and
// reassemble received ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/ike/codec_errors.hpp"
#include "mpsa/ike/message.hpp"
#include "mpsa/ike/payloads.hpp"
#include "mpsa/ike/sk_transform.hpp"

namespace mpsa::ike {

// Encodes the inner payloads once, splits the result into chunks and protects each chunk in its
// own SKF message of at most max_message_size octets (IKE header included; the caller subtracts
// IP, UDP and non-ESP-marker overhead, RFC 7383 2.5.1). All fragments share the header's SPIs,
// exchange type, flags and message ID.
[[nodiscard]] tl::expected<std::vector<Bytes>, EncodeError> seal_fragments(
    const Header& header, std::span<const Payload> inner, SkTransform& transform,
    std::size_t max_message_size);

// One authenticated, decrypted fragment: its header as received, position, and the inner
// payload bytes it carries (padding removed). Wiped on destruction: MPSA_PUT carries keys.
struct OpenedFragment {
    Header header;
    std::uint16_t number = 1;
    std::uint16_t total = 1;
    PayloadType first_inner = PayloadType::kNone;  // from fragment 1 only
    SecretBytes data;
};

// Opens a datagram whose first payload is SKF (RFC 7383 2.6: each fragment is verified before
// it is stored).
[[nodiscard]] tl::expected<OpenedFragment, DecodeFailure> open_fragment(
    ByteView datagram, SkTransform& transform, DecodeCounters* counters = nullptr);

struct ReassemblyLimits {
    std::size_t max_fragments = 64;     // Total Fragments above this is rejected
    std::size_t max_bytes = 64 * 1024;  // inner payload bytes held at once
};

// Reassembles one message (one IKE SA and message ID): the caller keeps one per pending message
// and drops it on timeout or when the message ID moves on.
class FragmentReassembler {
  public:
    explicit FragmentReassembler(ReassemblyLimits limits = {}) : limits_(limits) {}

    // Stores a fragment. Returns the decoded message (inner payloads; header as received in the
    // completing fragment) when this fragment completes it (and resets), std::nullopt while
    // fragments are missing. Duplicates and fragments with fewer Total Fragments than the stored
    // ones are ignored (counted); more Total Fragments drop the stored ones and restart (RFC
    // 7383 2.6.1). Exceeding the memory bound drops everything.
    [[nodiscard]] tl::expected<std::optional<Message>, DecodeFailure> add(
        OpenedFragment fragment, DecodeCounters* counters = nullptr);

    // Fragment numbers not yet received (empty before the first fragment).
    [[nodiscard]] std::vector<std::uint16_t> missing() const;
    [[nodiscard]] std::size_t stored_bytes() const { return stored_bytes_; }
    [[nodiscard]] std::size_t received_count() const { return received_; }
    void reset();

  private:
    ReassemblyLimits limits_;
    std::optional<Header> header_;                       // of the first stored fragment
    std::vector<std::optional<SecretBytes>> fragments_;  // index = number - 1; size = total
    PayloadType first_inner_ = PayloadType::kNone;
    std::size_t stored_bytes_ = 0;
    std::size_t received_ = 0;
};

}  // namespace mpsa::ike
