#include "mpsa/ike/header.hpp"

#include "codec_wire.hpp"

namespace mpsa::ike {

namespace {
constexpr std::uint8_t kFlagInitiator = 0x08;
constexpr std::uint8_t kFlagVersion = 0x10;
constexpr std::uint8_t kFlagResponse = 0x20;
}  // namespace

std::string_view payload_type_name(PayloadType type) {
    switch (type) {
        case PayloadType::kNone:
            return "NONE";
        case PayloadType::kSa:
            return "SA";
        case PayloadType::kKe:
            return "KE";
        case PayloadType::kIdi:
            return "IDi";
        case PayloadType::kIdr:
            return "IDr";
        case PayloadType::kCert:
            return "CERT";
        case PayloadType::kCertReq:
            return "CERTREQ";
        case PayloadType::kAuth:
            return "AUTH";
        case PayloadType::kNonce:
            return "No";
        case PayloadType::kNotify:
            return "N";
        case PayloadType::kDelete:
            return "D";
        case PayloadType::kVendorId:
            return "V";
        case PayloadType::kTsi:
            return "TSi";
        case PayloadType::kTsr:
            return "TSr";
        case PayloadType::kEncrypted:
            return "SK";
        case PayloadType::kConfiguration:
            return "CP";
        case PayloadType::kEap:
            return "EAP";
        case PayloadType::kEncryptedFragment:
            return "SKF";
    }
    return "unknown";
}

std::string_view exchange_type_name(ExchangeType type) {
    switch (type) {
        case ExchangeType::kIkeSaInit:
            return "IKE_SA_INIT";
        case ExchangeType::kIkeAuth:
            return "IKE_AUTH";
        case ExchangeType::kCreateChildSa:
            return "CREATE_CHILD_SA";
        case ExchangeType::kInformational:
            return "INFORMATIONAL";
    }
    return "unknown";
}

tl::expected<Header, DecodeFailure> peek_header(ByteView datagram) {
    if (datagram.size() < kHeaderSize) {
        return tl::unexpected(DecodeFailure{DecodeError::kTruncatedHeader, 0, datagram.size()});
    }
    const std::uint8_t* p = datagram.data();
    Header header;
    header.initiator_spi = wire::get_u64(p);
    header.responder_spi = wire::get_u64(p + 8);
    header.next_payload = static_cast<PayloadType>(p[16]);
    header.major_version = static_cast<std::uint8_t>(p[17] >> 4);
    header.minor_version = static_cast<std::uint8_t>(p[17] & 0x0f);
    header.exchange_type = static_cast<ExchangeType>(p[18]);
    header.initiator = (p[19] & kFlagInitiator) != 0;
    header.version = (p[19] & kFlagVersion) != 0;
    header.response = (p[19] & kFlagResponse) != 0;
    header.message_id = wire::get_u32(p + 20);
    header.length = wire::get_u32(p + 24);
    return header;
}

void append_header(Bytes& out, const Header& header, PayloadType next_payload,
                   std::uint32_t length) {
    wire::put_u64(out, header.initiator_spi);
    wire::put_u64(out, header.responder_spi);
    wire::put_u8(out, static_cast<std::uint8_t>(next_payload));
    wire::put_u8(out, static_cast<std::uint8_t>((header.major_version << 4) |
                                                (header.minor_version & 0x0f)));
    wire::put_u8(out, static_cast<std::uint8_t>(header.exchange_type));
    std::uint8_t flags = 0;
    if (header.initiator) flags |= kFlagInitiator;
    if (header.version) flags |= kFlagVersion;
    if (header.response) flags |= kFlagResponse;
    wire::put_u8(out, flags);
    wire::put_u32(out, header.message_id);
    wire::put_u32(out, length);
}

}  // namespace mpsa::ike
