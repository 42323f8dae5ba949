#include "mpsa/daemon/cpe_snapshot.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

#include <mpsa/ike/cipher.hpp>
#include <mpsa/ike/prf.hpp>

namespace mpsa::daemon {
namespace {

using nlohmann::json;

std::int64_t seconds_between(mpsa::TimePoint from, mpsa::TimePoint to) {
    return std::chrono::duration_cast<std::chrono::seconds>(to - from).count();
}

json optional_text(const std::optional<std::string>& text) {
    return text ? json(*text) : json(nullptr);
}

std::string_view api_state(DestinationState state) {
    switch (state) {
        case DestinationState::kEncrypted:
            return "encrypted";
        case DestinationState::kBlockedPeerUnresolved:
            return "blocked-peer-unresolved";
        case DestinationState::kBlockedFamilyMismatch:
            return "blocked-family-mismatch";
        case DestinationState::kBlockedNoOutboundSa:
            return "blocked-no-outbound-sa";
    }
    return "blocked";
}

// The newest SA: the one expiring last (mpsa's notion of "newer").
const mpsa::CpeGroupSa* newest(const std::map<std::uint32_t, mpsa::CpeGroupSa>& records) {
    const mpsa::CpeGroupSa* best = nullptr;
    for (const auto& [spi, record] : records) {
        if (best == nullptr || record.expires_at > best->expires_at) best = &record;
    }
    return best;
}

std::string_view group_sa_role(const mpsa::CpeGroupSa& record, const CpeGroupView& group) {
    if (group.desired.outbound_spi == record.spi) return "current";
    const mpsa::CpeGroupSa* current = nullptr;
    if (group.desired.outbound_spi) {
        auto found = group.records->find(*group.desired.outbound_spi);
        if (found != group.records->end()) current = &found->second;
    }
    if (current != nullptr) return record.expires_at > current->expires_at ? "next" : "previous";
    return record.outbound_at > group.now && record.expires_at > group.now ? "next" : "previous";
}

json counters_or_null(const SaCounterMap& counters, const xfrm::SaKey& key, bool bytes) {
    auto found = counters.find(key);
    if (found == counters.end()) return nullptr;
    return bytes ? found->second.bytes : found->second.packets;
}

void add_names(json& row, const SuiteNames& names) {
    row["encryption"] = names.encryption;
    row["integrity"] = optional_text(names.integrity);
    row["prf"] = optional_text(names.prf);
}

xfrm::SaKey key_of(const std::string& dst, std::uint32_t spi) {
    xfrm::SaKey key;
    if (auto address = xfrm::IpAddress::parse(dst)) key.dst = *address;
    key.spi = spi;
    return key;
}

}  // namespace

std::string metric_label(std::string_view text) {
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) != 0) {
            out.push_back(static_cast<char>(std::tolower(u)));
        } else if (!out.empty() && out.back() != '_') {
            out.push_back('_');
        }
    }
    while (!out.empty() && out.back() == '_') out.pop_back();
    return out;
}

std::string_view put_rejection_label(mpsa::PutRejection rejection) {
    switch (rejection) {
        case mpsa::PutRejection::kIkeSaNotEstablished:
            return "not_established";
        case mpsa::PutRejection::kNotFromGateway:
            return "not_from_gateway";
        case mpsa::PutRejection::kNoVendorId:
            return "no_vendor_id";
        case mpsa::PutRejection::kMalformed:
            return "malformed";
        case mpsa::PutRejection::kKeymatFailed:
            return "keymat_failed";
    }
    return "other";
}

std::string spi_text(std::uint32_t spi) {
    char buffer[16];
    std::snprintf(buffer, sizeof(buffer), "0x%08x", static_cast<unsigned>(spi));
    return buffer;
}

std::string ike_spi_text(std::uint64_t spi) {
    char buffer[24];
    std::snprintf(buffer, sizeof(buffer), "0x%016llx", static_cast<unsigned long long>(spi));
    return buffer;
}

SuiteNames suite_names(const mpsa::EspSuite& suite) {
    // mpsa's transform ids are IKEv2's (IANA), so ike's keyword tables apply.
    SuiteNames names;
    names.encryption =
        std::string(ike::encr_name(static_cast<ike::EncrId>(suite.encr), suite.encr_key_bits));
    if (suite.integ != mpsa::IntegId::kNone) {
        names.integrity = std::string(ike::integ_name(static_cast<ike::IntegId>(suite.integ)));
    }
    names.prf = std::string(ike::prf_name(suite.prf));
    return names;
}

SuiteNames suite_names(const ike::EspSuite& suite) {
    SuiteNames names;
    names.encryption = std::string(ike::encr_name(suite.encr, suite.encr_key_bits));
    if (suite.integ != ike::IntegId::kNone)
        names.integrity = std::string(ike::integ_name(suite.integ));
    return names;
}

