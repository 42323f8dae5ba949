// Where one group lives in the kernel of a CPE: its xfrm interface, if_id, overlay routing
// table and the priorities of its rules and policies. Everything derives from the group id, so
// a restarted daemon computes the same names and numbers and adopts what it finds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace mpsa::daemon {

// Rule priorities, inside xfrm::ownership's band [18000, 18999] so the reconciler owns them.
// The peer exclusion rules ("to P lookup main") come first so that packets addressed to a
// member's ESP address (ESP, IKE) always use the main table, whatever the overlay tables hold.
inline constexpr std::uint32_t kPeerExclusionRulePriority = 18000;
// "to <local prefix> lookup main": what this CPE reaches directly (its connected subnets, its own
// advertised prefixes) is never shadowed by an overlay route, e.g. a member's default route.
inline constexpr std::uint32_t kLocalExclusionRulePriority = 18100;
inline constexpr std::uint32_t kOverlayRulePriority = 18500;
inline constexpr std::uint32_t kMainTable = 254;
// XFRM policy priorities: lower wins. A longer prefix gets a lower value, so overlapping
// destinations learned via different peers resolve to the most specific one, like the FIB.
inline constexpr std::uint32_t kPolicyPriorityBase = 10000;
// Protected prefixes' block policies come after every learned destination, however short its
// prefix: a member's encrypted 0.0.0.0/0 still carries traffic to unlearned protected addresses
// (encrypted is what "protected" asks for); only traffic no learned policy covers is dropped.
inline constexpr std::uint32_t kProtectedPolicyPriority = kPolicyPriorityBase + 200;

struct GroupLayout {
    std::uint16_t group_id = 0;
    std::string interface_name;  // "mpsa<id>"
    std::uint32_t if_id = 0;     // xfrm::ownership::group_if_id(id)
    std::uint32_t table = 0;     // the overlay routing table (= if_id, see group_layout.cpp)
    std::uint32_t reqid = 0;     // of the group's SAs and templates (= if_id)

    friend bool operator==(const GroupLayout&, const GroupLayout&) = default;
};

enum class LayoutError { kGroupIdZero, kGroupIdTooLarge };
[[nodiscard]] std::string_view to_string(LayoutError error);

// Group ids are 1..65535 (config.hpp); 0 is refused so if_id never equals the band's base.
[[nodiscard]] tl::expected<GroupLayout, LayoutError> group_layout(std::uint32_t group_id);

// Policy priority for a selector prefix of `length` bits in a family of `max_length` bits.
[[nodiscard]] constexpr std::uint32_t policy_priority(unsigned length, unsigned max_length) {
    return kPolicyPriorityBase + (max_length - (length > max_length ? max_length : length));
}

}  // namespace mpsa::daemon
