// The narrow interface between the reconciler and the kernel, so the reconciler's logic is
// tested on a fake kernel as well as on the real one.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include <tl/expected.hpp>

#include <mpsa/xfrm/diff.hpp>
#include <mpsa/xfrm/error.hpp>
#include <mpsa/xfrm/objects.hpp>

namespace mpsa::xfrm {

// An object appeared or disappeared (a netlink notification, decoded).
struct KernelEvent {
    enum class Kind : std::uint8_t { kNew, kDelete };
    Kind kind = Kind::kNew;
    Object object;
};

class Kernel {
  public:
    virtual ~Kernel() = default;
    // Everything the kernel holds of the kinds we manage, owned or not.
    [[nodiscard]] virtual tl::expected<State, Error> dump() = 0;
    // Applies changes in order; one result per change (nullopt: done). Deleting something that
    // is already gone counts as done.
    [[nodiscard]] virtual std::vector<std::optional<Error>> apply(
        std::span<const Change> changes) = 0;
};

}  // namespace mpsa::xfrm
