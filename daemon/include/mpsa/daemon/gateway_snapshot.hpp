// The gateway role's status API documents (/v1/status, /v1/groups, /v1/members, /v1/peers,
// /v1/routes, /v1/sas; schema: /tmp/mpsa/api-contract.md, docs/api.md), built from plain views
// of its state so they are unit-testable without sockets. SPIs, names, addresses, times and
// counters only: never key bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpsa/daemon/config.hpp"
#include "mpsa/ike/child_sa.hpp"
#include "mpsa/ike/events.hpp"
#include "mpsa/ike/suite.hpp"
#include "mpsa/ike/transport.hpp"
#include "mpsa/mpsa/group_manager.hpp"

namespace mpsa::daemon {

// One IKE SA of a peer (a member or not).
struct GatewayPeerView {
    std::string identity;  // "" before IKE_AUTH completed
    ike::Endpoint peer;
    ike::Endpoint local;
    ike::IkeSpis spis;
    std::string state;  // "established" | "connecting"
    std::int64_t established_seconds = 0;
    bool mpsa = false;                         // both sides sent the Vendor ID
    std::optional<mpsa::IkeSaId> generation;   // the group manager's id while established
    std::optional<ike::Suite> suite;           // IKE SA suite
    std::vector<ike::ChildSaUp> child_sas;     // the BGP CHILD_SA(s)
    std::optional<ike::EspSuite> child_suite;  // not known to the engine's API: unset
};

struct GatewayGroupView {
    GroupConfig config;  // as configured (id, patterns, timers)
    mpsa::GroupStatus status;
    std::vector<mpsa::MemberStatus> members;  // MPSA members (Vendor ID both ways)
};

// The group manager's view of a configured group (suite by name, damping, patterns).
[[nodiscard]] mpsa::EspSuite esp_suite_of(const GroupConfig& group);
[[nodiscard]] mpsa::GroupConfig manager_group_config(const GroupConfig& group);

// Seconds from now until t (negative clamps to 0).
[[nodiscard]] std::int64_t seconds_until(mpsa::TimePoint t, mpsa::TimePoint now);

[[nodiscard]] nlohmann::json gateway_groups_document(const std::vector<GatewayGroupView>& groups,
                                                     mpsa::TimePoint now);
// Every established peer whose identity matches a group, once per group; "mpsa" says whether it
// takes part in MPSA (a plain IKEv2 peer matching a group is listed with mpsa false).
[[nodiscard]] nlohmann::json gateway_members_document(const std::vector<GatewayGroupView>& groups,
                                                      const std::vector<GatewayPeerView>& peers);
[[nodiscard]] nlohmann::json gateway_peers_document(const std::vector<GatewayPeerView>& peers);
[[nodiscard]] nlohmann::json gateway_sas_document(const std::vector<GatewayGroupView>& groups,
                                                  const std::vector<GatewayPeerView>& peers,
                                                  mpsa::TimePoint now);
// The role's part of /v1/status (the runtime adds role, identity, version, pid, uptime, config).
[[nodiscard]] nlohmann::json gateway_status_document(const std::vector<GatewayGroupView>& groups,
                                                     const std::vector<GatewayPeerView>& peers);

}  // namespace mpsa::daemon
