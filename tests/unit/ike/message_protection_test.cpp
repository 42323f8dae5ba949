#include <gtest/gtest.h>

#include "codec_test_samples.hpp"
#include "codec_test_transform.hpp"
#include "mpsa/ike/message_protection.hpp"

namespace mpsa::ike {
namespace {

using testing::sample_header;
using testing::sample_payloads;
using testing::XorTransform;

class MessageProtection : public ::testing::TestWithParam<std::size_t> {};

TEST_P(MessageProtection, SealThenOpenGivesTheInnerPayloads) {
    XorTransform sender(0x21, GetParam()), receiver(0x21, GetParam());
    const auto inner = sample_payloads();
    auto sealed = seal_message(sample_header(), inner, sender);
    ASSERT_TRUE(sealed.has_value());
    DecodeCounters counters;
    auto opened = open_message(*sealed, receiver, &counters);
    ASSERT_TRUE(opened.has_value()) << decode_error_name(opened.error().error);
    EXPECT_EQ(opened->payloads, inner);
    EXPECT_EQ(opened->header.next_payload, PayloadType::kEncrypted);
    EXPECT_EQ(opened->header.length, sealed->size());
    EXPECT_EQ(opened->header.message_id, 1u);
    EXPECT_EQ(counters.total_errors(), 0u);
}

TEST_P(MessageProtection, FramingMatchesRfc7296Section314) {
    const std::size_t block = GetParam();
    XorTransform transform(0x21, block);
    const std::vector<Payload> inner{NoncePayload{testing::filled(17, 0)}};  // 21 octets
    auto sealed = seal_message(sample_header(), inner, transform);
    ASSERT_TRUE(sealed.has_value());
    const std::size_t pad = (block - (21 + 1) % block) % block;
    const std::size_t plaintext = 21 + pad + 1;
    ASSERT_EQ(sealed->size(), 28 + 4 + 8 + plaintext + 4);
    EXPECT_EQ(plaintext % block, 0u);
    EXPECT_EQ((*sealed)[16], 46);  // IKE header: next payload SK
    EXPECT_EQ((*sealed)[28], 40);  // SK: next payload = first inner (Nonce)
    EXPECT_EQ((*sealed)[29], 0);   // not critical
    const std::size_t sk_length = (std::size_t{(*sealed)[30]} << 8) | (*sealed)[31];
    EXPECT_EQ(sk_length, sealed->size() - 28);
    // The plain decoder sees an SK payload reaching the end of the message.
    auto plain = decode(*sealed);
    ASSERT_TRUE(plain.has_value());
    ASSERT_EQ(plain->payloads.size(), 1u);
    const auto& sk = std::get<EncryptedPayload>(plain->payloads[0]);
    EXPECT_EQ(sk.first_inner, PayloadType::kNonce);
    EXPECT_EQ(sk.body.size(), 8 + plaintext + 4);
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, MessageProtection, ::testing::Values(1, 8, 16));

TEST(MessageProtectionErrors, EmptyInnerPayloadListIsAllowed) {
    // INFORMATIONAL liveness check: an SK payload with no inner payloads (next payload 0).
    XorTransform transform;
    auto sealed = seal_message(sample_header(ExchangeType::kInformational), {}, transform);
    ASSERT_TRUE(sealed.has_value());
    EXPECT_EQ((*sealed)[28], 0);
    auto opened = open_message(*sealed, transform);
    ASSERT_TRUE(opened.has_value());
    EXPECT_TRUE(opened->payloads.empty());
}

TEST(MessageProtectionErrors, EveryAuthenticatedOctetIsCovered) {
    XorTransform transform;
    auto sealed = seal_message(sample_header(), sample_payloads(), transform);
    ASSERT_TRUE(sealed.has_value());
    for (std::size_t i = 0; i < sealed->size(); ++i) {
        if (i >= 24 && i < 28) continue;   // header length: a length error, tested below
        if (i >= 30 && i < 32) continue;   // SK length: framing error
        if (i == 16 || i == 17) continue;  // next payload / version: framing errors
        Bytes corrupted = *sealed;
        corrupted[i] ^= 0x01;
        DecodeCounters counters;
        auto opened = open_message(corrupted, transform, &counters);
        ASSERT_FALSE(opened.has_value()) << "octet " << i;
        EXPECT_EQ(opened.error().error, DecodeError::kIntegrityCheckFailed) << "octet " << i;
        EXPECT_EQ(counters[DecodeError::kIntegrityCheckFailed], 1u);
    }
}

Bytes seal_raw_plaintext(const Bytes& plaintext, PayloadType first, XorTransform& transform) {
    Bytes out;
    const std::size_t length = 28 + 4 + transform.iv_length() + plaintext.size() + 4;
    append_header(out, sample_header(), PayloadType::kEncrypted,
                  static_cast<std::uint32_t>(length));
    out.push_back(static_cast<std::uint8_t>(first));
    out.push_back(0);
    out.push_back(static_cast<std::uint8_t>((length - 28) >> 8));
    out.push_back(static_cast<std::uint8_t>(length - 28));
    auto body = transform.seal(out, plaintext);
    out.insert(out.end(), body->begin(), body->end());
    return out;
}

TEST(MessageProtectionErrors, UnknownInnerPayloadsFollowTheCriticalBit) {
    XorTransform transform(0x33, 1);
    // Inner: unknown type 200 (6 octets) then N(INITIAL_CONTACT); pad length 0.
    const Bytes skipped{0x29, 0x00, 0x00, 0x06, 0xab, 0xcd, 0x00, 0x00,
                        0x00, 0x08, 0x00, 0x00, 0x40, 0x00, 0x00};
    DecodeCounters counters;
    auto opened = open_message(seal_raw_plaintext(skipped, PayloadType{200}, transform), transform,
                               &counters);
    ASSERT_TRUE(opened.has_value());
    ASSERT_EQ(opened->payloads.size(), 1u);
    EXPECT_EQ(std::get<NotifyPayload>(opened->payloads[0]).type, 16384);
    EXPECT_EQ(counters.unknown_payloads_skipped, 1u);

    Bytes critical = skipped;
    critical[1] = 0x80;
    auto rejected = open_message(seal_raw_plaintext(critical, PayloadType{200}, transform),
                                 transform, &counters);
    ASSERT_FALSE(rejected.has_value());
    EXPECT_EQ(rejected.error().error, DecodeError::kUnsupportedCriticalPayload);
    EXPECT_EQ(rejected.error().payload_type, 200);
}

TEST(MessageProtectionErrors, PadLengthBeyondPlaintext) {
    XorTransform transform(0x33, 8);
    Bytes plaintext(8, 0);
    plaintext.back() = 8;  // says 8 octets of padding + the pad length octet = 9 > 8
    DecodeCounters counters;
    auto opened = open_message(seal_raw_plaintext(plaintext, PayloadType::kNone, transform),
                               transform, &counters);
    ASSERT_FALSE(opened.has_value());
    EXPECT_EQ(opened.error().error, DecodeError::kPadLengthInvalid);
    EXPECT_EQ(counters[DecodeError::kPadLengthInvalid], 1u);
    // Maximal legal padding: everything but the pad length octet.
    plaintext.back() = 7;
    EXPECT_TRUE(
        open_message(seal_raw_plaintext(plaintext, PayloadType::kNone, transform), transform)
            .has_value());
}

TEST(MessageProtectionErrors, EmptyPlaintextHasNoPadLength) {
    XorTransform transform(0x33, 1);
    auto opened = open_message(seal_raw_plaintext({}, PayloadType::kNone, transform), transform);
    ASSERT_FALSE(opened.has_value());
    EXPECT_EQ(opened.error().error, DecodeError::kPadLengthInvalid);
}

TEST(MessageProtectionErrors, NestedEncryptedPayloadRejected) {
    XorTransform transform(0x33, 1);
    // Inner: an SK payload (next 0, length 4), pad length 0.
    const Bytes plaintext{0x00, 0x00, 0x00, 0x04, 0x00};
    auto opened =
        open_message(seal_raw_plaintext(plaintext, PayloadType::kEncrypted, transform), transform);
    ASSERT_FALSE(opened.has_value());
    EXPECT_EQ(opened.error().error, DecodeError::kNestedEncrypted);
    EXPECT_EQ(opened.error().payload_type, 46);
    EXPECT_EQ(opened.error().offset, 0u);
    // And the encoder refuses to build one.
    const std::vector<Payload> inner{EncryptedPayload{}};
    EXPECT_EQ(seal_message(sample_header(), inner, transform).error(),
              EncodeError::kNestedEncrypted);
}

TEST(MessageProtectionErrors, InnerMalformationReportedWithInnerOffset) {
    XorTransform transform(0x33, 1);
    // Inner: V (6 octets) then a Nonce claiming 100 octets.
    const Bytes plaintext{0x28, 0x00, 0x00, 0x06, 0xab, 0xcd, 0x00, 0x00, 0x00, 0x64, 0x00};
    DecodeCounters counters;
    auto opened = open_message(seal_raw_plaintext(plaintext, PayloadType::kVendorId, transform),
                               transform, &counters);
    ASSERT_FALSE(opened.has_value());
    EXPECT_EQ(opened.error().error, DecodeError::kPayloadLengthOverrun);
    EXPECT_EQ(opened.error().payload_type, 40);
    EXPECT_EQ(opened.error().offset, 6u);
    EXPECT_EQ(counters.total_errors(), 1u);
}

TEST(MessageProtectionErrors, FramingErrors) {
    XorTransform transform;
    auto sealed = seal_message(sample_header(), sample_payloads(), transform);
    ASSERT_TRUE(sealed.has_value());
    DecodeCounters counters;

    auto plain = encode(Message{sample_header(), {NoncePayload{testing::filled(16, 0)}}});
    EXPECT_EQ(open_message(*plain, transform, &counters).error().error, DecodeError::kNotEncrypted);

    Bytes bad_length = *sealed;
    bad_length.push_back(0);
    EXPECT_EQ(open_message(bad_length, transform, &counters).error().error,
              DecodeError::kLengthMismatch);

    Bytes sk_short = *sealed;
    sk_short[31] = static_cast<std::uint8_t>(sk_short[31] - 1);
    EXPECT_EQ(open_message(sk_short, transform, &counters).error().error,
              DecodeError::kEncryptedNotLast);

    Bytes sk_long = *sealed;
    sk_long[31] = static_cast<std::uint8_t>(sk_long[31] + 1);
    EXPECT_EQ(open_message(sk_long, transform, &counters).error().error,
              DecodeError::kPayloadLengthOverrun);

    Bytes sk_tiny = *sealed;
    sk_tiny[30] = 0;
    sk_tiny[31] = 3;
    EXPECT_EQ(open_message(sk_tiny, transform, &counters).error().error,
              DecodeError::kPayloadLengthTooShort);

    // Header + SK header only: body shorter than IV + ICV.
    Bytes no_body(sealed->begin(), sealed->begin() + 32);
    no_body[26] = 0;
    no_body[27] = 32;
    no_body[30] = 0;
    no_body[31] = 4;
    EXPECT_EQ(open_message(no_body, transform, &counters).error().error,
              DecodeError::kSkBodyTooShort);

    Bytes header_only(sealed->begin(), sealed->begin() + 30);
    header_only[26] = 0;
    header_only[27] = 30;
    EXPECT_EQ(open_message(header_only, transform, &counters).error().error,
              DecodeError::kTruncatedPayloadHeader);

    EXPECT_EQ(open_message(ByteView(*sealed).first(20), transform, &counters).error().error,
              DecodeError::kTruncatedHeader);
    EXPECT_EQ(counters.total_errors(), 8u);
}

class FailingTransform final : public SkTransform {
  public:
    [[nodiscard]] std::size_t iv_length() const override { return 0; }
    [[nodiscard]] std::size_t icv_length() const override { return 0; }
    [[nodiscard]] std::size_t block_size() const override { return 1; }
    [[nodiscard]] tl::expected<Bytes, SkError> seal(ByteView, ByteView) override {
        return tl::unexpected(SkError::kCrypto);
    }
    [[nodiscard]] tl::expected<Bytes, SkError> open(ByteView, ByteView) override {
        return tl::unexpected(SkError::kCrypto);
    }
};

TEST(MessageProtectionErrors, TransformFailuresMapToTheirOwnErrors) {
    FailingTransform failing;
    EXPECT_EQ(seal_message(sample_header(), sample_payloads(), failing).error(),
              EncodeError::kSealFailed);
    XorTransform transform;
    auto sealed = seal_message(sample_header(), sample_payloads(), transform);
    DecodeCounters counters;
    EXPECT_EQ(open_message(*sealed, failing, &counters).error().error, DecodeError::kDecryptFailed);
    EXPECT_EQ(counters[DecodeError::kDecryptFailed], 1u);
}

TEST(MessageProtectionErrors, TruncationAtEveryOffsetNeverCrashes) {
    XorTransform transform;
    auto sealed = seal_message(sample_header(), sample_payloads(), transform);
    ASSERT_TRUE(sealed.has_value());
    for (std::size_t n = 0; n < sealed->size(); ++n) {
        Bytes prefix(sealed->begin(), sealed->begin() + static_cast<std::ptrdiff_t>(n));
        if (n >= 28)
            prefix[27] = static_cast<std::uint8_t>(n),
            prefix[26] = static_cast<std::uint8_t>(n >> 8);
        if (n >= 32) {
            prefix[30] = static_cast<std::uint8_t>((n - 28) >> 8);
            prefix[31] = static_cast<std::uint8_t>(n - 28);
        }
        EXPECT_FALSE(open_message(prefix, transform).has_value()) << n;
    }
}

}  // namespace
}  // namespace mpsa::ike
