#include "mpsa/daemon/group_layout.hpp"

#include <mpsa/xfrm/ownership.hpp>

namespace mpsa::daemon {

std::string_view to_string(LayoutError error) {
    switch (error) {
        case LayoutError::kGroupIdZero:
            return "group id 0 is not valid (1..65535)";
        case LayoutError::kGroupIdTooLarge:
            return "group id above 65535";
    }
    return "unknown layout error";
}

tl::expected<GroupLayout, LayoutError> group_layout(std::uint32_t group_id) {
    if (group_id == 0) return tl::unexpected(LayoutError::kGroupIdZero);
    if (group_id > 0xffff) return tl::unexpected(LayoutError::kGroupIdTooLarge);
    GroupLayout layout;
    layout.group_id = static_cast<std::uint16_t>(group_id);
    layout.interface_name = "mpsa" + std::to_string(group_id);
    layout.if_id = xfrm::ownership::group_if_id(layout.group_id);
    // The table number reuses the if_id: 32-bit tables are fine for RTA_TABLE, and the "mp"
    // prefix keeps them far away from the small numbers operators and FRR's VRFs use.
    layout.table = layout.if_id;
    // reqid ties templates to the group's SAs; strongSwan allocates small reqids from 1 up.
    layout.reqid = layout.if_id;
    return layout;
}

}  // namespace mpsa::daemon
