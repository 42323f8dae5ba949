#include "mpsa/mpsa/vendor_id.hpp"

#include <algorithm>

namespace mpsa::mpsa {

ike::Bytes mpsa_vendor_id() {
    return ike::Bytes(kMpsaVendorId.begin(), kMpsaVendorId.end());
}

bool is_mpsa_vendor_id(ike::ByteView vendor_id_body) {
    // Exact match: a prefix or a longer string is some other vendor's ID.
    return std::equal(vendor_id_body.begin(), vendor_id_body.end(), kMpsaVendorId.begin(),
                      kMpsaVendorId.end(),
                      [](std::uint8_t b, char c) { return b == static_cast<std::uint8_t>(c); });
}

bool peer_supports_mpsa(std::span<const ike::ByteView> vendor_id_bodies) {
    return std::any_of(vendor_id_bodies.begin(), vendor_id_bodies.end(), is_mpsa_vendor_id);
}

bool peer_supports_mpsa(std::span<const ike::Bytes> vendor_id_bodies) {
    return std::any_of(vendor_id_bodies.begin(), vendor_id_bodies.end(),
                       [](const ike::Bytes& b) { return is_mpsa_vendor_id(b); });
}

}  // namespace mpsa::mpsa
