#include "mpsa/mpsa/group_manager.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace mpsa::mpsa {
namespace {

using std::chrono::seconds;

constexpr std::size_t kDistributionSamples = 8;
constexpr int kSpiAttempts = 16;
// ROLL1 is this many times the slowest recent distribution: a margin for jitter and for members
// that needed a retransmission.
constexpr int kRoll1SafetyFactor = 2;
constexpr Duration kRetryGenerationAfter = seconds(1);

seconds ceil_seconds(Duration d) {
    if (d <= Duration::zero()) return seconds(0);
    return std::chrono::ceil<seconds>(d);
}

}  // namespace

bool identity_matches(std::string_view pattern, std::string_view identity) {
    // Iterative glob with backtracking to the last '*'.
    std::size_t p = 0, s = 0, star = std::string_view::npos, mark = 0;
    while (s < identity.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == identity[s])) {
            ++p;
            ++s;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = s;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            s = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

tl::expected<void, GroupError> validate(const GroupConfig& c) {
    if (c.name.empty()) return tl::unexpected(GroupError::kEmptyName);
    if (c.member_patterns.empty()) return tl::unexpected(GroupError::kNoMemberPatterns);
    if (!validate_suite(c.suite, c.suite_policy)) return tl::unexpected(GroupError::kSuiteRejected);
    const auto max_lifetime = seconds(std::numeric_limits<std::uint32_t>::max());
    if (c.roll1 < seconds(0) || c.roll1 > c.roll2 || c.roll2 >= c.rekey_margin ||
        c.rekey_margin >= c.lifetime || c.lifetime > max_lifetime ||
        c.min_rekey_interval < seconds(0))
        return tl::unexpected(GroupError::kBadTimes);
    if (c.nonce_size < kMinNonceSize || c.nonce_size > kMaxNonceSize)
        return tl::unexpected(GroupError::kBadNonceSize);
    if (c.retransmit_timeout <= Duration::zero() || c.max_attempts == 0)
        return tl::unexpected(GroupError::kBadRetransmission);
    return {};
}

std::string_view to_string(GroupError error) {
    switch (error) {
        case GroupError::kEmptyName:
            return "group name is empty";
        case GroupError::kDuplicateName:
            return "group name already used";
        case GroupError::kNoMemberPatterns:
            return "group has no member identities";
        case GroupError::kSuiteRejected:
            return "suite rejected (AES-GCM needs explicit opt-in)";
        case GroupError::kBadTimes:
            return "need roll1 <= roll2 < rekey_margin < lifetime <= 2^32-1 s";
        case GroupError::kBadNonceSize:
            return "nonce size outside 16..256";
        case GroupError::kBadRetransmission:
            return "bad retransmission settings";
        case GroupError::kRandomFailed:
            return "random number generator failed";
        case GroupError::kUnknownGroup:
            return "unknown group";
        case GroupError::kBadAdoptedSa:
            return "persisted group SA not adoptable (expired, malformed or SPI in use)";
    }
    return "unknown group error";
}

GatewayGroupManager::GatewayGroupManager(const Clock& clock, RandomSource& random,
                                         MpsaPutSender& sender)
    : clock_(clock), random_(random), sender_(sender) {}

tl::expected<void, GroupError> GatewayGroupManager::add_group(GroupConfig config) {
    if (auto ok = validate(config); !ok) return ok;
    if (find_group(config.name)) return tl::unexpected(GroupError::kDuplicateName);
    const TimePoint now = clock_.now();
    Group group;
    group.config = std::move(config);
    // Draft 3.3.1: the SA exists before any member connects.
    auto sa = generate_sa(group, now);
    if (!sa) return tl::unexpected(GroupError::kRandomFailed);
    group.current = std::move(*sa);
    group.last_rekey_at = now;
    groups_.push_back(std::move(group));
    Group& added = groups_.back();
    // Members already connected whose identity matches join now.
    for (const auto& entry : members_) {
        const std::string& identity = entry.second.identity;
        if (std::any_of(added.config.member_patterns.begin(), added.config.member_patterns.end(),
                        [&](const std::string& p) { return identity_matches(p, identity); }))
            push_to_member(added, entry.first, now);
    }
    return {};
}

tl::expected<void, GroupError> GatewayGroupManager::remove_group(std::string_view name) {
    const auto it = std::find_if(groups_.begin(), groups_.end(),
                                 [&](const Group& g) { return g.config.name == name; });
    if (it == groups_.end()) return tl::unexpected(GroupError::kUnknownGroup);
    std::erase_if(handles_, [&](const auto& h) { return h.second.group == name; });
    groups_.erase(it);
    return {};
}

GatewayGroupManager::Group* GatewayGroupManager::find_group(std::string_view name) {
    for (auto& g : groups_)
        if (g.config.name == name) return &g;
    return nullptr;
}

const GatewayGroupManager::Group* GatewayGroupManager::find_group(std::string_view name) const {
    for (const auto& g : groups_)
        if (g.config.name == name) return &g;
    return nullptr;
}

bool GatewayGroupManager::spi_in_use(std::uint32_t spi) const {
    // Unique across groups too: a CPE in several groups keys its inbound SAs by SPI.
    return std::any_of(groups_.begin(), groups_.end(), [spi](const Group& g) {
        return (g.current && g.current->spi == spi) || (g.next && g.next->spi == spi);
    });
}

std::chrono::seconds GatewayGroupManager::roll1_for(const Group& group) const {
    Duration worst = Duration::zero();
    for (Duration d : group.distribution_samples) worst = std::max(worst, d);
    const seconds measured = ceil_seconds(worst * kRoll1SafetyFactor);
    // Bounded so a pathological measurement cannot push the rollover past the Lifetime.
    return std::min(std::max(group.config.roll1, measured), group.config.lifetime / 4);
}

std::optional<GatewayGroupManager::GroupSa> GatewayGroupManager::generate_sa(const Group& group,
                                                                             TimePoint now) {
    GroupSa sa;
    for (int attempt = 0; attempt < kSpiAttempts && sa.spi == 0; ++attempt) {
        std::array<std::uint8_t, 4> raw{};
        if (!random_.fill(raw)) return std::nullopt;
        const std::uint32_t spi = (static_cast<std::uint32_t>(raw[0]) << 24) |
                                  (static_cast<std::uint32_t>(raw[1]) << 16) |
                                  (static_cast<std::uint32_t>(raw[2]) << 8) | raw[3];
        if (spi >= 256 && !spi_in_use(spi)) sa.spi = spi;  // 1..255 are reserved (RFC 4303)
    }
    if (sa.spi == 0) return std::nullopt;
    sa.suite = group.config.suite;
    sa.nonce.resize(group.config.nonce_size);
    if (!random_.fill(sa.nonce)) return std::nullopt;
    sa.sk_d = ike::SecretBytes(ike::prf_key_length(group.config.suite.prf));
    if (!random_.fill({sa.sk_d.data(), sa.sk_d.size()})) return std::nullopt;
    sa.created_at = now;
    sa.expires_at = now + group.config.lifetime;
    sa.roll1 = roll1_for(group);
    sa.roll2 = sa.roll1 + (group.config.roll2 - group.config.roll1);
    return sa;
}

TimePoint GatewayGroupManager::lifetime_rekey_at(const Group& group) const {
    // Start early enough for a whole rollover (ROLL1 then ROLL2) before the current SA expires.
    const seconds roll1 = roll1_for(group);
    const seconds roll2 = roll1 + (group.config.roll2 - group.config.roll1);
    return group.current->expires_at - std::max(group.config.rekey_margin, roll1 + roll2);
}

std::optional<MpsaPut> GatewayGroupManager::put_for(const Group& group, const GroupSa& sa,
                                                    TimePoint now) const {
    const auto left = std::chrono::floor<seconds>(sa.expires_at - now);
    if (left < seconds(1)) return std::nullopt;
    MpsaPut put;
    put.spi = sa.spi;
    put.suite = sa.suite;  // what the SA was generated with, even after a config change
    put.nonce = sa.nonce;
    put.sk_d = sa.sk_d;
    put.lifetime_s = static_cast<std::uint32_t>(left.count());
    // Outside its own rollover an SA is the one every member already uses: a member still
    // holding an older SA (it reconnected) switches at once, as the others did long ago.
    seconds roll1{0};
    seconds roll2{0};
    if (group.next && group.next->spi == sa.spi) {
        // Rollover in progress: members switch at the same absolute times whenever they got it.
        roll1 = ceil_seconds(sa.created_at + sa.roll1 - now);
        roll2 = ceil_seconds(sa.created_at + sa.roll2 - now);
    }
    roll1 = std::min(roll1, left - seconds(1));
    roll2 = std::max(roll1, roll2);
    put.roll1_s = static_cast<std::uint32_t>(roll1.count());
    put.roll2_s = static_cast<std::uint32_t>(roll2.count());
    return put;
}

const GatewayGroupManager::GroupSa* GatewayGroupManager::sa_by_spi(const Group& group,
                                                                   std::uint32_t spi) const {
    if (group.current && group.current->spi == spi) return &*group.current;
    if (group.next && group.next->spi == spi) return &*group.next;
    return nullptr;
}

void GatewayGroupManager::rekey(Group& group, TimePoint now) {
    if (group.next) return;  // one rollover at a time; callers defer to its end
    auto sa = generate_sa(group, now);
    if (!sa) {
        group.retry_rekey_at = now + kRetryGenerationAfter;
        return;
    }
    group.retry_rekey_at.reset();
    group.pending_rekey_at.reset();
    group.pending_leavers.clear();
    group.pending_rekey_forced = false;
    group.last_rekey_at = now;
    ++group.rekeys;
    const std::uint32_t spi = sa->spi;
    if (!group.current || group.current->expires_at <= now) {
        group.current = std::move(*sa);  // nothing left to roll over from
    } else {
        group.next = std::move(*sa);
    }
    drop_stale_deliveries(group);
    group.distribution = Distribution{now, spi, {}, std::nullopt};
    for (auto& [member, deliveries] : group.deliveries) {
        group.distribution->awaiting.insert(member);
        send(group, member, spi, deliveries[spi], now);
    }
    finish_distribution_if_done(group);
}

void GatewayGroupManager::send(Group& group, std::uint64_t member, std::uint32_t spi,
                               Delivery& delivery, TimePoint now) {
    const GroupSa* sa = sa_by_spi(group, spi);
    const auto m = members_.find(member);
    auto put = sa ? put_for(group, *sa, now) : std::nullopt;
    if (!put || m == members_.end()) {
        delivery.state = DeliveryState::kFailed;  // SA gone or about to expire: nothing to send
        delivery.handle.reset();
        return;
    }
    if (delivery.attempts > 0) ++retransmitted_puts_;
    ++delivery.attempts;
    delivery.deadline = now + group.config.retransmit_timeout;
    delivery.handle = sender_.send_mpsa_put(m->second.ike_sa, *put);
    if (delivery.handle) {
        delivery.state = DeliveryState::kInFlight;
        handles_[*delivery.handle] = HandleTarget{group.config.name, member, spi};
    } else {
        delivery.state = DeliveryState::kAwaitingRetry;
    }
}

void GatewayGroupManager::retry_or_fail(Group& group, std::uint64_t member, std::uint32_t spi,
                                        Delivery& delivery, TimePoint now) {
    if (delivery.attempts < group.config.max_attempts) {
        send(group, member, spi, delivery, now);
        return;
    }
    delivery.state = DeliveryState::kFailed;
    delivery.handle.reset();
    ++group.failed_deliveries;
    if (group.distribution && group.distribution->spi == spi) {
        group.distribution->awaiting.erase(member);
        finish_distribution_if_done(group);
    }
}

void GatewayGroupManager::push_to_member(Group& group, std::uint64_t member, TimePoint now) {
    auto& deliveries = group.deliveries[member];
    // Current first, then the next SA of a rollover in progress, so a joiner ends up like
    // every other member.
    for (const GroupSa* sa :
         {group.current ? &*group.current : nullptr, group.next ? &*group.next : nullptr}) {
        if (!sa) continue;
        Delivery& d = deliveries[sa->spi];
        if (d.state == DeliveryState::kAcked || d.state == DeliveryState::kInFlight) continue;
        d.attempts = 0;
        send(group, member, sa->spi, d, now);
    }
}

void GatewayGroupManager::finish_distribution_if_done(Group& group) {
    if (!group.distribution || !group.distribution->awaiting.empty()) return;
    if (group.distribution->last_ack) {
        group.distribution_samples.push_back(*group.distribution->last_ack -
                                             group.distribution->started);
        if (group.distribution_samples.size() > kDistributionSamples)
            group.distribution_samples.pop_front();
    }
    group.distribution.reset();
}

void GatewayGroupManager::drop_stale_deliveries(Group& group) {
    for (auto& [member, deliveries] : group.deliveries)
        std::erase_if(deliveries, [&](const auto& d) { return !sa_by_spi(group, d.first); });
    std::erase_if(handles_, [&](const auto& h) {
        return h.second.group == group.config.name && !sa_by_spi(group, h.second.spi);
    });
}

void GatewayGroupManager::on_ike_sa_up(IkeSaId ike_sa, std::string_view identity,
                                       bool peer_sent_mpsa_vendor_id) {
    if (!peer_sent_mpsa_vendor_id || member_by_ike_sa_.contains(ike_sa)) return;
    const TimePoint now = clock_.now();
    const std::uint64_t id = next_member_id_++;
    members_[id] = Member{ike_sa, std::string(identity)};
    member_by_ike_sa_[ike_sa] = id;
    for (auto& group : groups_) {
        const auto& patterns = group.config.member_patterns;
        if (std::none_of(patterns.begin(), patterns.end(),
                         [&](const std::string& p) { return identity_matches(p, identity); }))
            continue;
        // A member that left and came back before the damped rekey ran cancels it (flapping);
        // the rekey stays if anyone else left or a member was removed.
        if (group.pending_leavers.erase(std::string(identity)) != 0 &&
            group.pending_leavers.empty() && !group.pending_rekey_forced)
            group.pending_rekey_at.reset();
        // Not added to a running distribution measurement: its clock started before the join.
        push_to_member(group, id, now);
    }
}

void GatewayGroupManager::on_ike_sa_rekeyed(IkeSaId old_sa, IkeSaId new_sa) {
    const auto it = member_by_ike_sa_.find(old_sa);
    if (it == member_by_ike_sa_.end()) return;
    const std::uint64_t member = it->second;
    member_by_ike_sa_.erase(it);
    member_by_ike_sa_[new_sa] = member;
    members_[member].ike_sa = new_sa;
    const TimePoint now = clock_.now();
    // MPSA keys do not depend on the IKE SA, so acknowledged deliveries stay valid; what was in
    // flight on the old IKE SA may be lost with it and is sent again on the new one. A late
    // answer on the old handle still counts as an acknowledgement.
    for (auto& group : groups_) {
        const auto d = group.deliveries.find(member);
        if (d == group.deliveries.end()) continue;
        for (auto& [spi, delivery] : d->second) {
            if (delivery.state != DeliveryState::kInFlight &&
                delivery.state != DeliveryState::kAwaitingRetry)
                continue;
            --delivery.attempts;  // not the member's fault: keep its retry budget
            send(group, member, spi, delivery, now);
        }
    }
}

void GatewayGroupManager::on_ike_sa_down(IkeSaId ike_sa) {
    const auto it = member_by_ike_sa_.find(ike_sa);
    if (it == member_by_ike_sa_.end()) return;
    const std::uint64_t member = it->second;
    const std::string identity = members_[member].identity;
    const TimePoint now = clock_.now();
    // The identity re-authenticated (a new IKE SA replacing this one, e.g. INITIAL_CONTACT):
    // it never stopped being a member, so its old IKE SA going away is no leave.
    const bool still_member = identity_still_connected(identity, member);
    for (auto& group : groups_) {
        if (group.deliveries.erase(member) == 0) continue;
        if (group.distribution) {
            group.distribution->awaiting.erase(member);
            finish_distribution_if_done(group);
        }
        if (group.config.rekey_on_leave && !still_member)
            request_membership_rekey(group, now, identity, false);
    }
    std::erase_if(handles_, [member](const auto& h) { return h.second.member == member; });
    member_by_ike_sa_.erase(ike_sa);
    members_.erase(member);
}

bool GatewayGroupManager::identity_still_connected(const std::string& identity,
                                                   std::uint64_t except) const {
    return std::any_of(members_.begin(), members_.end(), [&](const auto& m) {
        return m.first != except && m.second.identity == identity;
    });
}

void GatewayGroupManager::drop_member_from_group(Group& group, std::uint64_t member,
                                                 TimePoint now) {
    if (group.deliveries.erase(member) == 0) return;
    if (group.distribution) {
        group.distribution->awaiting.erase(member);
        finish_distribution_if_done(group);
    }
    std::erase_if(handles_, [&](const auto& h) {
        return h.second.member == member && h.second.group == group.config.name;
    });
    request_membership_rekey(group, now, members_[member].identity, true);
}

tl::expected<void, GroupError> GatewayGroupManager::update_group(GroupConfig config) {
    if (auto ok = validate(config); !ok) return ok;
    Group* group = find_group(config.name);
    if (!group) return tl::unexpected(GroupError::kUnknownGroup);
    const TimePoint now = clock_.now();
    group->config = std::move(config);
    const auto matches = [&](const std::string& identity) {
        const auto& patterns = group->config.member_patterns;
        return std::any_of(patterns.begin(), patterns.end(),
                           [&](const std::string& p) { return identity_matches(p, identity); });
    };
    for (const auto& [id, member] : members_) {
        const bool in_group = group->deliveries.contains(id);
        const bool match = matches(member.identity);
        if (match && !in_group) {
            push_to_member(*group, id, now);
        } else if (!match && in_group) {
            drop_member_from_group(*group, id, now);
        }
    }
    return {};
}

std::vector<std::string> GatewayGroupManager::group_names() const {
    std::vector<std::string> out;
    for (const auto& g : groups_) out.push_back(g.config.name);
    return out;
}

std::vector<GroupSaState> GatewayGroupManager::export_sas() const {
    std::vector<GroupSaState> out;
    const auto record = [](const GroupSa& sa) {
        return GroupSaRecord{sa.spi,        sa.suite,      sa.nonce, sa.sk_d,
                             sa.created_at, sa.expires_at, sa.roll1, sa.roll2};
    };
    for (const auto& g : groups_) {
        GroupSaState state;
        state.name = g.config.name;
        if (g.current) state.current = record(*g.current);
        if (g.next) state.next = record(*g.next);
        out.push_back(std::move(state));
    }
    return out;
}

tl::expected<void, GroupError> GatewayGroupManager::adopt_sas(const GroupSaState& state) {
    Group* group = find_group(state.name);
    if (!group) return tl::unexpected(GroupError::kUnknownGroup);
    const TimePoint now = clock_.now();
    std::set<std::uint32_t> spis_elsewhere;
    for (const auto& g : groups_) {
        if (&g == group) continue;
        if (g.current) spis_elsewhere.insert(g.current->spi);
        if (g.next) spis_elsewhere.insert(g.next->spi);
    }
    const auto usable = [&](const GroupSaRecord& r) {
        return r.spi >= 256 && !spis_elsewhere.contains(r.spi) &&
               validate_suite(r.suite, group->config.suite_policy) &&
               r.nonce.size() >= kMinNonceSize && r.nonce.size() <= kMaxNonceSize &&
               r.sk_d.size() == ike::prf_key_length(r.suite.prf) && r.created_at <= now &&
               r.expires_at > r.created_at && r.expires_at - now >= seconds(2) &&
               r.roll1 >= seconds(0) && r.roll2 >= r.roll1 && r.created_at + r.roll2 < r.expires_at;
    };
    if (!state.current || !usable(*state.current)) return tl::unexpected(GroupError::kBadAdoptedSa);
    if (state.next && (!usable(*state.next) || state.next->spi == state.current->spi ||
                       state.next->expires_at <= state.current->expires_at))
        return tl::unexpected(GroupError::kBadAdoptedSa);
    const auto sa = [](const GroupSaRecord& r) {
        return GroupSa{r.spi,        r.suite,      r.nonce, r.sk_d,
                       r.created_at, r.expires_at, r.roll1, r.roll2};
    };
    group->current = sa(*state.current);
    group->next.reset();
    if (state.next) group->next = sa(*state.next);
    group->last_rekey_at = group->next ? group->next->created_at : group->current->created_at;
    group->retry_rekey_at.reset();
    group->distribution.reset();
    drop_stale_deliveries(*group);
    for (auto& [member, deliveries] : group->deliveries) push_to_member(*group, member, now);
    return {};
}

void GatewayGroupManager::on_member_removed(std::string_view identity) {
    const TimePoint now = clock_.now();
    for (auto& [id, member] : members_) {
        if (member.identity != identity) continue;
        for (auto& group : groups_) {
            if (group.deliveries.erase(id) == 0) continue;
            if (group.distribution) {
                group.distribution->awaiting.erase(id);
                finish_distribution_if_done(group);
            }
            request_membership_rekey(group, now, member.identity, true);
        }
    }
}

void GatewayGroupManager::request_membership_rekey(Group& group, TimePoint now,
                                                   const std::string& leaver, bool forced) {
    if (forced) {
        group.pending_rekey_forced = true;
    } else {
        group.pending_leavers.insert(leaver);
    }
    if (group.pending_rekey_at) return;  // coalesce with the one already scheduled
    TimePoint at = std::max(now, group.last_rekey_at + group.config.min_rekey_interval);
    if (group.next) at = std::max(at, group.next->created_at + group.next->roll2);
    group.pending_rekey_at = at;
    if (at <= now) rekey(group, now);
}

void GatewayGroupManager::on_put_acked(RequestHandle handle) {
    const auto it = handles_.find(handle);
    if (it == handles_.end()) return;
    const HandleTarget target = it->second;
    handles_.erase(it);
    Group* group = find_group(target.group);
    if (!group) return;
    const auto m = group->deliveries.find(target.member);
    if (m == group->deliveries.end()) return;
    const auto d = m->second.find(target.spi);
    if (d == m->second.end() || d->second.state == DeliveryState::kAcked) return;
    d->second.state = DeliveryState::kAcked;
    d->second.handle.reset();
    if (group->distribution && group->distribution->spi == target.spi &&
        group->distribution->awaiting.erase(target.member) != 0) {
        group->distribution->last_ack = clock_.now();
        finish_distribution_if_done(*group);
    }
}

void GatewayGroupManager::on_put_failed(RequestHandle handle) {
    const auto it = handles_.find(handle);
    if (it == handles_.end()) return;
    const HandleTarget target = it->second;
    handles_.erase(it);
    Group* group = find_group(target.group);
    if (!group) return;
    const auto m = group->deliveries.find(target.member);
    if (m == group->deliveries.end()) return;
    const auto d = m->second.find(target.spi);
    // Only the exchange we are waiting for matters; an older one was superseded.
    if (d == m->second.end() || d->second.state != DeliveryState::kInFlight ||
        d->second.handle != handle)
        return;
    retry_or_fail(*group, target.member, target.spi, d->second, clock_.now());
}

void GatewayGroupManager::advance() {
    const TimePoint now = clock_.now();
    for (auto& group : groups_) {
        if (group.next && now >= group.next->created_at + group.next->roll2) {
            group.current = std::move(group.next);
            group.next.reset();
            drop_stale_deliveries(group);
        }
        if (!group.next) {
            // After a failed generation wait for the retry time, or a failing RNG would spin.
            const bool due = group.retry_rekey_at
                                 ? *group.retry_rekey_at <= now
                                 : (group.pending_rekey_at && *group.pending_rekey_at <= now) ||
                                       (group.current && now >= lifetime_rekey_at(group));
            if (due) rekey(group, now);
        }
        for (auto& [member, deliveries] : group.deliveries) {
            for (auto& [spi, delivery] : deliveries) {
                if (delivery.deadline > now) continue;
                if (delivery.state == DeliveryState::kInFlight ||
                    delivery.state == DeliveryState::kAwaitingRetry) {
                    if (delivery.state == DeliveryState::kInFlight && delivery.handle)
                        handles_.erase(*delivery.handle);  // gave up waiting for that one
                    retry_or_fail(group, member, spi, delivery, now);
                }
            }
        }
    }
}

std::optional<TimePoint> GatewayGroupManager::next_deadline() const {
    std::optional<TimePoint> next;
    const auto consider = [&next](TimePoint t) {
        if (!next || t < *next) next = t;
    };
    for (const auto& group : groups_) {
        if (group.next) {
            consider(group.next->created_at + group.next->roll2);
        } else {
            if (group.retry_rekey_at) {
                consider(*group.retry_rekey_at);
            } else {
                if (group.current) consider(lifetime_rekey_at(group));
                if (group.pending_rekey_at) consider(*group.pending_rekey_at);
            }
        }
        for (const auto& [member, deliveries] : group.deliveries)
            for (const auto& [spi, d] : deliveries)
                if (d.state == DeliveryState::kInFlight || d.state == DeliveryState::kAwaitingRetry)
                    consider(d.deadline);
    }
    return next;
}

std::optional<GroupStatus> GatewayGroupManager::status(std::string_view name) const {
    const Group* group = find_group(name);
    if (!group) return std::nullopt;
    GroupStatus s;
    s.name = group->config.name;
    if (group->current) s.current_spi = group->current->spi;
    if (group->next) s.next_spi = group->next->spi;
    s.members = group->deliveries.size();
    for (const auto& [member, deliveries] : group->deliveries) {
        for (const auto& [spi, d] : deliveries) {
            if (d.state != DeliveryState::kAcked) continue;
            if (s.current_spi == spi) ++s.acked_current;
            if (s.next_spi == spi) ++s.acked_next;
        }
    }
    s.rekeys = group->rekeys;
    s.failed_deliveries = group->failed_deliveries;
    s.roll1_in_use = roll1_for(*group);
    if (!group->distribution_samples.empty())
        s.last_distribution_time = group->distribution_samples.back();
    s.pending_rekey_at = group->pending_rekey_at;
    if (group->current) {
        s.current_expires_at = group->current->expires_at;
        s.current_suite = group->current->suite;
    }
    if (group->next) {
        s.next_expires_at = group->next->expires_at;
        s.next_outbound_at = group->next->created_at + group->next->roll1;
        s.next_promoted_at = group->next->created_at + group->next->roll2;
    }
    return s;
}

std::vector<MemberStatus> GatewayGroupManager::member_status(std::string_view name) const {
    std::vector<MemberStatus> out;
    const Group* group = find_group(name);
    if (!group) return out;
    for (const auto& [id, deliveries] : group->deliveries) {
        const auto m = members_.find(id);
        if (m == members_.end()) continue;
        MemberStatus status;
        status.ike_sa = m->second.ike_sa;
        status.identity = m->second.identity;
        for (const GroupSa* sa :
             {group->current ? &*group->current : nullptr, group->next ? &*group->next : nullptr}) {
            if (!sa) continue;
            const auto d = deliveries.find(sa->spi);
            if (d == deliveries.end()) continue;
            if (d->second.state == DeliveryState::kAcked) status.acked_spi = sa->spi;
            if (d->second.state == DeliveryState::kInFlight ||
                d->second.state == DeliveryState::kAwaitingRetry)
                ++status.pending_puts;
        }
        out.push_back(std::move(status));
    }
    return out;
}

std::optional<DeliveryState> GatewayGroupManager::delivery_state(std::string_view name,
                                                                 IkeSaId ike_sa,
                                                                 std::uint32_t spi) const {
    const Group* group = find_group(name);
    const auto m = member_by_ike_sa_.find(ike_sa);
    if (!group || m == member_by_ike_sa_.end()) return std::nullopt;
    const auto d = group->deliveries.find(m->second);
    if (d == group->deliveries.end()) return std::nullopt;
    const auto s = d->second.find(spi);
    if (s == d->second.end()) return std::nullopt;
    return s->second.state;
}

}  // namespace mpsa::mpsa
