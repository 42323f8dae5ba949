#include "mpsa/ike/udp_socket.hpp"

#include <arpa/inet.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <asio/buffer.hpp>
#include <asio/ip/v6_only.hpp>

namespace mpsa::ike {
namespace {

#ifndef UDP_ENCAP
constexpr int UDP_ENCAP = 100;
#endif
#ifndef UDP_ENCAP_ESPINUDP
constexpr int UDP_ENCAP_ESPINUDP = 2;
#endif

std::error_code last_error() {
    return {errno, std::generic_category()};
}

// strongSwan kernel_netlink_ipsec.c bypass_socket(): an "allow" policy in each direction,
// attached to the socket, overrides every global XFRM policy for its packets.
std::error_code bypass_policies(int fd, bool v6) {
    xfrm_userpolicy_info policy{};
    policy.action = XFRM_POLICY_ALLOW;
    policy.sel.family = v6 ? AF_INET6 : AF_INET;
    const int level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
    const int option = v6 ? IPV6_XFRM_POLICY : IP_XFRM_POLICY;
    for (auto dir : {XFRM_POLICY_OUT, XFRM_POLICY_IN}) {
        policy.dir = static_cast<std::uint8_t>(dir);
        if (::setsockopt(fd, level, option, &policy, sizeof(policy)) != 0) return last_error();
    }
    return {};
}

}  // namespace

asio::ip::udp::endpoint to_asio(const Endpoint& endpoint) {
    if (endpoint.address.v6) {
        asio::ip::address_v6::bytes_type bytes{};
        std::memcpy(bytes.data(), endpoint.address.octets.data(), 16);
        return {asio::ip::address_v6(bytes), endpoint.port};
    }
    asio::ip::address_v4::bytes_type bytes{};
    std::memcpy(bytes.data(), endpoint.address.octets.data(), 4);
    return {asio::ip::address_v4(bytes), endpoint.port};
}

Endpoint from_asio(const asio::ip::udp::endpoint& endpoint) {
    Endpoint out;
    out.port = endpoint.port();
    auto address = endpoint.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    if (address.is_v6()) {
        out.address.v6 = true;
        const auto bytes = address.to_v6().to_bytes();
        std::memcpy(out.address.octets.data(), bytes.data(), 16);
    } else {
        const auto bytes = address.to_v4().to_bytes();
        std::memcpy(out.address.octets.data(), bytes.data(), 4);
    }
    return out;
}

tl::expected<IpAddress, std::error_code> parse_ip_address(const std::string& text) {
    std::error_code error;
    const auto address = asio::ip::make_address(text, error);
    if (error) return tl::make_unexpected(error);
    return from_asio({address, 0}).address;
}

tl::expected<std::unique_ptr<UdpSocket>, std::error_code> UdpSocket::open(
    asio::io_context& io, const Endpoint& local, const UdpSocketOptions& options) {
    std::error_code error;
    const auto endpoint = to_asio(local);
    asio::ip::udp::socket socket(io);
    socket.open(endpoint.protocol(), error);
    if (error) return tl::make_unexpected(error);
    const int fd = socket.native_handle();
    if (local.address.v6) {
        socket.set_option(asio::ip::v6_only(true), error);
        if (error) return tl::make_unexpected(error);
    }
    if (options.receive_buffer_bytes > 0) {
        socket.set_option(asio::socket_base::receive_buffer_size(options.receive_buffer_bytes),
                          error);
        if (error) return tl::make_unexpected(error);
    }
    if (options.bypass_ipsec_policies) {
        if (auto e = bypass_policies(fd, local.address.v6)) return tl::make_unexpected(e);
    }
    socket.bind(endpoint, error);
    if (error) return tl::make_unexpected(error);
    if (options.esp_in_udp) {
        const int type = UDP_ENCAP_ESPINUDP;
        if (::setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &type, sizeof(type)) != 0) {
            return tl::make_unexpected(last_error());
        }
    }
    socket.non_blocking(true, error);
    if (error) return tl::make_unexpected(error);
    const auto bound = socket.local_endpoint(error);
    if (error) return tl::make_unexpected(error);
    return std::unique_ptr<UdpSocket>(new UdpSocket(std::move(socket), from_asio(bound)));
}

UdpSocket::UdpSocket(asio::ip::udp::socket socket, Endpoint local)
    : socket_(std::move(socket)), local_(local) {}

UdpSocket::~UdpSocket() {
    close();
}

void UdpSocket::close() {
    *alive_ = false;
    std::error_code ignored;
    socket_.close(ignored);
}

void UdpSocket::start(Handler handler) {
    handler_ = std::move(handler);
    receive_next();
}

void UdpSocket::receive_next() {
    if (!socket_.is_open()) return;
    socket_.async_receive_from(
        asio::buffer(buffer_), sender_,
        [this, alive = alive_](const std::error_code& error, std::size_t size) {
            if (!*alive) return;
            if (error) {
                if (error == asio::error::operation_aborted) return;
                ++counters_.receive_errors;  // e.g. ICMP port unreachable reported on the socket
                receive_next();
                return;
            }
            const auto classified =
                classify_udp_payload(ByteView(buffer_.data(), size), local_.port);
            switch (classified.kind) {
                case UdpPayloadKind::kIke: {
                    ++counters_.received;
                    Datagram datagram;
                    datagram.local = local_;
                    datagram.remote = from_asio(sender_);
                    datagram.data.assign(classified.ike.begin(), classified.ike.end());
                    if (handler_) handler_(std::move(datagram));
                    break;
                }
                case UdpPayloadKind::kNatKeepalive:
                    ++counters_.keepalives;
                    break;
                case UdpPayloadKind::kEsp:
                    ++counters_.esp_dropped;
                    break;
                case UdpPayloadKind::kMalformed:
                    ++counters_.malformed;
                    break;
            }
            if (*alive) receive_next();
        });
}

std::error_code UdpSocket::send(const Datagram& datagram) {
    const Bytes payload = frame_for_udp(datagram);
    std::error_code error;
    socket_.send_to(asio::buffer(payload), to_asio(datagram.remote), 0, error);
    if (error) {
        ++counters_.send_errors;
    } else {
        ++counters_.sent;
    }
    return error;
}

}  // namespace mpsa::ike
