// CHILD_SA parameters and the narrow interface through which negotiated ESP SAs reach the
// kernel (implemented by the xfrm library; a fake in tests).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/ike/cipher.hpp"
#include "mpsa/ike/traffic_selector.hpp"
#include "mpsa/ike/transport.hpp"

namespace mpsa::ike {

enum class ChildMode : std::uint8_t { kTunnel, kTransport };

// One ESP transform set (no PFS, no ESN).
struct EspSuite {
    EncrId encr = EncrId::kAesGcm16;
    unsigned encr_key_bits = 128;
    IntegId integ = IntegId::kNone;  // kNone exactly for AEAD
    friend bool operator==(const EspSuite&, const EspSuite&) = default;
};

// One direction of a CHILD_SA as the kernel needs it.
struct EspSaParams {
    std::uint32_t spi = 0;
    Endpoint source;  // outer addresses; ports are the UDP encapsulation ports when udp_encap
    Endpoint destination;
    EspSuite suite;
    SecretBytes encr_key;  // AES key | 4-octet salt for GCM
    SecretBytes integ_key;
    ChildMode mode = ChildMode::kTunnel;
    bool udp_encap = false;  // RFC 3948 UDP-encapsulated ESP (NAT detected)
    std::vector<TrafficSelector> source_ts;
    std::vector<TrafficSelector> destination_ts;
};

struct ChildSaInstall {
    EspSaParams inbound;   // spi = ours
    EspSaParams outbound;  // spi = the peer's
};

enum class InstallError : std::uint8_t { kNoSpi, kRejected, kUnavailable };

class ChildSaInstaller {
  public:
    virtual ~ChildSaInstaller() = default;
    // A fresh inbound SPI (the kernel's XFRM_MSG_ALLOCSPI), unique on this host.
    [[nodiscard]] virtual tl::expected<std::uint32_t, InstallError> allocate_spi(
        const Endpoint& local, const Endpoint& remote) = 0;
    [[nodiscard]] virtual tl::expected<void, InstallError> install(const ChildSaInstall& sa) = 0;
    // Removes both directions of a CHILD_SA installed earlier (unknown SPIs are ignored).
    virtual void remove(std::uint32_t inbound_spi, std::uint32_t outbound_spi) = 0;
};

}  // namespace mpsa::ike
