#include "mpsa/mpsa/mpsa_put.hpp"

#include <openssl/crypto.h>

#include <array>
#include <optional>

namespace mpsa::mpsa {
namespace {

using ike::ByteView;

constexpr std::size_t kGenericHeaderSize = 4;
constexpr std::size_t kNotifyFixedSize = 4 + kEspSpiSize;  // protocol, SPI size, type, SPI
constexpr std::size_t kProposalHeaderSize = 8 + kEspSpiSize;
constexpr std::size_t kTransformHeaderSize = 8;
constexpr std::size_t kAttributeHeaderSize = 4;
constexpr std::uint16_t kAttrFormatTv = 0x8000;
constexpr std::uint8_t kMoreTransforms = 3;
constexpr std::uint8_t kLastSubstructure = 0;

std::uint16_t be16(ByteView b, std::size_t at) {
    return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}
std::uint32_t be32(ByteView b, std::size_t at) {
    return (static_cast<std::uint32_t>(b[at]) << 24) |
           (static_cast<std::uint32_t>(b[at + 1]) << 16) |
           (static_cast<std::uint32_t>(b[at + 2]) << 8) | static_cast<std::uint32_t>(b[at + 3]);
}

// Appends into a buffer reserved up front, so no reallocation leaves an unwiped copy of SK_d.
class Writer {
  public:
    explicit Writer(std::size_t capacity) { out_.reserve(capacity); }
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    ~Writer() {
        if (!out_.empty()) OPENSSL_cleanse(out_.data(), out_.size());
    }
    void u8(std::uint8_t v) { out_.push_back(v); }
    void u16(std::uint16_t v) {
        out_.push_back(static_cast<std::uint8_t>(v >> 8));
        out_.push_back(static_cast<std::uint8_t>(v));
    }
    void u32(std::uint32_t v) {
        u16(static_cast<std::uint16_t>(v >> 16));
        u16(static_cast<std::uint16_t>(v));
    }
    void bytes(ByteView v) { out_.insert(out_.end(), v.begin(), v.end()); }
    [[nodiscard]] std::size_t size() const { return out_.size(); }
    void patch_u16(std::size_t at, std::uint16_t v) {
        out_[at] = static_cast<std::uint8_t>(v >> 8);
        out_[at + 1] = static_cast<std::uint8_t>(v);
    }
    [[nodiscard]] ike::SecretBytes finish() const { return ike::SecretBytes(ByteView(out_)); }

