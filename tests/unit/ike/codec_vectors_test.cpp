// Byte-exact messages built by hand from the RFC 7296 figures (3.1 header, 3.2 generic payload
// header, 3.3 SA, 3.4 KE, 3.9 Nonce, 3.10 Notify, 3.11 Delete, 3.12 Vendor ID, 3.5 ID,
// 3.13 TS): encode must produce exactly these octets and decode must give back the value.
#include <gtest/gtest.h>

#include "mpsa/ike/message.hpp"
#include "mpsa/ike/notify_types.hpp"

namespace mpsa::ike {
namespace {

Bytes seq(std::size_t n, std::uint8_t first) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(first + i);
    return b;
}

// IKE_SA_INIT request: SA(IKE: AES-CBC-256, PRF-HMAC-SHA2-256, HMAC-SHA2-256-128, X25519),
// KE(31), Ni(16), N(NAT_DETECTION_SOURCE_IP).
const char* const kSaInitRequestHex =
    "0102030405060708 0000000000000000 21 20 22 08 00000000 000000a4"  // header, len 164
    "22 00 0030"                                                       // SA, next KE, len 48
    "00 00 002c 01 01 00 04"          // last proposal, len 44, #1, IKE, spi 0, 4 tr.
    "03 00 000c 01 00 000c 800e0100"  // ENCR 12, key length 256 (TV)
    "03 00 0008 02 00 0005"           // PRF 5
    "03 00 0008 03 00 000c"           // INTEG 12
    "00 00 0008 04 00 001f"           // KE 31 (last)
    "28 00 0028 001f 0000"            // KE, next Nonce, len 40, group 31
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "29 00 0014 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"  // Nonce, next N, len 20
    "00 00 001c 00 00 4004"                        // N, last, len 28, NAT_DETECTION_SOURCE_IP
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3";

Message sa_init_request() {
    Header header;
    header.initiator_spi = 0x0102030405060708ULL;
    header.exchange_type = ExchangeType::kIkeSaInit;
    header.initiator = true;
    Proposal proposal{1, ProtocolId::kIke, {}, {}};
    proposal.transforms = {make_transform(TransformType::kEncryption, 12, 256),
                           make_transform(TransformType::kPrf, 5),
                           make_transform(TransformType::kIntegrity, 12),
                           make_transform(TransformType::kKeyExchange, 31)};
    return Message{header,
                   {SaPayload{{proposal}}, KePayload{31, seq(32, 0)}, NoncePayload{seq(16, 0xa0)},
                    NotifyPayload{ProtocolId::kNone,
                                  {},
                                  static_cast<std::uint16_t>(NotifyType::kNatDetectionSourceIp),
                                  seq(20, 0xc0)}}};
}

// IKE_SA_INIT response asking for another group: N(INVALID_KE_PAYLOAD, group 19).
const char* const kInvalidKeResponseHex =
    "0102030405060708 0000000000000000 29 20 22 20 00000000 00000026"
    "00 00 000a 00 00 0011 0013";

Message invalid_ke_response() {
    Header header;
    header.initiator_spi = 0x0102030405060708ULL;
    header.exchange_type = ExchangeType::kIkeSaInit;
    header.response = true;
    return Message{header,
                   {NotifyPayload{ProtocolId::kNone,
                                  {},
                                  static_cast<std::uint16_t>(NotifyType::kInvalidKePayload),
                                  {0x00, 0x13}}}};
}

// A chain with D (ESP, two SPIs), V, IDi (FQDN), TSi (TCP/179, 10.0.1.0-10.0.1.255),
// AUTH (PSK) and N(MPSA_PUT) as an INFORMATIONAL request, message ID 7.
const char* const kChainHex =
    "1111111111111111 2222222222222222 2a 20 25 08 00000007 00000071"  // len 113
    "2b 00 0010 03 04 0002 c1000001 c1000002"                          // D
    "23 00 0008 4d505341"                                              // V "MPSA"
    "2c 00 000c 02 000000 67772e31"                                    // IDi FQDN "gw.1"
    "27 00 0018 01 000000 07 06 0010 00b3 00b3 0a000100 0a0001ff"      // TSi
    "29 00 000c 02 000000 01020304"                                    // AUTH PSK
    "00 00 000d 00 00 a000 0102030405";                                // N MPSA_PUT

Message chain() {
    Header header;
    header.initiator_spi = 0x1111111111111111ULL;
    header.responder_spi = 0x2222222222222222ULL;
    header.exchange_type = ExchangeType::kInformational;
    header.initiator = true;
    header.message_id = 7;
    TrafficSelector ts;
    ts.ip_protocol = 6;
    ts.start_port = 179;
    ts.end_port = 179;
    ts.start_address = {10, 0, 1, 0};
    ts.end_address = {10, 0, 1, 255};
    return Message{
        header,
        {DeletePayload{ProtocolId::kEsp, 4, {{0xc1, 0, 0, 1}, {0xc1, 0, 0, 2}}},
         VendorIdPayload{{'M', 'P', 'S', 'A'}}, IdiPayload{{IdType::kFqdn, {'g', 'w', '.', '1'}}},
         TsiPayload{{ts}}, AuthPayload{2, {1, 2, 3, 4}},
         NotifyPayload{ProtocolId::kNone, {}, 40960, {1, 2, 3, 4, 5}}}};
}

struct Vector {
    const char* name;
    const char* hex;
    Message (*build)();
};

class CodecVectors : public ::testing::TestWithParam<Vector> {};

TEST_P(CodecVectors, EncodesByteExact) {
    const Bytes expected = from_hex(GetParam().hex);
    ASSERT_FALSE(expected.empty());
    auto encoded = encode(GetParam().build());
    ASSERT_TRUE(encoded.has_value());
    EXPECT_EQ(to_hex(*encoded), to_hex(expected));
}

TEST_P(CodecVectors, DecodesToTheValue) {
    const Bytes wire = from_hex(GetParam().hex);
    DecodeCounters counters;
    auto decoded = decode(wire, &counters);
    ASSERT_TRUE(decoded.has_value()) << decode_error_name(decoded.error().error);
    Message expected = GetParam().build();
    expected.header.length = static_cast<std::uint32_t>(wire.size());
    expected.header.next_payload = payload_type(expected.payloads.front());
    EXPECT_EQ(*decoded, expected);
    EXPECT_EQ(counters.total_errors(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Rfc7296, CodecVectors,
    ::testing::Values(Vector{"SaInitRequest", kSaInitRequestHex, &sa_init_request},
                      Vector{"InvalidKeResponse", kInvalidKeResponseHex, &invalid_ke_response},
                      Vector{"Chain", kChainHex, &chain}),
    [](const auto& test_param) { return std::string(test_param.param.name); });

TEST(CodecVectorsExtra, ReservedBitsAndCriticalBitOfKnownPayloadsAreIgnored) {
    Bytes wire = from_hex(kInvalidKeResponseHex);
    wire[29] = 0xff;  // critical bit + reserved bits of the Notify generic header
    auto decoded = decode(wire);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->payloads, invalid_ke_response().payloads);
}

TEST(CodecVectorsExtra, UnknownNonCriticalPayloadIsSkippedAndCounted) {
    // Header -> unknown type 99 (not critical, 6 octets) -> N.
    const Bytes wire = from_hex(
        "0102030405060708 0000000000000000 63 20 22 20 00000000 0000002c"
        "29 00 0006 abcd"
        "00 00 000a 00 00 0011 0013");
    DecodeCounters counters;
    auto decoded = decode(wire, &counters);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->payloads, invalid_ke_response().payloads);
    EXPECT_EQ(counters.unknown_payloads_skipped, 1u);
}

TEST(CodecVectorsExtra, UnknownCriticalPayloadIsRejectedWithItsType) {
    const Bytes wire = from_hex(
        "0102030405060708 0000000000000000 63 20 22 20 00000000 0000002c"
        "29 80 0006 abcd"
        "00 00 000a 00 00 0011 0013");
    DecodeCounters counters;
    auto decoded = decode(wire, &counters);
    ASSERT_FALSE(decoded.has_value());
    EXPECT_EQ(decoded.error().error, DecodeError::kUnsupportedCriticalPayload);
    EXPECT_EQ(decoded.error().payload_type, 99);
    EXPECT_EQ(decoded.error().offset, 28u);
    EXPECT_EQ(counters[DecodeError::kUnsupportedCriticalPayload], 1u);
}

TEST(CodecVectorsExtra, CriticalConfigurationPayloadIsUnsupported) {
    // CP (47) is defined by RFC 7296 but not implemented: rejected when critical.
    const Bytes wire = from_hex(
        "0102030405060708 0000000000000000 2f 20 22 20 00000000 00000024"
        "00 80 0008 01000000");
    auto decoded = decode(wire);
    ASSERT_FALSE(decoded.has_value());
    EXPECT_EQ(decoded.error().error, DecodeError::kUnsupportedCriticalPayload);
    EXPECT_EQ(decoded.error().payload_type, 47);
}

}  // namespace
}  // namespace mpsa::ike
