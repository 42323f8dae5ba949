#include "mpsa/bgp_glue/ip_prefix.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace mpsa::bgp_glue {

IpAddress::IpAddress(Family family, const std::array<std::uint8_t, 16>& bytes)
    : family_(family), bytes_(bytes) {
    if (is_v4()) std::fill(bytes_.begin() + 4, bytes_.end(), std::uint8_t{0});
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    const std::string copy(text);  // inet_pton wants a NUL-terminated string
    std::array<std::uint8_t, 16> bytes{};
    if (inet_pton(AF_INET, copy.c_str(), bytes.data()) == 1) {
        return IpAddress(Family::ipv4, bytes);
    }
    if (inet_pton(AF_INET6, copy.c_str(), bytes.data()) == 1) {
        return IpAddress(Family::ipv6, bytes);
    }
    return std::nullopt;
}

std::string IpAddress::to_string() const {
    char buffer[INET6_ADDRSTRLEN] = {};
    inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buffer, sizeof(buffer));
    return buffer;
}

bool IpAddress::is_unspecified() const {
    return std::all_of(bytes_.begin(), bytes_.end(), [](std::uint8_t b) { return b == 0; });
}

Prefix::Prefix(const IpAddress& address, unsigned length)
    : length_(static_cast<std::uint8_t>(std::min(length, address.max_prefix_length()))) {
    std::array<std::uint8_t, 16> bytes = address.bytes();
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const std::size_t bit = i * 8;
        if (bit >= length_) {
            bytes[i] = 0;
        } else if (bit + 8 > length_) {
            bytes[i] &= static_cast<std::uint8_t>(0xff << (8 - (length_ - bit)));
        }
    }
    address_ = IpAddress(address.family(), bytes);
}

std::optional<Prefix> Prefix::parse(std::string_view text) {
    const std::size_t slash = text.find('/');
    const auto address = IpAddress::parse(text.substr(0, slash));
    if (!address) return std::nullopt;
    if (slash == std::string_view::npos) return Prefix(*address, address->max_prefix_length());
    const std::string_view digits = text.substr(slash + 1);
    unsigned length = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (error != std::errc{} || end != digits.data() + digits.size() || digits.empty() ||
        length > address->max_prefix_length()) {
        return std::nullopt;
    }
    return Prefix(*address, length);
}

std::string Prefix::to_string() const {
    return address_.to_string() + "/" + std::to_string(length_);
}

}  // namespace mpsa::bgp_glue
