// ZAPI message codec (pure, no I/O): the 10-byte header, the bodies a BGP-learning client sends
// (HELLO, ROUTER_ID_ADD, REDISTRIBUTE_*, NEXTHOP_*REGISTER, ROUTE_ADD/DELETE) and the bodies zebra
// sends it. Every decoder checks each read against the message bounds and rejects malformed
// input with a distinct DecodeErrc (and the field it stumbled on), counted per code.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <tl/expected.hpp>

#include "mpsa/bgp_glue/ip_prefix.hpp"
#include "mpsa/bgp_glue/zapi_protocol.hpp"

namespace mpsa::bgp_glue {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

enum class DecodeErrc : std::uint8_t {
    header_truncated,          // fewer than 10 bytes
    bad_marker,                // marker byte is not 254
    bad_version,               // version byte is not 6
    length_below_header,       // header length < 10
    length_above_maximum,      // header length > kZapiMaxMessageSize
    length_mismatch,           // header length differs from the bytes given
    unknown_command,           // command number not in the release's table
    truncated,                 // a field runs past the end of the body
    trailing_bytes,            // bytes left after the last field
    bad_address_family,        // family not AF_INET/AF_INET6
    bad_prefix_length,         // prefix length above the family's maximum
    bad_nexthop_type,          // nexthop type outside 1..6
    too_many_nexthops,         // above kMaxNexthops
    too_many_labels,           // above kMaxLabels
    too_many_backup_indexes,   // above kMaxBackupIndexes
    too_many_segments,         // above kMaxSeg6Segments
    unsupported_nexthop_flag,  // SEG6LOCAL: its context's size differs between builds
    opaque_too_long,           // above kMaxOpaqueLength
    bad_hardware_address_length,
};
inline constexpr std::size_t kDecodeErrcCount =
    static_cast<std::size_t>(DecodeErrc::bad_hardware_address_length) + 1;

[[nodiscard]] std::string_view to_string(DecodeErrc code);

struct DecodeError {
    DecodeErrc code = DecodeErrc::truncated;
    std::string_view field;  // static text naming the field, for logs
    [[nodiscard]] std::string to_string() const;
    bool operator==(const DecodeError&) const = default;
};

// Limits of FRR itself (MULTIPATH_NUM upper bound, MPLS_MAX_LABELS, NEXTHOP_MAX_BACKUPS,
// SRV6_MAX_SEGS, ZAPI_MESSAGE_OPAQUE_LENGTH).
inline constexpr std::size_t kMaxNexthops = 256;
inline constexpr std::size_t kMaxLabels = 16;
inline constexpr std::size_t kMaxBackupIndexes = 8;
inline constexpr std::size_t kMaxSeg6Segments = 8;
inline constexpr std::size_t kMaxOpaqueLength = 1024;

struct ZapiHeader {
    std::uint16_t length = kZapiHeaderSize;
    std::uint32_t vrf_id = 0;
    std::uint16_t command = 0;  // wire number, release-specific
};

// Checks marker, version and the length field's range (not that the bytes are all there).
[[nodiscard]] tl::expected<ZapiHeader, DecodeError> decode_header(ByteView bytes);

// zapi_route message bits.
namespace zapi_message {
inline constexpr std::uint32_t nexthop = 0x01;
inline constexpr std::uint32_t distance = 0x02;
inline constexpr std::uint32_t metric = 0x04;
inline constexpr std::uint32_t tag = 0x08;
inline constexpr std::uint32_t mtu = 0x10;
inline constexpr std::uint32_t srcpfx = 0x20;
inline constexpr std::uint32_t backup_nexthops = 0x40;
inline constexpr std::uint32_t nhg = 0x80;
inline constexpr std::uint32_t table_id = 0x100;
inline constexpr std::uint32_t srte = 0x200;
inline constexpr std::uint32_t opaque = 0x400;
}  // namespace zapi_message

// zapi_route flags (ZEBRA_FLAG_*).
namespace zapi_route_flag {
inline constexpr std::uint32_t allow_recursion = 0x01;
inline constexpr std::uint32_t selfroute = 0x02;
inline constexpr std::uint32_t ibgp = 0x04;
inline constexpr std::uint32_t selected = 0x08;
inline constexpr std::uint32_t fib_override = 0x10;
inline constexpr std::uint32_t evpn_route = 0x20;
inline constexpr std::uint32_t rr_use_distance = 0x40;
inline constexpr std::uint32_t trapped = 0x80;
}  // namespace zapi_route_flag

// Per-nexthop flags (ZAPI_NEXTHOP_FLAG_*).
namespace zapi_nexthop_flag {
inline constexpr std::uint8_t onlink = 0x01;
inline constexpr std::uint8_t label = 0x02;
inline constexpr std::uint8_t weight = 0x04;
inline constexpr std::uint8_t has_backup = 0x08;
inline constexpr std::uint8_t seg6 = 0x10;
inline constexpr std::uint8_t seg6local = 0x20;
inline constexpr std::uint8_t evpn = 0x40;
}  // namespace zapi_nexthop_flag

enum class NexthopType : std::uint8_t {
    ifindex = 1,
    ipv4 = 2,
    ipv4_ifindex = 3,
    ipv6 = 4,
    ipv6_ifindex = 5,
    blackhole = 6,
};

struct ZapiNexthop {
    std::uint32_t vrf_id = 0;
    NexthopType type = NexthopType::ipv4;
    std::uint8_t flags = 0;         // zapi_nexthop_flag bits as on the wire
    std::optional<IpAddress> gate;  // for ipv4*/ipv6* types
    std::uint32_t ifindex = 0;      // for every type except blackhole
    std::uint8_t blackhole_type = 0;
    std::vector<std::uint32_t> labels;
    std::uint8_t label_type = 0;               // 9.0+
    std::uint64_t weight = 0;                  // present on the wire when non-zero
    std::array<std::uint8_t, 6> router_mac{};  // EVPN
    std::uint32_t srte_color = 0;              // when the message has zapi_message::srte
    std::vector<std::uint8_t> backup_indexes;
    std::vector<IpAddress> seg6_segments;
    std::uint32_t seg6_encap_behavior = 0;  // 10.4+
    bool operator==(const ZapiNexthop&) const = default;
};

struct ZapiRoute {
    std::uint8_t type = 0;  // wire route type (see route_type_from_number)
    std::uint16_t instance = 0;
    std::uint32_t flags = 0;
    std::uint32_t message = 0;  // recomputed by the encoder from the optional fields
    std::uint8_t safi = kSafiUnicast;
    Prefix prefix;
    std::optional<Prefix> src_prefix;
    std::optional<std::uint32_t> nhg_id;
    std::vector<ZapiNexthop> nexthops;
    std::vector<ZapiNexthop> backup_nexthops;
    std::optional<std::uint8_t> distance;
    std::optional<std::uint32_t> metric;
    std::optional<std::uint32_t> tag;
    std::optional<std::uint32_t> mtu;
    std::optional<std::uint32_t> table_id;
    std::optional<Bytes> opaque;
    bool srte = false;  // nexthops carry srte_color
    bool operator==(const ZapiRoute&) const = default;
};

struct Capabilities {
    std::uint32_t vrf_backend = 0;
    bool mpls_enabled = false;
    std::uint32_t multipath_num = 0;
    std::uint8_t mlag_role = 0;
    std::optional<bool> v6_with_v4_nexthop;  // 9.1+
    std::optional<bool> graceful_restart;    // 10.2+
    bool operator==(const Capabilities&) const = default;
};

struct RouterIdUpdate {
    Prefix router_id;
    bool operator==(const RouterIdUpdate&) const = default;
};

// INTERFACE_ADD / DELETE / UP / DOWN.
struct InterfaceState {
    std::string name;
    std::uint32_t ifindex = 0;
    std::uint8_t status = 0;
    std::uint64_t flags = 0;  // IFF_* bits
    std::uint32_t metric = 0;
    std::uint32_t speed = 0;
    std::uint32_t txqlen = 0;  // 9.1+
    std::uint32_t mtu = 0;
    std::uint32_t mtu6 = 0;
    std::uint32_t bandwidth = 0;
    std::uint32_t link_ifindex = 0;
    std::uint32_t zif_type = 0;  // 10.6+
    std::uint32_t ll_type = 0;
    Bytes hardware_address;
    bool has_link_params = false;  // TE parameters follow; we do not read them
    [[nodiscard]] bool is_up() const { return (flags & 0x1) != 0; }  // IFF_UP
    bool operator==(const InterfaceState&) const = default;
};

// INTERFACE_ADDRESS_ADD / DELETE.
struct InterfaceAddress {
    std::uint32_t ifindex = 0;
    std::uint8_t flags = 0;
    Prefix address;  // the interface's address with its prefix length (host bits kept)
    IpAddress host;  // the same address unmasked
    std::optional<IpAddress> destination;  // peer address of point-to-point links
    bool operator==(const InterfaceAddress&) const = default;
};

struct NexthopUpdate {
    std::uint32_t message = 0;
    std::uint16_t safi = kSafiUnicast;
    Prefix registered;    // the address we registered (host prefix)
    Prefix resolved_via;  // the route that resolves it; 0.0.0.0/0 when unresolved
    std::optional<std::uint32_t> srte_color;
    std::uint8_t route_type = 0;
    std::uint16_t instance = 0;
    std::uint8_t distance = 0;
    std::uint32_t metric = 0;
    std::vector<ZapiNexthop> nexthops;  // empty: unresolved
    [[nodiscard]] bool resolved() const { return !nexthops.empty(); }
    bool operator==(const NexthopUpdate&) const = default;
};

// ROUTE_NOTIFY_OWNER notes (enum zapi_route_notify_owner).
namespace route_note {
inline constexpr std::uint32_t fail_install = 0;
inline constexpr std::uint32_t better_admin_won = 1;
inline constexpr std::uint32_t installed = 2;
inline constexpr std::uint32_t removed = 3;
inline constexpr std::uint32_t remove_fail = 4;
}  // namespace route_note

struct RouteNotifyOwner {
    std::uint32_t note = 0;  // route_note::*
    Prefix prefix;
    std::optional<Prefix> src_prefix;  // 10.3+
    std::uint32_t table_id = 0;
    std::uint8_t afi = 0;
    std::uint8_t safi = 0;
    bool operator==(const RouteNotifyOwner&) const = default;
};

struct ZebraError {
    std::uint32_t code = 0;  // 0 unknown, 1 no VRF, 2 invalid message type
    bool operator==(const ZebraError&) const = default;
};

// A message we recognise but have no body decoder for (e.g. VRF_ADD); its body is kept.
struct UndecodedBody {
    Bytes body;
    bool operator==(const UndecodedBody&) const = default;
};

using ZapiBody =
    std::variant<UndecodedBody, Capabilities, RouterIdUpdate, InterfaceState, InterfaceAddress,
                 ZapiRoute, NexthopUpdate, RouteNotifyOwner, ZebraError>;

struct ZapiMessage {
    ZapiHeader header;
    Command command = Command::Hello;
    ZapiBody body;
};

struct DecodeCounters {
    std::uint64_t decoded = 0;
    std::uint64_t undecoded = 0;  // recognised commands without a body decoder
    std::array<std::uint64_t, kDecodeErrcCount> errors{};
    [[nodiscard]] std::uint64_t error_count(DecodeErrc code) const {
        return errors[static_cast<std::size_t>(code)];
    }
    [[nodiscard]] std::uint64_t total_errors() const;
};

// Decodes whole messages (one header plus body, as ZapiFramer delivers them) of one release.
class ZapiDecoder {
  public:
    explicit ZapiDecoder(FrrRelease release);

