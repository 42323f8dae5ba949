#include "mpsa/ike/ike_endpoint.hpp"

#include <utility>

namespace mpsa::ike {

tl::expected<std::unique_ptr<IkeEndpoint>, std::error_code> IkeEndpoint::open(
    asio::io_context& io, const IkeEndpointConfig& config) {
    std::unique_ptr<IkeEndpoint> endpoint(new IkeEndpoint());
    for (const auto& address : config.addresses) {
        UdpSocketOptions ike_options = config.options;
        ike_options.esp_in_udp = false;
        auto ike = UdpSocket::open(io, Endpoint{address, config.ike_port}, ike_options);
        if (!ike) return tl::make_unexpected(ike.error());
        endpoint->sockets_.push_back(std::move(*ike));
        if (config.natt_port == 0) continue;
        auto natt = UdpSocket::open(io, Endpoint{address, config.natt_port}, config.options);
        if (!natt) return tl::make_unexpected(natt.error());
        endpoint->sockets_.push_back(std::move(*natt));
    }
    return endpoint;
}

void IkeEndpoint::start(UdpSocket::Handler handler) {
    for (auto& socket : sockets_) socket->start(handler);
}

void IkeEndpoint::send(const Datagram& datagram) {
    for (auto& socket : sockets_) {
        if (socket->local() == datagram.local) {
            (void)socket->send(datagram);
            return;
        }
    }
    ++unroutable_;
}

UdpSocketCounters IkeEndpoint::counters() const {
    UdpSocketCounters sum;
    for (const auto& socket : sockets_) {
        const auto& c = socket->counters();
        sum.received += c.received;
        sum.keepalives += c.keepalives;
        sum.esp_dropped += c.esp_dropped;
        sum.malformed += c.malformed;
        sum.sent += c.sent;
        sum.send_errors += c.send_errors;
        sum.receive_errors += c.receive_errors;
    }
    return sum;
}

}  // namespace mpsa::ike