SuiteNames suite_names(const ike::Suite& suite) {
    SuiteNames names;
    names.encryption = std::string(ike::encr_name(suite.encr, suite.encr_key_bits));
    if (suite.integ != ike::IntegId::kNone)
        names.integrity = std::string(ike::integ_name(suite.integ));
    names.prf = std::string(ike::prf_name(suite.prf));
    return names;
}

json cpe_groups_document(const CpeGroupView& group) {
    static const std::map<std::uint32_t, mpsa::CpeGroupSa> kNone;
    const auto& records = group.records != nullptr ? *group.records : kNone;
    json row{
        {"name", group.name},
        {"id", group.layout.group_id},
        {"interface", group.layout.interface_name},
        {"table", group.layout.table},
        {"outbound_spi",
         group.desired.outbound_spi ? json(spi_text(*group.desired.outbound_spi)) : json(nullptr)}};
    const auto* latest = newest(records);
    if (latest != nullptr) {
        const auto names = suite_names(latest->suite);
        row["suite"] = {{"encryption", names.encryption},
                        {"integrity", optional_text(names.integrity)},
                        {"prf", optional_text(names.prf)}};
        row["lifetime_seconds"] = seconds_between(latest->received_at, latest->expires_at);
        // The SA records keep deadlines, not the MPSA_PUT's ROLL1/ROLL2: ROLL1 is the newest SA's
        // outbound delay (0 for a first SA, used at once), ROLL2 the older SA's removal delay.
        row["roll1_seconds"] =
            std::max<std::int64_t>(0, seconds_between(latest->received_at, latest->outbound_at));
        std::int64_t roll2 = 0;
        for (const auto& [spi, record] : records) {
            if (&record != latest && record.inbound_removal_at) {
                roll2 = std::max(roll2,
                                 seconds_between(latest->received_at, *record.inbound_removal_at));
            }
        }
        row["roll2_seconds"] = roll2;
    } else {
        row["suite"] = nullptr;
        row["lifetime_seconds"] = 0;
        row["roll1_seconds"] = 0;
        row["roll2_seconds"] = 0;
    }
    json sas = json::array();
    for (const auto& [spi, record] : records) {
        const bool inbound =
            std::find(group.desired.inbound_spis.begin(), group.desired.inbound_spis.end(), spi) !=
            group.desired.inbound_spis.end();
        sas.push_back({{"spi", spi_text(spi)},
                       {"role", group_sa_role(record, group)},
                       {"inbound", inbound},
                       {"outbound", group.desired.outbound_spi == spi},
                       {"expires_in_seconds",
                        std::max<std::int64_t>(0, seconds_between(group.now, record.expires_at))}});
    }
    row["sas"] = std::move(sas);
    return json{{"groups", json::array({std::move(row)})}};
}

json cpe_routes_document(const std::string& group_name, const GroupDesiredState& state) {
    json routes = json::array();
    for (const auto& d : state.destinations) {
        routes.push_back({{"group", group_name},
                          {"destination", d.destination.to_string()},
                          {"peer", d.peer ? json(d.peer->to_string()) : json(nullptr)},
                          {"state", api_state(d.state)},
                          {"interface", state.layout.interface_name},
                          {"table", state.layout.table}});
    }
    // Protected prefixes without a learned destination of their own: routed into the overlay
    // and dropped there (more specific learned destinations are listed above).
    for (const auto& prefix : state.protected_prefixes) {
        routes.push_back({{"group", group_name},
                          {"destination", prefix.to_string()},
                          {"peer", nullptr},
                          {"state", "blocked-protected"},
                          {"interface", state.layout.interface_name},
                          {"table", state.layout.table}});
    }
    return json{{"routes", std::move(routes)}};
}

json cpe_peers_document(const std::string& group_name, const GroupDesiredState& state) {
    struct PeerRow {
        bool encrypted = false;
        std::optional<DestinationState> blocked;
        std::size_t destinations = 0;
    };
    std::map<xfrm::IpAddress, PeerRow> rows;
    for (const auto& d : state.destinations) {
        if (!d.peer) continue;
        auto& row = rows[*d.peer];
        ++row.destinations;
        if (d.state == DestinationState::kEncrypted) {
            row.encrypted = true;
        } else if (!row.blocked) {
            row.blocked = d.state;
        }
    }
    json peers = json::array();
    for (const auto& [address, row] : rows) {
        const bool encrypted = row.encrypted && state.outbound_spi.has_value();
        peers.push_back(
            {{"group", group_name},
             {"address", address.to_string()},
             {"state", encrypted ? "encrypted" : "blocked"},
             {"reason", encrypted || !row.blocked ? json(nullptr)
                                                  : json(std::string(api_state(*row.blocked)))},
             {"outbound_spi", encrypted ? json(spi_text(*state.outbound_spi)) : json(nullptr)},
             {"destinations", row.destinations}});
    }
    return json{{"peers", std::move(peers)}};
}

