// libFuzzer target for the IKEv2 message decoder: plain decode (with an encode/decode round-trip
// property), the SK path, the SKF path, and reassembly of a sequence of fragments.
//
// Input: one datagram for the single-message paths; the same bytes read as records
// [u16 length][datagram] feed open_fragment() and one FragmentReassembler.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "mpsa/ike/fragment.hpp"
#include "mpsa/ike/message.hpp"
#include "mpsa/ike/message_protection.hpp"

namespace {

using namespace mpsa::ike;

// Identity "cipher" with a 4-octet IV and no ICV: every input reaches the inner decoder.
class IdentityTransform final : public SkTransform {
  public:
    [[nodiscard]] std::size_t iv_length() const override { return 4; }
    [[nodiscard]] std::size_t icv_length() const override { return 0; }
    [[nodiscard]] std::size_t block_size() const override { return 1; }
    [[nodiscard]] tl::expected<Bytes, SkError> seal(ByteView, ByteView plaintext) override {
        Bytes body(4, 0xee);
        body.insert(body.end(), plaintext.begin(), plaintext.end());
        return body;
    }
    [[nodiscard]] tl::expected<Bytes, SkError> open(ByteView, ByteView body) override {
        if (body.size() < 4) return tl::unexpected(SkError::kTooShort);
        return Bytes(body.begin() + 4, body.end());
    }
};

void check(bool condition) {
    if (!condition) std::abort();
}

bool has_encrypted(const Message& message) {
    for (const auto& p : message.payloads) {
        const auto type = payload_type(p);
        if (type == PayloadType::kEncrypted || type == PayloadType::kEncryptedFragment) {
            return true;
        }
    }
    return false;
}

void plain_path(ByteView input, SkTransform& transform, DecodeCounters& counters) {
    auto decoded = decode(input, &counters);
    if (!decoded) return;
    // Whatever is accepted re-encodes, and decodes to the same payloads.
    // Every field of a decoded value fits its wire field again, so encoding cannot fail.
    auto encoded = encode(*decoded);
    check(encoded.has_value());
    auto again = decode(*encoded, &counters);
    check(again.has_value());
    check(again->payloads == decoded->payloads);
    if (has_encrypted(*decoded)) return;
    auto sealed = seal_message(decoded->header, decoded->payloads, transform);
    if (!sealed) {
        check(sealed.error() == EncodeError::kPayloadTooLarge);  // SK framing added octets
        return;
    }
    auto opened = open_message(*sealed, transform, &counters);
    check(opened.has_value());
    check(opened->payloads == decoded->payloads);
}

void fragment_records(ByteView input, SkTransform& transform, DecodeCounters& counters) {
    FragmentReassembler reassembler(ReassemblyLimits{16, 4096});
    std::size_t pos = 0;
    while (input.size() - pos >= 2) {
        const std::size_t length = (std::size_t{input[pos]} << 8) | input[pos + 1];
        pos += 2;
        if (length > input.size() - pos) break;
        auto fragment = open_fragment(input.subspan(pos, length), transform, &counters);
        pos += length;
        if (!fragment) continue;
        auto result = reassembler.add(std::move(*fragment), &counters);
        if (result && result->has_value()) {
            auto encoded = encode(**result);
            check(encoded.has_value());
            auto again = decode(*encoded, &counters);
            check(again.has_value() && again->payloads == (*result)->payloads);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView input(data, size);
    IdentityTransform transform;
    DecodeCounters counters;
    plain_path(input, transform, counters);
    (void)open_message(input, transform, &counters);
    if (auto fragment = open_fragment(input, transform, &counters)) {
        FragmentReassembler reassembler;
        (void)reassembler.add(std::move(*fragment), &counters);
    }
    fragment_records(input, transform, counters);
    return 0;
}