    [[nodiscard]] tl::expected<ZapiMessage, DecodeError> decode(ByteView message);
    [[nodiscard]] const DecodeCounters& counters() const { return counters_; }
    [[nodiscard]] FrrRelease release() const { return release_; }

    // Body decoders, exposed for tests; they do not touch the counters.
    [[nodiscard]] tl::expected<ZapiRoute, DecodeError> decode_route(ByteView body) const;
    [[nodiscard]] tl::expected<NexthopUpdate, DecodeError> decode_nexthop_update(
        ByteView body) const;
    [[nodiscard]] tl::expected<Capabilities, DecodeError> decode_capabilities(ByteView body) const;
    [[nodiscard]] tl::expected<RouterIdUpdate, DecodeError> decode_router_id_update(
        ByteView body) const;
    [[nodiscard]] tl::expected<InterfaceState, DecodeError> decode_interface_state(
        ByteView body) const;
    [[nodiscard]] tl::expected<InterfaceAddress, DecodeError> decode_interface_address(
        ByteView body) const;
    [[nodiscard]] tl::expected<RouteNotifyOwner, DecodeError> decode_route_notify_owner(
        ByteView body) const;
    [[nodiscard]] tl::expected<ZebraError, DecodeError> decode_error(ByteView body) const;

  private:
    FrrRelease release_;
    WireLayout layout_;
    DecodeCounters counters_;
};

enum class EncodeErrc : std::uint8_t {
    command_not_in_release,
    route_type_not_in_release,
    message_too_large,
    too_many_nexthops,
    too_many_labels,
    too_many_backup_indexes,
    too_many_segments,
    unsupported_nexthop_flag,
    opaque_too_long,
    missing_gateway,
};
[[nodiscard]] std::string_view to_string(EncodeErrc code);

struct HelloParams {
    RouteType protocol = RouteType::Sharp;  // our routes' type; must not be a daemon's in use
    std::uint16_t instance = 0;
    std::uint32_t session_id = 0;
    bool receive_notify = true;  // ROUTE_NOTIFY_OWNER for our routes
    bool synchronous = false;
};

struct NexthopRegistration {
    IpAddress address;
    bool connected = false;
    bool resolve_via_default = false;
    std::uint16_t safi = kSafiUnicast;
    bool operator==(const NexthopRegistration&) const = default;
};

// Encodes the messages of one release. Client messages first, then the ones zebra sends (used
// by the tests' fake zebra and the benchmark, and to check decoders by round trip).
class ZapiEncoder {
  public:
    using Result = tl::expected<Bytes, EncodeErrc>;
    explicit ZapiEncoder(FrrRelease release, std::uint32_t vrf_id = 0);

