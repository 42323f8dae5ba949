// NAT detection (RFC 7296 2.23): NAT_DETECTION_*_IP data = SHA-1(SPIi | SPIr | IP | Port).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/ike/payloads.hpp"
#include "mpsa/ike/transport.hpp"

namespace mpsa::ike {

[[nodiscard]] Bytes nat_detection_hash(std::uint64_t spi_i, std::uint64_t spi_r,
                                       const Endpoint& endpoint);

struct NatDetection {
    bool peer_behind_nat = false;   // their source hash does not match where it came from
    bool local_behind_nat = false;  // their destination hash does not match where it arrived
    [[nodiscard]] bool any() const { return peer_behind_nat || local_behind_nat; }
};

// From the NAT_DETECTION_* notifies of a received IKE_SA_INIT message; nullopt when the peer
// sent none (no NAT-T support). Any one matching source hash clears peer_behind_nat.
[[nodiscard]] std::optional<NatDetection> detect_nat(std::span<const Payload> payloads,
                                                     std::uint64_t spi_i, std::uint64_t spi_r,
                                                     const Endpoint& received_from,
                                                     const Endpoint& received_on);

}  // namespace mpsa::ike
