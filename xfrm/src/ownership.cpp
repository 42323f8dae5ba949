#include <mpsa/xfrm/ownership.hpp>

namespace mpsa::xfrm::ownership {

bool owned(const Object& object) {
    return std::visit([](const auto& value) { return owned(value); }, object);
}

State owned_subset(const State& state) {
    State subset;
    for (const auto& [key, value] : state.interfaces) {
        if (owned(value)) subset.interfaces.emplace(key, value);
    }
    for (const auto& [key, value] : state.sas) {
        if (owned(value)) subset.sas.emplace(key, value);
    }
    for (const auto& [key, value] : state.policies) {
        if (owned(value)) subset.policies.emplace(key, value);
    }
    for (const auto& [key, value] : state.routes) {
        if (owned(value)) subset.routes.emplace(key, value);
    }
    for (const auto& rule : state.rules) {
        if (owned(rule)) subset.rules.insert(rule);
    }
    return subset;
}

}  // namespace mpsa::xfrm::ownership
