#include "mpsa/daemon/gateway_snapshot.hpp"

#include <algorithm>

#include "mpsa/daemon/cpe_snapshot.hpp"
#include "mpsa/daemon/ike_profile.hpp"

namespace mpsa::daemon {

using nlohmann::json;

namespace {

json suite_json(const SuiteNames& names) {
    json j{{"encryption", names.encryption}, {"integrity", nullptr}, {"prf", nullptr}};
    if (names.integrity) j["integrity"] = *names.integrity;
    if (names.prf) j["prf"] = *names.prf;
    return j;
}

bool switched_to_next(const mpsa::GroupStatus& s, mpsa::TimePoint now) {
    return s.next_spi && s.next_outbound_at && now >= *s.next_outbound_at;
}

// One /v1/sas row with every field of the contract; unknown values stay null.
json sa_row(const char* type, const std::string& spi, const char* direction,
            const std::string& local, const std::string& remote) {
    return json{{"type", type},
                {"spi", spi},
                {"group", nullptr},
                {"direction", direction},
                {"local", local},
                {"remote", remote},
                {"encryption", ""},
                {"integrity", nullptr},
                {"prf", nullptr},
                {"lifetime_seconds", nullptr},
                {"expires_in_seconds", nullptr},
                {"bytes", nullptr},
                {"packets", nullptr}};
}

}  // namespace

mpsa::EspSuite esp_suite_of(const GroupConfig& group) {
    if (group.suite == "draft-example") return mpsa::suites::draft_example();
    if (group.suite == "aes-gcm-256") return mpsa::suites::aes_gcm_256();
    return mpsa::suites::default_suite();
}

mpsa::GroupConfig manager_group_config(const GroupConfig& group) {
    mpsa::GroupConfig c;
    c.name = group.name;
    c.member_patterns = group.members;
    c.suite = esp_suite_of(group);
    c.suite_policy.allow_aead = group.allow_aead;
    c.lifetime = group.lifetime;
    c.roll1 = group.roll1;  // 0: the manager raises it to the measured distribution time
    c.roll2 = group.roll2;
    c.rekey_margin = group.rekey_margin;
    c.min_rekey_interval = group.leave_rekey_damping;
    return c;
}

std::int64_t seconds_until(mpsa::TimePoint t, mpsa::TimePoint now) {
    if (t <= now) return 0;
    return std::chrono::duration_cast<std::chrono::seconds>(t - now).count();
}

json gateway_groups_document(const std::vector<GatewayGroupView>& groups, mpsa::TimePoint now) {
    json rows = json::array();
    for (const auto& g : groups) {
        const auto& s = g.status;
        const bool next_out = switched_to_next(s, now);
        json sas = json::array();
        if (s.current_spi) {
            sas.push_back({{"spi", spi_text(*s.current_spi)},
                           {"role", "current"},
                           {"inbound", true},
                           {"outbound", !next_out},
                           {"expires_in_seconds",
                            s.current_expires_at ? seconds_until(*s.current_expires_at, now) : 0}});
        }
        if (s.next_spi) {
            sas.push_back({{"spi", spi_text(*s.next_spi)},
                           {"role", "next"},
                           {"inbound", true},
                           {"outbound", next_out},
                           {"expires_in_seconds",
                            s.next_expires_at ? seconds_until(*s.next_expires_at, now) : 0}});
        }
        json outbound = nullptr;
        if (next_out) {
            outbound = spi_text(*s.next_spi);
        } else if (s.current_spi) {
            outbound = spi_text(*s.current_spi);
        }
        rows.push_back(
            {{"name", g.config.name},
             {"id", g.config.id},
             {"suite", suite_json(suite_names(s.current_suite.value_or(esp_suite_of(g.config))))},
             {"lifetime_seconds", g.config.lifetime.count()},
             {"roll1_seconds", s.roll1_in_use.count()},
             {"roll2_seconds", (s.roll1_in_use + (g.config.roll2 - g.config.roll1)).count()},
             {"outbound_spi", outbound},
             {"members", s.members},
             {"members_acked", s.next_spi ? s.acked_next : s.acked_current},
             {"rekeys", s.rekeys},
             {"sas", sas}});
    }
    return {{"groups", rows}};
}

json gateway_members_document(const std::vector<GatewayGroupView>& groups,
                              const std::vector<GatewayPeerView>& peers) {
    json rows = json::array();
    for (const auto& g : groups) {
        for (const auto& p : peers) {
            if (p.state != "established" || p.identity.empty()) continue;
            const bool matches = std::any_of(
                g.config.members.begin(), g.config.members.end(),
                [&](const std::string& pattern) { return identity_matches(pattern, p.identity); });
            if (!matches) continue;
            const mpsa::MemberStatus* member = nullptr;
            for (const auto& m : g.members) {
                if (p.generation && m.ike_sa == *p.generation) member = &m;
            }
            json row{{"identity", p.identity},
                     {"address", address_text(p.peer.address)},
                     {"port", p.peer.port},
                     {"group", g.config.name},
                     {"mpsa", p.mpsa && member != nullptr},
                     {"state", p.state},
                     {"acked_spi", nullptr},
                     {"pending_puts", 0},
                     {"established_seconds", p.established_seconds}};
            if (member) {
                if (member->acked_spi) row["acked_spi"] = spi_text(*member->acked_spi);
                row["pending_puts"] = member->pending_puts;
            }
            rows.push_back(std::move(row));
        }
    }
    return {{"members", rows}};
}

json gateway_peers_document(const std::vector<GatewayPeerView>& peers) {
    json rows = json::array();
    for (const auto& p : peers) {
        rows.push_back({{"identity", p.identity},
                        {"address", address_text(p.peer.address)},
                        {"port", p.peer.port},
                        {"ike_spi_initiator", ike_spi_text(p.spis.initiator)},
                        {"ike_spi_responder", ike_spi_text(p.spis.responder)},
                        {"state", p.state},
                        {"mpsa", p.mpsa},
                        {"child_sas", p.child_sas.size()},
                        {"established_seconds", p.established_seconds}});
    }
    return {{"peers", rows}};
}

json gateway_sas_document(const std::vector<GatewayGroupView>& groups,
                          const std::vector<GatewayPeerView>& peers, mpsa::TimePoint now) {
    json rows = json::array();
    for (const auto& p : peers) {
        if (p.state != "established") continue;
        const std::string local = address_text(p.local.address);
        const std::string remote = address_text(p.peer.address);
        json ike_row = sa_row("ike", ike_spi_text(p.spis.responder), "in+out", local, remote);
        if (p.suite) {
            const auto names = suite_names(*p.suite);
            ike_row["encryption"] = names.encryption;
            if (names.integrity) ike_row["integrity"] = *names.integrity;
            if (names.prf) ike_row["prf"] = *names.prf;
        }
        rows.push_back(std::move(ike_row));
        for (const auto& c : p.child_sas) {
            for (const auto& [spi, direction] :
                 {std::pair{c.inbound_spi, "in"}, std::pair{c.outbound_spi, "out"}}) {
                json row = sa_row("child", spi_text(spi), direction, local, remote);
                if (p.child_suite) {
                    const auto names = suite_names(*p.child_suite);
                    row["encryption"] = names.encryption;
                    if (names.integrity) row["integrity"] = *names.integrity;
                }
                rows.push_back(std::move(row));
            }
        }
    }
    for (const auto& g : groups) {
        const auto& s = g.status;
        const auto names = suite_names(s.current_suite.value_or(esp_suite_of(g.config)));
        for (const auto& [spi, expires] : {std::pair{s.current_spi, s.current_expires_at},
                                           std::pair{s.next_spi, s.next_expires_at}}) {
            if (!spi) continue;
            json row{{"type", "group"},
                     {"spi", spi_text(*spi)},
                     {"group", g.config.name},
                     {"direction", "in+out"},
                     {"local", ""},
                     {"remote", ""},
                     {"encryption", names.encryption},
                     {"integrity", nullptr},
                     {"prf", nullptr},
                     {"lifetime_seconds", g.config.lifetime.count()},
                     {"expires_in_seconds",
                      expires ? json(seconds_until(*expires, now)) : json(nullptr)},
                     {"bytes", nullptr},
                     {"packets", nullptr}};
            if (names.integrity) row["integrity"] = *names.integrity;
            if (names.prf) row["prf"] = *names.prf;
            rows.push_back(std::move(row));
        }
    }
    return {{"sas", rows}};
}

json gateway_status_document(const std::vector<GatewayGroupView>& groups,
                             const std::vector<GatewayPeerView>& peers) {
    std::size_t established = 0;
    std::size_t members = 0;
    std::size_t group_sas = 0;
    std::size_t child_sas = 0;
    for (const auto& p : peers) {
        if (p.state == "established") ++established;
        child_sas += p.child_sas.size();
    }
    for (const auto& g : groups) {
        group_sas += (g.status.current_spi ? 1 : 0) + (g.status.next_spi ? 1 : 0);
    }
    members = gateway_members_document(groups, peers)["members"].size();
    return {{"counts",
             {{"ike_sas", established},
              {"groups", groups.size()},
              {"members", members},
              {"peers", peers.size()},
              {"routes", 0},
              {"sas", established + 2 * child_sas + group_sas}}}};
}

}  // namespace mpsa::daemon
