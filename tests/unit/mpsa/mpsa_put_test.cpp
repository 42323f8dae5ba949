#include "mpsa/mpsa/mpsa_put.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mpsa/mpsa/vendor_id.hpp"

namespace mpsa::mpsa {
namespace {

using ike::Bytes;
using ike::from_hex;
using ike::to_hex;

// tests/vectors/mpsa_put_vector.py: the draft 3.2.2 example assembled from the figure with
// struct.pack (SPI "MPSA", nonce 10..2f, SK_d a0..b3, lifetime 3600, ROLL1 30, ROLL2 60).
constexpr const char* kDraftExampleHex =
    "000000b00304a0004d505341000000a4010304084d5053410300000c0100000c800e010003000008020000020300"
    "0008030000020300002cf100000140000020101112131415161718191a1b1c1d1e1f202122232425262728292a2b"
    "2c2d2e2f03000020f200000140010014a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b303000010f30000014002"
    "000400000e1003000010f4000001400300040000001e00000010f5000001400400040000003c";
// The same with the figures' attribute type 16386 inside ROLL1 and ROLL2.
constexpr const char* kDraftFigureAttrHex =
    "000000b00304a0004d505341000000a4010304084d5053410300000c0100000c800e010003000008020000020300"
    "0008030000020300002cf100000140000020101112131415161718191a1b1c1d1e1f202122232425262728292a2b"
    "2c2d2e2f03000020f200000140010014a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b303000010f30000014002"
    "000400000e1003000010f4000001400200040000001e00000010f5000001400200040000003c";

Bytes range_bytes(std::uint8_t first, std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(first + i);
    return b;
}

MpsaPut draft_example_put() {
    MpsaPut put;
    put.spi = 0x4d505341;
    put.suite = suites::draft_example();
    put.nonce = range_bytes(0x10, 32);
    put.sk_d = ike::SecretBytes(range_bytes(0xa0, 20));
    put.lifetime_s = 3600;
    put.roll1_s = 30;
    put.roll2_s = 60;
    return put;
}

void expect_same(const MpsaPut& a, const MpsaPut& b) {
    EXPECT_EQ(a.spi, b.spi);
    EXPECT_EQ(a.suite, b.suite);
    EXPECT_EQ(a.nonce, b.nonce);
    EXPECT_TRUE(ike::constant_time_equal(a.sk_d.view(), b.sk_d.view()));
    EXPECT_EQ(a.lifetime_s, b.lifetime_s);
    EXPECT_EQ(a.roll1_s, b.roll1_s);
    EXPECT_EQ(a.roll2_s, b.roll2_s);
}

TEST(MpsaVendorId, ExactContent) {
    const Bytes vid = mpsa_vendor_id();
    EXPECT_EQ(std::string(vid.begin(), vid.end()), "multi-point SA");
    EXPECT_TRUE(is_mpsa_vendor_id(vid));
    const std::string longer = "multi-point SA2";
    const std::string shorter = "multi-point S";
    EXPECT_FALSE(is_mpsa_vendor_id(Bytes(longer.begin(), longer.end())));
    EXPECT_FALSE(is_mpsa_vendor_id(Bytes(shorter.begin(), shorter.end())));
    EXPECT_FALSE(is_mpsa_vendor_id(Bytes{}));
}

TEST(MpsaVendorId, DetectedAmongOthers) {
    const std::vector<Bytes> without = {from_hex("4048b7d56ebce885"), Bytes{0x01}};
    EXPECT_FALSE(peer_supports_mpsa(without));
    std::vector<Bytes> with = without;
    with.push_back(mpsa_vendor_id());
    EXPECT_TRUE(peer_supports_mpsa(with));
    const std::vector<ike::ByteView> views = {with[0], with[2]};
    EXPECT_TRUE(peer_supports_mpsa(views));
    EXPECT_FALSE(peer_supports_mpsa(std::vector<ike::ByteView>{}));
}

TEST(MpsaPutCodec, DraftExampleMatchesFigureByteForByte) {
    const auto payload = encode_mpsa_put_payload(draft_example_put(), 0);
    ASSERT_TRUE(payload.has_value());
    EXPECT_EQ(to_hex(payload->view()), kDraftExampleHex);
    const auto body = encode_mpsa_put_body(draft_example_put());
    ASSERT_TRUE(body.has_value());
    EXPECT_EQ(to_hex(body->view()), std::string(kDraftExampleHex).substr(8));
    const auto data = encode_mpsa_put_data(draft_example_put());
    ASSERT_TRUE(data.has_value());
    EXPECT_EQ(to_hex(data->view()), std::string(kDraftExampleHex).substr(24));
}

TEST(MpsaPutCodec, DecodesDraftExample) {
    const auto decoded = decode_mpsa_put_payload(from_hex(kDraftExampleHex));
    ASSERT_TRUE(decoded.has_value()) << to_string(decoded.error());
    EXPECT_EQ(decoded->next_payload, 0);
    EXPECT_FALSE(decoded->critical);
    expect_same(decoded->put, draft_example_put());
}

TEST(MpsaPutCodec, DecodesFromSplitNotifyFields) {
    const Bytes full = from_hex(kDraftExampleHex);
    const ike::ByteView spi(full.data() + 8, 4);
    const ike::ByteView data(full.data() + 12, full.size() - 12);
    const auto put = decode_mpsa_put_notify(3, spi, 40960, data);
    ASSERT_TRUE(put.has_value()) << to_string(put.error());
    expect_same(*put, draft_example_put());
    EXPECT_EQ(decode_mpsa_put_notify(1, spi, 40960, data).error(), PutError::kWrongProtocolId);
    EXPECT_EQ(decode_mpsa_put_notify(3, spi.first(3), 40960, data).error(),
              PutError::kWrongSpiSize);
    EXPECT_EQ(decode_mpsa_put_notify(3, spi, 16384, data).error(), PutError::kNotMpsaPut);
    const Bytes other_spi = {0x4d, 0x50, 0x53, 0x42};
    EXPECT_EQ(decode_mpsa_put_notify(3, other_spi, 40960, data).error(), PutError::kSpiMismatch);
}

TEST(MpsaPutCodec, AcceptsFigureAttributeTypeInRollTransforms) {
    const auto decoded = decode_mpsa_put_payload(from_hex(kDraftFigureAttrHex));
    ASSERT_TRUE(decoded.has_value()) << to_string(decoded.error());
    expect_same(decoded->put, draft_example_put());
}

TEST(MpsaPutCodec, HeaderFieldsRoundTrip) {
    const auto payload = encode_mpsa_put_payload(draft_example_put(), 33, true);
    ASSERT_TRUE(payload.has_value());
    const auto decoded = decode_mpsa_put_payload(payload->view());
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->next_payload, 33);
    EXPECT_TRUE(decoded->critical);
}

struct RoundTripCase {
    const char* name;
    EspSuite suite;
    std::size_t nonce_size;
};

TEST(MpsaPutCodec, RoundTripsEverySuiteAndSize) {
    const RoundTripCase cases[] = {
        {"default", suites::default_suite(), 32},
        {"draft", suites::draft_example(), 16},
        {"gcm", suites::aes_gcm_256(), 256},
        {"cbc128-sha384",
         {EncrId::kAesCbc, 128, PrfId::kHmacSha2_384, IntegId::kHmacSha2_384_192},
         64},
        {"cbc192-sha512",
         {EncrId::kAesCbc, 192, PrfId::kHmacSha2_512, IntegId::kHmacSha2_512_256},
         255},
    };
    const DecodeOptions allow_aead{SuitePolicy{true}};
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        MpsaPut put;
        put.spi = 0xdeadbeef;
        put.suite = c.suite;
        put.nonce = range_bytes(7, c.nonce_size);
        put.sk_d = ike::SecretBytes(range_bytes(0x55, ike::prf_key_length(c.suite.prf)));
        put.lifetime_s = 0xfffffff0U;
        put.roll1_s = 1;
        put.roll2_s = 0x7fffffffU;
        const auto payload = encode_mpsa_put_payload(put, 0);
        ASSERT_TRUE(payload.has_value());
        const auto decoded = decode_mpsa_put_payload(payload->view(), allow_aead);
        ASSERT_TRUE(decoded.has_value()) << to_string(decoded.error());
        expect_same(decoded->put, put);
        const auto body = encode_mpsa_put_body(put);
        ASSERT_TRUE(body.has_value());
        const auto from_body = decode_mpsa_put_body(body->view(), allow_aead);
        ASSERT_TRUE(from_body.has_value());
        expect_same(*from_body, put);
        const auto data = encode_mpsa_put_data(put);
        ASSERT_TRUE(data.has_value());
        const auto from_data = decode_mpsa_put_data(put.spi, data->view(), allow_aead);
        ASSERT_TRUE(from_data.has_value());
        expect_same(*from_data, put);
    }
}

