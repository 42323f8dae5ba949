#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>
#include <stdexcept>

#include <mpsa/xfrm/address.hpp>

namespace mpsa::xfrm {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    const std::string copy(text);  // inet_pton needs a terminated string
    IpAddress address;
    if (inet_pton(AF_INET, copy.c_str(), address.bytes.data()) == 1) {
        address.family = Family::kIpv4;
        return address;
    }
    if (inet_pton(AF_INET6, copy.c_str(), address.bytes.data()) == 1) {
        address.family = Family::kIpv6;
        return address;
    }
    return std::nullopt;
}

IpAddress IpAddress::from(std::string_view text) {
    auto address = parse(text);
    if (!address) throw std::invalid_argument("not an IP address: " + std::string(text));
    return *address;
}

std::string IpAddress::to_string() const {
    if (family == Family::kUnspec) return "unspec";
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(family == Family::kIpv4 ? AF_INET : AF_INET6, bytes.data(), text, sizeof(text));
    return text;
}

std::optional<Prefix> Prefix::parse(std::string_view text) {
    const auto slash = text.find('/');
    auto address = IpAddress::parse(text.substr(0, slash));
    if (!address) return std::nullopt;
    const unsigned max_length = address->family == Family::kIpv4 ? 32 : 128;
    unsigned length = max_length;
    if (slash != std::string_view::npos) {
        const auto digits = text.substr(slash + 1);
        const auto* end = digits.data() + digits.size();
        auto [ptr, ec] = std::from_chars(digits.data(), end, length);
        if (ec != std::errc{} || ptr != end || digits.empty() || length > max_length) {
            return std::nullopt;
        }
    }
    for (unsigned bit = length; bit < max_length; ++bit) {
        if ((address->bytes[bit / 8] >> (7 - bit % 8)) & 1U) return std::nullopt;
    }
    return Prefix{*address, static_cast<std::uint8_t>(length)};
}

Prefix Prefix::from(std::string_view text) {
    auto prefix = parse(text);
    if (!prefix) throw std::invalid_argument("not a prefix: " + std::string(text));
    return *prefix;
}

std::string Prefix::to_string() const {
    return address.to_string() + "/" + std::to_string(length);
}

}  // namespace mpsa::xfrm
