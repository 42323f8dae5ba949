// Sample payloads for the codec tests: one or more of every payload type with non-trivial
// field values.
#pragma once

#include <vector>

#include "mpsa/ike/message.hpp"
#include "mpsa/ike/notify_types.hpp"

namespace mpsa::ike::testing {

inline Bytes filled(std::size_t size, std::uint8_t first) {
    Bytes bytes(size);
    for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(first + i);
    return bytes;
}

inline SaPayload sample_sa() {
    Proposal ike{1, ProtocolId::kIke, {}, {}};
    ike.transforms = {make_transform(TransformType::kEncryption, 12, 256),
                      make_transform(TransformType::kPrf, 5),
                      make_transform(TransformType::kIntegrity, 12),
                      make_transform(TransformType::kKeyExchange, 31)};
    Proposal esp{2, ProtocolId::kEsp, {0xc1, 0x00, 0x00, 0x01}, {}};
    Transform gcm = make_transform(TransformType::kEncryption, 20, 128);
    gcm.attributes.push_back(TransformAttribute{0x0123, false, 0, {0xde, 0xad, 0xbe}});
    esp.transforms = {gcm, make_transform(TransformType::kEsn, 0)};
    return SaPayload{{ike, esp}};
}

inline TrafficSelector ipv4_ts(std::uint8_t a, std::uint8_t b) {
    TrafficSelector ts;
    ts.ip_protocol = 6;
    ts.start_port = 179;
    ts.end_port = 179;
    ts.start_address = {10, 0, a, 0};
    ts.end_address = {10, 0, b, 255};
    return ts;
}

inline TrafficSelector ipv6_ts() {
    TrafficSelector ts;
    ts.type = TsType::kIpv6AddrRange;
    ts.start_address = {0x20, 0x01, 0x0d, 0xb8};
    ts.end_address = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff,
                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    return ts;
}

// Every payload type except SK/SKF, in an order a real message might use.
inline std::vector<Payload> sample_payloads() {
    return {
        sample_sa(),
        KePayload{31, filled(32, 0x40)},
        NoncePayload{filled(32, 0x80)},
        NotifyPayload{ProtocolId::kNone,
                      {},
                      static_cast<std::uint16_t>(NotifyType::kNatDetectionSourceIp),
                      filled(20, 1)},
        NotifyPayload{
            ProtocolId::kEsp, {1, 2, 3, 4}, static_cast<std::uint16_t>(NotifyType::kRekeySa), {}},
        NotifyPayload{ProtocolId::kNone,
                      {},
                      static_cast<std::uint16_t>(NotifyType::kMpsaPut),
                      filled(40, 0x10)},
        DeletePayload{ProtocolId::kEsp, 4, {{0xc1, 0, 0, 1}, {0xc1, 0, 0, 2}}},
        DeletePayload{ProtocolId::kIke, 0, {}},
        VendorIdPayload{filled(16, 0xf0)},
        IdiPayload{Identification{IdType::kFqdn, {'c', 'p', 'e', '1'}}},
        IdrPayload{Identification{IdType::kIpv4Addr, {192, 0, 2, 1}}},
        IdiPayload{Identification{IdType::kIpv6Addr, filled(16, 0x20)}},
        IdrPayload{Identification{IdType::kRfc822Addr, {'a', '@', 'b'}}},
        IdiPayload{Identification{IdType::kDerAsn1Dn, filled(12, 0x30)}},
        IdiPayload{Identification{IdType::kKeyId, filled(5, 0x77)}},
        CertPayload{4, filled(100, 0x55)},
        CertReqPayload{4, filled(40, 0x66)},
        AuthPayload{2, filled(32, 0x99)},
        TsiPayload{{ipv4_ts(1, 2), ipv6_ts()}},
        TsrPayload{{ipv4_ts(3, 3)}},
    };
}

inline Header sample_header(ExchangeType exchange = ExchangeType::kIkeAuth) {
    Header header;
    header.initiator_spi = 0x0102030405060708ULL;
    header.responder_spi = 0x1112131415161718ULL;
    header.exchange_type = exchange;
    header.initiator = true;
    header.message_id = 1;
    return header;
}

}  // namespace mpsa::ike::testing
