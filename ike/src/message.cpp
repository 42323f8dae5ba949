#include "mpsa/ike/message.hpp"

#include <limits>
#include <type_traits>

#include "codec_wire.hpp"

namespace mpsa::ike {

namespace {

using wire::get_u16;
using wire::put_bytes;
using wire::put_u16;
using wire::put_u8;

constexpr std::uint8_t kCriticalBit = 0x80;
constexpr std::uint16_t kAttributeFormatTv = 0x8000;
constexpr std::uint8_t kLastProposal = 0;
constexpr std::uint8_t kMoreProposals = 2;
constexpr std::uint8_t kLastTransform = 0;
constexpr std::uint8_t kMoreTransforms = 3;
constexpr std::size_t kMinNonce = 16;
constexpr std::size_t kMaxNonce = 256;

Bytes copy(ByteView view) {
    return Bytes(view.begin(), view.end());
}

// ---- decoding of payload bodies (after the 4-octet generic header) ----

tl::expected<std::vector<TransformAttribute>, DecodeError> decode_attributes(ByteView data) {
    std::vector<TransformAttribute> attributes;
    std::size_t pos = 0;
    while (pos < data.size()) {
        if (data.size() - pos < 4) return tl::unexpected(DecodeError::kAttributeTruncated);
        const std::uint16_t raw_type = get_u16(data.data() + pos);
        const std::uint16_t value = get_u16(data.data() + pos + 2);
        pos += 4;
        TransformAttribute attribute;
        attribute.type = static_cast<std::uint16_t>(raw_type & ~kAttributeFormatTv);
        attribute.tv = (raw_type & kAttributeFormatTv) != 0;
        if (attribute.tv) {
            attribute.tv_value = value;
        } else {
            if (data.size() - pos < value) {
                return tl::unexpected(DecodeError::kAttributeLengthOverrun);
            }
            attribute.tlv_value = copy(data.subspan(pos, value));
            pos += value;
        }
        attributes.push_back(std::move(attribute));
    }
    return attributes;
}

tl::expected<std::vector<Transform>, DecodeError> decode_transforms(ByteView data,
                                                                    std::size_t expected_count) {
    std::vector<Transform> transforms;
    transforms.reserve(expected_count);
    std::size_t pos = 0;
    while (pos < data.size()) {
        if (data.size() - pos < 8) return tl::unexpected(DecodeError::kTransformTruncated);
        const std::uint8_t* p = data.data() + pos;
        const std::uint8_t last = p[0];
        const std::uint16_t length = get_u16(p + 2);
        if (length < 8 || length > data.size() - pos) {
            return tl::unexpected(DecodeError::kTransformLengthInvalid);
        }
        const bool is_last = pos + length == data.size();
        if ((last != kLastTransform && last != kMoreTransforms) ||
            (last == kLastTransform) != is_last) {
            return tl::unexpected(DecodeError::kTransformLastSubstrucMismatch);
        }
        Transform transform;
        transform.type = static_cast<TransformType>(p[4]);
        transform.id = get_u16(p + 6);
        auto attributes = decode_attributes(data.subspan(pos + 8, length - 8u));
        if (!attributes) return tl::unexpected(attributes.error());
        transform.attributes = std::move(*attributes);
        transforms.push_back(std::move(transform));
        pos += length;
    }
    if (transforms.size() != expected_count) {
        return tl::unexpected(DecodeError::kTransformCountMismatch);
    }
    return transforms;
}

tl::expected<SaPayload, DecodeError> decode_sa(ByteView data) {
    SaPayload sa;
    std::size_t pos = 0;
    while (pos < data.size()) {
        if (data.size() - pos < 8) return tl::unexpected(DecodeError::kProposalTruncated);
        const std::uint8_t* p = data.data() + pos;
        const std::uint8_t last = p[0];
        const std::uint16_t length = get_u16(p + 2);
        if (length < 8 || length > data.size() - pos) {
            return tl::unexpected(DecodeError::kProposalLengthInvalid);
        }
        const bool is_last = pos + length == data.size();
        if ((last != kLastProposal && last != kMoreProposals) ||
            (last == kLastProposal) != is_last) {
            return tl::unexpected(DecodeError::kProposalLastSubstrucMismatch);
        }
        Proposal proposal;
        proposal.number = p[4];
        proposal.protocol = static_cast<ProtocolId>(p[5]);
        const std::size_t spi_size = p[6];
        const std::size_t transform_count = p[7];
        if (8 + spi_size > length) return tl::unexpected(DecodeError::kProposalSpiOverrun);
        proposal.spi = copy(data.subspan(pos + 8, spi_size));
        auto transforms = decode_transforms(data.subspan(pos + 8 + spi_size, length - 8 - spi_size),
                                            transform_count);
        if (!transforms) return tl::unexpected(transforms.error());
        proposal.transforms = std::move(*transforms);
        sa.proposals.push_back(std::move(proposal));
        pos += length;
    }
    if (sa.proposals.empty()) return tl::unexpected(DecodeError::kSaEmpty);
    return sa;
}

tl::expected<KePayload, DecodeError> decode_ke(ByteView data) {
    if (data.size() < 4) return tl::unexpected(DecodeError::kPayloadBodyTooShort);
    return KePayload{get_u16(data.data()), copy(data.subspan(4))};
}

tl::expected<NoncePayload, DecodeError> decode_nonce(ByteView data) {
    if (data.size() < kMinNonce || data.size() > kMaxNonce) {
        return tl::unexpected(DecodeError::kNonceLengthInvalid);
    }
    return NoncePayload{copy(data)};
}

tl::expected<NotifyPayload, DecodeError> decode_notify(ByteView data) {
    if (data.size() < 4) return tl::unexpected(DecodeError::kPayloadBodyTooShort);
    const std::size_t spi_size = data[1];
    if (data.size() - 4 < spi_size) return tl::unexpected(DecodeError::kSpiOverrun);
    return NotifyPayload{static_cast<ProtocolId>(data[0]), copy(data.subspan(4, spi_size)),
                         get_u16(data.data() + 2), copy(data.subspan(4 + spi_size))};
}

tl::expected<DeletePayload, DecodeError> decode_delete(ByteView data) {
    if (data.size() < 4) return tl::unexpected(DecodeError::kPayloadBodyTooShort);
    DeletePayload del;
    del.protocol = static_cast<ProtocolId>(data[0]);
    del.spi_size = data[1];
    const std::size_t count = get_u16(data.data() + 2);
    if (count * del.spi_size != data.size() - 4) {
        return tl::unexpected(DecodeError::kDeleteSpiCountMismatch);
    }
    // With spi_size 0 the count is not bounded by the data: nothing to store then.
    if (del.spi_size != 0) {
        del.spis.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            del.spis.push_back(copy(data.subspan(4 + i * del.spi_size, del.spi_size)));
        }
    }
    return del;
}

tl::expected<Identification, DecodeError> decode_id(ByteView data) {
    if (data.size() < 4) return tl::unexpected(DecodeError::kPayloadBodyTooShort);
    Identification id{static_cast<IdType>(data[0]), copy(data.subspan(4))};
    if ((id.type == IdType::kIpv4Addr && id.data.size() != 4) ||
        (id.type == IdType::kIpv6Addr && id.data.size() != 16)) {
        return tl::unexpected(DecodeError::kIdLengthInvalid);
    }
    return id;
}

template <class T>
tl::expected<T, DecodeError> decode_typed_blob(ByteView data, std::size_t fixed) {
    if (data.size() < fixed) return tl::unexpected(DecodeError::kPayloadBodyTooShort);
    return T{data[0], copy(data.subspan(fixed))};
}

tl::expected<std::vector<TrafficSelector>, DecodeError> decode_ts(ByteView data) {
    if (data.size() < 4) return tl::unexpected(DecodeError::kPayloadBodyTooShort);
    const std::size_t count = data[0];
    std::vector<TrafficSelector> selectors;
    selectors.reserve(count);
    std::size_t pos = 4;
    while (pos < data.size()) {
        if (data.size() - pos < 4) return tl::unexpected(DecodeError::kTsTruncated);
        const std::uint8_t* p = data.data() + pos;
        TrafficSelector ts;
        if (p[0] != static_cast<std::uint8_t>(TsType::kIpv4AddrRange) &&
            p[0] != static_cast<std::uint8_t>(TsType::kIpv6AddrRange)) {
            return tl::unexpected(DecodeError::kTsTypeUnsupported);
        }
        ts.type = static_cast<TsType>(p[0]);
        const std::size_t length = get_u16(p + 2);
        if (length != ts.wire_length()) return tl::unexpected(DecodeError::kTsLengthInvalid);
        if (data.size() - pos < length) return tl::unexpected(DecodeError::kTsTruncated);
        ts.ip_protocol = p[1];
        ts.start_port = get_u16(p + 4);
        ts.end_port = get_u16(p + 6);
        const std::size_t alen = ts.address_length();
        std::copy_n(p + 8, alen, ts.start_address.begin());
        std::copy_n(p + 8 + alen, alen, ts.end_address.begin());
        selectors.push_back(ts);
        pos += length;
    }
    if (selectors.size() != count) return tl::unexpected(DecodeError::kTsCountMismatch);
    return selectors;
}

tl::expected<EncryptedFragmentPayload, DecodeError> decode_skf(std::uint8_t next, ByteView data) {
    if (data.size() < 4) return tl::unexpected(DecodeError::kPayloadBodyTooShort);
    EncryptedFragmentPayload skf;
    skf.first_inner = static_cast<PayloadType>(next);
    skf.number = get_u16(data.data());
    skf.total = get_u16(data.data() + 2);
    if (skf.number == 0 || skf.number > skf.total) {
        return tl::unexpected(DecodeError::kFragmentNumberInvalid);
    }
    skf.body = copy(data.subspan(4));
    return skf;
}

template <class T>
tl::expected<Payload, DecodeError> wrap(tl::expected<T, DecodeError>&& result) {
    if (!result) return tl::unexpected(result.error());
    return Payload{std::in_place_type<T>, std::move(*result)};
}

template <class T>
tl::expected<Payload, DecodeError> wrap_id(tl::expected<Identification, DecodeError>&& result) {
    if (!result) return tl::unexpected(result.error());
    return Payload{std::in_place_type<T>, T{std::move(*result)}};
}

template <class T>
tl::expected<Payload, DecodeError> wrap_ts(
    tl::expected<std::vector<TrafficSelector>, DecodeError>&& result) {
    if (!result) return tl::unexpected(result.error());
    return Payload{std::in_place_type<T>, T{std::move(*result)}};
}

// std::nullopt-like sentinel: an unknown type yields this error, the caller decides.
tl::expected<Payload, DecodeError> decode_known(PayloadType type, std::uint8_t next, ByteView body,
                                                bool& known) {
    known = true;
    switch (type) {
        case PayloadType::kSa:
            return wrap(decode_sa(body));
        case PayloadType::kKe:
            return wrap(decode_ke(body));
        case PayloadType::kNonce:
            return wrap(decode_nonce(body));
        case PayloadType::kNotify:
            return wrap(decode_notify(body));
        case PayloadType::kDelete:
            return wrap(decode_delete(body));
        case PayloadType::kVendorId:
            return Payload{VendorIdPayload{copy(body)}};
        case PayloadType::kIdi:
            return wrap_id<IdiPayload>(decode_id(body));
        case PayloadType::kIdr:
            return wrap_id<IdrPayload>(decode_id(body));
        case PayloadType::kCert:
            return wrap(decode_typed_blob<CertPayload>(body, 1));
        case PayloadType::kCertReq:
            return wrap(decode_typed_blob<CertReqPayload>(body, 1));
        case PayloadType::kAuth:
            return wrap(decode_typed_blob<AuthPayload>(body, 4));
        case PayloadType::kTsi:
            return wrap_ts<TsiPayload>(decode_ts(body));
        case PayloadType::kTsr:
            return wrap_ts<TsrPayload>(decode_ts(body));
        case PayloadType::kEncrypted:
            return Payload{EncryptedPayload{static_cast<PayloadType>(next), copy(body)}};
        case PayloadType::kEncryptedFragment:
            return wrap(decode_skf(next, body));
        case PayloadType::kNone:
        case PayloadType::kConfiguration:
        case PayloadType::kEap:
            break;
    }
    known = false;
    return tl::unexpected(DecodeError::kUnsupportedCriticalPayload);
}

bool is_encrypted(std::uint8_t type) {
    return type == static_cast<std::uint8_t>(PayloadType::kEncrypted) ||
           type == static_cast<std::uint8_t>(PayloadType::kEncryptedFragment);
}

// ---- encoding ----

constexpr std::size_t kMaxU16 = std::numeric_limits<std::uint16_t>::max();

// Appends a 2-octet length placeholder position helper: returns the offset of the length field.
struct LengthPatch {
    std::size_t start;      // first octet of the structure
    std::size_t field_pos;  // offset of its 2-octet length field
    [[nodiscard]] bool finish(Bytes& out) const {
        const std::size_t length = out.size() - start;
        if (length > kMaxU16) return false;
        wire::set_u16(out, field_pos, static_cast<std::uint16_t>(length));
        return true;
    }
};

tl::expected<void, EncodeError> encode_sa(const SaPayload& sa, Bytes& out) {
    for (std::size_t i = 0; i < sa.proposals.size(); ++i) {
        const Proposal& proposal = sa.proposals[i];
        if (proposal.spi.size() > 255 || proposal.transforms.size() > 255) {
            return tl::unexpected(EncodeError::kFieldTooLarge);
        }
        const LengthPatch patch{out.size(), out.size() + 2};
        put_u8(out, i + 1 == sa.proposals.size() ? kLastProposal : kMoreProposals);
        put_u8(out, 0);
        put_u16(out, 0);
        put_u8(out, proposal.number);
        put_u8(out, static_cast<std::uint8_t>(proposal.protocol));
        put_u8(out, static_cast<std::uint8_t>(proposal.spi.size()));
        put_u8(out, static_cast<std::uint8_t>(proposal.transforms.size()));
        put_bytes(out, proposal.spi);
        for (std::size_t t = 0; t < proposal.transforms.size(); ++t) {
            const Transform& transform = proposal.transforms[t];
            const LengthPatch tpatch{out.size(), out.size() + 2};
            put_u8(out, t + 1 == proposal.transforms.size() ? kLastTransform : kMoreTransforms);
            put_u8(out, 0);
            put_u16(out, 0);
            put_u8(out, static_cast<std::uint8_t>(transform.type));
            put_u8(out, 0);
            put_u16(out, transform.id);
            for (const auto& attribute : transform.attributes) {
                const auto type = static_cast<std::uint16_t>(attribute.type & ~kAttributeFormatTv);
                if (attribute.tv) {
                    put_u16(out, static_cast<std::uint16_t>(type | kAttributeFormatTv));
                    put_u16(out, attribute.tv_value);
                } else {
                    if (attribute.tlv_value.size() > kMaxU16) {
                        return tl::unexpected(EncodeError::kPayloadTooLarge);
                    }
                    put_u16(out, type);
                    put_u16(out, static_cast<std::uint16_t>(attribute.tlv_value.size()));
                    put_bytes(out, attribute.tlv_value);
                }
            }
            if (!tpatch.finish(out)) return tl::unexpected(EncodeError::kPayloadTooLarge);
        }
        if (!patch.finish(out)) return tl::unexpected(EncodeError::kPayloadTooLarge);
    }
    return {};
}

void put_id(const Identification& id, Bytes& out) {
    put_u8(out, static_cast<std::uint8_t>(id.type));
    put_u8(out, 0);
    put_u16(out, 0);
    put_bytes(out, id.data);
}

tl::expected<void, EncodeError> put_ts(const std::vector<TrafficSelector>& selectors, Bytes& out) {
    if (selectors.size() > 255) return tl::unexpected(EncodeError::kFieldTooLarge);
    put_u8(out, static_cast<std::uint8_t>(selectors.size()));
    put_u8(out, 0);
    put_u16(out, 0);
    for (const auto& ts : selectors) {
        put_u8(out, static_cast<std::uint8_t>(ts.type));
        put_u8(out, ts.ip_protocol);
        put_u16(out, static_cast<std::uint16_t>(ts.wire_length()));
        put_u16(out, ts.start_port);
        put_u16(out, ts.end_port);
        const std::size_t alen = ts.address_length();
        out.insert(out.end(), ts.start_address.begin(), ts.start_address.begin() + alen);
        out.insert(out.end(), ts.end_address.begin(), ts.end_address.begin() + alen);
    }
    return {};
}

tl::expected<void, EncodeError> encode_body(const Payload& payload, Bytes& out) {
    return std::visit(
        [&out](const auto& p) -> tl::expected<void, EncodeError> {
            using T = std::decay_t<decltype(p)>;
            if constexpr (std::is_same_v<T, SaPayload>) {
                return encode_sa(p, out);
            } else if constexpr (std::is_same_v<T, KePayload>) {
                put_u16(out, p.group);
                put_u16(out, 0);
                put_bytes(out, p.data);
            } else if constexpr (std::is_same_v<T, NoncePayload> ||
                                 std::is_same_v<T, VendorIdPayload>) {
                put_bytes(out, p.data);
            } else if constexpr (std::is_same_v<T, NotifyPayload>) {
                if (p.spi.size() > 255) return tl::unexpected(EncodeError::kFieldTooLarge);
                put_u8(out, static_cast<std::uint8_t>(p.protocol));
                put_u8(out, static_cast<std::uint8_t>(p.spi.size()));
                put_u16(out, p.type);
                put_bytes(out, p.spi);
                put_bytes(out, p.data);
            } else if constexpr (std::is_same_v<T, DeletePayload>) {
                if (p.spis.size() > kMaxU16) return tl::unexpected(EncodeError::kFieldTooLarge);
                put_u8(out, static_cast<std::uint8_t>(p.protocol));
                put_u8(out, p.spi_size);
                put_u16(out, static_cast<std::uint16_t>(p.spis.size()));
                for (const auto& spi : p.spis) {
                    if (spi.size() != p.spi_size) {
                        return tl::unexpected(EncodeError::kFieldTooLarge);
                    }
                    put_bytes(out, spi);
                }
            } else if constexpr (std::is_same_v<T, IdiPayload> || std::is_same_v<T, IdrPayload>) {
                put_id(p.id, out);
            } else if constexpr (std::is_same_v<T, CertPayload> ||
                                 std::is_same_v<T, CertReqPayload>) {
                put_u8(out, p.encoding);
                put_bytes(out, p.data);
            } else if constexpr (std::is_same_v<T, AuthPayload>) {
                put_u8(out, p.method);
                put_u8(out, 0);
                put_u16(out, 0);
                put_bytes(out, p.data);
            } else if constexpr (std::is_same_v<T, TsiPayload> || std::is_same_v<T, TsrPayload>) {
                return put_ts(p.selectors, out);
            } else if constexpr (std::is_same_v<T, EncryptedPayload>) {
                put_bytes(out, p.body);
            } else if constexpr (std::is_same_v<T, EncryptedFragmentPayload>) {
                put_u16(out, p.number);
                put_u16(out, p.total);
                put_bytes(out, p.body);
            }
            return {};
        },
        payload);
}

PayloadType next_field_of_encrypted(const Payload& payload) {
    if (const auto* sk = std::get_if<EncryptedPayload>(&payload)) return sk->first_inner;
    if (const auto* skf = std::get_if<EncryptedFragmentPayload>(&payload)) {
        return skf->first_inner;
    }
    return PayloadType::kNone;
}

}  // namespace