  private:
    ike::Bytes out_;
};

constexpr std::size_t tlv_transform_size(std::size_t value_size) {
    return kTransformHeaderSize + kAttributeHeaderSize + value_size;
}

std::size_t data_size(const MpsaPut& put) {
    std::size_t size = kProposalHeaderSize;
    size += kTransformHeaderSize + kAttributeHeaderSize;         // ENCR + key length
    size += kTransformHeaderSize;                                // PRF
    if (!is_aead(put.suite.encr)) size += kTransformHeaderSize;  // INTEG
    size += tlv_transform_size(put.nonce.size()) + tlv_transform_size(put.sk_d.size());
    size += 3 * tlv_transform_size(4);
    return size;
}

void write_tlv_transform(Writer& w, bool last, std::uint8_t type, std::uint16_t attr,
                         ByteView value) {
    w.u8(last ? kLastSubstructure : kMoreTransforms);
    w.u8(0);
    w.u16(static_cast<std::uint16_t>(tlv_transform_size(value.size())));
    w.u8(type);
    w.u8(0);
    w.u16(1);
    w.u16(attr);
    w.u16(static_cast<std::uint16_t>(value.size()));
    w.bytes(value);
}

void write_time_transform(Writer& w, bool last, std::uint8_t type, std::uint16_t attr,
                          std::uint32_t seconds) {
    const std::array<std::uint8_t, 4> value{
        static_cast<std::uint8_t>(seconds >> 24), static_cast<std::uint8_t>(seconds >> 16),
        static_cast<std::uint8_t>(seconds >> 8), static_cast<std::uint8_t>(seconds)};
    write_tlv_transform(w, last, type, attr, value);
}

void write_data(Writer& w, const MpsaPut& put) {
    const bool with_integ = !is_aead(put.suite.encr);
    const std::size_t start = w.size();
    w.u8(kLastSubstructure);  // the only proposal
    w.u8(0);
    w.u16(0);  // length patched below
    w.u8(1);   // proposal number
    w.u8(kProtocolEsp);
    w.u8(kEspSpiSize);
    w.u8(with_integ ? 8 : 7);
    w.u32(put.spi);

    w.u8(kMoreTransforms);
    w.u8(0);
    w.u16(kTransformHeaderSize + kAttributeHeaderSize);
    w.u8(kTransformEncr);
    w.u8(0);
    w.u16(static_cast<std::uint16_t>(put.suite.encr));
    w.u16(kAttrFormatTv | kAttrKeyLength);
    w.u16(put.suite.encr_key_bits);

    w.u8(kMoreTransforms);
    w.u8(0);
    w.u16(kTransformHeaderSize);
    w.u8(kTransformPrf);
    w.u8(0);
    w.u16(static_cast<std::uint16_t>(put.suite.prf));

    if (with_integ) {
        w.u8(kMoreTransforms);
        w.u8(0);
        w.u16(kTransformHeaderSize);
        w.u8(kTransformInteg);
        w.u8(0);
        w.u16(static_cast<std::uint16_t>(put.suite.integ));
    }
    write_tlv_transform(w, false, kTransformNonce, kAttrNonce, put.nonce);
    write_tlv_transform(w, false, kTransformSkd, kAttrSkd, put.sk_d.view());
    write_time_transform(w, false, kTransformLife, kAttrLifetime, put.lifetime_s);
    write_time_transform(w, false, kTransformRoll1, kAttrRoll1, put.roll1_s);
    write_time_transform(w, true, kTransformRoll2, kAttrRoll2, put.roll2_s);
    w.patch_u16(start + 2, static_cast<std::uint16_t>(w.size() - start));
}

void write_body_header(Writer& w, const MpsaPut& put) {
    w.u8(kProtocolEsp);
    w.u8(kEspSpiSize);
    w.u16(kMpsaPutNotifyType);
    w.u32(put.spi);
}

struct Attribute {
    std::uint16_t type = 0;
    bool tv = false;
    ByteView value;  // 2 octets for TV
};

// Parses the attributes of one transform; at most a few, so a small fixed array.
struct AttributeList {
    std::array<Attribute, 4> items{};
    std::size_t count = 0;
};

tl::expected<AttributeList, PutError> parse_attributes(ByteView attrs) {
    AttributeList list;
    std::size_t pos = 0;
    while (pos < attrs.size()) {
        if (attrs.size() - pos < kAttributeHeaderSize)
            return tl::unexpected(PutError::kAttributeTooShort);
        const std::uint16_t raw = be16(attrs, pos);
        Attribute a;
        a.type = static_cast<std::uint16_t>(raw & ~kAttrFormatTv);
        a.tv = (raw & kAttrFormatTv) != 0;
        if (a.tv) {
            a.value = attrs.subspan(pos + 2, 2);
            pos += kAttributeHeaderSize;
        } else {
            const std::size_t length = be16(attrs, pos + 2);
            if (length > attrs.size() - pos - kAttributeHeaderSize)
                return tl::unexpected(PutError::kBadAttributeLength);
            a.value = attrs.subspan(pos + kAttributeHeaderSize, length);
            pos += kAttributeHeaderSize + length;
        }
        for (std::size_t i = 0; i < list.count; ++i)
            if (list.items[i].type == a.type) return tl::unexpected(PutError::kDuplicateAttribute);
        // Every transform we know takes one attribute; a second distinct one is unknown to us.
        if (list.count == list.items.size()) return tl::unexpected(PutError::kUnknownAttribute);
        list.items[list.count++] = a;
    }
    return list;
}

// The single TLV attribute of a private transform (241-245), of one of the accepted types.
tl::expected<ByteView, PutError> single_tlv(const AttributeList& list, std::uint16_t type,
                                            std::uint16_t alternative_type) {
    if (list.count == 0) return tl::unexpected(PutError::kMissingAttribute);
    for (std::size_t i = 0; i < list.count; ++i) {
        const Attribute& a = list.items[i];
        if (a.type != type && a.type != alternative_type)
            return tl::unexpected(PutError::kUnknownAttribute);
    }
    if (list.count > 1) return tl::unexpected(PutError::kDuplicateAttribute);  // 16386 and 1638x
    if (list.items[0].tv) return tl::unexpected(PutError::kBadAttributeFormat);
    return list.items[0].value;
}

tl::expected<std::uint32_t, PutError> time_value(const AttributeList& list, std::uint16_t type,
                                                 std::uint16_t alternative_type) {
    auto value = single_tlv(list, type, alternative_type);
    if (!value) return tl::unexpected(value.error());
    if (value->size() != 4) return tl::unexpected(PutError::kBadTimeValueSize);
    return be32(*value, 0);
}

struct Collected {
    std::optional<EncrId> encr;
    std::uint16_t key_bits = 0;
    std::optional<PrfId> prf;
    std::optional<IntegId> integ;
    std::optional<ByteView> nonce;
    std::optional<ByteView> skd;
    std::optional<std::uint32_t> life;
    std::optional<std::uint32_t> roll1;
    std::optional<std::uint32_t> roll2;
    std::array<bool, 256> seen{};
};

tl::expected<void, PutError> parse_transform(Collected& c, std::uint8_t type, std::uint16_t id,
                                             ByteView attrs) {
    switch (type) {
        case kTransformEncr:
        case kTransformPrf:
        case kTransformInteg:
        case kTransformNonce:
        case kTransformSkd:
        case kTransformLife:
        case kTransformRoll1:
        case kTransformRoll2:
            break;
        default:
            return tl::unexpected(PutError::kUnknownTransformType);
    }
    if (c.seen[type]) return tl::unexpected(PutError::kDuplicateTransform);
    c.seen[type] = true;
    auto list = parse_attributes(attrs);
    if (!list) return tl::unexpected(list.error());

    if (type == kTransformEncr) {
        c.encr = encr_from_transform_id(id);
        if (!c.encr) return tl::unexpected(PutError::kUnknownEncr);
        if (list->count == 0) return tl::unexpected(PutError::kMissingKeyLength);
        for (std::size_t i = 0; i < list->count; ++i)
            if (list->items[i].type != kAttrKeyLength)
                return tl::unexpected(PutError::kUnknownAttribute);
        if (!list->items[0].tv) return tl::unexpected(PutError::kBadAttributeFormat);
        c.key_bits = be16(list->items[0].value, 0);
        if (!valid_encr_key_bits(*c.encr, c.key_bits))
            return tl::unexpected(PutError::kBadKeyLength);
        return {};
    }
    if (type == kTransformPrf || type == kTransformInteg) {
        if (type == kTransformPrf) {
            c.prf = ike::prf_from_transform_id(id);
            if (!c.prf) return tl::unexpected(PutError::kUnknownPrf);
        } else {
            c.integ = integ_from_transform_id(id);
            if (!c.integ) return tl::unexpected(PutError::kUnknownInteg);
        }
        if (list->count != 0) return tl::unexpected(PutError::kUnknownAttribute);
        return {};
    }
    if (id != 1) return tl::unexpected(PutError::kBadTransformId);
    switch (type) {
        case kTransformNonce: {
            auto v = single_tlv(*list, kAttrNonce, kAttrNonce);
            if (!v) return tl::unexpected(v.error());
            if (v->size() < kMinNonceSize || v->size() > kMaxNonceSize)
                return tl::unexpected(PutError::kBadNonceSize);
            c.nonce = *v;
            return {};
        }
        case kTransformSkd: {
            auto v = single_tlv(*list, kAttrSkd, kAttrSkd);
            if (!v) return tl::unexpected(v.error());
            c.skd = *v;  // size checked once the PRF is known
            return {};
        }
        case kTransformLife: {
            auto v = time_value(*list, kAttrLifetime, kAttrLifetime);
            if (!v) return tl::unexpected(v.error());
            c.life = *v;
            return {};
        }
        case kTransformRoll1: {
            auto v = time_value(*list, kAttrRoll1, kAttrLifetime);  // figures show 16386
            if (!v) return tl::unexpected(v.error());
            c.roll1 = *v;
            return {};
        }
        default: {
            auto v = time_value(*list, kAttrRoll2, kAttrLifetime);
            if (!v) return tl::unexpected(v.error());
            c.roll2 = *v;
            return {};
        }
    }
}

// Rules shared by the decoder and validate(); `integ_present` says whether INTEG was given.
tl::expected<void, PutError> check_contents(const EspSuite& suite, bool integ_present,
                                            std::size_t nonce_size, std::size_t skd_size,
                                            std::uint32_t life, std::uint32_t roll1,
                                            std::uint32_t roll2, const DecodeOptions& options) {
    if (is_aead(suite.encr)) {
        if (integ_present && suite.integ != IntegId::kNone)
            return tl::unexpected(PutError::kIntegWithAead);
        if (!options.suite_policy.allow_aead) return tl::unexpected(PutError::kAeadNotAllowed);
    } else if (!integ_present || suite.integ == IntegId::kNone) {
        return tl::unexpected(PutError::kMissingInteg);
    }
    if (!valid_encr_key_bits(suite.encr, suite.encr_key_bits))
        return tl::unexpected(PutError::kBadKeyLength);
    if (nonce_size < kMinNonceSize || nonce_size > kMaxNonceSize)
        return tl::unexpected(PutError::kBadNonceSize);
    if (skd_size != ike::prf_key_length(suite.prf)) return tl::unexpected(PutError::kBadSkdSize);
    if (life == 0 || roll1 > roll2 || roll1 >= life) return tl::unexpected(PutError::kBadTiming);
    return {};
}

}  // namespace

tl::expected<void, PutError> validate(const MpsaPut& put, const DecodeOptions& options) {
    if (put.spi < 256) return tl::unexpected(PutError::kReservedSpi);
    if (!encr_from_transform_id(static_cast<std::uint16_t>(put.suite.encr)))
        return tl::unexpected(PutError::kUnknownEncr);
    if (!ike::prf_from_transform_id(static_cast<std::uint16_t>(put.suite.prf)))
        return tl::unexpected(PutError::kUnknownPrf);
    if (!integ_from_transform_id(static_cast<std::uint16_t>(put.suite.integ)))
        return tl::unexpected(PutError::kUnknownInteg);
    return check_contents(put.suite, !is_aead(put.suite.encr) || put.suite.integ != IntegId::kNone,
                          put.nonce.size(), put.sk_d.size(), put.lifetime_s, put.roll1_s,
                          put.roll2_s, options);
}

tl::expected<ike::SecretBytes, PutError> encode_mpsa_put_data(const MpsaPut& put) {
    // The encoder refuses what our own decoder would refuse, except the AEAD opt-in, which is
    // the gateway configuration's decision (checked there).
    if (auto ok = validate(put, DecodeOptions{SuitePolicy{true}}); !ok)
        return tl::unexpected(ok.error());
    Writer w(data_size(put));
    write_data(w, put);
    return w.finish();
}

tl::expected<ike::SecretBytes, PutError> encode_mpsa_put_body(const MpsaPut& put) {
    if (auto ok = validate(put, DecodeOptions{SuitePolicy{true}}); !ok)
        return tl::unexpected(ok.error());
    Writer w(kNotifyFixedSize + data_size(put));
    write_body_header(w, put);
    write_data(w, put);
    return w.finish();
}

tl::expected<ike::SecretBytes, PutError> encode_mpsa_put_payload(const MpsaPut& put,
                                                                 std::uint8_t next_payload,
                                                                 bool critical) {
    if (auto ok = validate(put, DecodeOptions{SuitePolicy{true}}); !ok)
        return tl::unexpected(ok.error());
    const std::size_t total = kGenericHeaderSize + kNotifyFixedSize + data_size(put);
    Writer w(total);
    w.u8(next_payload);
    w.u8(critical ? 0x80 : 0x00);
    w.u16(static_cast<std::uint16_t>(total));
    write_body_header(w, put);
    write_data(w, put);
    return w.finish();
}

tl::expected<MpsaPut, PutError> decode_mpsa_put_data(std::uint32_t notify_spi, ByteView data,
                                                     const DecodeOptions& options) {
    if (data.size() < kProposalHeaderSize) return tl::unexpected(PutError::kProposalTooShort);
    if (data[0] != kLastSubstructure) return tl::unexpected(PutError::kProposalNotLast);
    const std::size_t proposal_length = be16(data, 2);
    if (proposal_length < kProposalHeaderSize || proposal_length > data.size())
        return tl::unexpected(PutError::kBadProposalLength);
    if (data[4] != 1) return tl::unexpected(PutError::kBadProposalNumber);
    if (data[5] != kProtocolEsp) return tl::unexpected(PutError::kProposalWrongProtocolId);
    if (data[6] != kEspSpiSize) return tl::unexpected(PutError::kProposalWrongSpiSize);
    const std::size_t declared_transforms = data[7];
    if (be32(data, 8) != notify_spi) return tl::unexpected(PutError::kSpiMismatch);

    const ByteView transforms =
        data.subspan(kProposalHeaderSize, proposal_length - kProposalHeaderSize);
    Collected c;
    std::size_t count = 0;
    std::size_t pos = 0;
    while (pos < transforms.size()) {
        if (transforms.size() - pos < kTransformHeaderSize)
            return tl::unexpected(PutError::kTransformTooShort);
        const std::uint8_t more = transforms[pos];
        if (more != kLastSubstructure && more != kMoreTransforms)
            return tl::unexpected(PutError::kBadTransformChain);
        const std::size_t length = be16(transforms, pos + 2);
        if (length < kTransformHeaderSize || length > transforms.size() - pos)
            return tl::unexpected(PutError::kBadTransformLength);
        const std::uint8_t type = transforms[pos + 4];
        const std::uint16_t id = be16(transforms, pos + 6);
        auto parsed = parse_transform(
            c, type, id,
            transforms.subspan(pos + kTransformHeaderSize, length - kTransformHeaderSize));
        if (!parsed) return tl::unexpected(parsed.error());
        ++count;
        pos += length;
        if (more == kLastSubstructure) {
            if (pos != transforms.size()) return tl::unexpected(PutError::kBadProposalLength);
            break;
        }
        if (pos == transforms.size()) return tl::unexpected(PutError::kBadTransformChain);
    }
    if (count != declared_transforms) return tl::unexpected(PutError::kTransformCountMismatch);
    if (proposal_length != data.size()) return tl::unexpected(PutError::kTrailingData);
    if (!c.encr) return tl::unexpected(PutError::kMissingEncr);
    if (!c.prf) return tl::unexpected(PutError::kMissingPrf);
    if (!c.nonce) return tl::unexpected(PutError::kMissingNonce);
    if (!c.skd) return tl::unexpected(PutError::kMissingSkd);
    if (!c.life) return tl::unexpected(PutError::kMissingLifetime);
    if (!c.roll1) return tl::unexpected(PutError::kMissingRoll1);
    if (!c.roll2) return tl::unexpected(PutError::kMissingRoll2);
    if (notify_spi < 256) return tl::unexpected(PutError::kReservedSpi);

    MpsaPut put;
    put.spi = notify_spi;
    put.suite = EspSuite{*c.encr, c.key_bits, *c.prf, c.integ.value_or(IntegId::kNone)};
    if (auto ok = check_contents(put.suite, c.integ.has_value(), c.nonce->size(), c.skd->size(),
                                 *c.life, *c.roll1, *c.roll2, options);
        !ok)
        return tl::unexpected(ok.error());
    put.nonce.assign(c.nonce->begin(), c.nonce->end());
    put.sk_d = ike::SecretBytes(*c.skd);
    put.lifetime_s = *c.life;
    put.roll1_s = *c.roll1;
    put.roll2_s = *c.roll2;
    return put;
}

tl::expected<MpsaPut, PutError> decode_mpsa_put_body(ByteView body, const DecodeOptions& options) {
    if (body.size() < 4) return tl::unexpected(PutError::kPayloadTooShort);
    if (body[0] != kProtocolEsp) return tl::unexpected(PutError::kWrongProtocolId);
    if (body[1] != kEspSpiSize) return tl::unexpected(PutError::kWrongSpiSize);
    if (be16(body, 2) != kMpsaPutNotifyType) return tl::unexpected(PutError::kNotMpsaPut);
    if (body.size() < kNotifyFixedSize) return tl::unexpected(PutError::kPayloadTooShort);
    return decode_mpsa_put_data(be32(body, 4), body.subspan(kNotifyFixedSize), options);
}

tl::expected<MpsaPut, PutError> decode_mpsa_put_notify(std::uint8_t protocol_id, ByteView spi,
                                                       std::uint16_t notify_type, ByteView data,
                                                       const DecodeOptions& options) {
    if (protocol_id != kProtocolEsp) return tl::unexpected(PutError::kWrongProtocolId);
    if (spi.size() != kEspSpiSize) return tl::unexpected(PutError::kWrongSpiSize);
    if (notify_type != kMpsaPutNotifyType) return tl::unexpected(PutError::kNotMpsaPut);
    return decode_mpsa_put_data(be32(spi, 0), data, options);
}

tl::expected<DecodedMpsaPutPayload, PutError> decode_mpsa_put_payload(
    ByteView payload, const DecodeOptions& options) {
    if (payload.size() < kGenericHeaderSize) return tl::unexpected(PutError::kPayloadTooShort);
    const std::size_t length = be16(payload, 2);
    if (length < kGenericHeaderSize || length > payload.size())
        return tl::unexpected(PutError::kPayloadLengthMismatch);
    if (length < payload.size()) return tl::unexpected(PutError::kTrailingData);
    auto put = decode_mpsa_put_body(payload.subspan(kGenericHeaderSize), options);
    if (!put) return tl::unexpected(put.error());
    DecodedMpsaPutPayload decoded;
    decoded.next_payload = payload[0];
    decoded.critical = (payload[1] & 0x80) != 0;
    decoded.put = std::move(*put);
    return decoded;
}

std::string_view to_string(PutError error) {
    switch (error) {
        case PutError::kPayloadTooShort:
            return "payload too short";
        case PutError::kPayloadLengthMismatch:
            return "payload length mismatch";
        case PutError::kWrongProtocolId:
            return "notify protocol id is not ESP";
        case PutError::kWrongSpiSize:
            return "notify SPI size is not 4";
        case PutError::kNotMpsaPut:
            return "notify type is not MPSA_PUT";
        case PutError::kReservedSpi:
            return "reserved SPI";
        case PutError::kProposalTooShort:
            return "proposal too short";
        case PutError::kBadProposalLength:
            return "bad proposal length";
        case PutError::kProposalNotLast:
            return "more than one proposal";
        case PutError::kBadProposalNumber:
            return "proposal number is not 1";
        case PutError::kProposalWrongProtocolId:
            return "proposal protocol id is not ESP";
        case PutError::kProposalWrongSpiSize:
            return "proposal SPI size is not 4";
        case PutError::kSpiMismatch:
            return "SPI differs between notify and proposal";
        case PutError::kTransformTooShort:
            return "transform too short";
        case PutError::kBadTransformLength:
            return "bad transform length";
        case PutError::kBadTransformChain:
            return "bad last-transform marker";
        case PutError::kTransformCountMismatch:
            return "transform count mismatch";
        case PutError::kAttributeTooShort:
            return "attribute too short";
        case PutError::kBadAttributeLength:
            return "bad attribute length";
        case PutError::kBadAttributeFormat:
            return "bad attribute format (TV/TLV)";
        case PutError::kUnknownAttribute:
            return "unknown attribute";
        case PutError::kDuplicateAttribute:
            return "duplicate attribute";
        case PutError::kMissingAttribute:
            return "missing attribute";
        case PutError::kTrailingData:
            return "trailing data";
        case PutError::kUnknownTransformType:
            return "unknown transform type";
        case PutError::kUnknownEncr:
            return "unknown encryption algorithm";
        case PutError::kUnknownPrf:
            return "unknown PRF";
        case PutError::kUnknownInteg:
            return "unknown integrity algorithm";
        case PutError::kBadTransformId:
            return "bad transform id";
        case PutError::kMissingKeyLength:
            return "missing key length";
        case PutError::kBadKeyLength:
            return "bad key length";
        case PutError::kDuplicateTransform:
            return "duplicate transform";
        case PutError::kMissingEncr:
            return "missing ENCR";
        case PutError::kMissingPrf:
            return "missing PRF";
        case PutError::kMissingInteg:
            return "missing INTEG";
        case PutError::kMissingNonce:
            return "missing NONCE";
        case PutError::kMissingSkd:
            return "missing SKD";
        case PutError::kMissingLifetime:
            return "missing LIFE";
        case PutError::kMissingRoll1:
            return "missing ROLL1";
        case PutError::kMissingRoll2:
            return "missing ROLL2";
        case PutError::kIntegWithAead:
            return "INTEG given with an AEAD cipher";
        case PutError::kAeadNotAllowed:
            return "AEAD cipher not enabled";
        case PutError::kBadNonceSize:
            return "nonce size outside 16..256";
        case PutError::kBadSkdSize:
            return "SK_d size differs from the PRF key length";
        case PutError::kBadTimeValueSize:
            return "time value is not 4 octets";
        case PutError::kBadTiming:
            return "inconsistent lifetime/rollover times";
    }
    return "unknown MPSA_PUT error";
}

}  // namespace mpsa::mpsa