json cpe_sas_document(const std::vector<IkeSaView>& ike_sas,
                      const std::vector<ChildSaView>& child_sas, const CpeGroupView& group,
                      const GroupDesiredState& state, const SaCounterMap& counters) {
    json sas = json::array();
    for (const auto& ike_sa : ike_sas) {
        json row{{"type", "ike"},
                 {"spi", ike_spi_text(ike_sa.spi_initiator)},
                 {"spi_responder", ike_spi_text(ike_sa.spi_responder)},
                 {"group", nullptr},
                 {"direction", "in+out"},
                 {"local", ike_sa.local},
                 {"remote", ike_sa.remote},
                 {"lifetime_seconds", nullptr},
                 {"expires_in_seconds",
                  ike_sa.expires_in_seconds ? json(*ike_sa.expires_in_seconds) : json(nullptr)},
                 {"bytes", nullptr},
                 {"packets", nullptr}};
        if (ike_sa.suite) {
            add_names(row, suite_names(*ike_sa.suite));
        } else {
            row["encryption"] = "";
            row["integrity"] = nullptr;
            row["prf"] = nullptr;
        }
        sas.push_back(std::move(row));
    }
    for (const auto& child : child_sas) {
        const SuiteNames names = child.suite ? suite_names(*child.suite) : SuiteNames{};
        for (const bool inbound : {true, false}) {
            const auto spi = inbound ? child.inbound_spi : child.outbound_spi;
            const auto key = key_of(inbound ? child.local : child.remote, spi);
            json row{{"type", "child"},
                     {"spi", spi_text(spi)},
                     {"group", nullptr},
                     {"direction", inbound ? "in" : "out"},
                     {"local", child.local},
                     {"remote", child.remote},
                     {"lifetime_seconds", nullptr},
                     {"expires_in_seconds", nullptr},
                     {"bytes", counters_or_null(counters, key, true)},
                     {"packets", counters_or_null(counters, key, false)}};
            add_names(row, names);
            sas.push_back(std::move(row));
        }
    }
    for (const auto& [key, sa] : state.state.sas) {
        const mpsa::CpeGroupSa* record = nullptr;
        if (group.records != nullptr) {
            auto found = group.records->find(sa.spi);
            if (found != group.records->end()) record = &found->second;
        }
        const bool inbound = sa.src.unspecified() || sa.src == any_address(sa.src.family);
        json row{
            {"type", "group"},
            {"spi", spi_text(sa.spi)},
            {"group", group.name},
            {"direction", inbound ? "in" : "out"},
            {"local", inbound ? sa.dst.to_string() : sa.src.to_string()},
            {"remote", inbound ? std::string("any") : sa.dst.to_string()},
            {"lifetime_seconds",
             record ? json(seconds_between(record->received_at, record->expires_at))
                    : json(nullptr)},
            {"expires_in_seconds", record ? json(std::max<std::int64_t>(
                                                0, seconds_between(group.now, record->expires_at)))
                                          : json(nullptr)},
            {"bytes", counters_or_null(counters, key, true)},
            {"packets", counters_or_null(counters, key, false)}};
        if (record != nullptr) {
            add_names(row, suite_names(record->suite));
        } else {
            row["encryption"] = "";
            row["integrity"] = nullptr;
            row["prf"] = nullptr;
        }
        sas.push_back(std::move(row));
    }
    return json{{"sas", std::move(sas)}};
}

json cpe_status_document(const CpeStatusView& view, const json& peers, const json& routes,
                         const json& sas) {
    const auto size_of = [](const json& document, const char* key) -> std::size_t {
        auto found = document.find(key);
        return found != document.end() && found->is_array() ? found->size() : 0;
    };
    return json{
        {"role", "cpe"},
        {"identity", view.identity},
        {"version", view.version},
        {"pid", view.pid},
        {"uptime_seconds", view.uptime_seconds},
        // The runtime owns the configuration file and its reloads and fills these in.
        {"config", {{"file", ""}, {"generation", 0}, {"last_reload", nullptr}}},
        {"counts",
         {{"ike_sas", view.ike_sas},
          {"groups", 1},
          {"peers", size_of(peers, "peers")},
          {"routes", size_of(routes, "routes")},
          {"sas", size_of(sas, "sas")}}},
        {"kernel",
         {{"in_sync", view.kernel.in_sync},
          {"changes", view.kernel.changes},
          {"errors", view.kernel.errors},
          {"last_error", optional_text(view.kernel.last_error)}}},
        {"gateway", {{"address", view.gateway_address}, {"ike_sa", view.gateway_ike_state}}}};
}

}  // namespace mpsa::daemon