namespace wire {

tl::expected<void, DecodeFailure> decode_chain(std::uint8_t first, ByteView data,
                                               std::size_t base_offset, bool allow_encrypted,
                                               std::vector<Payload>& out,
                                               DecodeCounters* counters) {
    std::uint8_t type = first;
    std::size_t pos = 0;
    while (type != 0) {
        const std::size_t offset = base_offset + pos;
        if (data.size() - pos < kGenericPayloadHeaderSize) {
            return tl::unexpected(
                fail(counters, DecodeError::kTruncatedPayloadHeader, type, offset));
        }
        const std::uint8_t* p = data.data() + pos;
        const std::uint8_t next = p[0];
        const bool critical = (p[1] & kCriticalBit) != 0;
        const std::size_t length = get_u16(p + 2);
        if (length < kGenericPayloadHeaderSize) {
            return tl::unexpected(
                fail(counters, DecodeError::kPayloadLengthTooShort, type, offset));
        }
        if (length > data.size() - pos) {
            return tl::unexpected(fail(counters, DecodeError::kPayloadLengthOverrun, type, offset));
        }
        const ByteView body =
            data.subspan(pos + kGenericPayloadHeaderSize, length - kGenericPayloadHeaderSize);
        if (is_encrypted(type)) {
            if (!allow_encrypted) {
                return tl::unexpected(fail(counters, DecodeError::kNestedEncrypted, type, offset));
            }
            if (pos + length != data.size()) {
                return tl::unexpected(fail(counters, DecodeError::kEncryptedNotLast, type, offset));
            }
        }
        bool known = false;
        auto payload = decode_known(static_cast<PayloadType>(type), next, body, known);
        if (payload) {
            out.push_back(std::move(*payload));
        } else if (known || critical) {
            return tl::unexpected(fail(counters, payload.error(), type, offset));
        } else if (counters != nullptr) {
            ++counters->unknown_payloads_skipped;
        }
        pos += length;
        if (is_encrypted(type)) return {};  // its Next Payload names the first inner payload
        type = next;
    }
    if (pos != data.size()) {
        return tl::unexpected(fail(counters, DecodeError::kTrailingData, 0, base_offset + pos));
    }
    return {};
}

tl::expected<PayloadType, EncodeError> encode_chain(std::span<const Payload> payloads,
                                                    bool allow_encrypted, Bytes& out) {
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        const Payload& payload = payloads[i];
        const PayloadType type = payload_type(payload);
        const bool encrypted =
            type == PayloadType::kEncrypted || type == PayloadType::kEncryptedFragment;
        if (encrypted && !allow_encrypted) return tl::unexpected(EncodeError::kNestedEncrypted);
        if (encrypted && i + 1 != payloads.size()) {
            return tl::unexpected(EncodeError::kEncryptedNotLast);
        }
        const PayloadType next = encrypted                  ? next_field_of_encrypted(payload)
                                 : i + 1 == payloads.size() ? PayloadType::kNone
                                                            : payload_type(payloads[i + 1]);
        const LengthPatch patch{out.size(), out.size() + 2};
        put_u8(out, static_cast<std::uint8_t>(next));
        put_u8(out, 0);  // critical bit clear: every type we send is defined in RFC 7296/7383
        put_u16(out, 0);
        if (auto body = encode_body(payload, out); !body) return tl::unexpected(body.error());
        if (!patch.finish(out)) return tl::unexpected(EncodeError::kPayloadTooLarge);
    }
    return payloads.empty() ? PayloadType::kNone : payload_type(payloads.front());
}

}  // namespace wire

