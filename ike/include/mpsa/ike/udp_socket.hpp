// One IKE UDP socket on standalone Asio (single-threaded: all calls and handlers on the thread
// that runs the io_context). IPv4 or IPv6, bound to one local address and port.
//
// - Port 4500 (RFC 3948): datagrams are framed with frame_for_udp() on send and split with
//   classify_udp_payload() on receive (non-ESP marker); with `esp_in_udp` the socket is set to
//   UDP_ENCAP_ESPINUDP so the kernel takes the ESP-in-UDP packets of our CHILD_SAs itself.
// - `bypass_ipsec_policies`: per-socket IP_XFRM_POLICY / IPV6_XFRM_POLICY "allow" policies for
//   both directions, as strongSwan's kernel-netlink does, so IKE traffic is never caught by the
//   IPsec policies it negotiates (needs CAP_NET_ADMIN).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <system_error>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <tl/expected.hpp>

#include "mpsa/ike/transport.hpp"

namespace mpsa::ike {

struct UdpSocketOptions {
    bool bypass_ipsec_policies = true;
    bool esp_in_udp = false;       // UDP_ENCAP_ESPINUDP; meaningful on the port 4500 socket
    int receive_buffer_bytes = 0;  // SO_RCVBUF when non-zero
};

struct UdpSocketCounters {
    std::uint64_t received = 0;     // IKE messages handed on
    std::uint64_t keepalives = 0;   // NAT-T keepalives received (dropped)
    std::uint64_t esp_dropped = 0;  // ESP that reached the socket (no UDP_ENCAP in the kernel)
    std::uint64_t malformed = 0;    // too short for a marker, empty
    std::uint64_t sent = 0;
    std::uint64_t send_errors = 0;  // would block, unreachable, ...
    std::uint64_t receive_errors = 0;
};

// Asio endpoint <-> ike::Endpoint.
[[nodiscard]] asio::ip::udp::endpoint to_asio(const Endpoint& endpoint);
[[nodiscard]] Endpoint from_asio(const asio::ip::udp::endpoint& endpoint);
// Parses "192.0.2.1" or "2001:db8::1" (no port).
[[nodiscard]] tl::expected<IpAddress, std::error_code> parse_ip_address(const std::string& text);

class UdpSocket {
  public:
    using Handler = std::function<void(Datagram&&)>;

    // Binds to `local` (port 0: an ephemeral port, see local()).
    [[nodiscard]] static tl::expected<std::unique_ptr<UdpSocket>, std::error_code> open(
        asio::io_context& io, const Endpoint& local, const UdpSocketOptions& options);
    ~UdpSocket();
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;

    // Starts the receive loop: every IKE message (marker removed on 4500) goes to `handler`,
    // with local() as its local endpoint.
    void start(Handler handler);
    // Sends at once (non-blocking; a full buffer drops the datagram, IKE retransmits).
    std::error_code send(const Datagram& datagram);
    void close();

    [[nodiscard]] const Endpoint& local() const { return local_; }
    [[nodiscard]] const UdpSocketCounters& counters() const { return counters_; }

  private:
    UdpSocket(asio::ip::udp::socket socket, Endpoint local);
    void receive_next();

    asio::ip::udp::socket socket_;
    Endpoint local_;
    Handler handler_;
    asio::ip::udp::endpoint sender_;
    std::array<std::uint8_t, 65536> buffer_{};
    UdpSocketCounters counters_;
    // Handlers still queued after close()/destruction check this token.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mpsa::ike
