// UDP endpoints and datagrams exchanged between the IKE state machines and the socket layer,
// the Transport interface that layer implements, and RFC 3948 framing on port 4500.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "mpsa/ike/bytes.hpp"

namespace mpsa::ike {

inline constexpr std::uint16_t kIkePort = 500;
inline constexpr std::uint16_t kNatTPort = 4500;

struct IpAddress {
    bool v6 = false;
    std::array<std::uint8_t, 16> octets{};  // network order; first 4 meaningful for IPv4

    [[nodiscard]] ByteView view() const { return {octets.data(), v6 ? 16U : 4U}; }
    [[nodiscard]] static IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c,
                                      std::uint8_t d) {
        IpAddress address;
        address.octets = {a, b, c, d};
        return address;
    }
    friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

struct Endpoint {
    IpAddress address;
    std::uint16_t port = kIkePort;
    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

[[nodiscard]] std::string to_string(const Endpoint& endpoint);

enum class DatagramKind : std::uint8_t {
    kIke,           // an IKE message (without the non-ESP marker)
    kNatKeepalive,  // RFC 3948 2.3: one octet 0xFF
};

// One UDP datagram as the state machines see it. On port 4500 the socket layer adds the
// non-ESP marker on send (frame_for_udp) and strips it on receive (classify_udp_payload).
struct Datagram {
    Endpoint local;
    Endpoint remote;
    DatagramKind kind = DatagramKind::kIke;
    Bytes data;
};

// UDP payload for `datagram`: the IKE message, prefixed by the 4-octet non-ESP marker when the
// local port is 4500 (RFC 3948 2.2); 0xFF for a keepalive.
[[nodiscard]] Bytes frame_for_udp(const Datagram& datagram);

enum class UdpPayloadKind : std::uint8_t { kIke, kEsp, kNatKeepalive, kMalformed };

struct ClassifiedUdpPayload {
    UdpPayloadKind kind = UdpPayloadKind::kMalformed;
    ByteView ike;  // the IKE message for kIke (marker removed)
};

// Splits a UDP payload received on `local_port`: on 4500 a zero marker means IKE, 0xFF a
// keepalive, anything else ESP (handled by the kernel); on other ports everything is IKE.
[[nodiscard]] ClassifiedUdpPayload classify_udp_payload(ByteView payload, std::uint16_t local_port);

// Implemented by the socket/event-loop layer; the state machines never call it themselves
// (they queue datagrams, the loop drains them into a Transport).
class Transport {
  public:
    virtual ~Transport() = default;
    virtual void send(const Datagram& datagram) = 0;
};

}  // namespace mpsa::ike
