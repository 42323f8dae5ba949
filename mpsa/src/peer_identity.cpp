#include "mpsa/mpsa/peer_identity.hpp"

#include <cstdio>

namespace mpsa::mpsa {

std::string identity_text(const ike::Identification& id) {
    const auto& d = id.data;
    switch (id.type) {
        case ike::IdType::kFqdn:
        case ike::IdType::kRfc822Addr:
        case ike::IdType::kKeyId:
            return std::string(d.begin(), d.end());
        case ike::IdType::kIpv4Addr:
            if (d.size() == 4) {
                return std::to_string(d[0]) + "." + std::to_string(d[1]) + "." +
                       std::to_string(d[2]) + "." + std::to_string(d[3]);
            }
            break;
        case ike::IdType::kIpv6Addr:
            if (d.size() == 16) {
                std::string text;
                for (std::size_t i = 0; i < 16; i += 2) {
                    char group[8];
                    std::snprintf(group, sizeof group, "%x", (d[i] << 8) | d[i + 1]);
                    if (i != 0) text += ':';
                    text += group;
                }
                return text;
            }
            break;
        case ike::IdType::kDerAsn1Dn:
        case ike::IdType::kDerAsn1Gn:
            break;
    }
    return "der:" + ike::to_hex(d);
}

}  // namespace mpsa::mpsa
