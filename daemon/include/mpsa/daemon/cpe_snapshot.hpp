// The CPE role's status API documents (docs: /v1/status, /v1/groups, /v1/peers, /v1/routes,
// /v1/sas), built from plain views of its state so they are unit-testable without sockets or a
// kernel. Only SPIs, algorithm names, addresses, times and counters: never key bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <mpsa/ike/child_sa.hpp>
#include <mpsa/ike/suite.hpp>
#include <mpsa/mpsa/clock.hpp>
#include <mpsa/mpsa/cpe_group_sa.hpp>
#include <mpsa/mpsa/cpe_ike_bridge.hpp>
#include <mpsa/xfrm/objects.hpp>

#include "mpsa/daemon/desired_state_builder.hpp"
#include "mpsa/daemon/group_layout.hpp"

namespace mpsa::daemon {

// "0x%08x" (the API's SPI format) and "0x%016x" (IKE SPIs).
[[nodiscard]] std::string spi_text(std::uint32_t spi);
[[nodiscard]] std::string ike_spi_text(std::uint64_t spi);

// A reason text as a Prometheus label value: lower case, runs of anything but letters and digits
// as one '_' ("payload too short" -> "payload_too_short").
[[nodiscard]] std::string metric_label(std::string_view text);
// Stable label values of an MPSA_PUT refusal: not_established, not_from_gateway, no_vendor_id,
// malformed, keymat_failed.
[[nodiscard]] std::string_view put_rejection_label(mpsa::PutRejection rejection);

// strongSwan-style algorithm names of a group SA's suite ("aes256", "sha256_128", "prfsha256").
struct SuiteNames {
    std::string encryption;
    std::optional<std::string> integrity;  // none for AEAD
    std::optional<std::string> prf;
};
[[nodiscard]] SuiteNames suite_names(const mpsa::EspSuite& suite);
[[nodiscard]] SuiteNames suite_names(const ike::EspSuite& suite);
[[nodiscard]] SuiteNames suite_names(const ike::Suite& suite);

struct KernelSyncView {
    bool in_sync = false;
    std::uint64_t changes = 0;  // of the start-up (adopting) apply
    std::uint64_t errors = 0;
    std::optional<std::string> last_error;
};

struct CpeStatusView {
    std::string identity;
    std::string version;
    std::int64_t pid = 0;
    std::int64_t uptime_seconds = 0;
    std::string gateway_address;
    std::string gateway_ike_state;  // "established" | "connecting" | "down"
    std::size_t ike_sas = 0;
    KernelSyncView kernel;
};

struct CpeGroupView {
    std::string name;
    GroupLayout layout;
    const std::map<std::uint32_t, mpsa::CpeGroupSa>* records = nullptr;
    mpsa::DesiredGroupSas desired;
    mpsa::TimePoint now;
};

struct IkeSaView {
    std::uint64_t spi_initiator = 0;
    std::uint64_t spi_responder = 0;
    std::string local;   // address only
    std::string remote;  // address only
    std::optional<ike::Suite> suite;
    std::optional<std::int64_t> expires_in_seconds;
};

struct ChildSaView {
    std::uint32_t inbound_spi = 0;
    std::uint32_t outbound_spi = 0;
    std::string local;
    std::string remote;
    std::optional<ike::EspSuite> suite;
};

// Per-SA traffic counters read back from the kernel, by (daddr, SPI).
using SaCounterMap = std::map<xfrm::SaKey, xfrm::SaCounters>;

[[nodiscard]] nlohmann::json cpe_groups_document(const CpeGroupView& group);
[[nodiscard]] nlohmann::json cpe_routes_document(const std::string& group_name,
                                                 const GroupDesiredState& state);
// One row per ESP peer any destination is learned through.
[[nodiscard]] nlohmann::json cpe_peers_document(const std::string& group_name,
                                                const GroupDesiredState& state);
[[nodiscard]] nlohmann::json cpe_sas_document(const std::vector<IkeSaView>& ike_sas,
                                              const std::vector<ChildSaView>& child_sas,
                                              const CpeGroupView& group,
                                              const GroupDesiredState& state,
                                              const SaCounterMap& counters);
// `documents` holds the other documents already built (for the counts).
[[nodiscard]] nlohmann::json cpe_status_document(const CpeStatusView& view,
                                                 const nlohmann::json& peers,
                                                 const nlohmann::json& routes,
                                                 const nlohmann::json& sas);

}  // namespace mpsa::daemon
