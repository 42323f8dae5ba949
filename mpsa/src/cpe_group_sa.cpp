#include "mpsa/mpsa/cpe_group_sa.hpp"

#include <algorithm>
#include <set>
#include <utility>

namespace mpsa::mpsa {

CpeGroupSaLifecycle::CpeGroupSaLifecycle(const Clock& clock, CpeLifecycleConfig config)
    : clock_(clock), config_(config), evaluated_until_(clock.now()) {}

tl::expected<PutDisposition, KeymatError> CpeGroupSaLifecycle::on_mpsa_put(const MpsaPut& put) {
    const TimePoint now = clock_.now();
    process_until(now);  // bring state up to date before judging "older" and "first"
    if (sas_.contains(put.spi)) return PutDisposition::kDuplicate;
    auto keys = derive_group_sa_keys(put);
    if (!keys) return tl::unexpected(keys.error());

    CpeGroupSa sa;
    sa.spi = put.spi;
    sa.suite = put.suite;
    sa.keys = std::move(*keys);
    sa.nonce = put.nonce;
    sa.sk_d = put.sk_d;
    sa.received_at = now;
    sa.expires_at = now + std::chrono::seconds(put.lifetime_s);
    // ROLL1 only delays the switch away from an SA in use; with none, use the new one at once.
    sa.outbound_at = sas_.empty() ? now : now + std::chrono::seconds(put.roll1_s);
    const TimePoint removal = now + std::chrono::seconds(put.roll2_s);
    for (auto& [spi, older] : sas_) {
        if (older.expires_at >= sa.expires_at) continue;  // not older than the new SA
        if (!older.inbound_removal_at || removal < *older.inbound_removal_at)
            older.inbound_removal_at = removal;
    }
    sas_.emplace(put.spi, std::move(sa));
    events_.push_back({CpeEventKind::kInstalled, put.spi});
    evaluate_at(now);
    return PutDisposition::kInstalled;
}

std::vector<CpeEvent> CpeGroupSaLifecycle::advance() {
    process_until(clock_.now());
    return std::exchange(events_, {});
}

void CpeGroupSaLifecycle::process_until(TimePoint now) {
    // Visit every deadline in between in order, so events come out in time order even when the
    // clock jumped over several of them.
    std::set<TimePoint> due;
    for (const auto& [spi, sa] : sas_) {
        for (TimePoint t : {sa.outbound_at, sa.end_at(), reauth_time(sa)})
            if (t > evaluated_until_ && t <= now) due.insert(t);
    }
    for (TimePoint t : due) evaluate_at(t);
    evaluate_at(now);
}

void CpeGroupSaLifecycle::evaluate_at(TimePoint t) {
    if (t > evaluated_until_) evaluated_until_ = t;
    // Removals first (in SPI order for determinism), then the outbound choice, then re-auth.
    for (auto it = sas_.begin(); it != sas_.end();) {
        const CpeGroupSa& sa = it->second;
        if (sa.end_at() <= t) {
            const bool expired = sa.expires_at <= t;
            events_.push_back(
                {expired ? CpeEventKind::kExpired : CpeEventKind::kRolledOver, sa.spi});
            it = sas_.erase(it);
        } else {
            ++it;
        }
    }
    const auto outbound = outbound_at(t);
    if (outbound != outbound_) {
        outbound_ = outbound;
        events_.push_back({CpeEventKind::kOutboundChanged, outbound.value_or(0)});
    }
    if (const CpeGroupSa* n = newest(); n && !n->reauth_requested && reauth_time(*n) <= t) {
        sas_.at(n->spi).reauth_requested = true;
        events_.push_back({CpeEventKind::kReauthNeeded, n->spi});
    }
}

std::optional<std::uint32_t> CpeGroupSaLifecycle::outbound_at(TimePoint t) const {
    const CpeGroupSa* best = nullptr;
    for (const auto& [spi, sa] : sas_) {
        if (sa.outbound_at > t) continue;
        if (!best || sa.expires_at > best->expires_at) best = &sa;
    }
    if (!best) return std::nullopt;
    return best->spi;
}

const CpeGroupSa* CpeGroupSaLifecycle::newest() const {
    const CpeGroupSa* best = nullptr;
    for (const auto& [spi, sa] : sas_)
        if (!best || sa.expires_at > best->expires_at) best = &sa;
    return best;
}

TimePoint CpeGroupSaLifecycle::reauth_time(const CpeGroupSa& sa) const {
    return sa.expires_at - config_.reauth_margin;
}

DesiredGroupSas CpeGroupSaLifecycle::desired() const {
    DesiredGroupSas d;
    for (const auto& [spi, sa] : sas_) d.inbound_spis.push_back(spi);
    d.outbound_spi = outbound_;
    return d;
}

const CpeGroupSa* CpeGroupSaLifecycle::find(std::uint32_t spi) const {
    const auto it = sas_.find(spi);
    return it == sas_.end() ? nullptr : &it->second;
}

CpeGroupSaState CpeGroupSaLifecycle::state() const {
    return CpeGroupSaState{sas_, outbound_, evaluated_until_};
}

void CpeGroupSaLifecycle::adopt(CpeGroupSaState state) {
    sas_ = std::move(state.sas);
    outbound_ = state.outbound_spi;
    evaluated_until_ = state.evaluated_until;
    events_.clear();
}

std::optional<TimePoint> CpeGroupSaLifecycle::next_deadline() const {
    std::optional<TimePoint> next;
    for (const auto& [spi, sa] : sas_) {
        for (TimePoint t : {sa.outbound_at, sa.end_at(), reauth_time(sa)}) {
            if (t <= evaluated_until_) continue;
            if (t == reauth_time(sa) && sa.reauth_requested) continue;
            if (!next || t < *next) next = t;
        }
    }
    return next;
}

}  // namespace mpsa::mpsa