const NotifyPayload* find_notify(std::span<const Payload> payloads, std::uint16_t type) {
    for (const auto& payload : payloads) {
        const auto* notify = std::get_if<NotifyPayload>(&payload);
        if (notify != nullptr && notify->type == type) return notify;
    }
    return nullptr;
}

tl::expected<Bytes, EncodeError> encode(const Message& message) {
    Bytes out;
    out.reserve(512);
    append_header(out, message.header, PayloadType::kNone, 0);
    auto first = wire::encode_chain(message.payloads, true, out);
    if (!first) return tl::unexpected(first.error());
    if (out.size() > std::numeric_limits<std::uint32_t>::max()) {
        return tl::unexpected(EncodeError::kPayloadTooLarge);
    }
    out[16] = static_cast<std::uint8_t>(*first);
    const auto length = static_cast<std::uint32_t>(out.size());
    wire::set_u16(out, 24, static_cast<std::uint16_t>(length >> 16));
    wire::set_u16(out, 26, static_cast<std::uint16_t>(length));
    return out;
}

tl::expected<Message, DecodeFailure> decode(ByteView datagram, DecodeCounters* counters) {
    auto header = peek_header(datagram);
    if (!header) {
        if (counters != nullptr) counters->count(header.error().error);
        return tl::unexpected(header.error());
    }
    if (header->major_version != 2) {
        return tl::unexpected(wire::fail(counters, DecodeError::kUnsupportedMajorVersion, 0, 17));
    }
    if (header->length != datagram.size()) {
        return tl::unexpected(wire::fail(counters, DecodeError::kLengthMismatch, 0, 24));
    }
    Message message{*header, {}};
    message.payloads.reserve(8);
    auto chain = wire::decode_chain(static_cast<std::uint8_t>(header->next_payload),
                                    datagram.subspan(kHeaderSize), kHeaderSize, true,
                                    message.payloads, counters);
    if (!chain) return tl::unexpected(chain.error());
    return message;
}

}  // namespace mpsa::ike
