#include <mpsa/xfrm/diff.hpp>
#include <mpsa/xfrm/ownership.hpp>

namespace mpsa::xfrm {

namespace {

struct Collector {
    std::vector<Change> upserts;
    std::vector<Change> deletes;
    std::vector<Object>* conflicts;
};

// Keyed kinds: add missing keys, update differing values, delete owned keys nobody wants.
// A foreign object under a key we want is a conflict: replacing it would touch foreign state.
template <class Map>
std::vector<Change> diff_keyed(const Map& desired, const Map& actual, Collector& out) {
    for (const auto& [key, value] : desired) {
        const auto found = actual.find(key);
        if (found == actual.end()) {
            out.upserts.push_back({ChangeOp::kAdd, value});
        } else if (!ownership::owned(found->second)) {
            if (out.conflicts) out.conflicts->push_back(found->second);
        } else if (!satisfies(found->second, value)) {
            out.upserts.push_back({ChangeOp::kUpdate, value});
        }
    }
    std::vector<Change> deletes;
    for (const auto& [key, value] : actual) {
        if (ownership::owned(value) && !desired.contains(key)) {
            deletes.push_back({ChangeOp::kDelete, value});
        }
    }
    return deletes;
}

std::vector<Change> diff_rules(const std::set<Rule>& desired, const std::set<Rule>& actual,
                               Collector& out) {
    for (const auto& rule : desired) {
        if (!actual.contains(rule)) out.upserts.push_back({ChangeOp::kAdd, rule});
    }
    std::vector<Change> deletes;
    for (const auto& rule : actual) {
        if (ownership::owned(rule) && !desired.contains(rule)) {
            deletes.push_back({ChangeOp::kDelete, rule});
        }
    }
    return deletes;
}

}  // namespace

std::vector<Change> diff(const State& desired, const State& actual,
                         std::vector<Object>* conflicts) {
    Collector out{{}, {}, conflicts};
    auto interface_deletes = diff_keyed(desired.interfaces, actual.interfaces, out);
    auto sa_deletes = diff_keyed(desired.sas, actual.sas, out);
    auto policy_deletes = diff_keyed(desired.policies, actual.policies, out);
    auto route_deletes = diff_keyed(desired.routes, actual.routes, out);
    auto rule_deletes = diff_rules(desired.rules, actual.rules, out);

    std::vector<Change> changes = std::move(out.upserts);
    for (auto* deletes :
         {&rule_deletes, &route_deletes, &policy_deletes, &sa_deletes, &interface_deletes}) {
        for (auto& change : *deletes) changes.push_back(std::move(change));
    }
    return changes;
}

std::optional<std::string> validate(const State& desired) {
    auto check = [](const auto& value) -> std::optional<std::string> {
        if (ownership::owned(value)) return std::nullopt;
        return describe(Object{value}) + " is not tagged as owned by mpsa (see ownership.hpp)";
    };
    for (const auto& [key, value] : desired.interfaces) {
        if (auto error = check(value)) return error;
    }
    for (const auto& [key, value] : desired.sas) {
        if (auto error = check(value)) return error;
        if (!value.aead && !value.cipher) return describe(Object{value}) + " has no algorithm";
        if (value.aead && (value.cipher || value.auth)) {
            return describe(Object{value}) + " has both AEAD and cipher/auth";
        }
    }
    for (const auto& [key, value] : desired.policies) {
        if (auto error = check(value)) return error;
    }
    for (const auto& [key, value] : desired.routes) {
        if (auto error = check(value)) return error;
    }
    for (const auto& rule : desired.rules) {
        if (auto error = check(rule)) return error;
    }
    return std::nullopt;
}

void apply_to(State& state, const Change& change) {
    if (change.op == ChangeOp::kDelete) {
        state.remove(change.object);
    } else {
        state.add(change.object);
    }
}

bool satisfies(const Object& actual, const Object& desired) {
    const auto* want = std::get_if<XfrmInterface>(&desired);
    const auto* have = std::get_if<XfrmInterface>(&actual);
    if (want != nullptr && have != nullptr) {
        return want->name == have->name && want->if_id == have->if_id &&
               want->underlay == have->underlay && (want->mtu == 0 || want->mtu == have->mtu);
    }
    return actual == desired;
}

std::string describe(const Change& change) {
    const char* op = change.op == ChangeOp::kAdd      ? "add "
                     : change.op == ChangeOp::kUpdate ? "update "
                                                      : "delete ";
    return op + describe(change.object);
}

}  // namespace mpsa::xfrm
