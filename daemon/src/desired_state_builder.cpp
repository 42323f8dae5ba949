#include "mpsa/daemon/desired_state_builder.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include <mpsa/mpsa/esp_suite.hpp>

namespace mpsa::daemon {
namespace {

xfrm::SecretBuffer secret_of(const ike::SecretBytes& bytes) {
    return xfrm::SecretBuffer(bytes.view());
}

void set_algorithms(xfrm::Sa& sa, const mpsa::CpeGroupSa& record) {
    const auto& suite = record.suite;
    if (mpsa::is_aead(suite.encr)) {
        // The encryption key carries the 4-octet salt after the key, as rfc4106 expects.
        sa.aead = xfrm::AeadAlgorithm{std::string(mpsa::kernel_encr_name(suite.encr)),
                                      secret_of(record.keys.encryption_key), 128};
        return;
    }
    sa.cipher = xfrm::CipherAlgorithm{std::string(mpsa::kernel_encr_name(suite.encr)),
                                      secret_of(record.keys.encryption_key)};
    sa.auth = xfrm::AuthAlgorithm{std::string(mpsa::kernel_integ_name(suite.integ)),
                                  secret_of(record.keys.integrity_key),
                                  static_cast<std::uint32_t>(mpsa::integ_icv_bits(suite.integ))};
}

xfrm::Sa group_sa(const GroupLayout& layout, const mpsa::CpeGroupSa& record,
                  const xfrm::IpAddress& src, const xfrm::IpAddress& dst) {
    xfrm::Sa sa;
    sa.src = src;
    sa.dst = dst;
    sa.spi = record.spi;
    sa.mode = xfrm::Mode::kTunnel;
    sa.reqid = layout.reqid;
    // Many members send with this SPI, each with its own sequence numbers: anti-replay would
    // drop every sender but the fastest.
    sa.replay_window = 0;
    sa.if_id = layout.if_id;
    // No kernel lifetime: CpeGroupSaLifecycle removes SAs at their deadlines, and a kernel
    // lifetime counted from the add would restart on every re-add after a daemon restart.
    // The selector stays nullopt (AF_UNSPEC): one SA carries IPv4 and IPv6 inside.
    set_algorithms(sa, record);
    return sa;
}

xfrm::Policy policy(const GroupLayout& layout, xfrm::Direction dir, const xfrm::Prefix& src,
                    const xfrm::Prefix& dst, const xfrm::Prefix& prioritised) {
    xfrm::Policy p;
    p.dir = dir;
    p.selector.src = src;
    p.selector.dst = dst;
    p.if_id = layout.if_id;
    p.priority = policy_priority(prioritised.length, max_prefix_length(prioritised.family()));
    return p;
}

// "D dev mpsa<id>" in the group's table, with the LAN source of D's family for local traffic.
xfrm::Route overlay_route(const NodeFacts& node, const GroupLayout& layout,
                          const xfrm::Prefix& dst) {
    xfrm::Route route;
    route.dst = dst;
    route.table = layout.table;
    route.dev = layout.interface_name;
    route.source =
        dst.family() == xfrm::Family::kIpv4 ? node.overlay_source_v4 : node.overlay_source_v6;
    return route;
}

xfrm::Template tunnel_template(const GroupLayout& layout, const xfrm::IpAddress& src,
                               const xfrm::IpAddress& dst, std::uint32_t spi) {
    xfrm::Template t;
    t.src = src;
    t.dst = dst;
    t.spi = spi;
    t.mode = xfrm::Mode::kTunnel;
    t.reqid = layout.reqid;
    return t;
}

bool usable_record(const mpsa::CpeGroupSa* record, mpsa::TimePoint now, bool outbound) {
    if (record == nullptr) return false;
    return now < (outbound ? record->expires_at : record->end_at());
}

const mpsa::CpeGroupSa* find_record(const std::map<std::uint32_t, mpsa::CpeGroupSa>& records,
                                    std::uint32_t spi) {
    auto found = records.find(spi);
    return found == records.end() ? nullptr : &found->second;
}

struct PeerChoice {
    std::optional<xfrm::IpAddress> peer;
    DestinationState state = DestinationState::kBlockedPeerUnresolved;
};

// ECMP: one out policy can only point at one peer, so take the lowest usable next-hop (one of a
// family we have an ESP address of, resolved); the choice depends on the input only, which keeps
// the diff stable.
PeerChoice choose_peer(const std::set<bgp_glue::IpAddress>& peers, const OverlayRoutes& overlay,
                       const NodeFacts& node) {
    PeerChoice choice;
    bool any_reachable_family = false;
    for (const auto& candidate : peers) {
        const auto address = peer_address(candidate);
        if (!choice.peer) choice.peer = address;
        if (!node.esp_address_of(address.family)) continue;
        if (!any_reachable_family) {
            any_reachable_family = true;
            choice.peer = address;
        }
        if (overlay.resolved(candidate)) {
            choice.peer = address;
            choice.state = DestinationState::kEncrypted;
            return choice;
        }
    }
    choice.state = any_reachable_family ? DestinationState::kBlockedPeerUnresolved
                                        : DestinationState::kBlockedFamilyMismatch;
    return choice;
}

xfrm::Rule rule(xfrm::Family family, std::uint32_t priority, std::uint32_t table) {
    xfrm::Rule r;
    r.family = family;
    r.priority = priority;
    r.table = table;
    return r;
}

}  // namespace

std::vector<xfrm::IpAddress> NodeFacts::esp_addresses() const {
    std::vector<xfrm::IpAddress> addresses{esp_address};
    if (esp_address_v6 && esp_address_v6->family != esp_address.family) {
        addresses.push_back(*esp_address_v6);
    }
    return addresses;
}

std::optional<xfrm::IpAddress> NodeFacts::esp_address_of(xfrm::Family family) const {
    for (const auto& address : esp_addresses()) {
        if (address.family == family) return address;
    }
    return std::nullopt;
}

bool NodeFacts::is_own_esp_address(const xfrm::IpAddress& address) const {
    const auto own = esp_addresses();
    return std::find(own.begin(), own.end(), address) != own.end();
}

std::string_view to_string(DestinationState state) {
    switch (state) {
        case DestinationState::kEncrypted:
            return "encrypted";
        case DestinationState::kBlockedPeerUnresolved:
            return "blocked: peer unresolved";
        case DestinationState::kBlockedFamilyMismatch:
            return "blocked: no peer of our ESP address family";
        case DestinationState::kBlockedNoOutboundSa:
            return "blocked: no valid outbound SA";
    }
    return "unknown";
}

GroupDesiredState build_group_state(const NodeFacts& node, const GroupLayout& layout,
                                    const GroupSaInput& sas, const OverlayRoutes& overlay,
                                    mpsa::TimePoint now) {
    GroupDesiredState out;
    out.layout = layout;
    xfrm::State& state = out.state;
    const auto own_addresses = node.esp_addresses();

    state.add(xfrm::XfrmInterface{layout.interface_name, layout.if_id, node.underlay_interface,
                                  node.interface_mtu});

    // Inbound: one SA per SPI (daddr, SPI) -- the kernel cannot hold one per sender. Its source
    // is the wildcard address because the kernel's template check (xfrm_state_ok ->
    // xfrm_state_addr_cmp) compares a tunnel template's source with the SA's source, not with
    // the packet's outer source; see the in/fwd templates below. A dual-stack CPE receives on
    // both of its ESP addresses: one SA each, same SPI and keys (the SA key includes daddr).
    for (const auto spi : sas.desired.inbound_spis) {
        const auto* record = find_record(sas.records, spi);
        if (!usable_record(record, now, false)) continue;
        out.inbound_spis.push_back(spi);
        for (const auto& own : own_addresses) {
            state.add(group_sa(layout, *record, any_address(own.family), own));
        }
    }
    const mpsa::CpeGroupSa* outbound = nullptr;
    if (sas.desired.outbound_spi) {
        outbound = find_record(sas.records, *sas.desired.outbound_spi);
        if (usable_record(outbound, now, true)) {
            out.outbound_spi = outbound->spi;
        } else {
            outbound = nullptr;
        }
    }

    std::set<xfrm::IpAddress> excluded(node.never_overlay.begin(), node.never_overlay.end());
    std::set<xfrm::Prefix> local(node.local_prefixes.begin(), node.local_prefixes.end());
    for (const auto& [prefix, peers] : overlay.routes()) {
        // Our own prefixes come back from the route reflector with our own next-hop.
        const bool own_prefix = std::any_of(peers.begin(), peers.end(), [&](const auto& peer) {
            return node.is_own_esp_address(peer_address(peer));
        });
        if (own_prefix) {
            local.insert(to_xfrm(prefix));
            continue;
        }
        for (const auto& peer : peers) excluded.insert(peer_address(peer));

        const auto destination = to_xfrm(prefix);
        const auto family = destination.family();
        auto choice = choose_peer(peers, overlay, node);
        if (choice.state == DestinationState::kEncrypted && outbound == nullptr) {
            choice.state = DestinationState::kBlockedNoOutboundSa;
        }
        out.destinations.push_back({destination, choice.peer, choice.state});

        // Out: fail closed. A destination that cannot be encrypted is blocked, never left to
        // a route that would send it in the clear.
        auto out_policy =
            policy(layout, xfrm::Direction::kOut, any_prefix(family), destination, destination);
        // The own address that reaches the chosen peer (the primary one when it is blocked).
        const auto own = node.esp_address_of(choice.peer ? choice.peer->family : family)
                             .value_or(node.esp_address);
        if (choice.state == DestinationState::kEncrypted) {
            out_policy.templates.push_back(
                tunnel_template(layout, own, *choice.peer, outbound->spi));
            state.add(group_sa(layout, *outbound, own, *choice.peer));
        } else {
            out_policy.action = xfrm::PolicyAction::kBlock;
        }
        state.add(std::move(out_policy));

        // In/fwd: decrypted traffic with source D is accepted only from the group's inbound SA
        // and only for learned D (tunnel-mode traffic matching no in policy is dropped by the
        // kernel). The template source is the wildcard, not P: with one shared inbound SA per
        // SPI the kernel compares the template source with that SA's source, so naming P here
        // would drop traffic from every member but one. Binding D to P's outer address needs
        // per-sender SAs (e.g. a mark per outer source selecting per-peer inbound SAs). Checked
        // on Debian's 6.1 kernel in the VM with senders B and C: wildcard -> both pass; src=P with
        // the SA's src 0.0.0.0 -> both dropped; SA src=B -> only B passes; a second inbound SA with
        // the same daddr/SPI -> EEXIST.
        // Template SPI 0: during a rollover both the old and the new inbound SA are accepted.
        // The template's daddr is not compared with the SA's (xfrm_state_ok), so on a dual-stack
        // CPE this template accepts the inbound SA of either own address; it names the one of
        // the chosen peer's family to say where the traffic is expected.
        for (const auto dir : {xfrm::Direction::kIn, xfrm::Direction::kFwd}) {
            auto in_policy = policy(layout, dir, destination, any_prefix(family), destination);
            // The wildcard source as the unspecified address (all zero, the family taken from
            // dst): that is what the kernel's dump decodes to, so the reconciler sees no change.
            in_policy.templates.push_back(tunnel_template(layout, xfrm::IpAddress{}, own, 0));
            state.add(std::move(in_policy));
        }

        // The route stays for a blocked D as well: without it, traffic would follow zebra's
        // route for D in main, which leads to the peer in the clear.
        state.add(overlay_route(node, layout, destination));
    }

    // Protected prefixes: fail closed for the operator's whole overlay space, not only for what
    // is learned. zebra installs a new D's clear-text route in main milliseconds before we
    // program D, and before D is learned at all main may route it (a default route); with X in
    // the group table, such traffic reaches mpsa<id> and X's block policy instead. A learned D
    // inside X has a longer prefix: its route wins the lookup; X's block policy has the weakest
    // priority of all, so any learned D covering the address (even 0.0.0.0/0) decides first.
    // X equal to a learned D adds nothing (D's objects already say how to treat it).
    std::set<xfrm::Prefix> learned;
    for (const auto& d : out.destinations) learned.insert(d.destination);
    const std::set<xfrm::Prefix> protected_prefixes(node.protected_prefixes.begin(),
                                                    node.protected_prefixes.end());
    for (const auto& prefix : protected_prefixes) {
        if (learned.contains(prefix)) continue;
        out.protected_prefixes.push_back(prefix);
        const auto family = prefix.family();
        auto block = policy(layout, xfrm::Direction::kOut, any_prefix(family), prefix, prefix);
        block.action = xfrm::PolicyAction::kBlock;
        block.priority = kProtectedPolicyPriority;
        state.add(std::move(block));
        state.add(overlay_route(node, layout, prefix));
    }

    // ESP and IKE never enter the overlay: a rule ahead of the overlay lookup sends traffic to
    // every member ESP address (and the gateway, never_overlay) to the main table, where
    // zebra's underlay routes for them live. A member advertising 0.0.0.0/0 or a prefix that
    // covers other members' addresses therefore cannot capture our ESP/IKE packets. Chosen over
    // host routes in the group table because those would have to copy the underlay next-hops
    // zebra resolves (and follow their changes); the rule stays valid whatever main holds. If
    // main has no route to P the lookup falls through to the overlay, but then zebra does not
    // resolve P either, so no SA and no ESP towards P exists. Checked in the VM: with
    // 0.0.0.0/0 dev mpsa<id> in the group table, ESP to B leaves via the underlay with these
    // rules and is captured into the overlay (encrypted to the advertising member) without.
    for (const auto& own : own_addresses) excluded.erase(own);
    for (const auto& address : excluded) {
        if (address.unspecified()) continue;
        auto r = rule(address.family, kPeerExclusionRulePriority, kMainTable);
        r.dst = host_prefix(address);
        state.add(std::move(r));
    }
    // What we reach directly stays out of the overlay too: with a member's 0.0.0.0/0 in the
    // group table, traffic decrypted for our own LAN and packets to our underlay next-hop would
    // otherwise be routed into mpsa<id> again (an ESP ping-pong until the TTL runs out). A
    // destination some member also advertises inside a local prefix is ours to reach: like
    // longest-prefix match over connected routes, the local subnet wins.
    for (const auto& prefix : local) {
        if (prefix.address.unspecified() || prefix.length == 0) continue;  // never "to any"
        auto r = rule(prefix.family(), kLocalExclusionRulePriority, kMainTable);
        r.dst = prefix;
        state.add(std::move(r));
    }
    // The overlay lookup itself, for both inner families (always present, so a first learned
    // prefix of a family is not a rule change racing its route).
    for (const auto family : {xfrm::Family::kIpv4, xfrm::Family::kIpv6}) {
        state.add(rule(family, kOverlayRulePriority, layout.table));
    }
    return out;
}

GroupDesiredState build_group_state(const NodeFacts& node, const GroupLayout& layout,
                                    const mpsa::CpeGroupSaLifecycle& lifecycle,
                                    const OverlayRoutes& overlay, mpsa::TimePoint now) {
    return build_group_state(node, layout, GroupSaInput{lifecycle.desired(), lifecycle.sas()},
                             overlay, now);
}

bool is_connected_route(const xfrm::Route& route, std::string_view overlay_interface) {
    constexpr std::uint8_t kRtprotKernel = 2;  // RTPROT_KERNEL: made for an interface address
    // IPv6 link-local (fe80::/10) is left out: every interface has fe80::/64, also the overlay
    // interface, and such routes share one key (table, prefix, metric) in a dump, so which
    // device a dump reports for it is arbitrary; link-local traffic never uses these rules.
    const auto& a = route.dst.address;
    const bool link_local =
        a.family == xfrm::Family::kIpv6 && a.bytes[0] == 0xfe && (a.bytes[1] & 0xc0) == 0x80;
    return route.table == kMainTable && route.protocol == kRtprotKernel && !route.gateway &&
           route.dev != overlay_interface && !a.unspecified() && !link_local;
}

std::vector<xfrm::Prefix> connected_prefixes(const xfrm::State& kernel,
                                             std::string_view overlay_interface) {
    std::set<xfrm::Prefix> prefixes;
    for (const auto& [key, route] : kernel.routes) {
        if (is_connected_route(route, overlay_interface)) prefixes.insert(route.dst);
    }
    return {prefixes.begin(), prefixes.end()};
}

void merge_into(xfrm::State& into, const xfrm::State& from) {
    for (const auto& [name, interface] : from.interfaces) into.add(interface);
    for (const auto& [key, sa] : from.sas) into.add(sa);
    for (const auto& [key, p] : from.policies) into.add(p);
    for (const auto& [key, route] : from.routes) into.add(route);
    for (const auto& r : from.rules) into.add(r);
}

std::string describe(const GroupDesiredState& group) {
    std::ostringstream text;
    text << "group " << group.layout.group_id << " (" << group.layout.interface_name << ", if_id 0x"
         << std::hex << group.layout.if_id << std::dec << ", table " << group.layout.table << ")\n";
    text << "  inbound SPIs:";
    for (const auto spi : group.inbound_spis) text << " 0x" << std::hex << spi << std::dec;
    text << "\n  outbound SPI: ";
    if (group.outbound_spi) {
        text << "0x" << std::hex << *group.outbound_spi << std::dec;
    } else {
        text << "none";
    }
    text << '\n';
    for (const auto& d : group.destinations) {
        text << "  " << d.destination.to_string() << " via "
             << (d.peer ? d.peer->to_string() : std::string("-")) << ": " << to_string(d.state)
             << '\n';
    }
    for (const auto& p : group.protected_prefixes) {
        text << "  " << p.to_string() << ": blocked (protected prefix)\n";
    }
    const auto& s = group.state;
    for (const auto& [name, i] : s.interfaces) text << "  " << xfrm::describe(i) << '\n';
    for (const auto& [key, sa] : s.sas) text << "  " << xfrm::describe(sa) << '\n';
    for (const auto& [key, p] : s.policies) text << "  " << xfrm::describe(p) << '\n';
    for (const auto& [key, r] : s.routes) text << "  " << xfrm::describe(r) << '\n';
    for (const auto& r : s.rules) text << "  " << xfrm::describe(r) << '\n';
    return text.str();
}

}  // namespace mpsa::daemon