TEST(MpsaPutCodec, AeadOmitsIntegAndNeedsOptIn) {
    MpsaPut put = draft_example_put();
    put.suite = suites::aes_gcm_256();
    put.sk_d = ike::SecretBytes(range_bytes(1, 32));
    const auto payload = encode_mpsa_put_payload(put, 0);
    ASSERT_TRUE(payload.has_value());
    EXPECT_EQ(payload->size(), 176U - 8U + 12U);  // no INTEG transform, 12 more octets of SK_d
    EXPECT_EQ(decode_mpsa_put_payload(payload->view()).error(), PutError::kAeadNotAllowed);
    EXPECT_TRUE(decode_mpsa_put_payload(payload->view(), DecodeOptions{SuitePolicy{true}}));
}

TEST(MpsaPutCodec, EncoderRefusesInvalidContents) {
    MpsaPut put = draft_example_put();
    put.nonce.resize(15);
    EXPECT_EQ(encode_mpsa_put_payload(put, 0).error(), PutError::kBadNonceSize);
    put = draft_example_put();
    put.spi = 255;
    EXPECT_EQ(encode_mpsa_put_body(put).error(), PutError::kReservedSpi);
    put = draft_example_put();
    put.sk_d = ike::SecretBytes(range_bytes(0, 32));
    EXPECT_EQ(encode_mpsa_put_data(put).error(), PutError::kBadSkdSize);
    put = draft_example_put();
    put.roll1_s = 61;
    EXPECT_EQ(encode_mpsa_put_data(put).error(), PutError::kBadTiming);
    put = draft_example_put();
    put.suite.integ = IntegId::kNone;
    EXPECT_EQ(encode_mpsa_put_data(put).error(), PutError::kMissingInteg);
}

