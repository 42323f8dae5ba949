// Traffic selectors (RFC 7296 3.13.1): IPv4 and IPv6 address ranges with protocol and ports.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace mpsa::ike {

enum class TsType : std::uint8_t {
    kIpv4AddrRange = 7,
    kIpv6AddrRange = 8,
};

struct TrafficSelector {
    TsType type = TsType::kIpv4AddrRange;
    std::uint8_t ip_protocol = 0;  // 0 = any
    std::uint16_t start_port = 0;
    std::uint16_t end_port = 65535;
    // Network byte order; only the first address_length() octets are meaningful (the rest zero).
    std::array<std::uint8_t, 16> start_address{};
    std::array<std::uint8_t, 16> end_address{};

    [[nodiscard]] std::size_t address_length() const {
        return type == TsType::kIpv4AddrRange ? 4 : 16;
    }
    // Selector Length on the wire: 16 for IPv4, 40 for IPv6.
    [[nodiscard]] std::size_t wire_length() const { return 8 + 2 * address_length(); }

    friend bool operator==(const TrafficSelector&, const TrafficSelector&) = default;
};

}  // namespace mpsa::ike
