#include "mpsa/bgp_glue/route_model.hpp"

#include <algorithm>

namespace mpsa::bgp_glue {

void RouteModel::reference(const IpAddress& peer, ModelChanges& changes) {
    PeerEntry& entry = peers_[peer];
    if (entry.references++ == 0) {
        changes.emplace_back(PeerChange{PeerChange::Kind::tracked, peer, {}});
    }
}

void RouteModel::release(const IpAddress& peer, ModelChanges& changes) {
    auto it = peers_.find(peer);
    if (it == peers_.end()) return;
    if (--it->second.references == 0) {
        peers_.erase(it);
        changes.emplace_back(PeerChange{PeerChange::Kind::untracked, peer, {}});
    }
}

ModelChanges RouteModel::set_route(const Prefix& destination, const std::set<IpAddress>& peers) {
    if (peers.empty()) return remove_route(destination);
    ModelChanges changes;
    auto it = routes_.find(destination);
    if (it == routes_.end()) {
        for (const IpAddress& peer : peers) reference(peer, changes);
        routes_.emplace(destination, RouteEntry{peers, false});
        changes.emplace_back(RouteChange{RouteChange::Kind::added, destination, peers, {}});
        return changes;
    }
    RouteEntry& entry = it->second;
    entry.stale = false;
    if (entry.peers == peers) return changes;
    // Reference the new peers before releasing the old ones so a peer kept across the change
    // is never untracked in between.
    for (const IpAddress& peer : peers) {
        if (!entry.peers.contains(peer)) reference(peer, changes);
    }
    std::set<IpAddress> previous = std::move(entry.peers);
    entry.peers = peers;
    changes.emplace_back(RouteChange{RouteChange::Kind::changed, destination, peers, previous});
    for (const IpAddress& peer : previous) {
        if (!peers.contains(peer)) release(peer, changes);
    }
    return changes;
}

ModelChanges RouteModel::remove_route(const Prefix& destination) {
    ModelChanges changes;
    auto it = routes_.find(destination);
    if (it == routes_.end()) return changes;
    std::set<IpAddress> previous = std::move(it->second.peers);
    routes_.erase(it);
    changes.emplace_back(RouteChange{RouteChange::Kind::removed, destination, {}, previous});
    for (const IpAddress& peer : previous) release(peer, changes);
    return changes;
}

ModelChanges RouteModel::set_resolution(const IpAddress& peer,
                                        std::optional<std::vector<UnderlayNexthop>> underlay) {
    ModelChanges changes;
    auto it = peers_.find(peer);
    if (it == peers_.end()) return changes;
    PeerEntry& entry = it->second;
    entry.stale = false;
    if (!underlay || underlay->empty()) {
        if (entry.resolution != Resolution::unresolved) {
            entry.resolution = Resolution::unresolved;
            entry.underlay.clear();
            changes.emplace_back(PeerChange{PeerChange::Kind::unresolved, peer, {}});
        }
        return changes;
    }
    std::vector<UnderlayNexthop> sorted = std::move(*underlay);
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    if (entry.resolution == Resolution::resolved && entry.underlay == sorted) return changes;
    entry.resolution = Resolution::resolved;
    entry.underlay = sorted;
    changes.emplace_back(PeerChange{PeerChange::Kind::resolved, peer, std::move(sorted)});
    return changes;
}

void RouteModel::begin_resync() {
    resyncing_ = true;
    for (auto& [prefix, entry] : routes_) entry.stale = true;
    for (auto& [peer, entry] : peers_) entry.stale = true;
}

ModelChanges RouteModel::end_resync() {
    ModelChanges changes;
    if (!resyncing_) return changes;
    resyncing_ = false;
    std::vector<Prefix> stale_routes;
    for (const auto& [prefix, entry] : routes_) {
        if (entry.stale) stale_routes.push_back(prefix);
    }
    for (const Prefix& prefix : stale_routes) {
        ModelChanges removed = remove_route(prefix);
        changes.insert(changes.end(), removed.begin(), removed.end());
    }
    // A surviving peer whose resolution zebra did not confirm is no longer known to be reachable.
    for (auto& [peer, entry] : peers_) {
        if (!entry.stale) continue;
        entry.stale = false;
        if (entry.resolution == Resolution::resolved) {
            entry.resolution = Resolution::unresolved;
            entry.underlay.clear();
            changes.emplace_back(PeerChange{PeerChange::Kind::unresolved, peer, {}});
        }
    }
    return changes;
}

std::optional<std::set<IpAddress>> RouteModel::route(const Prefix& destination) const {
    auto it = routes_.find(destination);
    if (it == routes_.end()) return std::nullopt;
    return it->second.peers;
}

std::vector<IpAddress> RouteModel::tracked_peers() const {
    std::vector<IpAddress> out;
    out.reserve(peers_.size());
    for (const auto& [peer, entry] : peers_) out.push_back(peer);
    return out;
}

RouteModel::Resolution RouteModel::resolution(const IpAddress& peer) const {
    auto it = peers_.find(peer);
    return it == peers_.end() ? Resolution::unknown : it->second.resolution;
}

std::optional<std::vector<UnderlayNexthop>> RouteModel::underlay(const IpAddress& peer) const {
    auto it = peers_.find(peer);
    if (it == peers_.end() || it->second.resolution != Resolution::resolved) return std::nullopt;
    return it->second.underlay;
}

}  // namespace mpsa::bgp_glue
