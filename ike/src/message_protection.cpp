#include "mpsa/ike/message_protection.hpp"

#include <limits>

#include <openssl/crypto.h>

#include "codec_wire.hpp"
#include "message_protection_internal.hpp"

namespace mpsa::ike {

namespace wire {

DecodeError to_decode_error(SkError error) {
    switch (error) {
        case SkError::kTooShort:
            return DecodeError::kSkBodyTooShort;
        case SkError::kIntegrityFailed:
            return DecodeError::kIntegrityCheckFailed;
        case SkError::kCrypto:
            return DecodeError::kDecryptFailed;
    }
    return DecodeError::kDecryptFailed;
}

void wipe(Bytes& bytes) {
    if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
}

tl::expected<Bytes, EncodeError> seal_chunk(const Header& header, PayloadType outer_type,
                                            PayloadType first_inner,
                                            std::optional<FragmentPosition> fragment, ByteView data,
                                            SkTransform& transform) {
    const std::size_t pad = pad_length(data.size(), transform.block_size());
    const std::size_t plaintext_size = data.size() + pad + 1;
    const std::size_t outer_header_size = kGenericPayloadHeaderSize + (fragment ? 4 : 0);
    const std::size_t body_size = transform.iv_length() + plaintext_size + transform.icv_length();
    const std::size_t payload_size = outer_header_size + body_size;
    if (payload_size > std::numeric_limits<std::uint16_t>::max()) {
        return tl::unexpected(EncodeError::kPayloadTooLarge);
    }
    Bytes out;
    out.reserve(kHeaderSize + payload_size);
    append_header(out, header, outer_type, static_cast<std::uint32_t>(kHeaderSize + payload_size));
    put_u8(out, static_cast<std::uint8_t>(first_inner));
    put_u8(out, 0);
    put_u16(out, static_cast<std::uint16_t>(payload_size));
    if (fragment) {
        put_u16(out, fragment->number);
        put_u16(out, fragment->total);
    }
    Bytes plaintext;
    plaintext.reserve(plaintext_size);
    put_bytes(plaintext, data);
    plaintext.resize(data.size() + pad, 0);
    put_u8(plaintext, static_cast<std::uint8_t>(pad));
    auto body = transform.seal(out, plaintext);
    wipe(plaintext);
    if (!body || body->size() != body_size) return tl::unexpected(EncodeError::kSealFailed);
    put_bytes(out, *body);
    return out;
}

tl::expected<ByteView, DecodeFailure> check_outer(ByteView datagram, PayloadType outer_type,
                                                  std::size_t outer_header_size,
                                                  DecodeCounters* counters, Header& header) {
    auto peeked = peek_header(datagram);
    if (!peeked) {
        if (counters != nullptr) counters->count(peeked.error().error);
        return tl::unexpected(peeked.error());
    }
    header = *peeked;
    if (header.major_version != 2) {
        return tl::unexpected(fail(counters, DecodeError::kUnsupportedMajorVersion, 0, 17));
    }
    if (header.length != datagram.size()) {
        return tl::unexpected(fail(counters, DecodeError::kLengthMismatch, 0, 24));
    }
    const auto type = static_cast<std::uint8_t>(outer_type);
    if (header.next_payload != outer_type) {
        return tl::unexpected(fail(counters, DecodeError::kNotEncrypted,
                                   static_cast<std::uint8_t>(header.next_payload), kHeaderSize));
    }
    const ByteView rest = datagram.subspan(kHeaderSize);
    if (rest.size() < outer_header_size) {
        const auto error = rest.size() < kGenericPayloadHeaderSize
                               ? DecodeError::kTruncatedPayloadHeader
                               : DecodeError::kPayloadBodyTooShort;
        return tl::unexpected(fail(counters, error, type, kHeaderSize));
    }
    const std::size_t length = get_u16(rest.data() + 2);
    if (length < outer_header_size) {
        const auto error = length < kGenericPayloadHeaderSize ? DecodeError::kPayloadLengthTooShort
                                                              : DecodeError::kPayloadBodyTooShort;
        return tl::unexpected(fail(counters, error, type, kHeaderSize));
    }
    if (length > rest.size()) {
        return tl::unexpected(
            fail(counters, DecodeError::kPayloadLengthOverrun, type, kHeaderSize));
    }
    if (length != rest.size()) {
        return tl::unexpected(fail(counters, DecodeError::kEncryptedNotLast, type, kHeaderSize));
    }
    return rest;
}

tl::expected<ByteView, DecodeFailure> strip_padding(const Bytes& plaintext, std::uint8_t type,
                                                    DecodeCounters* counters) {
    if (plaintext.empty() || std::size_t{plaintext.back()} + 1 > plaintext.size()) {
        return tl::unexpected(fail(counters, DecodeError::kPadLengthInvalid, type, 0));
    }
    return ByteView(plaintext).first(plaintext.size() - plaintext.back() - 1);
}

}  // namespace wire

tl::expected<Bytes, EncodeError> seal_message(const Header& header, std::span<const Payload> inner,
                                              SkTransform& transform) {
    Bytes data;
    data.reserve(512);
    auto first = wire::encode_chain(inner, false, data);
    if (!first) {
        wire::wipe(data);
        return tl::unexpected(first.error());
    }
    auto sealed =
        wire::seal_chunk(header, PayloadType::kEncrypted, *first, std::nullopt, data, transform);
    wire::wipe(data);
    return sealed;
}

tl::expected<Message, DecodeFailure> open_message(ByteView datagram, SkTransform& transform,
                                                  DecodeCounters* counters) {
    constexpr auto kSk = static_cast<std::uint8_t>(PayloadType::kEncrypted);
    Message message;
    auto payload = wire::check_outer(datagram, PayloadType::kEncrypted, kGenericPayloadHeaderSize,
                                     counters, message.header);
    if (!payload) return tl::unexpected(payload.error());
    const std::size_t aad_size = kHeaderSize + kGenericPayloadHeaderSize;
    auto plaintext = transform.open(datagram.first(aad_size), datagram.subspan(aad_size));
    if (!plaintext) {
        return tl::unexpected(
            wire::fail(counters, wire::to_decode_error(plaintext.error()), kSk, aad_size));
    }
    auto inner = wire::strip_padding(*plaintext, kSk, counters);
    if (!inner) {
        wire::wipe(*plaintext);
        return tl::unexpected(inner.error());
    }
    message.payloads.reserve(8);
    auto chain = wire::decode_chain((*payload)[0], *inner, 0, false, message.payloads, counters);
    wire::wipe(*plaintext);
    if (!chain) return tl::unexpected(chain.error());
    return message;
}

}  // namespace mpsa::ike