// ---- malformations, built from a structural description like the Python generator ----

struct TransformSpec {
    std::uint8_t type;
    std::uint16_t id;
    Bytes attrs;
    std::optional<std::uint8_t> more;  // default: 3, or 0 for the last one
    std::optional<std::uint16_t> length;
};

struct Spec {
    std::optional<std::uint16_t> payload_length;
    std::uint8_t protocol = 3;
    std::uint8_t spi_size = 4;
    std::uint16_t notify_type = 40960;
    std::uint32_t notify_spi = 0x4d505341;
    std::uint8_t proposal_last = 0;
    std::optional<std::uint16_t> proposal_length;
    std::uint8_t proposal_number = 1;
    std::uint8_t proposal_protocol = 3;
    std::uint8_t proposal_spi_size = 4;
    std::optional<std::uint8_t> num_transforms;
    std::uint32_t proposal_spi = 0x4d505341;
    std::vector<TransformSpec> transforms;
    Bytes inside_proposal_tail;
    Bytes after_proposal;
    Bytes after_payload;
};

void put16(Bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes& b, std::uint32_t v) {
    put16(b, static_cast<std::uint16_t>(v >> 16));
    put16(b, static_cast<std::uint16_t>(v));
}
Bytes tlv(std::uint16_t type, const Bytes& value) {
    Bytes b;
    put16(b, type);
    put16(b, static_cast<std::uint16_t>(value.size()));
    b.insert(b.end(), value.begin(), value.end());
    return b;
}
Bytes tv(std::uint16_t type, std::uint16_t value) {
    Bytes b;
    put16(b, static_cast<std::uint16_t>(0x8000 | type));
    put16(b, value);
    return b;
}
Bytes u32_value(std::uint32_t v) {
    Bytes b;
    put32(b, v);
    return b;
}
Bytes concat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

