// The pure part of the reconciler: desired state vs a kernel dump -> ordered changes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <mpsa/xfrm/objects.hpp>

namespace mpsa::xfrm {

enum class ChangeOp : std::uint8_t { kAdd, kUpdate, kDelete };

// kAdd/kUpdate carry the desired object, kDelete the kernel's. Updating an SA means delete and
// add again: the kernel cannot change an SA's algorithms or keys in place.
struct Change {
    ChangeOp op = ChangeOp::kAdd;
    Object object;
};

// Changes that take `actual` to `desired`, looking only at owned objects of `actual`:
//  1. adds and updates, make-before-break: interfaces, SAs, policies, routes, rules (so a
//     policy's SA exists before the policy, and a route into the overlay only after its policy);
//  2. then deletes in the reverse order: rules, routes, policies, SAs, interfaces (traffic stops
//     being routed to the overlay before its policy goes: fail closed).
// Within one kind, changes follow key order, so the result is deterministic.
// A foreign object under a key we want (e.g. an operator's route with the same table, prefix and
// metric) is left alone and reported in `conflicts`.
[[nodiscard]] std::vector<Change> diff(const State& desired, const State& actual,
                                       std::vector<Object>* conflicts = nullptr);

// A desired state must consist of owned objects only, or the diff could never delete them again.
// Returns a description of the first offending object.
[[nodiscard]] std::optional<std::string> validate(const State& desired);

// Applies changes to a state the way the kernel would (for the fake kernel and the reconciler's
// model of what it has installed).
void apply_to(State& state, const Change& change);

[[nodiscard]] std::string describe(const Change& change);

// Whether the kernel's object fulfils the desired one: equality, except that an interface's MTU
// of 0 accepts whatever the kernel chose.
[[nodiscard]] bool satisfies(const Object& actual, const Object& desired);
template <class T>
[[nodiscard]] bool satisfies(const T& actual, const T& desired) {
    return satisfies(Object{actual}, Object{desired});
}

}  // namespace mpsa::xfrm
