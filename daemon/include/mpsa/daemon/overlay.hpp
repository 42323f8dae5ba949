// What the CPE controller knows of the overlay: every destination prefix D with the ESP peers
// (BGP next-hops) it is reachable through, and whether zebra resolves each peer. Fed with the
// RouteModel's change stream (bgp_glue::BgpLearner's handler), so the controller can enumerate
// all destinations when it rebuilds the desired kernel state. Pure, no I/O.
#pragma once

#include <map>
#include <set>

#include <mpsa/bgp_glue/ip_prefix.hpp>
#include <mpsa/bgp_glue/route_model.hpp>
#include <mpsa/xfrm/address.hpp>

namespace mpsa::daemon {

class OverlayRoutes {
  public:
    // Applies one change; returns true when it changed what a rebuild would produce.
    bool apply(const bgp_glue::ModelChange& change);

    // Direct setters, for tests and for seeding from a RouteModel after a restart.
    void set_route(const bgp_glue::Prefix& destination, std::set<bgp_glue::IpAddress> peers);
    void remove_route(const bgp_glue::Prefix& destination);
    void set_resolved(const bgp_glue::IpAddress& peer, bool resolved);

    [[nodiscard]] const std::map<bgp_glue::Prefix, std::set<bgp_glue::IpAddress>>& routes() const {
        return routes_;
    }
    // Unknown peers count as unresolved (fail closed until zebra answers).
    [[nodiscard]] bool resolved(const bgp_glue::IpAddress& peer) const;

  private:
    std::map<bgp_glue::Prefix, std::set<bgp_glue::IpAddress>> routes_;
    std::set<bgp_glue::IpAddress> resolved_;
};

// bgp_glue and xfrm each have their own address types (both: family + network-order bytes).
[[nodiscard]] xfrm::IpAddress to_xfrm(const bgp_glue::IpAddress& address);
[[nodiscard]] xfrm::Prefix to_xfrm(const bgp_glue::Prefix& prefix);
// A BGP next-hop as an ESP peer address. An IPv6 prefix learned over an IPv4 session carries
// its next-hop as an IPv4-mapped IPv6 address (::ffff:a.b.c.d) when the peer has no IPv6
// address to offer; the ESP peer behind it is the IPv4 address.
[[nodiscard]] xfrm::IpAddress peer_address(const bgp_glue::IpAddress& next_hop);
// The host prefix (/32 or /128) of an address.
[[nodiscard]] xfrm::Prefix host_prefix(const xfrm::IpAddress& address);
// 0.0.0.0/0 or ::/0.
[[nodiscard]] xfrm::Prefix any_prefix(xfrm::Family family);
// 0.0.0.0 or :: (a template or SA address matching any peer).
[[nodiscard]] xfrm::IpAddress any_address(xfrm::Family family);
[[nodiscard]] unsigned max_prefix_length(xfrm::Family family);

}  // namespace mpsa::daemon