Spec example_spec() {
    Spec s;
    s.transforms = {
        {1, 12, tv(14, 256), {}, {}},
        {2, 2, {}, {}, {}},
        {3, 2, {}, {}, {}},
        {241, 1, tlv(16384, range_bytes(0x10, 32)), {}, {}},
        {242, 1, tlv(16385, range_bytes(0xa0, 20)), {}, {}},
        {243, 1, tlv(16386, u32_value(3600)), {}, {}},
        {244, 1, tlv(16387, u32_value(30)), {}, {}},
        {245, 1, tlv(16388, u32_value(60)), {}, {}},
    };
    return s;
}

Bytes build(const Spec& s) {
    Bytes transforms;
    for (std::size_t i = 0; i < s.transforms.size(); ++i) {
        const auto& t = s.transforms[i];
        const bool last = i + 1 == s.transforms.size();
        transforms.push_back(t.more.value_or(last ? 0 : 3));
        transforms.push_back(0);
        put16(transforms, t.length.value_or(static_cast<std::uint16_t>(8 + t.attrs.size())));
        transforms.push_back(t.type);
        transforms.push_back(0);
        put16(transforms, t.id);
        transforms.insert(transforms.end(), t.attrs.begin(), t.attrs.end());
    }
    transforms = concat(transforms, s.inside_proposal_tail);
    Bytes proposal{s.proposal_last, 0};
    put16(proposal, s.proposal_length.value_or(static_cast<std::uint16_t>(12 + transforms.size())));
    proposal.push_back(s.proposal_number);
    proposal.push_back(s.proposal_protocol);
    proposal.push_back(s.proposal_spi_size);
    proposal.push_back(s.num_transforms.value_or(static_cast<std::uint8_t>(s.transforms.size())));
    put32(proposal, s.proposal_spi);
    proposal = concat(concat(proposal, transforms), s.after_proposal);
    Bytes body{s.protocol, s.spi_size};
    put16(body, s.notify_type);
    put32(body, s.notify_spi);
    body = concat(body, proposal);
    Bytes payload{0, 0};
    put16(payload, s.payload_length.value_or(static_cast<std::uint16_t>(4 + body.size())));
    return concat(concat(payload, body), s.after_payload);
}

TransformSpec& find(Spec& s, std::uint8_t type) {
    for (auto& t : s.transforms)
        if (t.type == type) return t;
    throw std::logic_error("no such transform");
}
void erase(Spec& s, std::uint8_t type) {
    std::erase_if(s.transforms, [type](const TransformSpec& t) { return t.type == type; });
}

TEST(MpsaPutCodec, StructuralBuilderReproducesVector) {
    EXPECT_EQ(to_hex(build(example_spec())), kDraftExampleHex);
}

struct Malformation {
    const char* name;
    std::function<void(Spec&)> mutate;
    PutError expected;
    bool allow_aead = false;
    std::function<void(Bytes&)> post = nullptr;
};

