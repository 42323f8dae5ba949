// The pure core of the CPE controller: group SA state (mpsa/), learned overlay routes
// (bgp-glue/, through OverlayRoutes) and static node facts in; the kernel state the group needs
// out, as xfrm value types for the reconciler. No I/O, no clock reads (`now` is an argument), and
// the output is a function of the input only, so the reconciler's diff is stable.
//
// Per group (layout from group_layout.hpp):
//  - xfrm interface mpsa<id> on the underlay, if_id = group_if_id(id);
//  - one inbound SA per valid inbound SPI and own ESP address (a dual-stack CPE has one IPv4
//    and one IPv6 ESP address: two inbound SAs with the same SPI and keys), tunnel, replay 0;
//  - one outbound SA per peer P actually used by a destination: daddr = P, saddr = our ESP
//    address of P's family, the outbound SPI;
//  - per destination D via P: policy out (dst D -> tmpl own->P, outbound SPI), policies in and
//    fwd (src D, tmpl dst own); a D whose peer has no usable SA gets an out `block` policy;
//  - route D dev mpsa<id> in the group's table (kept for blocked D as well, so traffic reaches
//    the block policy instead of zebra's clear-text route in main);
//  - per protected prefix X (NodeFacts::protected_prefixes) that is not itself a learned
//    destination: route X dev mpsa<id> and an out `block` policy, priority by X's length, so a
//    more specific learned D wins and the rest of X is dropped instead of following main;
//  - rules: "lookup <group table>" per family, preceded by "to P/32|/128 lookup main" for every
//    member ESP address and every address in NodeFacts::never_overlay, and by "to L lookup main"
//    for every local prefix L (connected subnets, our own prefixes) (see the .cpp for why).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <mpsa/mpsa/clock.hpp>
#include <mpsa/mpsa/cpe_group_sa.hpp>
#include <mpsa/xfrm/objects.hpp>

#include "mpsa/daemon/group_layout.hpp"
#include "mpsa/daemon/overlay.hpp"

namespace mpsa::daemon {

// Static facts about this CPE, from its configuration.
struct NodeFacts {
    xfrm::IpAddress esp_address;  // our ESP endpoint = the BGP next-hop we advertise
    // A second ESP address of the other family (dual-stack underlay): peers of either family are
    // reached from the own address of their family.
    std::optional<xfrm::IpAddress> esp_address_v6;
    std::string underlay_interface;   // the xfrm interfaces are bound to it
    std::uint32_t interface_mtu = 0;  // 0: kernel default
    // Addresses (besides the members' ESP addresses) that must never be routed into an overlay,
    // e.g. the gateway's IKE address: a member advertising 0.0.0.0/0 must not capture IKE.
    std::vector<xfrm::IpAddress> never_overlay;
    // Destinations this CPE reaches directly (its connected subnets: LAN, underlay): they keep
    // using the main table even when a member advertises a covering prefix (0.0.0.0/0), or
    // decrypted traffic for our own LAN and our underlay next-hop would go back into the overlay.
    std::vector<xfrm::Prefix> local_prefixes;
    // Preferred source of overlay routes for traffic this CPE originates (a LAN address).
    std::optional<xfrm::IpAddress> overlay_source_v4;
    std::optional<xfrm::IpAddress> overlay_source_v6;
    // The operator's overlay address space: inside it, what is not a learned destination with a
    // valid SA is dropped rather than routed by main (zebra installs its clear-text route for a
    // new D before we program D, and before D is learned main may hold a covering route).
    // Connected subnets and member ESP addresses keep going to main (rules 18100 / 18000).
    std::vector<xfrm::Prefix> protected_prefixes;

    // esp_address, then esp_address_v6 if set (and of another family).
    [[nodiscard]] std::vector<xfrm::IpAddress> esp_addresses() const;
    // Our ESP address of `family`, if we have one.
    [[nodiscard]] std::optional<xfrm::IpAddress> esp_address_of(xfrm::Family family) const;
    [[nodiscard]] bool is_own_esp_address(const xfrm::IpAddress& address) const;
};

enum class DestinationState : std::uint8_t {
    kEncrypted,              // out policy allows, via `peer`, with the outbound SPI
    kBlockedPeerUnresolved,  // no next-hop resolved by zebra
    kBlockedFamilyMismatch,  // no next-hop of a family we have an ESP address of (no SA)
    kBlockedNoOutboundSa,    // the group has no valid outbound SA (none yet, or expired)
};
[[nodiscard]] std::string_view to_string(DestinationState state);

struct DestinationStatus {
    xfrm::Prefix destination;
    std::optional<xfrm::IpAddress> peer;  // the next-hop chosen (lowest usable, else lowest)
    DestinationState state = DestinationState::kBlockedPeerUnresolved;
    friend bool operator==(const DestinationStatus&, const DestinationStatus&) = default;
};

struct GroupDesiredState {
    GroupLayout layout;
    std::vector<std::uint32_t> inbound_spis;      // ascending, valid at `now`
    std::optional<std::uint32_t> outbound_spi;    // valid at `now`
    std::vector<DestinationStatus> destinations;  // ordered by destination
    // Protected prefixes given a route and a block policy (ordered; those equal to a learned
    // destination are left out: the destination's own objects cover them).
    std::vector<xfrm::Prefix> protected_prefixes;
    xfrm::State state;
};

// The group SA state, as mpsa::CpeGroupSaLifecycle exposes it.
struct GroupSaInput {
    mpsa::DesiredGroupSas desired;
    const std::map<std::uint32_t, mpsa::CpeGroupSa>& records;
};

[[nodiscard]] GroupDesiredState build_group_state(const NodeFacts& node, const GroupLayout& layout,
                                                  const GroupSaInput& sas,
                                                  const OverlayRoutes& overlay,
                                                  mpsa::TimePoint now);
[[nodiscard]] GroupDesiredState build_group_state(const NodeFacts& node, const GroupLayout& layout,
                                                  const mpsa::CpeGroupSaLifecycle& lifecycle,
                                                  const OverlayRoutes& overlay,
                                                  mpsa::TimePoint now);

// The connected subnets in a kernel dump (main table, protocol kernel, no gateway), except those
// of `overlay_interface`: what NodeFacts::local_prefixes holds on a real node.
[[nodiscard]] bool is_connected_route(const xfrm::Route& route, std::string_view overlay_interface);
[[nodiscard]] std::vector<xfrm::Prefix> connected_prefixes(const xfrm::State& kernel,
                                                           std::string_view overlay_interface);

// Union of several groups' states (rules shared by groups collapse into one).
void merge_into(xfrm::State& into, const xfrm::State& from);

// Multi-line, human-readable rendering for logs and debugging: SPIs, destinations and every
// object via xfrm::describe. Never contains key bytes.
[[nodiscard]] std::string describe(const GroupDesiredState& group);

}  // namespace mpsa::daemon
