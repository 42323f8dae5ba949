// Pure negotiation helpers used by the exchanges: SA proposals from and to Suites/EspSuites,
// proposal selection, and traffic selector narrowing (RFC 7296 2.7, 2.9, 3.3).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "mpsa/ike/child_sa.hpp"
#include "mpsa/ike/payloads.hpp"
#include "mpsa/ike/suite.hpp"

namespace mpsa::ike {

// One proposal per suite, numbered from 1; spi as given (empty in IKE_SA_INIT).
[[nodiscard]] Proposal ike_proposal(const Suite& suite, std::uint8_t number, const Bytes& spi);
[[nodiscard]] Proposal esp_proposal(const EspSuite& suite, std::uint8_t number, const Bytes& spi);
// With Key Exchange transforms (PFS in CREATE_CHILD_SA, RFC 7296 1.3.1), preference order.
[[nodiscard]] Proposal esp_proposal(const EspSuite& suite, std::uint8_t number, const Bytes& spi,
                                    std::span<const DhGroup> ke_groups);

// The single Suite described by an answered IKE proposal (exactly one transform per type).
[[nodiscard]] std::optional<Suite> suite_from_proposal(const Proposal& proposal);
[[nodiscard]] std::optional<EspSuite> esp_suite_from_proposal(const Proposal& proposal);

struct IkeSelection {
    Suite suite;
    const Proposal* proposal = nullptr;  // the offered proposal (its number and SPI)
};

// Responder choice: the first configured suite (local preference, as strongSwan) that one of
// the offered proposals contains, except that a suite whose group is `ke_group` (the group of
// the received KE) wins over earlier ones, sparing an INVALID_KE_PAYLOAD round trip.
[[nodiscard]] std::optional<IkeSelection> select_ike_suite(std::span<const Proposal> offered,
                                                           std::span<const Suite> configured,
                                                           std::optional<std::uint16_t> ke_group);

struct EspSelection {
    EspSuite suite;
    const Proposal* proposal = nullptr;
};

// Without PFS: proposals asking for a key exchange (KE transforms, none of them NONE) do not
// match.
[[nodiscard]] std::optional<EspSelection> select_esp_suite(std::span<const Proposal> offered,
                                                           std::span<const EspSuite> configured);
// IKE_AUTH: KE transforms are ignored (the CHILD_SA of IKE_AUTH uses the IKE SA's keys; RFC
// 7296 1.2; strongSwan strips them itself).
[[nodiscard]] std::optional<EspSelection> select_esp_suite_ignoring_ke(
    std::span<const Proposal> offered, std::span<const EspSuite> configured);

struct EspPfsSelection {
    EspSuite suite;
    const Proposal* proposal = nullptr;
    std::optional<DhGroup> group;  // the KE group selected; nullopt without PFS
};

// CREATE_CHILD_SA responder choice. pfs_groups empty: as select_esp_suite (no PFS). Otherwise a
// proposal must offer one of pfs_groups (PFS required): the first configured suite with the
// first of our groups it offers, except that a match in `ke_group` (the received KE's group)
// wins, sparing an INVALID_KE_PAYLOAD round trip -- as select_ike_suite.
[[nodiscard]] std::optional<EspPfsSelection> select_esp_suite_pfs(
    std::span<const Proposal> offered, std::span<const EspSuite> configured,
    std::span<const DhGroup> pfs_groups, std::optional<std::uint16_t> ke_group);

// Intersection of two selectors, if not empty (type, protocol, ports and addresses).
[[nodiscard]] std::optional<TrafficSelector> intersect(const TrafficSelector& a,
                                                       const TrafficSelector& b);
// The parts of `proposed` inside `allowed` (responder narrowing); empty: TS_UNACCEPTABLE.
[[nodiscard]] std::vector<TrafficSelector> narrow_traffic_selectors(
    std::span<const TrafficSelector> proposed, std::span<const TrafficSelector> allowed);
// Whether every selector of `answered` lies inside one of `proposed` (initiator check).
[[nodiscard]] bool traffic_selectors_within(std::span<const TrafficSelector> answered,
                                            std::span<const TrafficSelector> proposed);

// A selector covering one whole IPv4 prefix, any protocol and port (tests, configuration).
[[nodiscard]] TrafficSelector ipv4_prefix_selector(std::uint8_t a, std::uint8_t b, std::uint8_t c,
                                                   std::uint8_t d, unsigned prefix_length);

// The ID payload body after the generic header: ID Type | 3 reserved octets | data.
[[nodiscard]] Bytes id_payload_body(const Identification& id);

}  // namespace mpsa::ike