const std::vector<Malformation>& malformations() {
    static const std::vector<Malformation> table = {
        {"shorter than generic header", [](Spec&) {}, PutError::kPayloadTooShort, false,
         [](Bytes& b) { b.resize(3); }},
        {"body shorter than notify header", [](Spec&) {}, PutError::kPayloadTooShort, false,
         [](Bytes& b) { b = {0, 0, 0, 10, 3, 4, 0xa0, 0, 0x4d, 0x50}; }},
        {"payload length too big", [](Spec& s) { s.payload_length = 400; },
         PutError::kPayloadLengthMismatch},
        {"payload length below header", [](Spec& s) { s.payload_length = 3; },
         PutError::kPayloadLengthMismatch},
        {"bytes after payload", [](Spec& s) { s.after_payload = {0}; }, PutError::kTrailingData},
        {"protocol IKE", [](Spec& s) { s.protocol = 1; }, PutError::kWrongProtocolId},
        {"SPI size 8", [](Spec& s) { s.spi_size = 8; }, PutError::kWrongSpiSize},
        {"other notify type", [](Spec& s) { s.notify_type = 40961; }, PutError::kNotMpsaPut},
        {"reserved SPI",
         [](Spec& s) {
             s.notify_spi = 255;
             s.proposal_spi = 255;
         },
         PutError::kReservedSpi},
        {"proposal truncated", [](Spec&) {}, PutError::kProposalTooShort, false,
         [](Bytes& b) {
             b.resize(20);
             b[3] = 20;
         }},
        {"second proposal announced", [](Spec& s) { s.proposal_last = 2; },
         PutError::kProposalNotLast},
        {"proposal length too big", [](Spec& s) { s.proposal_length = 400; },
         PutError::kBadProposalLength},
        {"proposal length below header", [](Spec& s) { s.proposal_length = 11; },
         PutError::kBadProposalLength},
        {"data after last transform in proposal", [](Spec& s) { s.inside_proposal_tail = {0}; },
         PutError::kBadProposalLength},
        {"proposal number 2", [](Spec& s) { s.proposal_number = 2; }, PutError::kBadProposalNumber},
        {"proposal protocol AH", [](Spec& s) { s.proposal_protocol = 2; },
         PutError::kProposalWrongProtocolId},
        {"proposal SPI size 0", [](Spec& s) { s.proposal_spi_size = 0; },
         PutError::kProposalWrongSpiSize},
        {"SPI mismatch", [](Spec& s) { s.proposal_spi = 0x4d505342; }, PutError::kSpiMismatch},
        {"transform header truncated",
         [](Spec& s) {
             s.transforms.back().more = 3;
             s.inside_proposal_tail = {0, 0, 0, 8, 1};
         },
         PutError::kTransformTooShort},
        {"transform length below header", [](Spec& s) { find(s, 2).length = 7; },
         PutError::kBadTransformLength},
        {"transform length beyond proposal", [](Spec& s) { find(s, 245).length = 17; },
         PutError::kBadTransformLength},
        {"more-flag 1", [](Spec& s) { find(s, 2).more = 1; }, PutError::kBadTransformChain},
        {"last transform says more", [](Spec& s) { s.transforms.back().more = 3; },
         PutError::kBadTransformChain},
        {"transform count too high", [](Spec& s) { s.num_transforms = 9; },
         PutError::kTransformCountMismatch},
        {"transform count too low", [](Spec& s) { s.num_transforms = 7; },
         PutError::kTransformCountMismatch},
        {"attribute header truncated", [](Spec& s) { find(s, 241).attrs.resize(3); },
         PutError::kAttributeTooShort},
        {"attribute length beyond transform", [](Spec& s) { find(s, 241).attrs[3] = 33; },
         PutError::kBadAttributeLength},
        {"nonce as TV", [](Spec& s) { find(s, 241).attrs = tv(16384, 1); },
         PutError::kBadAttributeFormat},
        {"key length as TLV",
         [](Spec& s) {
             find(s, 1).attrs = tlv(14, {1, 0});
         },
         PutError::kBadAttributeFormat},
        {"attribute on PRF", [](Spec& s) { find(s, 2).attrs = tv(14, 128); },
         PutError::kUnknownAttribute},
        {"wrong attribute in NONCE",
         [](Spec& s) { find(s, 241).attrs = tlv(16385, range_bytes(0, 32)); },
         PutError::kUnknownAttribute},
        {"LIFE attribute in ROLL1 with ROLL1 attribute",
         [](Spec& s) {
             auto& t = find(s, 244);
             t.attrs = concat(t.attrs, tlv(16386, u32_value(30)));
         },
         PutError::kDuplicateAttribute},
        {"nonce attribute twice",
         [](Spec& s) {
             auto& t = find(s, 241);
             t.attrs = concat(t.attrs, t.attrs);
         },
         PutError::kDuplicateAttribute},
        {"SKD without attribute", [](Spec& s) { find(s, 242).attrs.clear(); },
         PutError::kMissingAttribute},
        {"data after proposal",
         [](Spec& s) {
             s.after_proposal = {0, 0, 0, 0};
         },
         PutError::kTrailingData},
        {"ESN transform",
         [](Spec& s) {
             s.transforms.insert(s.transforms.begin(), {5, 0, {}, {}, {}});
         },
         PutError::kUnknownTransformType},
        {"ENCR 3DES", [](Spec& s) { find(s, 1).id = 3; }, PutError::kUnknownEncr},
        {"PRF AES-XCBC", [](Spec& s) { find(s, 2).id = 4; }, PutError::kUnknownPrf},
        {"INTEG MD5", [](Spec& s) { find(s, 3).id = 1; }, PutError::kUnknownInteg},
        {"NONCE id 2", [](Spec& s) { find(s, 241).id = 2; }, PutError::kBadTransformId},
        {"ROLL2 id 0", [](Spec& s) { find(s, 245).id = 0; }, PutError::kBadTransformId},
        {"ENCR without key length", [](Spec& s) { find(s, 1).attrs.clear(); },
         PutError::kMissingKeyLength},
        {"ENCR key length 100", [](Spec& s) { find(s, 1).attrs = tv(14, 100); },
         PutError::kBadKeyLength},
        {"PRF twice",
         [](Spec& s) {
             s.transforms.insert(s.transforms.begin(), {2, 5, {}, {}, {}});
         },
         PutError::kDuplicateTransform},
        {"LIFE twice", [](Spec& s) { s.transforms.insert(s.transforms.begin(), find(s, 243)); },
         PutError::kDuplicateTransform},
        {"no ENCR", [](Spec& s) { erase(s, 1); }, PutError::kMissingEncr},
        {"no PRF", [](Spec& s) { erase(s, 2); }, PutError::kMissingPrf},
        {"no INTEG", [](Spec& s) { erase(s, 3); }, PutError::kMissingInteg},
        {"INTEG NONE with CBC", [](Spec& s) { find(s, 3).id = 0; }, PutError::kMissingInteg},
        {"no NONCE", [](Spec& s) { erase(s, 241); }, PutError::kMissingNonce},
        {"no SKD", [](Spec& s) { erase(s, 242); }, PutError::kMissingSkd},
        {"no LIFE", [](Spec& s) { erase(s, 243); }, PutError::kMissingLifetime},
        {"no ROLL1", [](Spec& s) { erase(s, 244); }, PutError::kMissingRoll1},
        {"no ROLL2", [](Spec& s) { erase(s, 245); }, PutError::kMissingRoll2},
        {"GCM with INTEG SHA1",
         [](Spec& s) {
             find(s, 1).id = 20;
             find(s, 2).id = 5;
             find(s, 242).attrs = tlv(16385, range_bytes(0, 32));
         },
         PutError::kIntegWithAead, true},
        {"GCM without opt-in",
         [](Spec& s) {
             find(s, 1).id = 20;
             erase(s, 3);
         },
         PutError::kAeadNotAllowed},
        {"nonce 15 octets", [](Spec& s) { find(s, 241).attrs = tlv(16384, range_bytes(0, 15)); },
         PutError::kBadNonceSize},
        {"nonce 257 octets", [](Spec& s) { find(s, 241).attrs = tlv(16384, range_bytes(0, 257)); },
         PutError::kBadNonceSize},
        {"SK_d 32 octets with PRF SHA1",
         [](Spec& s) { find(s, 242).attrs = tlv(16385, range_bytes(0, 32)); },
         PutError::kBadSkdSize},
        {"SK_d 19 octets", [](Spec& s) { find(s, 242).attrs = tlv(16385, range_bytes(0, 19)); },
         PutError::kBadSkdSize},
        {"lifetime 8 octets", [](Spec& s) { find(s, 243).attrs = tlv(16386, Bytes(8, 1)); },
         PutError::kBadTimeValueSize},
        {"ROLL1 2 octets", [](Spec& s) { find(s, 244).attrs = tlv(16387, Bytes(2, 1)); },
         PutError::kBadTimeValueSize},
        {"lifetime 0", [](Spec& s) { find(s, 243).attrs = tlv(16386, u32_value(0)); },
         PutError::kBadTiming},
        {"ROLL1 after ROLL2", [](Spec& s) { find(s, 244).attrs = tlv(16387, u32_value(61)); },
         PutError::kBadTiming},
    };
    return table;
}

