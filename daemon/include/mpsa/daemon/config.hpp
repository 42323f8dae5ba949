// mpsad configuration: one JSON file per node, validated as a whole. Every error names the JSON
// path (RFC 6901 pointer) of the offending value and the reason, so an operator can fix all of
// them in one go; a reload that fails validation leaves the running configuration untouched.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace mpsa::daemon {

enum class Role { kGateway, kCpe };

// Where the status API listens: TCP host:port (127.0.0.1 by default) or a unix socket path.
struct ApiEndpoint {
    std::string host = "127.0.0.1";
    std::uint16_t port = 7979;
    std::string unix_path;  // non-empty: listen on this unix socket instead of TCP
    friend bool operator==(const ApiEndpoint&, const ApiEndpoint&) = default;
};

// How this node proves its identity. Exactly one of psk / certificate is configured. The PSK is
// read from a file (never inline in the JSON, so configs can be shared and logged safely).
struct Credentials {
    std::string psk_file;
    std::string cert_file;
    std::string key_file;
    std::string ca_file;
    friend bool operator==(const Credentials&, const Credentials&) = default;
};

// A group as the gateway defines it (draft 3.3.1). One group = one SPI, one xfrm interface
// (if_id = id), one overlay routing table on every member.
struct GroupConfig {
    std::string name;
    std::uint32_t id = 0;                 // 1..65535: if_id, table and rule derive from it
    std::vector<std::string> members;     // identity patterns: exact, or with one '*' wildcard
    std::string suite = "default";        // default | draft-example | aes-gcm-256
    bool allow_aead = false;              // AES-GCM needs an explicit opt-in (shared key)
    std::chrono::seconds lifetime{3600};  // LIFE
    std::chrono::seconds roll1{0};        // ROLL1; 0 = chosen from measured distribution time
    std::chrono::seconds roll2{30};       // ROLL2
    std::chrono::seconds rekey_margin{300};
    std::chrono::seconds leave_rekey_damping{60};  // min interval between membership rekeys
    friend bool operator==(const GroupConfig&, const GroupConfig&) = default;
};

struct FrrConfig {
    bool enabled = true;           // CPE: false = no zebra client, static_routes only
    std::string release = "auto";  // "auto" (vtysh 'show version') or e.g. "8.4", "10.2"
    std::string zserv_path = "/run/frr/zserv.api";
    std::string vtysh_path = "/usr/bin/vtysh";
    friend bool operator==(const FrrConfig&, const FrrConfig&) = default;
};

// CPE: the overlay group this node belongs to. MPSA_PUT carries no group id, so the CPE names
// its group (if_id, table and rule derive from the id) and must agree with the gateway.
struct CpeGroup {
    std::string name = "default";
    std::uint32_t id = 1;  // 1..65535
    friend bool operator==(const CpeGroup&, const CpeGroup&) = default;
};

// CPE: a destination reached through an ESP peer without FRR ("prefix D via ESP peer P").
struct StaticRoute {
    std::string prefix;  // CIDR, host bits zero
    std::string peer;    // the peer's ESP address
    friend bool operator==(const StaticRoute&, const StaticRoute&) = default;
};

// Gateway: the CHILD_SA carrying the CPE-gateway iBGP session (draft 4.1): transport mode, traffic
// selectors narrowed to <CPE address> <-> <gateway address>, TCP.
struct BgpChildSaConfig {
    bool enabled = true;
    std::string protocol = "tcp";  // only "tcp" (BGP) for now
    friend bool operator==(const BgpChildSaConfig&, const BgpChildSaConfig&) = default;
};

struct Timers {
    std::chrono::milliseconds debounce{50};  // batch kernel updates
    std::chrono::seconds resync{300};        // full kernel resync interval
    std::chrono::seconds dpd{30};            // IKE liveness check interval
    std::chrono::seconds natt_keepalive{20};
    friend bool operator==(const Timers&, const Timers&) = default;
};

struct Config {
    Role role = Role::kCpe;
    std::string identity;  // our IKE identity (FQDN, e-mail or IP)
    Credentials credentials;
    std::vector<std::string> ike_listen{"0.0.0.0", "::"};
    std::uint16_t ike_port = 500;
    std::uint16_t natt_port = 4500;
    std::string keylog_file;  // opt-in tshark key log; empty = off
    // CPE only
    std::string gateway_address;  // where to reach the gateway's IKE
    std::string gateway_identity;
    std::string underlay_interface;  // xfrm interfaces are bound to it
    std::string esp_address;         // this CPE's ESP endpoint (= its BGP next-hop)
    std::string esp_address_v6;      // optional IPv6 ESP endpoint (IPv6 next-hops)
    CpeGroup group;
    std::string overlay_source_v4;  // optional preferred source of IPv4 overlay routes
    std::string overlay_source_v6;  // optional preferred source of IPv6 overlay routes
    std::vector<StaticRoute> static_routes;
    // The operator's overlay address space (CIDRs, host bits zero): inside it, traffic that has
    // no learned destination with a valid SA is dropped, never sent in the clear via main.
    std::vector<std::string> protected_prefixes;
    // gateway only
    std::vector<GroupConfig> groups;
    BgpChildSaConfig bgp_child_sa;
    FrrConfig frr;
    ApiEndpoint api;
    Timers timers;
    std::string state_dir = "/var/lib/mpsa";
    std::string log_level = "info";
    friend bool operator==(const Config&, const Config&) = default;
};

struct ConfigError {
    std::string path;  // JSON pointer, "" for the document itself
    std::string reason;
    [[nodiscard]] std::string to_string() const;
};

// Parses and validates; on failure returns every problem found, not just the first.
// base_dir, if not empty, anchors relative file paths (credentials, keylog_file, state_dir).
[[nodiscard]] tl::expected<Config, std::vector<ConfigError>> parse_config(
    std::string_view json, const std::string& base_dir = {});
// Relative file paths in the file are relative to the file's own directory.
[[nodiscard]] tl::expected<Config, std::vector<ConfigError>> load_config_file(
    const std::string& path);

[[nodiscard]] std::string_view role_name(Role role);
// True if identity matches pattern: exact, or one '*' standing for any (possibly empty) run.
[[nodiscard]] bool identity_matches(std::string_view pattern, std::string_view identity);

}  // namespace mpsa::daemon
