// The learned overlay routes and their resolution (pure, no I/O).
//
// BGP gives each destination prefix D a set of next-hops (ECMP); on a CPE those next-hops are
// the other members' ESP addresses P. zebra's next-hop tracking says whether and through which
// underlay next-hops each P is reachable. The model turns the stream of ZAPI facts into a
// stream of changes the controller consumes:
//   RouteChange: "D reachable via peers {P...}" added / changed / removed;
//   PeerChange:  P tracked (register it with NHT) / resolved (with its underlay) /
//                unresolved / untracked (unregister it).
// After a reconnect, begin_resync() marks everything stale, the replayed state refreshes what
// still exists without emitting changes, and end_resync() removes whatever was not refreshed.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <variant>
#include <vector>

#include "mpsa/bgp_glue/ip_prefix.hpp"

namespace mpsa::bgp_glue {

struct UnderlayNexthop {
    std::optional<IpAddress> gateway;  // none: directly connected
    std::uint32_t ifindex = 0;
    auto operator<=>(const UnderlayNexthop&) const = default;
};

struct RouteChange {
    enum class Kind : std::uint8_t { added, changed, removed };
    Kind kind = Kind::added;
    Prefix prefix;
    std::set<IpAddress> peers;           // empty when removed
    std::set<IpAddress> previous_peers;  // empty when added
    bool operator==(const RouteChange&) const = default;
};

struct PeerChange {
    enum class Kind : std::uint8_t { tracked, resolved, unresolved, untracked };
    Kind kind = Kind::tracked;
    IpAddress peer;
    std::vector<UnderlayNexthop> underlay;  // when resolved (sorted, no duplicates)
    bool operator==(const PeerChange&) const = default;
};

using ModelChange = std::variant<RouteChange, PeerChange>;
using ModelChanges = std::vector<ModelChange>;

class RouteModel {
  public:
    enum class Resolution : std::uint8_t { unknown, unresolved, resolved };

    // D's next-hop set is now exactly `peers` (an empty set withdraws D).
    ModelChanges set_route(const Prefix& destination, const std::set<IpAddress>& peers);
    ModelChanges remove_route(const Prefix& destination);
    // NHT answer for a tracked peer: nullopt or an empty list means unresolved. Answers for
    // peers no route references any more are ignored (they raced an unregistration).
    ModelChanges set_resolution(const IpAddress& peer,
                                std::optional<std::vector<UnderlayNexthop>> underlay);

    void begin_resync();
    ModelChanges end_resync();
    [[nodiscard]] bool resyncing() const { return resyncing_; }

    [[nodiscard]] std::optional<std::set<IpAddress>> route(const Prefix& destination) const;
    [[nodiscard]] std::size_t route_count() const { return routes_.size(); }
    [[nodiscard]] std::vector<IpAddress> tracked_peers() const;
    [[nodiscard]] Resolution resolution(const IpAddress& peer) const;
    [[nodiscard]] std::optional<std::vector<UnderlayNexthop>> underlay(const IpAddress& peer) const;

  private:
    struct RouteEntry {
        std::set<IpAddress> peers;
        bool stale = false;
    };
    struct PeerEntry {
        std::size_t references = 0;
        Resolution resolution = Resolution::unknown;
        std::vector<UnderlayNexthop> underlay;
        bool stale = false;
    };

    void reference(const IpAddress& peer, ModelChanges& changes);
    void release(const IpAddress& peer, ModelChanges& changes);

    std::map<Prefix, RouteEntry> routes_;
    std::map<IpAddress, PeerEntry> peers_;
    bool resyncing_ = false;
};

}  // namespace mpsa::bgp_glue