TEST(MpsaPutCodec, EachMalformationRejectedWithItsOwnError) {
    for (const auto& m : malformations()) {
        SCOPED_TRACE(m.name);
        Spec spec = example_spec();
        m.mutate(spec);
        Bytes bytes = build(spec);
        if (m.post) m.post(bytes);
        const auto decoded =
            decode_mpsa_put_payload(bytes, DecodeOptions{SuitePolicy{m.allow_aead}});
        ASSERT_FALSE(decoded.has_value());
        EXPECT_EQ(decoded.error(), m.expected)
            << "got " << to_string(decoded.error()) << ", want " << to_string(m.expected);
    }
}

TEST(MpsaPutCodec, EveryErrorValueIsReachable) {
    std::set<PutError> seen;
    for (const auto& m : malformations()) seen.insert(m.expected);
    const auto count = static_cast<std::size_t>(PutError::kBadTiming) + 1;
    EXPECT_EQ(seen.size(), count);
    std::set<std::string_view> messages;
    for (std::size_t i = 0; i < count; ++i) messages.insert(to_string(static_cast<PutError>(i)));
    EXPECT_EQ(messages.size(), count);
}

TEST(MpsaPutCodec, GcmAcceptedWithOptInWithOrWithoutIntegNone) {
    Spec spec = example_spec();
    find(spec, 1).id = 20;
    find(spec, 2).id = 5;
    find(spec, 3).id = 0;
    find(spec, 242).attrs = tlv(16385, range_bytes(0, 32));
    const DecodeOptions allow{SuitePolicy{true}};
    auto with_none = decode_mpsa_put_payload(build(spec), allow);
    ASSERT_TRUE(with_none.has_value()) << to_string(with_none.error());
    EXPECT_EQ(with_none->put.suite, suites::aes_gcm_256());
    erase(spec, 3);
    auto without = decode_mpsa_put_payload(build(spec), allow);
    ASSERT_TRUE(without.has_value()) << to_string(without.error());
    EXPECT_EQ(without->put.suite, suites::aes_gcm_256());
}

