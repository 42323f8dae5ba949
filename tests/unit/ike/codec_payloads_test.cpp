#include <set>

#include <gtest/gtest.h>

#include "codec_test_samples.hpp"
#include "mpsa/ike/message.hpp"
#include "mpsa/ike/notify_types.hpp"

namespace mpsa::ike {
namespace {

using testing::sample_header;
using testing::sample_payloads;

Message round_trip(const Message& message) {
    auto encoded = encode(message);
    EXPECT_TRUE(encoded.has_value());
    if (!encoded) return {};
    auto decoded = decode(*encoded);
    EXPECT_TRUE(decoded.has_value())
        << decode_error_name(decoded.error().error) << " at " << decoded.error().offset;
    if (!decoded) return {};
    EXPECT_EQ(decoded->header.length, encoded->size());
    return *decoded;
}

TEST(CodecPayloads, EveryPayloadTypeRoundTripsAlone) {
    for (const Payload& payload : sample_payloads()) {
        Message message{sample_header(), {payload}};
        Message decoded = round_trip(message);
        ASSERT_EQ(decoded.payloads.size(), 1u) << payload_type_name(payload_type(payload));
        EXPECT_EQ(decoded.payloads[0], payload) << payload_type_name(payload_type(payload));
        EXPECT_EQ(decoded.header.next_payload, payload_type(payload));
    }
}

TEST(CodecPayloads, AllPayloadsRoundTripInOneChain) {
    Message message{sample_header(), sample_payloads()};
    Message decoded = round_trip(message);
    EXPECT_EQ(decoded.payloads, message.payloads);
}

TEST(CodecPayloads, HeaderFieldsAndFlagsRoundTrip) {
    for (int flags = 0; flags < 8; ++flags) {
        Header header = sample_header(ExchangeType::kInformational);
        header.initiator = (flags & 1) != 0;
        header.version = (flags & 2) != 0;
        header.response = (flags & 4) != 0;
        header.message_id = 0xfedcba98;
        header.minor_version = 7;
        Message decoded = round_trip(Message{header, {}});
        header.next_payload = PayloadType::kNone;
        header.length = 28;
        EXPECT_EQ(decoded.header, header);
    }
}

TEST(CodecPayloads, EncryptedPayloadsRoundTripAsLastPayload) {
    Message sk{sample_header(), {EncryptedPayload{PayloadType::kIdi, testing::filled(40, 3)}}};
    EXPECT_EQ(round_trip(sk).payloads, sk.payloads);
    Message skf{sample_header(),
                {EncryptedFragmentPayload{PayloadType::kNone, 2, 3, testing::filled(24, 9)}}};
    EXPECT_EQ(round_trip(skf).payloads, skf.payloads);
    // Plain payloads may precede SK (RFC 7296 3.14 only requires SK to be last).
    Message mixed{sample_header(), {VendorIdPayload{{1, 2}}, sk.payloads[0]}};
    EXPECT_EQ(round_trip(mixed).payloads, mixed.payloads);
}

TEST(CodecPayloads, EncodeRejectsEncryptedNotLastAndOversizedFields) {
    Message bad{sample_header(), {EncryptedPayload{}, NoncePayload{testing::filled(16, 0)}}};
    EXPECT_EQ(encode(bad).error(), EncodeError::kEncryptedNotLast);
    Message big_spi{sample_header(), {NotifyPayload{ProtocolId::kEsp, Bytes(256), 1, {}}}};
    EXPECT_EQ(encode(big_spi).error(), EncodeError::kFieldTooLarge);
    Message big_payload{sample_header(), {VendorIdPayload{Bytes(65532)}}};
    EXPECT_EQ(encode(big_payload).error(), EncodeError::kPayloadTooLarge);
    Message max_payload{sample_header(), {VendorIdPayload{Bytes(65531)}}};
    EXPECT_TRUE(encode(max_payload).has_value());
    Message bad_delete{sample_header(), {DeletePayload{ProtocolId::kEsp, 4, {{1, 2, 3}}}}};
    EXPECT_EQ(encode(bad_delete).error(), EncodeError::kFieldTooLarge);
}

TEST(CodecPayloads, KeyLengthAttributeIsTvType14) {
    const Transform t = make_transform(TransformType::kEncryption, 12, 256);
    ASSERT_EQ(t.attributes.size(), 1u);
    EXPECT_TRUE(t.attributes[0].tv);
    EXPECT_EQ(t.attributes[0].type, 14);
    EXPECT_EQ(t.key_length(), 256);
    EXPECT_EQ(make_transform(TransformType::kPrf, 5).key_length(), std::nullopt);
}

TEST(CodecPayloads, FindHelpers) {
    const auto payloads = sample_payloads();
    ASSERT_NE(find_payload<KePayload>(payloads), nullptr);
    EXPECT_EQ(find_payload<KePayload>(payloads)->group, 31);
    EXPECT_EQ(find_payload<EncryptedPayload>(payloads), nullptr);
    const auto* put = find_notify(payloads, static_cast<std::uint16_t>(NotifyType::kMpsaPut));
    ASSERT_NE(put, nullptr);
    EXPECT_EQ(put->data.size(), 40u);
    EXPECT_EQ(find_notify(payloads, 16390), nullptr);
}

TEST(CodecPayloads, NotifyTypeTable) {
    EXPECT_EQ(notify_type_name(40960), "MPSA_PUT");
    EXPECT_EQ(static_cast<std::uint16_t>(NotifyType::kMpsaPut), 40960);
    EXPECT_TRUE(is_private_use_notify(40960));
    EXPECT_TRUE(is_private_use_notify(8192));
    EXPECT_FALSE(is_private_use_notify(16384));
    EXPECT_FALSE(is_private_use_notify(14));
    EXPECT_TRUE(is_error_notify(14));
    EXPECT_FALSE(is_error_notify(16390));
    EXPECT_EQ(notify_type_name(14), "NO_PROPOSAL_CHOSEN");
    EXPECT_EQ(notify_type_name(16430), "IKEV2_FRAGMENTATION_SUPPORTED");
    EXPECT_EQ(notify_type_name(12345), "");
}

TEST(CodecPayloads, EveryDecodeErrorHasADistinctName) {
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < kDecodeErrorCount; ++i) {
        names.insert(decode_error_name(static_cast<DecodeError>(i)));
    }
    EXPECT_EQ(names.size(), kDecodeErrorCount);
    EXPECT_EQ(names.count("unknown"), 0u);
}

}  // namespace
}  // namespace mpsa::ike
