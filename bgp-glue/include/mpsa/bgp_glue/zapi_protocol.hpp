// ZAPI (FRR zebra API) protocol constants: releases, command numbers, route types and the body
// layout differences between releases. ZAPI's version byte stays 6 from FRR 8.4 to 10.6 while
// command numbers and some bodies change, so everything here is keyed by the FRR release.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace mpsa::bgp_glue {

inline constexpr std::size_t kZapiHeaderSize = 10;
inline constexpr std::uint8_t kZapiMarker = 254;
inline constexpr std::uint8_t kZapiVersion = 6;
// zebra's largest packet (ZEBRA_MAX_PACKET_SIZ); a length above it is a framing error.
inline constexpr std::size_t kZapiMaxMessageSize = 16384;

// Linux address family numbers as they appear on the wire.
inline constexpr std::uint8_t kAfInet = 2;
inline constexpr std::uint8_t kAfInet6 = 10;
// FRR's afi_t and safi_t.
inline constexpr std::uint8_t kAfiIp = 1;
inline constexpr std::uint8_t kAfiIp6 = 2;
inline constexpr std::uint8_t kSafiUnicast = 1;

enum class FrrRelease : std::uint8_t {
    v8_4,
    v9_0,
    v9_1,
    v10_0,
    v10_1,
    v10_2,
    v10_3,
    v10_4,
    v10_5,
    v10_6,
};
inline constexpr std::size_t kFrrReleaseCount = 10;
inline constexpr std::array<FrrRelease, kFrrReleaseCount> kAllFrrReleases = {
    FrrRelease::v8_4,  FrrRelease::v9_0,  FrrRelease::v9_1,  FrrRelease::v10_0, FrrRelease::v10_1,
    FrrRelease::v10_2, FrrRelease::v10_3, FrrRelease::v10_4, FrrRelease::v10_5, FrrRelease::v10_6};

[[nodiscard]] std::string_view to_string(FrrRelease release);
// Accepts "8.4", "8.4.4", "10.2.1", "frr-10.6.0", ...: major.minor decides. Anything else
// (including releases we have no tables for, e.g. 8.5 or 11.0) is an error naming the input.
[[nodiscard]] tl::expected<FrrRelease, std::string> parse_frr_release(std::string_view version);

// Every ZAPI command any supported release knows, named after FRR's ZEBRA_* constants.
enum class Command : std::uint16_t {
    InterfaceAdd,
    InterfaceDelete,
    InterfaceAddressAdd,
    InterfaceAddressDelete,
    InterfaceUp,
    InterfaceDown,
    InterfaceSetMaster,
    InterfaceSetProtodown,
    RouteAdd,
    RouteDelete,
    RouteNotifyOwner,
    RedistributeAdd,
    RedistributeDelete,
    RedistributeDefaultAdd,
    RedistributeDefaultDelete,
    RouterIdAdd,
    RouterIdDelete,
    RouterIdUpdate,
    Hello,
    Capabilities,
    NexthopRegister,
    NexthopUnregister,
    NexthopUpdate,
    InterfaceNbrAddressAdd,
    InterfaceNbrAddressDelete,
    InterfaceBfdDestUpdate,
    BfdDestRegister,
    BfdDestDeregister,
    BfdDestUpdate,
    BfdDestReplay,
    RedistributeRouteAdd,
    RedistributeRouteDel,
    VrfUnregister,
    VrfAdd,
    VrfDelete,
    VrfLabel,
    InterfaceVrfUpdate,
    BfdClientRegister,
    BfdClientDeregister,
    InterfaceEnableRadv,
    InterfaceDisableRadv,
    NexthopLookupMrib,
    InterfaceLinkParams,
    MplsLabelsAdd,
    MplsLabelsDelete,
    MplsLabelsReplace,
    SrPolicySet,
    SrPolicyDelete,
    SrPolicyNotifyStatus,
    IpmrRouteStats,
    LabelManagerConnect,
    LabelManagerConnectAsync,
    GetLabelChunk,
    ReleaseLabelChunk,
    FecRegister,
    FecUnregister,
    FecUpdate,
    AdvertiseDefaultGw,
    AdvertiseSviMacip,
    AdvertiseSubnet,
    AdvertiseAllVni,
    LocalEsAdd,
    LocalEsDel,
    RemoteEsVtepAdd,
    RemoteEsVtepDel,
    LocalEsEviAdd,
    LocalEsEviDel,
    VniAdd,
    VniDel,
    L3vniAdd,
    L3vniDel,
    RemoteVtepAdd,
    RemoteVtepDel,
    MacipAdd,
    MacipDel,
    IpPrefixRouteAdd,
    IpPrefixRouteDel,
    RemoteMacipAdd,
    RemoteMacipDel,
    DuplicateAddrDetection,
    PwAdd,
    PwDelete,
    PwSet,
    PwUnset,
    PwStatusUpdate,
    RuleAdd,
    RuleDelete,
    RuleNotifyOwner,
    TableManagerConnect,
    GetTableChunk,
    ReleaseTableChunk,
    IpsetCreate,
    IpsetDestroy,
    IpsetEntryAdd,
    IpsetEntryDelete,
    IpsetNotifyOwner,
    IpsetEntryNotifyOwner,
    IptableAdd,
    IptableDelete,
    IptableNotifyOwner,
    VxlanFloodControl,
    VxlanSgAdd,
    VxlanSgDel,
    VxlanSgReplay,
    MlagProcessUp,
    MlagProcessDown,
    MlagClientRegister,
    MlagClientUnregister,
    MlagForwardMsg,
    NhgAdd,
    NhgDel,
    NhgNotifyOwner,
    EvpnRemoteNhAdd,
    EvpnRemoteNhDel,
    Srv6LocatorAdd,
    Srv6LocatorDelete,
    Srv6ManagerGetLocatorChunk,
    Srv6ManagerReleaseLocatorChunk,
    Error,
    ClientCapabilities,
    OpaqueMessage,
    OpaqueRegister,
    OpaqueUnregister,
    NeighDiscover,
    RouteNotifyRequest,
    ClientCloseNotify,
    NhrpNeighAdded,
    NhrpNeighRemoved,
    NhrpNeighGet,
    NhrpNeighRegister,
    NhrpNeighUnregister,
    NeighIpAdd,
    NeighIpDel,
    ConfigureArp,
    GreGet,
    GreUpdate,
    GreSourceSet,
    TcQdiscInstall,
    TcQdiscUninstall,
    TcClassAdd,
    TcClassDelete,
    TcFilterAdd,
    TcFilterDelete,
    OpaqueNotify,
    InterfaceSetArp,
    NeighAdded,
    NeighRemoved,
    NeighGet,
    NeighRegister,
    NeighUnregister,
    Srv6ManagerGetLocator,
    Srv6ManagerGetSrv6Sid,
    Srv6ManagerReleaseSrv6Sid,
    Srv6SidNotify,
    NexthopLookup,
};

