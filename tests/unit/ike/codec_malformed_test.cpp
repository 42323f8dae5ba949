// Every malformation the plain decoder can see, each rejected with its own error and counted;
// truncation at every offset and single-octet corruption never crash.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "codec_test_samples.hpp"
#include "mpsa/ike/message.hpp"

namespace mpsa::ike {
namespace {

// IKE header (major 2, IKE_AUTH, I flag) with the right length, followed by `chain`.
Bytes with_header(std::uint8_t first, const Bytes& chain) {
    Bytes out;
    append_header(out, testing::sample_header(), static_cast<PayloadType>(first),
                  static_cast<std::uint32_t>(kHeaderSize + chain.size()));
    out.insert(out.end(), chain.begin(), chain.end());
    return out;
}

struct Case {
    const char* name;
    std::uint8_t first;  // payload type in the IKE header
    std::string chain_hex;
    DecodeError error;
    std::uint8_t reported_type;
};

const std::string kV4Selector = "07 06 0010 0000 ffff 0a000000 0a0000ff";

std::vector<Case> cases() {
    return {
        {"TruncatedPayloadHeader", 41, "00 00", DecodeError::kTruncatedPayloadHeader, 41},
        {"PayloadLengthBelow4", 41, "00 00 0003 00", DecodeError::kPayloadLengthTooShort, 41},
        {"PayloadLengthOverrun", 41, "00 00 0010 00000000", DecodeError::kPayloadLengthOverrun, 41},
        {"SecondPayloadOverrun", 43, "29 00 0004 00 00 0009 0000",
         DecodeError::kPayloadLengthOverrun, 41},
        {"TrailingData", 43, "00 00 0006 abcd ff", DecodeError::kTrailingData, 0},
        {"UnknownCritical", 200, "00 80 0004", DecodeError::kUnsupportedCriticalPayload, 200},
        {"EncryptedNotLast", 46, "00 00 0008 00000000 ffff", DecodeError::kEncryptedNotLast, 46},
        {"FragmentNotLast", 53, "00 00 0008 0001 0001 ff", DecodeError::kEncryptedNotLast, 53},
        {"KeTooShort", 34, "00 00 0006 001f", DecodeError::kPayloadBodyTooShort, 34},
        {"NotifyTooShort", 41, "00 00 0007 000040", DecodeError::kPayloadBodyTooShort, 41},
        {"DeleteTooShort", 42, "00 00 0005 03", DecodeError::kPayloadBodyTooShort, 42},
        {"IdTooShort", 35, "00 00 0006 0200", DecodeError::kPayloadBodyTooShort, 35},
        {"CertTooShort", 37, "00 00 0004", DecodeError::kPayloadBodyTooShort, 37},
        {"CertReqTooShort", 38, "00 00 0004", DecodeError::kPayloadBodyTooShort, 38},
        {"AuthTooShort", 39, "00 00 0006 0200", DecodeError::kPayloadBodyTooShort, 39},
        {"TsTooShort", 45, "00 00 0007 010000", DecodeError::kPayloadBodyTooShort, 45},
        {"SkfTooShort", 53, "00 00 0006 0001", DecodeError::kPayloadBodyTooShort, 53},
        {"SaEmpty", 33, "00 00 0004", DecodeError::kSaEmpty, 33},
        {"ProposalTruncated", 33, "00 00 0009 00 00 0008 01", DecodeError::kProposalTruncated, 33},
        {"ProposalLengthBelow8", 33, "00 00 000c 00 00 0007 01 01 00 00",
         DecodeError::kProposalLengthInvalid, 33},
        {"ProposalLengthBeyondSa", 33, "00 00 000c 00 00 0010 01 01 00 00",
         DecodeError::kProposalLengthInvalid, 33},
        {"ProposalSaysMoreButIsLast", 33, "00 00 000c 02 00 0008 01 01 00 00",
         DecodeError::kProposalLastSubstrucMismatch, 33},
        {"ProposalLastSubstrucValue1", 33, "00 00 000c 01 00 0008 01 01 00 00",
         DecodeError::kProposalLastSubstrucMismatch, 33},
        {"ProposalSaysLastButMoreFollow", 33,
         "00 00 0014 00 00 0008 01 01 00 00 00 00 0008 02 01 00 00",
         DecodeError::kProposalLastSubstrucMismatch, 33},
        {"ProposalSpiOverrun", 33, "00 00 000c 00 00 0008 01 01 04 00",
         DecodeError::kProposalSpiOverrun, 33},
        {"TransformTruncated", 33, "00 00 0010 00 00 000c 01 01 00 01 00 00 0008",
         DecodeError::kTransformTruncated, 33},
        {"TransformLengthBelow8", 33, "00 00 0014 00 00 0010 01 01 00 01 00 00 0007 01 00 000c",
         DecodeError::kTransformLengthInvalid, 33},
        {"TransformLengthBeyondProposal", 33,
         "00 00 0014 00 00 0010 01 01 00 01 00 00 0009 01 00 000c",
         DecodeError::kTransformLengthInvalid, 33},
        {"TransformSaysMoreButIsLast", 33,
         "00 00 0014 00 00 0010 01 01 00 01 03 00 0008 01 00 000c",
         DecodeError::kTransformLastSubstrucMismatch, 33},
        {"TransformCountMismatch", 33, "00 00 0014 00 00 0010 01 01 00 02 00 00 0008 01 00 000c",
         DecodeError::kTransformCountMismatch, 33},
        {"AttributeTruncated", 33, "00 00 0016 00 00 0012 01 01 00 01 00 00 000a 01 00 000c 800e",
         DecodeError::kAttributeTruncated, 33},
        {"AttributeTlvOverrun", 33,
         "00 00 0018 00 00 0014 01 01 00 01 00 00 000c 01 00 000c 000e 0005",
         DecodeError::kAttributeLengthOverrun, 33},
        {"NonceTooShort", 40, "00 00 0013 " + std::string(30, 'a'),
         DecodeError::kNonceLengthInvalid, 40},
        {"NonceTooLong", 40, "00 00 0105 " + std::string(514, 'a'),
         DecodeError::kNonceLengthInvalid, 40},
        {"NotifySpiOverrun", 41, "00 00 000c 03 05 4009 01020304", DecodeError::kSpiOverrun, 41},
        {"DeleteSpiCountMismatch", 42, "00 00 000c 03 04 0002 c1000001",
         DecodeError::kDeleteSpiCountMismatch, 42},
        {"IdIpv4WrongLength", 35, "00 00 000b 01 000000 c00002", DecodeError::kIdLengthInvalid, 35},
        {"IdIpv6WrongLength", 36, "00 00 000c 05 000000 20010db8", DecodeError::kIdLengthInvalid,
         36},
        {"TsHeaderTruncated", 44, "00 00 000a 01 000000 07 06", DecodeError::kTsTruncated, 44},
        {"TsBodyTruncated", 44, "00 00 0014 01 000000 07 06 0010 0000 ffff 0a000000",
         DecodeError::kTsTruncated, 44},
        {"TsTypeUnsupported", 44, "00 00 0018 01 000000 0a 06 0010 0000 ffff 0a000000 0a0000ff",
         DecodeError::kTsTypeUnsupported, 44},
        {"TsIpv4Length40", 44, "00 00 0018 01 000000 07 06 0028 0000 ffff 0a000000 0a0000ff",
         DecodeError::kTsLengthInvalid, 44},
        {"TsCountTooHigh", 45, "00 00 0018 02 000000 " + kV4Selector, DecodeError::kTsCountMismatch,
         45},
        {"TsCountTooLow", 45, "00 00 0028 01 000000 " + kV4Selector + kV4Selector,
         DecodeError::kTsCountMismatch, 45},
        {"FragmentNumberZero", 53, "00 00 0008 0000 0001", DecodeError::kFragmentNumberInvalid, 53},
        {"FragmentNumberAboveTotal", 53, "00 00 0008 0003 0002",
         DecodeError::kFragmentNumberInvalid, 53},
    };
}

class CodecMalformed : public ::testing::TestWithParam<Case> {};

TEST_P(CodecMalformed, RejectedWithItsOwnErrorAndCounted) {
    const Case& c = GetParam();
    const Bytes chain = from_hex(c.chain_hex);
    ASSERT_FALSE(chain.empty());
    DecodeCounters counters;
    auto decoded = decode(with_header(c.first, chain), &counters);
    ASSERT_FALSE(decoded.has_value());
    EXPECT_EQ(decode_error_name(decoded.error().error), decode_error_name(c.error));
    EXPECT_EQ(decoded.error().payload_type, c.reported_type);
    EXPECT_EQ(counters[c.error], 1u);
    EXPECT_EQ(counters.total_errors(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Table, CodecMalformed, ::testing::ValuesIn(cases()),
                         [](const auto& test_param) { return std::string(test_param.param.name); });

TEST(CodecMalformedCoverage, EveryPlainDecodeErrorHasACase) {
    std::set<DecodeError> covered{DecodeError::kTruncatedHeader,
                                  DecodeError::kUnsupportedMajorVersion,
                                  DecodeError::kLengthMismatch};  // HeaderErrors below
    for (const auto& c : cases()) covered.insert(c.error);
    // The rest are only reachable through open_message/open_fragment/FragmentReassembler and
    // are tested in message_protection_test.cpp and message_fragment_test.cpp.
    for (auto e :
         {DecodeError::kNestedEncrypted, DecodeError::kNotEncrypted, DecodeError::kSkBodyTooShort,
          DecodeError::kIntegrityCheckFailed, DecodeError::kDecryptFailed,
          DecodeError::kPadLengthInvalid, DecodeError::kFragmentTotalTooLarge,
          DecodeError::kReassemblyTooLarge, DecodeError::kFragmentHeaderMismatch}) {
        covered.insert(e);
    }
    EXPECT_EQ(covered.size(), kDecodeErrorCount);
}

TEST(CodecMalformedHeader, HeaderErrors) {
    const Bytes valid = with_header(0, {});
    DecodeCounters counters;
    EXPECT_EQ(decode(ByteView(valid).first(27), &counters).error().error,
              DecodeError::kTruncatedHeader);
    Bytes v3 = valid;
    v3[17] = 0x30;
    EXPECT_EQ(decode(v3, &counters).error().error, DecodeError::kUnsupportedMajorVersion);
    Bytes v1 = valid;
    v1[17] = 0x10;
    EXPECT_EQ(decode(v1, &counters).error().error, DecodeError::kUnsupportedMajorVersion);
    // peek_header still reads it, so the caller can answer INVALID_MAJOR_VERSION.
    EXPECT_EQ(peek_header(v3)->major_version, 3);
    Bytes longer = valid;
    longer.push_back(0);
    EXPECT_EQ(decode(longer, &counters).error().error, DecodeError::kLengthMismatch);
    Bytes shorter_field = valid;
    shorter_field[27] = 27;
    EXPECT_EQ(decode(shorter_field, &counters).error().error, DecodeError::kLengthMismatch);
    EXPECT_EQ(counters[DecodeError::kTruncatedHeader], 1u);
    EXPECT_EQ(counters[DecodeError::kUnsupportedMajorVersion], 2u);
    EXPECT_EQ(counters[DecodeError::kLengthMismatch], 2u);
    EXPECT_TRUE(decode(valid).has_value());
}

// Strict prefixes of a valid message, with the header length patched to match, all fail.
TEST(CodecMalformedTruncation, EveryPrefixIsRejectedWithoutCrashing) {
    auto full = encode(Message{testing::sample_header(), testing::sample_payloads()});
    ASSERT_TRUE(full.has_value());
    ASSERT_TRUE(decode(*full).has_value());
    for (std::size_t n = 0; n < full->size(); ++n) {
        Bytes prefix(full->begin(), full->begin() + static_cast<std::ptrdiff_t>(n));
        if (n >= kHeaderSize) {
            prefix[24] = static_cast<std::uint8_t>(n >> 24);
            prefix[25] = static_cast<std::uint8_t>(n >> 16);
            prefix[26] = static_cast<std::uint8_t>(n >> 8);
            prefix[27] = static_cast<std::uint8_t>(n);
        }
        DecodeCounters counters;
        auto decoded = decode(prefix, &counters);
        ASSERT_FALSE(decoded.has_value()) << "prefix " << n;
        EXPECT_EQ(counters.total_errors(), 1u);
    }
}

// Each octet corrupted in turn: decode never crashes, and whatever it accepts re-encodes to
// something that decodes to the same payloads.
TEST(CodecMalformedCorruption, SingleOctetCorruptionIsHandled) {
    auto full = encode(Message{testing::sample_header(), testing::sample_payloads()});
    ASSERT_TRUE(full.has_value());
    std::size_t accepted = 0;
    for (std::size_t i = 0; i < full->size(); ++i) {
        for (std::uint8_t mask : {0x01, 0x80, 0xff}) {
            Bytes corrupted = *full;
            corrupted[i] ^= mask;
            auto decoded = decode(corrupted);
            if (!decoded) continue;
            ++accepted;
            auto again = encode(*decoded);
            ASSERT_TRUE(again.has_value()) << "octet " << i;
            auto redecoded = decode(*again);
            ASSERT_TRUE(redecoded.has_value()) << "octet " << i;
            EXPECT_EQ(redecoded->payloads, decoded->payloads) << "octet " << i;
        }
    }
    // Data octets (nonce, KE, notify data...) may change freely; structure octets may not.
    EXPECT_GT(accepted, 0u);
    EXPECT_LT(accepted, 3 * full->size());
}

}  // namespace
}  // namespace mpsa::ike
