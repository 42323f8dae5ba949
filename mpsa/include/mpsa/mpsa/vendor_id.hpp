// MPSA capability (draft-yamaya-ipsecme-mpsa-04 3.1, 3.2.1): a Vendor ID payload whose content
// is the ASCII string "multi-point SA", sent in IKE_SA_INIT by both sides.
#pragma once

#include <span>
#include <string_view>

#include "mpsa/ike/bytes.hpp"

namespace mpsa::mpsa {

inline constexpr std::string_view kMpsaVendorId = "multi-point SA";

// The Vendor ID payload body to send (no terminating NUL: the draft quotes the bare string).
[[nodiscard]] ike::Bytes mpsa_vendor_id();

[[nodiscard]] bool is_mpsa_vendor_id(ike::ByteView vendor_id_body);

// True if any received Vendor ID payload body announces MPSA: only then may MPSA be used.
[[nodiscard]] bool peer_supports_mpsa(std::span<const ike::ByteView> vendor_id_bodies);
[[nodiscard]] bool peer_supports_mpsa(std::span<const ike::Bytes> vendor_id_bodies);

}  // namespace mpsa::mpsa
