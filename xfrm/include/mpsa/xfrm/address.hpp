// IP addresses and prefixes as the kernel sees them: a family and 16 bytes (IPv4 in the first 4).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mpsa::xfrm {

enum class Family : std::uint8_t { kUnspec = 0, kIpv4 = 2, kIpv6 = 10 };  // AF_* values

struct IpAddress {
    Family family = Family::kUnspec;
    std::array<std::uint8_t, 16> bytes{};

    // "192.0.2.1" or "2001:db8::1"; nullopt on anything else.
    [[nodiscard]] static std::optional<IpAddress> parse(std::string_view text);
    // Throws std::invalid_argument: for literals in tests and configs already validated.
    [[nodiscard]] static IpAddress from(std::string_view text);
    [[nodiscard]] std::string to_string() const;
    [[nodiscard]] bool unspecified() const { return family == Family::kUnspec; }
    [[nodiscard]] std::size_t size() const { return family == Family::kIpv4 ? 4 : 16; }

    auto operator<=>(const IpAddress&) const = default;
};

struct Prefix {
    IpAddress address;
    std::uint8_t length = 0;

    // "10.0.0.0/8", "2001:db8::/32"; a bare address means a host prefix. Host bits must be zero.
    [[nodiscard]] static std::optional<Prefix> parse(std::string_view text);
    [[nodiscard]] static Prefix from(std::string_view text);
    [[nodiscard]] std::string to_string() const;
    [[nodiscard]] Family family() const { return address.family; }

    auto operator<=>(const Prefix&) const = default;
};

}  // namespace mpsa::xfrm
