#include "mpsa/ike/transport.hpp"

#include <cstdio>

namespace mpsa::ike {

namespace {
constexpr std::uint8_t kKeepaliveOctet = 0xFF;
constexpr std::size_t kNonEspMarkerSize = 4;
}  // namespace

std::string to_string(const Endpoint& endpoint) {
    const auto& o = endpoint.address.octets;
    std::array<char, 64> text{};
    if (!endpoint.address.v6) {
        std::snprintf(text.data(), text.size(), "%u.%u.%u.%u:%u", o[0], o[1], o[2], o[3],
                      static_cast<unsigned>(endpoint.port));
        return text.data();
    }
    std::string out = "[";
    for (std::size_t i = 0; i < 16; i += 2) {
        if (i != 0) out += ':';
        std::snprintf(text.data(), text.size(), "%x",
                      static_cast<unsigned>((o[i] << 8) | o[i + 1]));
        out += text.data();
    }
    std::snprintf(text.data(), text.size(), "]:%u", static_cast<unsigned>(endpoint.port));
    return out + text.data();
}

Bytes frame_for_udp(const Datagram& datagram) {
    if (datagram.kind == DatagramKind::kNatKeepalive) return Bytes{kKeepaliveOctet};
    Bytes out;
    if (datagram.local.port == kNatTPort) {
        out.reserve(kNonEspMarkerSize + datagram.data.size());
        out.assign(kNonEspMarkerSize, 0);
    }
    out.insert(out.end(), datagram.data.begin(), datagram.data.end());
    return out;
}

ClassifiedUdpPayload classify_udp_payload(ByteView payload, std::uint16_t local_port) {
    if (local_port != kNatTPort) return {UdpPayloadKind::kIke, payload};
    if (payload.size() == 1 && payload[0] == kKeepaliveOctet) {
        return {UdpPayloadKind::kNatKeepalive, {}};
    }
    if (payload.size() < kNonEspMarkerSize) return {UdpPayloadKind::kMalformed, {}};
    const bool marker = payload[0] == 0 && payload[1] == 0 && payload[2] == 0 && payload[3] == 0;
    if (!marker) return {UdpPayloadKind::kEsp, {}};
    return {UdpPayloadKind::kIke, payload.subspan(kNonEspMarkerSize)};
}

}  // namespace mpsa::ike