TEST(MpsaPutCodec, TransformOrderIsFree) {
    Spec spec = example_spec();
    std::reverse(spec.transforms.begin(), spec.transforms.end());
    const auto decoded = decode_mpsa_put_payload(build(spec));
    ASSERT_TRUE(decoded.has_value()) << to_string(decoded.error());
    expect_same(decoded->put, draft_example_put());
}

TEST(MpsaPutCodec, TruncationAtEveryOffsetIsRejected) {
    const Bytes full = from_hex(kDraftExampleHex);
    for (std::size_t n = 0; n < full.size(); ++n) {
        SCOPED_TRACE(n);
        Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        EXPECT_FALSE(decode_mpsa_put_payload(prefix).has_value());
        // With the payload length patched to match, the inner parsers see the truncation.
        if (n >= 4) {
            prefix[2] = static_cast<std::uint8_t>(n >> 8);
            prefix[3] = static_cast<std::uint8_t>(n);
            EXPECT_FALSE(decode_mpsa_put_payload(prefix).has_value());
        }
        const Bytes body(full.begin() + 4,
                         full.begin() + 4 + static_cast<std::ptrdiff_t>(n > 4 ? n - 4 : 0));
        EXPECT_FALSE(decode_mpsa_put_body(body).has_value());
    }
}

TEST(MpsaPutCodec, EverySingleByteCorruptionIsHandled) {
    const Bytes full = from_hex(kDraftExampleHex);
    std::size_t rejected = 0;
    for (std::size_t i = 0; i < full.size(); ++i) {
        for (std::uint8_t flip : {0x01, 0x80, 0xff}) {
            Bytes b = full;
            b[i] ^= flip;
            if (!decode_mpsa_put_payload(b).has_value()) ++rejected;
        }
    }
    // Value octets (nonce, SK_d, times, reserved fields) may change freely; structure may not.
    EXPECT_GT(rejected, 100U);
}

}  // namespace
}  // namespace mpsa::mpsa
