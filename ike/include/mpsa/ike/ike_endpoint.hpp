// The IKE sockets of one daemon: for each local address a socket on the IKE port (500) and one on
// the NAT-T port (4500, UDP_ENCAP_ESPINUDP, non-ESP marker). A Transport: each datagram leaves
// through the socket bound to its local endpoint. Single-threaded, like UdpSocket.
//
// Sockets are bound to explicit addresses (not the wildcard), so every received datagram knows
// the local address it arrived on, which NAT detection hashes.
#pragma once

#include <cstdint>
#include <memory>
#include <system_error>
#include <vector>

#include <asio/io_context.hpp>
#include <tl/expected.hpp>

#include "mpsa/ike/transport.hpp"
#include "mpsa/ike/udp_socket.hpp"

namespace mpsa::ike {

struct IkeEndpointConfig {
    std::vector<IpAddress> addresses;
    std::uint16_t ike_port = kIkePort;
    std::uint16_t natt_port = kNatTPort;  // 0: no NAT-T socket
    UdpSocketOptions options;             // esp_in_udp is set on the NAT-T sockets only
};

class IkeEndpoint final : public Transport {
  public:
    [[nodiscard]] static tl::expected<std::unique_ptr<IkeEndpoint>, std::error_code> open(
        asio::io_context& io, const IkeEndpointConfig& config);

    // Starts receiving on every socket.
    void start(UdpSocket::Handler handler);
    // Transport: through the socket bound to datagram.local; counted as unroutable otherwise.
    void send(const Datagram& datagram) override;

    [[nodiscard]] const std::vector<std::unique_ptr<UdpSocket>>& sockets() const {
        return sockets_;
    }
    [[nodiscard]] std::uint64_t unroutable() const { return unroutable_; }
    // Sum of all sockets' counters.
    [[nodiscard]] UdpSocketCounters counters() const;

  private:
    IkeEndpoint() = default;
    std::vector<std::unique_ptr<UdpSocket>> sockets_;
    std::uint64_t unroutable_ = 0;
};

}  // namespace mpsa::ike
