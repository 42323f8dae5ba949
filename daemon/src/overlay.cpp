#include "mpsa/daemon/overlay.hpp"

#include <algorithm>
#include <array>
#include <type_traits>
#include <utility>
#include <variant>

namespace mpsa::daemon {

bool OverlayRoutes::apply(const bgp_glue::ModelChange& change) {
    return std::visit(
        [this](const auto& c) -> bool {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, bgp_glue::RouteChange>) {
                if (c.kind == bgp_glue::RouteChange::Kind::removed || c.peers.empty()) {
                    if (!routes_.contains(c.prefix)) return false;
                    remove_route(c.prefix);
                    return true;
                }
                auto found = routes_.find(c.prefix);
                if (found != routes_.end() && found->second == c.peers) return false;
                set_route(c.prefix, c.peers);
                return true;
            } else {
                const bool was = resolved(c.peer);
                switch (c.kind) {
                    case bgp_glue::PeerChange::Kind::resolved:
                        set_resolved(c.peer, true);
                        break;
                    case bgp_glue::PeerChange::Kind::tracked:
                    case bgp_glue::PeerChange::Kind::unresolved:
                    case bgp_glue::PeerChange::Kind::untracked:
                        set_resolved(c.peer, false);
                        break;
                }
                return was != resolved(c.peer);
            }
        },
        change);
}

void OverlayRoutes::set_route(const bgp_glue::Prefix& destination,
                              std::set<bgp_glue::IpAddress> peers) {
    if (peers.empty()) {
        remove_route(destination);
        return;
    }
    routes_[destination] = std::move(peers);
}

void OverlayRoutes::remove_route(const bgp_glue::Prefix& destination) {
    routes_.erase(destination);
}

void OverlayRoutes::set_resolved(const bgp_glue::IpAddress& peer, bool resolved) {
    if (resolved) {
        resolved_.insert(peer);
    } else {
        resolved_.erase(peer);
    }
}

bool OverlayRoutes::resolved(const bgp_glue::IpAddress& peer) const {
    return resolved_.contains(peer);
}

xfrm::IpAddress to_xfrm(const bgp_glue::IpAddress& address) {
    xfrm::IpAddress out;
    out.family = address.is_v4() ? xfrm::Family::kIpv4 : xfrm::Family::kIpv6;
    out.bytes = address.bytes();
    return out;
}

xfrm::Prefix to_xfrm(const bgp_glue::Prefix& prefix) {
    return {to_xfrm(prefix.address()), static_cast<std::uint8_t>(prefix.length())};
}

xfrm::IpAddress peer_address(const bgp_glue::IpAddress& next_hop) {
    auto address = to_xfrm(next_hop);
    if (address.family != xfrm::Family::kIpv6) return address;
    constexpr std::array<std::uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0,    0,
                                                            0, 0, 0, 0, 0xff, 0xff};
    if (!std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), address.bytes.begin())) {
        return address;
    }
    xfrm::IpAddress v4;
    v4.family = xfrm::Family::kIpv4;
    std::copy_n(address.bytes.begin() + 12, 4, v4.bytes.begin());
    return v4;
}

unsigned max_prefix_length(xfrm::Family family) {
    return family == xfrm::Family::kIpv4 ? 32 : 128;
}

xfrm::Prefix host_prefix(const xfrm::IpAddress& address) {
    return {address, static_cast<std::uint8_t>(max_prefix_length(address.family))};
}

xfrm::IpAddress any_address(xfrm::Family family) {
    xfrm::IpAddress out;
    out.family = family;
    return out;
}

xfrm::Prefix any_prefix(xfrm::Family family) {
    return {any_address(family), 0};
}

}  // namespace mpsa::daemon