[[nodiscard]] std::string_view command_name(Command command);
// Wire number of a command in a release; nullopt if that release does not have the command.
[[nodiscard]] std::optional<std::uint16_t> command_number(FrrRelease release, Command command);
[[nodiscard]] std::optional<Command> command_from_number(FrrRelease release, std::uint16_t number);

// Route types (FRR's lib/route_types.txt). LOCAL and TABLE_DIRECT exist from 10.0 only.
enum class RouteType : std::uint8_t {
    System,
    Kernel,
    Connect,
    Local,
    Static,
    Rip,
    Ripng,
    Ospf,
    Ospf6,
    Isis,
    Bgp,
    Pim,
    Eigrp,
    Nhrp,
    Hsls,
    Olsr,
    Table,
    Ldp,
    Vnc,
    VncDirect,
    VncDirectRh,
    BgpDirect,
    BgpDirectExt,
    Babel,
    Sharp,
    Pbr,
    Bfd,
    Openfabric,
    Vrrp,
    Nhg,
    Srte,
    TableDirect,
    All,
};

[[nodiscard]] std::string_view route_type_name(RouteType type);
[[nodiscard]] std::optional<std::uint8_t> route_type_number(FrrRelease release, RouteType type);
[[nodiscard]] std::optional<RouteType> route_type_from_number(FrrRelease release,
                                                              std::uint8_t number);
// "bgp", "sharp", ... (lower case, as FRR's CLI spells them).
[[nodiscard]] std::optional<RouteType> route_type_from_name(std::string_view name);

// Body layout differences between releases (read from each release's zclient/zapi_msg sources).
struct WireLayout {
    bool hello_has_receive_notify = true;          // dropped in 10.0
    bool capabilities_vrf_backend_u8 = false;      // u32 before 10.6
    bool capabilities_v6_with_v4_nexthop = false;  // from 9.1
    bool capabilities_graceful_restart = false;    // from 10.2
    bool interface_has_txqlen = false;             // from 9.1
    bool interface_has_zif_type = false;           // from 10.6
    bool nexthop_label_type = false;               // u8 after the label count, from 9.0
    bool nexthop_weight_u64 = false;               // u32 before 10.1
    bool nexthop_seg6_count = false;               // SEG6: count + segments from 9.1 (one before)
    bool nexthop_seg6_encap_behavior = false;      // SEG6: trailing u32 from 10.4
    bool nht_nexthop_count_u16 = false;            // u8 before 10.3
    bool notify_owner_src_prefix = false;          // ROUTE_NOTIFY_OWNER carries src prefix, 10.3
};

[[nodiscard]] WireLayout wire_layout(FrrRelease release);

}  // namespace mpsa::bgp_glue
