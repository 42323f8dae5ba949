#include <cerrno>

#include <mpsa/xfrm/ownership.hpp>
#include <mpsa/xfrm/reconciler.hpp>

namespace mpsa::xfrm {

namespace {

// Whether `state` holds exactly this object (same key and same value).
bool holds(const State& state, const Object& object) {
    return std::visit(
        [&state](const auto& value) -> bool {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, XfrmInterface>) {
                auto found = state.interfaces.find(value.name);
                return found != state.interfaces.end() && satisfies(value, found->second);
            } else if constexpr (std::is_same_v<T, Sa>) {
                auto found = state.sas.find(value.key());
                return found != state.sas.end() && satisfies(value, found->second);
            } else if constexpr (std::is_same_v<T, Policy>) {
                auto found = state.policies.find(value.key());
                return found != state.policies.end() && satisfies(value, found->second);
            } else if constexpr (std::is_same_v<T, Route>) {
                auto found = state.routes.find(value.key());
                return found != state.routes.end() && satisfies(value, found->second);
            } else {
                return state.rules.contains(value);
            }
        },
        object);
}

// Copies the object stored in `from` under the key of `key` into `to`, if there is one.
void copy_key(const State& from, const Object& key, State& to) {
    std::visit(
        [&](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, XfrmInterface>) {
                if (auto found = from.interfaces.find(value.name); found != from.interfaces.end()) {
                    to.interfaces.insert_or_assign(found->first, found->second);
                }
            } else if constexpr (std::is_same_v<T, Sa>) {
                if (auto found = from.sas.find(value.key()); found != from.sas.end()) {
                    to.sas.insert_or_assign(found->first, found->second);
                }
            } else if constexpr (std::is_same_v<T, Policy>) {
                if (auto found = from.policies.find(value.key()); found != from.policies.end()) {
                    to.policies.insert_or_assign(found->first, found->second);
                }
            } else if constexpr (std::is_same_v<T, Route>) {
                State normalised;
                normalised.add(value);  // IPv6 metric 0 -> 1024, as stored
                const auto& route = normalised.routes.begin()->second;
                if (auto found = from.routes.find(route.key()); found != from.routes.end()) {
                    to.routes.insert_or_assign(found->first, found->second);
                }
            } else {
                State normalised;
                normalised.add(value);
                const auto& rule = *normalised.rules.begin();
                if (from.rules.contains(rule)) to.rules.insert(rule);
            }
        },
        key);
}

}  // namespace

Reconciler::Reconciler(Kernel& kernel, Timer& timer, ReconcilerOptions options)
    : kernel_(kernel), timer_(timer), options_(options) {}

tl::expected<ApplyReport, Error> Reconciler::apply(const State& desired) {
    if (auto invalid = validate(desired)) return tl::unexpected(Error{EINVAL, *invalid});
    desired_ = desired;
    ++counters_.full_applies;
    auto actual = kernel_.dump();
    if (!actual) {
        request_resync();
        return tl::unexpected(actual.error());
    }
    // Adopt: whatever of ours the kernel holds is our model from now on; nothing is flushed.
    installed_ = ownership::owned_subset(*actual);
    have_model_ = true;
    std::vector<Object> conflicts;
    auto report = execute(diff(desired, *actual, &conflicts));
    for (auto& conflict : conflicts) {
        report.failures.push_back({Change{ChangeOp::kAdd, conflict},
                                   Error{EEXIST, "a foreign object holds the key of " +
                                                     describe(conflict) + ": left alone"}});
    }
    return report;
}

tl::expected<ApplyReport, Error> Reconciler::update(const State& desired) {
    if (!have_model_) return apply(desired);
    if (auto invalid = validate(desired)) return tl::unexpected(Error{EINVAL, *invalid});
    desired_ = desired;
    ++counters_.incremental_updates;
    return execute(diff(desired, installed_));
}

tl::expected<ApplyReport, Error> Reconciler::change(const std::vector<Object>& upserts,
                                                    const std::vector<Object>& removals) {
    State subset;
    for (const auto& object : upserts) subset.add(object);
    if (auto invalid = validate(subset)) return tl::unexpected(Error{EINVAL, *invalid});
    if (!have_model_) {
        State desired = desired_.value_or(State{});
        for (const auto& object : removals) desired.remove(object);
        for (const auto& object : upserts) desired.add(object);
        return apply(desired);
    }
    ++counters_.incremental_updates;
    auto& target = *desired_;
    for (const auto& object : removals) target.remove(object);
    for (const auto& object : upserts) target.add(object);
    // Diff only the affected keys: what we want there now against what we installed there.
    State wanted;
    State have;
    for (const auto* list : {&upserts, &removals}) {
        for (const auto& object : *list) {
            copy_key(target, object, wanted);
            copy_key(installed_, object, have);
        }
    }
    return execute(diff(wanted, have));
}

ApplyReport Reconciler::execute(const std::vector<Change>& changes) {
    ApplyReport report;
    report.changes = changes.size();
    if (changes.empty()) return report;
    const auto results = kernel_.apply(changes);
    for (std::size_t i = 0; i < changes.size(); ++i) {
        const bool failed = i >= results.size() || results[i].has_value();
        if (!failed) {
            apply_to(installed_, changes[i]);
            ++counters_.changes_applied;
            continue;
        }
        ++counters_.changes_failed;
        report.failures.push_back(
            {changes[i], i < results.size() ? *results[i] : Error{0, "no result from kernel"}});
    }
    // The model may now be wrong in ways we cannot see (e.g. half of an SA update): look again.
    if (!report.failures.empty()) request_resync();
    return report;
}

void Reconciler::observe(const KernelEvent& event) {
    if (!have_model_ || !ownership::owned(event.object)) return;
    const bool known = holds(installed_, event.object);
    // Our own changes come back as events matching the model: a new object we hold, or a
    // deleted one we no longer hold. Anything else was done by someone else.
    const bool ours = event.kind == KernelEvent::Kind::kNew ? known : !known;
    if (!ours) request_resync();
}

void Reconciler::request_resync() {
    if (resync_pending_) return;
    resync_pending_ = true;
    ++counters_.resyncs_scheduled;
    timer_.start(options_.resync_delay, [this] { run_resync(); });
}

void Reconciler::run_resync() {
    resync_pending_ = false;
    ++counters_.resyncs_run;
    if (desired_) {
        const State desired = *desired_;
        (void)apply(desired);  // failures schedule the next attempt themselves
    }
}

}  // namespace mpsa::xfrm
