// IPv4/IPv6 addresses and prefixes as ZAPI carries them (family + up to 16 address bytes).
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mpsa::bgp_glue {

enum class Family : std::uint8_t { ipv4, ipv6 };

class IpAddress {
  public:
    IpAddress() = default;  // 0.0.0.0
    IpAddress(Family family, const std::array<std::uint8_t, 16>& bytes);

    [[nodiscard]] static std::optional<IpAddress> parse(std::string_view text);
    // Never fails for a valid address; the numeric form (inet_ntop).
    [[nodiscard]] std::string to_string() const;

    [[nodiscard]] Family family() const { return family_; }
    [[nodiscard]] bool is_v4() const { return family_ == Family::ipv4; }
    // 4 or 16.
    [[nodiscard]] std::size_t size() const { return is_v4() ? 4 : 16; }
    [[nodiscard]] unsigned max_prefix_length() const { return is_v4() ? 32 : 128; }
    // Address bytes in network order; bytes past size() are zero.
    [[nodiscard]] const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
    [[nodiscard]] bool is_unspecified() const;

    auto operator<=>(const IpAddress&) const = default;

  private:
    Family family_ = Family::ipv4;
    std::array<std::uint8_t, 16> bytes_{};
};

// A network prefix; host bits beyond length are always zero (the constructor masks them).
class Prefix {
  public:
    Prefix() = default;  // 0.0.0.0/0
    // length is clamped to the family's maximum.
    Prefix(const IpAddress& address, unsigned length);

    // "10.0.0.0/24", "2001:db8::/32"; a bare address is a host prefix.
    [[nodiscard]] static std::optional<Prefix> parse(std::string_view text);
    [[nodiscard]] std::string to_string() const;

    [[nodiscard]] const IpAddress& address() const { return address_; }
    [[nodiscard]] unsigned length() const { return length_; }
    [[nodiscard]] Family family() const { return address_.family(); }

    auto operator<=>(const Prefix&) const = default;

  private:
    IpAddress address_;
    std::uint8_t length_ = 0;
};

}  // namespace mpsa::bgp_glue