    [[nodiscard]] Result hello(const HelloParams& params) const;
    [[nodiscard]] Result router_id_add(std::uint8_t afi) const;
    [[nodiscard]] Result redistribute_add(std::uint8_t afi, RouteType type,
                                          std::uint16_t instance = 0) const;
    [[nodiscard]] Result redistribute_delete(std::uint8_t afi, RouteType type,
                                             std::uint16_t instance = 0) const;
    [[nodiscard]] Result nexthop_register(std::span<const NexthopRegistration> nexthops) const;
    [[nodiscard]] Result nexthop_unregister(std::span<const NexthopRegistration> nexthops) const;
    [[nodiscard]] Result route_add(const ZapiRoute& route) const;
    [[nodiscard]] Result route_delete(const ZapiRoute& route) const;

    // zebra's side.
    [[nodiscard]] Result redistribute_route_add(const ZapiRoute& route) const;
    [[nodiscard]] Result redistribute_route_delete(const ZapiRoute& route) const;
    [[nodiscard]] Result nexthop_update(const NexthopUpdate& update) const;
    [[nodiscard]] Result router_id_update(const Prefix& router_id) const;
    [[nodiscard]] Result capabilities(const Capabilities& capabilities) const;
    // Any command with a ready-made body.
    [[nodiscard]] Result raw(Command command, ByteView body) const;

  private:
    [[nodiscard]] Result route_message(Command command, const ZapiRoute& route) const;
    [[nodiscard]] Result registration(Command command,
                                      std::span<const NexthopRegistration> nexthops) const;
    FrrRelease release_;
    WireLayout layout_;
    std::uint32_t vrf_id_;
};

}  // namespace mpsa::bgp_glue
