// Hex helpers for the bgp-glue tests.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

#include "mpsa/bgp_glue/zapi_codec.hpp"

namespace mpsa::bgp_glue::test {

// Ignores spaces; aborts the test binary on odd or non-hex input (a bug in the test itself).
inline Bytes hex(std::string_view text) {
    Bytes out;
    int high = -1;
    for (char c : text) {
        if (c == ' ' || c == '\n') continue;
        const int value = std::isdigit(static_cast<unsigned char>(c))
                              ? c - '0'
                              : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
        if (value < 0 || value > 15) std::abort();
        if (high < 0) {
            high = value;
        } else {
            out.push_back(static_cast<std::uint8_t>(high * 16 + value));
            high = -1;
        }
    }
    if (high >= 0) std::abort();
    return out;
}

inline std::string to_hex(ByteView bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (std::uint8_t b : bytes) {
        if (!out.empty()) out += ' ';
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
    }
    return out;
}

inline IpAddress ip(std::string_view text) {
    return IpAddress::parse(text).value();
}
inline Prefix prefix(std::string_view text) {
    return Prefix::parse(text).value();
}

}  // namespace mpsa::bgp_glue::test
