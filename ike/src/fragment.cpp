#include "mpsa/ike/fragment.hpp"

#include <algorithm>
#include <limits>

#include "codec_wire.hpp"
#include "message_protection_internal.hpp"

namespace mpsa::ike {

namespace {

constexpr std::size_t kSkfHeaderSize = kGenericPayloadHeaderSize + 4;
constexpr auto kSkf = static_cast<std::uint8_t>(PayloadType::kEncryptedFragment);

// Fragments belong together when they are the same message of the same IKE SA.
bool same_message(const Header& a, const Header& b) {
    return a.initiator_spi == b.initiator_spi && a.responder_spi == b.responder_spi &&
           a.exchange_type == b.exchange_type && a.message_id == b.message_id &&
           a.response == b.response && a.initiator == b.initiator;
}

}  // namespace

tl::expected<std::vector<Bytes>, EncodeError> seal_fragments(const Header& header,
                                                             std::span<const Payload> inner,
                                                             SkTransform& transform,
                                                             std::size_t max_message_size) {
    Bytes data;
    data.reserve(2048);
    auto first = wire::encode_chain(inner, false, data);
    if (!first) {
        wire::wipe(data);
        return tl::unexpected(first.error());
    }
    const std::size_t overhead =
        kHeaderSize + kSkfHeaderSize + transform.iv_length() + transform.icv_length();
    const std::size_t block = std::max<std::size_t>(1, transform.block_size());
    const std::size_t room = max_message_size > overhead ? max_message_size - overhead : 0;
    // Whole blocks of plaintext, one octet of which is the pad length.
    const std::size_t chunk = (room / block) * block;
    if (chunk < 2) {
        wire::wipe(data);
        return tl::unexpected(EncodeError::kFragmentTooSmall);
    }
    const std::size_t chunk_data = chunk - 1;
    const std::size_t count = std::max<std::size_t>(1, (data.size() + chunk_data - 1) / chunk_data);
    if (count > std::numeric_limits<std::uint16_t>::max()) {
        wire::wipe(data);
        return tl::unexpected(EncodeError::kTooManyFragments);
    }
    std::vector<Bytes> fragments;
    fragments.reserve(count);
    const auto total = static_cast<std::uint16_t>(count);
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t begin = i * chunk_data;
        const std::size_t size = std::min(chunk_data, data.size() - begin);
        auto sealed = wire::seal_chunk(
            header, PayloadType::kEncryptedFragment, i == 0 ? *first : PayloadType::kNone,
            wire::FragmentPosition{static_cast<std::uint16_t>(i + 1), total},
            ByteView(data).subspan(begin, size), transform);
        if (!sealed) {
            wire::wipe(data);
            return tl::unexpected(sealed.error());
        }
        fragments.push_back(std::move(*sealed));
    }
    wire::wipe(data);
    return fragments;
}

tl::expected<OpenedFragment, DecodeFailure> open_fragment(ByteView datagram, SkTransform& transform,
                                                          DecodeCounters* counters) {
    OpenedFragment fragment;
    auto payload = wire::check_outer(datagram, PayloadType::kEncryptedFragment, kSkfHeaderSize,
                                     counters, fragment.header);
    if (!payload) return tl::unexpected(payload.error());
    fragment.first_inner = static_cast<PayloadType>((*payload)[0]);
    fragment.number = wire::get_u16(payload->data() + 4);
    fragment.total = wire::get_u16(payload->data() + 6);
    if (fragment.number == 0 || fragment.number > fragment.total) {
        return tl::unexpected(
            wire::fail(counters, DecodeError::kFragmentNumberInvalid, kSkf, kHeaderSize + 4));
    }
    const std::size_t aad_size = kHeaderSize + kSkfHeaderSize;
    auto plaintext = transform.open(datagram.first(aad_size), datagram.subspan(aad_size));
    if (!plaintext) {
        return tl::unexpected(
            wire::fail(counters, wire::to_decode_error(plaintext.error()), kSkf, aad_size));
    }
    auto inner = wire::strip_padding(*plaintext, kSkf, counters);
    if (inner) fragment.data = SecretBytes(*inner);
    wire::wipe(*plaintext);
    if (!inner) return tl::unexpected(inner.error());
    return fragment;
}

tl::expected<std::optional<Message>, DecodeFailure> FragmentReassembler::add(
    OpenedFragment fragment, DecodeCounters* counters) {
    if (fragment.number == 0 || fragment.number > fragment.total) {
        return tl::unexpected(wire::fail(counters, DecodeError::kFragmentNumberInvalid, kSkf, 0));
    }
    if (fragment.total > limits_.max_fragments) {
        return tl::unexpected(wire::fail(counters, DecodeError::kFragmentTotalTooLarge, kSkf, 0));
    }
    if (header_) {
        if (!same_message(*header_, fragment.header)) {
            return tl::unexpected(
                wire::fail(counters, DecodeError::kFragmentHeaderMismatch, kSkf, 0));
        }
        if (fragment.total < fragments_.size()) {
            if (counters != nullptr) ++counters->fragments_stale;
            return std::optional<Message>{};
        }
        if (fragment.total > fragments_.size()) {
            // The sender re-fragmented with a smaller size (RFC 7383 2.6.1).
            reset();
            if (counters != nullptr) ++counters->reassembly_restarts;
        }
    }
    if (!header_) {
        header_ = fragment.header;
        fragments_.resize(fragment.total);
    }
    auto& slot = fragments_[fragment.number - 1u];
    if (slot) {
        if (counters != nullptr) ++counters->fragments_duplicate;
        return std::optional<Message>{};
    }
    if (stored_bytes_ + fragment.data.size() > limits_.max_bytes) {
        reset();
        return tl::unexpected(wire::fail(counters, DecodeError::kReassemblyTooLarge, kSkf, 0));
    }
    stored_bytes_ += fragment.data.size();
    if (fragment.number == 1) first_inner_ = fragment.first_inner;
    slot = std::move(fragment.data);
    ++received_;
    if (received_ < fragments_.size()) return std::optional<Message>{};

    Bytes joined;
    joined.reserve(stored_bytes_);
    for (const auto& part : fragments_) wire::put_bytes(joined, part->view());
    Message message{fragment.header, {}};
    const auto first = static_cast<std::uint8_t>(first_inner_);
    reset();
    auto chain = wire::decode_chain(first, joined, 0, false, message.payloads, counters);
    wire::wipe(joined);
    if (!chain) return tl::unexpected(chain.error());
    return std::optional<Message>{std::move(message)};
}

std::vector<std::uint16_t> FragmentReassembler::missing() const {
    std::vector<std::uint16_t> numbers;
    for (std::size_t i = 0; i < fragments_.size(); ++i) {
        if (!fragments_[i]) numbers.push_back(static_cast<std::uint16_t>(i + 1));
    }
    return numbers;
}

void FragmentReassembler::reset() {
    header_.reset();
    fragments_.clear();  // SecretBytes wipe themselves
    first_inner_ = PayloadType::kNone;
    stored_bytes_ = 0;
    received_ = 0;
}

}  // namespace mpsa::ike
