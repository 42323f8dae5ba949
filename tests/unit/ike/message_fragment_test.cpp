#include <algorithm>
#include <random>

#include <gtest/gtest.h>

#include "codec_test_samples.hpp"
#include "codec_test_transform.hpp"
#include "mpsa/ike/fragment.hpp"
#include "mpsa/ike/message_protection.hpp"

namespace mpsa::ike {
namespace {

using testing::sample_header;
using testing::sample_payloads;
using testing::XorTransform;

std::vector<OpenedFragment> open_all(const std::vector<Bytes>& datagrams, SkTransform& t) {
    std::vector<OpenedFragment> out;
    for (const auto& d : datagrams) {
        auto f = open_fragment(d, t);
        EXPECT_TRUE(f.has_value()) << decode_error_name(f.error().error);
        if (f) out.push_back(std::move(*f));
    }
    return out;
}

OpenedFragment raw_fragment(std::uint16_t number, std::uint16_t total, Bytes data,
                            PayloadType first = PayloadType::kNone) {
    OpenedFragment f;
    f.header = sample_header();
    f.header.next_payload = PayloadType::kEncryptedFragment;
    f.number = number;
    f.total = total;
    f.first_inner = number == 1 ? first : PayloadType::kNone;
    f.data = SecretBytes(data);
    return f;
}

struct SizeCase {
    std::size_t block;
    std::size_t max_size;
};

class MessageFragment : public ::testing::TestWithParam<SizeCase> {};

TEST_P(MessageFragment, SplitsUnderTheLimitAndReassemblesInAnyOrder) {
    const auto [block, max_size] = GetParam();
    XorTransform transform(0x42, block);
    const auto inner = sample_payloads();
    auto fragments = seal_fragments(sample_header(), inner, transform, max_size);
    ASSERT_TRUE(fragments.has_value());
    ASSERT_GT(fragments->size(), 1u);
    for (const auto& f : *fragments) {
        EXPECT_LE(f.size(), max_size);
        EXPECT_EQ(f[16], 53);  // IKE header next payload: SKF
    }
    auto opened = open_all(*fragments, transform);
    ASSERT_EQ(opened.size(), fragments->size());
    for (std::size_t i = 0; i < opened.size(); ++i) {
        EXPECT_EQ(opened[i].number, i + 1);
        EXPECT_EQ(opened[i].total, fragments->size());
        EXPECT_EQ(opened[i].first_inner, i == 0 ? PayloadType::kSa : PayloadType::kNone);
        EXPECT_EQ(opened[i].header.message_id, 1u);
    }
    std::mt19937 rng(7);
    for (int round = 0; round < 5; ++round) {
        std::vector<std::size_t> order(opened.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        if (round == 1) std::reverse(order.begin(), order.end());
        if (round > 1) std::shuffle(order.begin(), order.end(), rng);
        FragmentReassembler reassembler;
        DecodeCounters counters;
        for (std::size_t k = 0; k < order.size(); ++k) {
            auto result = reassembler.add(opened[order[k]], &counters);
            ASSERT_TRUE(result.has_value()) << decode_error_name(result.error().error);
            if (k + 1 < order.size()) {
                EXPECT_FALSE(result->has_value());
                EXPECT_EQ(reassembler.missing().size(), order.size() - k - 1);
            } else {
                ASSERT_TRUE(result->has_value());
                EXPECT_EQ((*result)->payloads, inner);
                EXPECT_EQ((*result)->header.message_id, 1u);
            }
        }
        EXPECT_EQ(counters.total_errors(), 0u);
        EXPECT_EQ(reassembler.stored_bytes(), 0u);  // reset after completion
    }
}

INSTANTIATE_TEST_SUITE_P(Sizes, MessageFragment,
                         ::testing::Values(SizeCase{1, 100}, SizeCase{8, 128}, SizeCase{16, 200},
                                           SizeCase{16, 576}, SizeCase{16, 64}));

TEST(MessageFragmentSeal, FullFragmentsUseTheWholeBudget) {
    XorTransform transform(0x42, 1);
    auto fragments = seal_fragments(sample_header(), sample_payloads(), transform, 300);
    ASSERT_TRUE(fragments.has_value());
    for (std::size_t i = 0; i + 1 < fragments->size(); ++i) EXPECT_EQ((*fragments)[i].size(), 300u);
}

TEST(MessageFragmentSeal, FitsInOneFragment) {
    XorTransform transform;
    const std::vector<Payload> inner{NoncePayload{testing::filled(16, 0)}};
    auto fragments = seal_fragments(sample_header(), inner, transform, 1280);
    ASSERT_TRUE(fragments.has_value());
    ASSERT_EQ(fragments->size(), 1u);
    auto f = open_fragment(fragments->front(), transform);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->number, 1);
    EXPECT_EQ(f->total, 1);
    FragmentReassembler reassembler;
    auto message = reassembler.add(std::move(*f));
    ASSERT_TRUE(message.has_value() && message->has_value());
    EXPECT_EQ((*message)->payloads, inner);
}

TEST(MessageFragmentSeal, TooSmallAndNestedAreRejected) {
    XorTransform transform(0x42, 16);
    // 28 + 8 + 8 (IV) + 4 (ICV) = 48 octets of overhead, then at least one 16-octet block.
    EXPECT_EQ(seal_fragments(sample_header(), sample_payloads(), transform, 63).error(),
              EncodeError::kFragmentTooSmall);
    EXPECT_TRUE(seal_fragments(sample_header(), sample_payloads(), transform, 64).has_value());
    EXPECT_EQ(seal_fragments(sample_header(), sample_payloads(), transform, 0).error(),
              EncodeError::kFragmentTooSmall);
    const std::vector<Payload> nested{EncryptedPayload{}};
    EXPECT_EQ(seal_fragments(sample_header(), nested, transform, 1280).error(),
              EncodeError::kNestedEncrypted);
}

TEST(MessageFragmentOpen, FramingAndIntegrity) {
    XorTransform transform;
    auto fragments = seal_fragments(sample_header(), sample_payloads(), transform, 200);
    ASSERT_TRUE(fragments.has_value());
    DecodeCounters counters;

    Bytes zero = (*fragments)[1];
    zero[32] = 0;
    zero[33] = 0;
    EXPECT_EQ(open_fragment(zero, transform, &counters).error().error,
              DecodeError::kFragmentNumberInvalid);
    Bytes beyond = (*fragments)[1];
    beyond[33] = static_cast<std::uint8_t>(fragments->size() + 1);
    EXPECT_EQ(open_fragment(beyond, transform, &counters).error().error,
              DecodeError::kFragmentNumberInvalid);
    Bytes tampered = (*fragments)[1];
    tampered.back() ^= 1;
    EXPECT_EQ(open_fragment(tampered, transform, &counters).error().error,
              DecodeError::kIntegrityCheckFailed);
    Bytes renumbered = (*fragments)[1];  // valid number, but not the one authenticated
    renumbered[33] = 1;
    EXPECT_EQ(open_fragment(renumbered, transform, &counters).error().error,
              DecodeError::kIntegrityCheckFailed);
    auto sk = seal_message(sample_header(), sample_payloads(), transform);
    EXPECT_EQ(open_fragment(*sk, transform, &counters).error().error, DecodeError::kNotEncrypted);
    EXPECT_EQ(open_message((*fragments)[0], transform, &counters).error().error,
              DecodeError::kNotEncrypted);
    Bytes short_skf((*fragments)[0].begin(), (*fragments)[0].begin() + 34);
    short_skf[26] = 0;
    short_skf[27] = 34;
    short_skf[30] = 0;
    short_skf[31] = 6;
    EXPECT_EQ(open_fragment(short_skf, transform, &counters).error().error,
              DecodeError::kPayloadBodyTooShort);
    EXPECT_EQ(counters.total_errors(), 7u);

    for (const auto& f : *fragments) {
        for (std::size_t n = 0; n < f.size(); ++n) {
            EXPECT_FALSE(open_fragment(ByteView(f).first(n), transform).has_value());
        }
    }
}

TEST(MessageFragmentReassembly, DuplicatesAreIgnoredAndMissingReported) {
    const Bytes nonce_payload = {0x00, 0x00, 0x00, 0x14};
    Bytes all = nonce_payload;
    for (int i = 0; i < 16; ++i) all.push_back(static_cast<std::uint8_t>(i));
    FragmentReassembler reassembler;
    DecodeCounters counters;
    auto f1 = raw_fragment(1, 3, Bytes(all.begin(), all.begin() + 7), PayloadType::kNonce);
    auto f2 = raw_fragment(2, 3, Bytes(all.begin() + 7, all.begin() + 14));
    auto f3 = raw_fragment(3, 3, Bytes(all.begin() + 14, all.end()));
    EXPECT_TRUE(reassembler.missing().empty());
    ASSERT_FALSE(reassembler.add(f3, &counters)->has_value());
    ASSERT_FALSE(reassembler.add(f3, &counters)->has_value());
    EXPECT_EQ(counters.fragments_duplicate, 1u);
    EXPECT_EQ(reassembler.missing(), (std::vector<std::uint16_t>{1, 2}));
    ASSERT_FALSE(reassembler.add(f1, &counters)->has_value());
    EXPECT_EQ(reassembler.missing(), (std::vector<std::uint16_t>{2}));
    EXPECT_EQ(reassembler.received_count(), 2u);
    auto done = reassembler.add(f2, &counters);
    ASSERT_TRUE(done.has_value() && done->has_value());
    ASSERT_EQ((*done)->payloads.size(), 1u);
    EXPECT_EQ(std::get<NoncePayload>((*done)->payloads[0]).data.size(), 16u);
    EXPECT_EQ(counters.total_errors(), 0u);
}

TEST(MessageFragmentReassembly, TotalFragmentsConsistency) {
    FragmentReassembler reassembler;
    DecodeCounters counters;
    ASSERT_FALSE(reassembler.add(raw_fragment(2, 3, {1}), &counters)->has_value());
    // Fewer total fragments than stored: this fragment is discarded (RFC 7383 2.6.1).
    ASSERT_FALSE(reassembler.add(raw_fragment(1, 2, {1}), &counters)->has_value());
    EXPECT_EQ(counters.fragments_stale, 1u);
    EXPECT_EQ(reassembler.missing(), (std::vector<std::uint16_t>{1, 3}));
    // More total fragments: the sender re-fragmented smaller; start over with this one.
    ASSERT_FALSE(reassembler.add(raw_fragment(4, 4, {1}), &counters)->has_value());
    EXPECT_EQ(counters.reassembly_restarts, 1u);
    EXPECT_EQ(reassembler.missing(), (std::vector<std::uint16_t>{1, 2, 3}));
    EXPECT_EQ(reassembler.stored_bytes(), 1u);
    EXPECT_EQ(counters.total_errors(), 0u);
}

TEST(MessageFragmentReassembly, FragmentOfAnotherMessageIsRejected) {
    FragmentReassembler reassembler;
    DecodeCounters counters;
    ASSERT_FALSE(reassembler.add(raw_fragment(1, 2, {1}), &counters)->has_value());
    auto other = raw_fragment(2, 2, {1});
    other.header.message_id = 2;
    EXPECT_EQ(reassembler.add(other, &counters).error().error,
              DecodeError::kFragmentHeaderMismatch);
    auto other_sa = raw_fragment(2, 2, {1});
    other_sa.header.responder_spi ^= 1;
    EXPECT_EQ(reassembler.add(other_sa, &counters).error().error,
              DecodeError::kFragmentHeaderMismatch);
    EXPECT_EQ(counters[DecodeError::kFragmentHeaderMismatch], 2u);
    EXPECT_EQ(reassembler.missing(), (std::vector<std::uint16_t>{2}));  // state kept
}

TEST(MessageFragmentReassembly, MemoryAndCountBounds) {
    FragmentReassembler reassembler(ReassemblyLimits{4, 10});
    DecodeCounters counters;
    EXPECT_EQ(reassembler.add(raw_fragment(1, 5, {1}), &counters).error().error,
              DecodeError::kFragmentTotalTooLarge);
    ASSERT_FALSE(reassembler.add(raw_fragment(1, 4, Bytes(6)), &counters)->has_value());
    EXPECT_EQ(reassembler.add(raw_fragment(2, 4, Bytes(5)), &counters).error().error,
              DecodeError::kReassemblyTooLarge);
    EXPECT_EQ(reassembler.stored_bytes(), 0u);  // everything dropped
    EXPECT_TRUE(reassembler.missing().empty());
    EXPECT_EQ(counters[DecodeError::kFragmentTotalTooLarge], 1u);
    EXPECT_EQ(counters[DecodeError::kReassemblyTooLarge], 1u);
    auto zero = raw_fragment(1, 1, {1});
    zero.number = 0;
    EXPECT_EQ(reassembler.add(zero, &counters).error().error, DecodeError::kFragmentNumberInvalid);
}

TEST(MessageFragmentReassembly, MalformedInnerPayloadsAfterReassembly) {
    FragmentReassembler reassembler;
    DecodeCounters counters;
    ASSERT_FALSE(reassembler.add(raw_fragment(1, 2, {0x00, 0x00}, PayloadType::kNonce), &counters)
                     ->has_value());
    auto result = reassembler.add(raw_fragment(2, 2, {0x00, 0x50, 0xff}), &counters);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().error, DecodeError::kPayloadLengthOverrun);
    EXPECT_EQ(result.error().payload_type, 40);
    // SK inside reassembled data is nested encryption.
    ASSERT_FALSE(
        reassembler
            .add(raw_fragment(1, 1, {0x00, 0x00, 0x00, 0x04}, PayloadType::kEncrypted), &counters)
            .has_value());
    EXPECT_EQ(counters[DecodeError::kNestedEncrypted], 1u);
}

}  // namespace
}  // namespace mpsa::ike
