// Which kernel objects belong to mpsa. The reconciler only ever updates or deletes objects that
// carry one of these tags; everything else (strongSwan's SAs and policies, an operator's routes
// and rules, the kernel's own) is invisible to the diff and survives apply, resync and shutdown.
//
//  - XFRM SAs and policies: if_id in [kIfIdMin, kIfIdMax]. One group = one if_id =
//    kIfIdMin + group number; strongSwan leaves if_id at 0 unless configured, and operators are
//    told to keep their if_ids out of this range.
//  - xfrm interfaces: kind "xfrm" with an owned if_id.
//  - Routes: rtm_protocol == kRouteProtocol (165, 0xa5: not in /etc/iproute2/rt_protos nor
//    FRR's rt_protos.d, which use 0-18, 42, 99 and 186-197). Foreign routes in our tables stay.
//  - Rules: FRA_PROTOCOL == kRouteProtocol and priority in [kRulePriorityMin, kRulePriorityMax]
//    (between strongSwan's 220 and the kernel's main rule at 32766).
#pragma once

#include <cstdint>

#include <mpsa/xfrm/objects.hpp>

namespace mpsa::xfrm::ownership {

inline constexpr std::uint32_t kIfIdMin = 0x6d700000;  // "mp" in the top bytes
inline constexpr std::uint32_t kIfIdMax = 0x6d70ffff;
inline constexpr std::uint8_t kRouteProtocol = kMpsaRouteProtocol;
inline constexpr std::uint32_t kRulePriorityMin = 18000;
inline constexpr std::uint32_t kRulePriorityMax = 18999;

[[nodiscard]] constexpr bool owned_if_id(std::uint32_t if_id) {
    return if_id >= kIfIdMin && if_id <= kIfIdMax;
}
[[nodiscard]] constexpr std::uint32_t group_if_id(std::uint16_t group) {
    return kIfIdMin + group;
}

[[nodiscard]] inline bool owned(const XfrmInterface& interface) {
    return owned_if_id(interface.if_id);
}
[[nodiscard]] inline bool owned(const Sa& sa) {
    return owned_if_id(sa.if_id);
}
[[nodiscard]] inline bool owned(const Policy& policy) {
    return owned_if_id(policy.if_id);
}
[[nodiscard]] inline bool owned(const Route& route) {
    return route.protocol == kRouteProtocol;
}
[[nodiscard]] inline bool owned(const Rule& rule) {
    return rule.protocol == kRouteProtocol && rule.priority >= kRulePriorityMin &&
           rule.priority <= kRulePriorityMax;
}
[[nodiscard]] bool owned(const Object& object);

// The owned subset of a state (what a dump returns that the reconciler may touch).
[[nodiscard]] State owned_subset(const State& state);

}  // namespace mpsa::xfrm::ownership
