// Command and route-type tables per FRR release, and the release parser.
#include "mpsa/bgp_glue/zapi_protocol.hpp"

#include <charconv>

namespace mpsa::bgp_glue {
namespace {

struct CommandRow {
    std::string_view name;
    // Wire number per release in FrrRelease order; -1: the release lacks the command.
    std::array<int, kFrrReleaseCount> numbers;
};

// Verified per release (FRR's lib/zclient.h enum zebra_message_types_t), in Command order.
constexpr CommandRow kCommandTable[] = {
    {"ZEBRA_INTERFACE_ADD", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
    {"ZEBRA_INTERFACE_DELETE", {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
    {"ZEBRA_INTERFACE_ADDRESS_ADD", {2, 2, 2, 2, 2, 2, 2, 2, 2, 2}},
    {"ZEBRA_INTERFACE_ADDRESS_DELETE", {3, 3, 3, 3, 3, 3, 3, 3, 3, 3}},
    {"ZEBRA_INTERFACE_UP", {4, 4, 4, 4, 4, 4, 4, 4, 4, 4}},
    {"ZEBRA_INTERFACE_DOWN", {5, 5, 5, 5, 5, 5, 5, 5, 5, 5}},
    {"ZEBRA_INTERFACE_SET_MASTER", {6, 6, 6, 6, 6, 6, 6, 6, 6, 6}},
    {"ZEBRA_INTERFACE_SET_PROTODOWN", {7, 7, 7, 8, 8, 8, 8, 8, 8, 8}},
    {"ZEBRA_ROUTE_ADD", {8, 8, 8, 9, 9, 9, 9, 9, 9, 9}},
    {"ZEBRA_ROUTE_DELETE", {9, 9, 9, 10, 10, 10, 10, 10, 10, 10}},
    {"ZEBRA_ROUTE_NOTIFY_OWNER", {10, 10, 10, 11, 11, 11, 11, 11, 11, 11}},
    {"ZEBRA_REDISTRIBUTE_ADD", {11, 11, 11, 12, 12, 12, 12, 12, 12, 12}},
    {"ZEBRA_REDISTRIBUTE_DELETE", {12, 12, 12, 13, 13, 13, 13, 13, 13, 13}},
    {"ZEBRA_REDISTRIBUTE_DEFAULT_ADD", {13, 13, 13, 14, 14, 14, 14, 14, 14, 14}},
    {"ZEBRA_REDISTRIBUTE_DEFAULT_DELETE", {14, 14, 14, 15, 15, 15, 15, 15, 15, 15}},
    {"ZEBRA_ROUTER_ID_ADD", {15, 15, 15, 16, 16, 16, 16, 16, 16, 16}},
    {"ZEBRA_ROUTER_ID_DELETE", {16, 16, 16, 17, 17, 17, 17, 17, 17, 17}},
    {"ZEBRA_ROUTER_ID_UPDATE", {17, 17, 17, 18, 18, 18, 18, 18, 18, 18}},
    {"ZEBRA_HELLO", {18, 18, 18, 19, 19, 19, 19, 19, 19, 19}},
    {"ZEBRA_CAPABILITIES", {19, 19, 19, 20, 20, 20, 20, 20, 20, 20}},
    {"ZEBRA_NEXTHOP_REGISTER", {20, 20, 20, 21, 21, 21, 21, 21, 21, 21}},
    {"ZEBRA_NEXTHOP_UNREGISTER", {21, 21, 21, 22, 22, 22, 22, 22, 22, 22}},
    {"ZEBRA_NEXTHOP_UPDATE", {22, 22, 22, 23, 23, 23, 23, 23, 23, 23}},
    {"ZEBRA_INTERFACE_NBR_ADDRESS_ADD", {23, 23, 23, 24, 24, 24, 24, 24, 24, 24}},
    {"ZEBRA_INTERFACE_NBR_ADDRESS_DELETE", {24, 24, 24, 25, 25, 25, 25, 25, 25, 25}},
    {"ZEBRA_INTERFACE_BFD_DEST_UPDATE", {25, 25, 25, 26, 26, 26, 26, 26, 26, 26}},
    {"ZEBRA_BFD_DEST_REGISTER", {26, 26, 26, 27, 27, 27, 27, 27, 27, 27}},
    {"ZEBRA_BFD_DEST_DEREGISTER", {27, 27, 27, 28, 28, 28, 28, 28, 28, 28}},
    {"ZEBRA_BFD_DEST_UPDATE", {28, 28, 28, 29, 29, 29, 29, 29, 29, 29}},
    {"ZEBRA_BFD_DEST_REPLAY", {29, 29, 29, 30, 30, 30, 30, 30, 30, 30}},
    {"ZEBRA_REDISTRIBUTE_ROUTE_ADD", {30, 30, 30, 31, 31, 31, 31, 31, 31, 31}},
    {"ZEBRA_REDISTRIBUTE_ROUTE_DEL", {31, 31, 31, 32, 32, 32, 32, 32, 32, 32}},
    {"ZEBRA_VRF_UNREGISTER", {32, 32, 32, 33, 33, -1, -1, -1, -1, -1}},
    {"ZEBRA_VRF_ADD", {33, 33, 33, 34, 34, 33, 33, 33, 33, 33}},
    {"ZEBRA_VRF_DELETE", {34, 34, 34, 35, 35, 34, 34, 34, 34, 34}},
    {"ZEBRA_VRF_LABEL", {35, 35, 35, 36, 36, 35, 35, 35, 35, 35}},
    {"ZEBRA_INTERFACE_VRF_UPDATE", {36, 36, -1, -1, -1, -1, -1, -1, -1, -1}},
    {"ZEBRA_BFD_CLIENT_REGISTER", {37, 37, 36, 37, 37, 36, 36, 36, 36, 36}},
    {"ZEBRA_BFD_CLIENT_DEREGISTER", {38, 38, 37, 38, 38, 37, 37, 37, 37, 37}},
    {"ZEBRA_INTERFACE_ENABLE_RADV", {39, 39, 38, 39, 39, 38, 38, 38, 38, 38}},
    {"ZEBRA_INTERFACE_DISABLE_RADV", {40, 40, 39, 40, 40, 39, 39, 39, 39, 39}},
    {"ZEBRA_NEXTHOP_LOOKUP_MRIB", {41, 41, 40, 41, 41, 40, -1, -1, -1, -1}},
    {"ZEBRA_INTERFACE_LINK_PARAMS", {42, 42, 41, 42, 42, 41, 41, 41, 41, 41}},
    {"ZEBRA_MPLS_LABELS_ADD", {43, 43, 42, 43, 43, 42, 42, 42, 42, 42}},
    {"ZEBRA_MPLS_LABELS_DELETE", {44, 44, 43, 44, 44, 43, 43, 43, 43, 43}},
    {"ZEBRA_MPLS_LABELS_REPLACE", {45, 45, 44, 45, 45, 44, 44, 44, 44, 44}},
    {"ZEBRA_SR_POLICY_SET", {46, 46, 45, 46, 46, 45, 45, 45, 45, 45}},
    {"ZEBRA_SR_POLICY_DELETE", {47, 47, 46, 47, 47, 46, 46, 46, 46, 46}},
    {"ZEBRA_SR_POLICY_NOTIFY_STATUS", {48, 48, 47, 48, 48, 47, 47, 47, 47, 47}},
    {"ZEBRA_IPMR_ROUTE_STATS", {49, 49, 48, 49, 49, 48, 48, 48, 48, 48}},
    {"ZEBRA_LABEL_MANAGER_CONNECT", {50, 50, 49, 50, 50, 49, 49, 49, 49, 49}},
    {"ZEBRA_LABEL_MANAGER_CONNECT_ASYNC", {51, 51, 50, 51, 51, 50, 50, 50, 50, 50}},
    {"ZEBRA_GET_LABEL_CHUNK", {52, 52, 51, 52, 52, 51, 51, 51, 51, 51}},
    {"ZEBRA_RELEASE_LABEL_CHUNK", {53, 53, 52, 53, 53, 52, 52, 52, 52, 52}},
    {"ZEBRA_FEC_REGISTER", {54, 54, 53, 54, 54, 53, 53, 53, 53, 53}},
    {"ZEBRA_FEC_UNREGISTER", {55, 55, 54, 55, 55, 54, 54, 54, 54, 54}},
    {"ZEBRA_FEC_UPDATE", {56, 56, 55, 56, 56, 55, 55, 55, 55, 55}},
    {"ZEBRA_ADVERTISE_DEFAULT_GW", {57, 57, 56, 57, 57, 56, 56, 56, 56, 56}},
    {"ZEBRA_ADVERTISE_SVI_MACIP", {58, 58, 57, 58, 58, 57, 57, 57, 57, 57}},
    {"ZEBRA_ADVERTISE_SUBNET", {59, 59, 58, 59, 59, 58, 58, 58, 58, 58}},
    {"ZEBRA_ADVERTISE_ALL_VNI", {60, 60, 59, 60, 60, 59, 59, 59, 59, 59}},
    {"ZEBRA_LOCAL_ES_ADD", {61, 61, 60, 61, 61, 60, 60, 60, 60, 60}},
    {"ZEBRA_LOCAL_ES_DEL", {62, 62, 61, 62, 62, 61, 61, 61, 61, 61}},
    {"ZEBRA_REMOTE_ES_VTEP_ADD", {63, 63, 62, 63, 63, 62, 62, 62, 62, 62}},
    {"ZEBRA_REMOTE_ES_VTEP_DEL", {64, 64, 63, 64, 64, 63, 63, 63, 63, 63}},
    {"ZEBRA_LOCAL_ES_EVI_ADD", {65, 65, 64, 65, 65, 64, 64, 64, 64, 64}},
    {"ZEBRA_LOCAL_ES_EVI_DEL", {66, 66, 65, 66, 66, 65, 65, 65, 65, 65}},
    {"ZEBRA_VNI_ADD", {67, 67, 66, 67, 67, 66, 66, 66, 66, 66}},
    {"ZEBRA_VNI_DEL", {68, 68, 67, 68, 68, 67, 67, 67, 67, 67}},
    {"ZEBRA_L3VNI_ADD", {69, 69, 68, 69, 69, 68, 68, 68, 68, 68}},
    {"ZEBRA_L3VNI_DEL", {70, 70, 69, 70, 70, 69, 69, 69, 69, 69}},
    {"ZEBRA_REMOTE_VTEP_ADD", {71, 71, 70, 71, 71, 70, 70, 70, 70, 70}},
    {"ZEBRA_REMOTE_VTEP_DEL", {72, 72, 71, 72, 72, 71, 71, 71, 71, 71}},
    {"ZEBRA_MACIP_ADD", {73, 73, 72, 73, 73, 72, 72, 72, 72, 72}},
    {"ZEBRA_MACIP_DEL", {74, 74, 73, 74, 74, 73, 73, 73, 73, 73}},
    {"ZEBRA_IP_PREFIX_ROUTE_ADD", {75, 75, 74, 75, 75, 74, 74, 74, 74, 74}},
    {"ZEBRA_IP_PREFIX_ROUTE_DEL", {76, 76, 75, 76, 76, 75, 75, 75, 75, 75}},
    {"ZEBRA_REMOTE_MACIP_ADD", {77, 77, 76, 77, 77, 76, 76, 76, 76, 76}},
    {"ZEBRA_REMOTE_MACIP_DEL", {78, 78, 77, 78, 78, 77, 77, 77, 77, 77}},
    {"ZEBRA_DUPLICATE_ADDR_DETECTION", {79, 79, 78, 79, 79, 78, 78, 78, 78, 78}},
    {"ZEBRA_PW_ADD", {80, 80, 79, 80, 80, 79, 79, 79, 79, 79}},
    {"ZEBRA_PW_DELETE", {81, 81, 80, 81, 81, 80, 80, 80, 80, 80}},
    {"ZEBRA_PW_SET", {82, 82, 81, 82, 82, 81, 81, 81, 81, 81}},
    {"ZEBRA_PW_UNSET", {83, 83, 82, 83, 83, 82, 82, 82, 82, 82}},
    {"ZEBRA_PW_STATUS_UPDATE", {84, 84, 83, 84, 84, 83, 83, 83, 83, 83}},
    {"ZEBRA_RULE_ADD", {85, 85, 84, 85, 85, 84, 84, 84, 84, 84}},
    {"ZEBRA_RULE_DELETE", {86, 86, 85, 86, 86, 85, 85, 85, 85, 85}},
    {"ZEBRA_RULE_NOTIFY_OWNER", {87, 87, 86, 87, 87, 86, 86, 86, 86, 86}},
    {"ZEBRA_TABLE_MANAGER_CONNECT", {88, 88, 87, 88, 88, 87, 87, 87, 87, 87}},
    {"ZEBRA_GET_TABLE_CHUNK", {89, 89, 88, 89, 89, 88, 88, 88, 88, 88}},
    {"ZEBRA_RELEASE_TABLE_CHUNK", {90, 90, 89, 90, 90, 89, 89, 89, 89, 89}},
    {"ZEBRA_IPSET_CREATE", {91, 91, 90, 91, 91, 90, 90, 90, 90, 90}},
    {"ZEBRA_IPSET_DESTROY", {92, 92, 91, 92, 92, 91, 91, 91, 91, 91}},
    {"ZEBRA_IPSET_ENTRY_ADD", {93, 93, 92, 93, 93, 92, 92, 92, 92, 92}},
    {"ZEBRA_IPSET_ENTRY_DELETE", {94, 94, 93, 94, 94, 93, 93, 93, 93, 93}},
    {"ZEBRA_IPSET_NOTIFY_OWNER", {95, 95, 94, 95, 95, 94, 94, 94, 94, 94}},
    {"ZEBRA_IPSET_ENTRY_NOTIFY_OWNER", {96, 96, 95, 96, 96, 95, 95, 95, 95, 95}},
    {"ZEBRA_IPTABLE_ADD", {97, 97, 96, 97, 97, 96, 96, 96, 96, 96}},
    {"ZEBRA_IPTABLE_DELETE", {98, 98, 97, 98, 98, 97, 97, 97, 97, 97}},
    {"ZEBRA_IPTABLE_NOTIFY_OWNER", {99, 99, 98, 99, 99, 98, 98, 98, 98, 98}},
    {"ZEBRA_VXLAN_FLOOD_CONTROL", {100, 100, 99, 100, 100, 99, 99, 99, 99, 99}},
    {"ZEBRA_VXLAN_SG_ADD", {101, 101, 100, 101, 101, 100, 100, 100, 100, 100}},
    {"ZEBRA_VXLAN_SG_DEL", {102, 102, 101, 102, 102, 101, 101, 101, 101, 101}},
    {"ZEBRA_VXLAN_SG_REPLAY", {103, 103, 102, 103, 103, 102, 102, 102, 102, 102}},
    {"ZEBRA_MLAG_PROCESS_UP", {104, 104, 103, 104, 104, 103, 103, 103, 103, 103}},
    {"ZEBRA_MLAG_PROCESS_DOWN", {105, 105, 104, 105, 105, 104, 104, 104, 104, 104}},
    {"ZEBRA_MLAG_CLIENT_REGISTER", {106, 106, 105, 106, 106, 105, 105, 105, 105, 105}},
    {"ZEBRA_MLAG_CLIENT_UNREGISTER", {107, 107, 106, 107, 107, 106, 106, 106, 106, 106}},
    {"ZEBRA_MLAG_FORWARD_MSG", {108, 108, 107, 108, 108, 107, 107, 107, 107, 107}},
    {"ZEBRA_NHG_ADD", {109, 109, 108, 109, 109, 108, 108, 108, 108, 108}},
    {"ZEBRA_NHG_DEL", {110, 110, 109, 110, 110, 109, 109, 109, 109, 109}},
    {"ZEBRA_NHG_NOTIFY_OWNER", {111, 111, 110, 111, 111, 110, 110, 110, 110, 110}},
    {"ZEBRA_EVPN_REMOTE_NH_ADD", {112, 112, 111, 112, 112, 111, 111, 111, 111, 111}},
    {"ZEBRA_EVPN_REMOTE_NH_DEL", {113, 113, 112, 113, 113, 112, 112, 112, 112, 112}},
    {"ZEBRA_SRV6_LOCATOR_ADD", {114, 114, 113, 114, 114, 113, 113, 113, 113, 113}},
    {"ZEBRA_SRV6_LOCATOR_DELETE", {115, 115, 114, 115, 115, 114, 114, 114, 114, 114}},
    {"ZEBRA_SRV6_MANAGER_GET_LOCATOR_CHUNK", {116, 116, 115, 116, 116, 115, 115, 115, 115, 115}},
    {"ZEBRA_SRV6_MANAGER_RELEASE_LOCATOR_CHUNK",
     {117, 117, 116, 117, 117, 116, 116, 116, 116, 116}},
    {"ZEBRA_ERROR", {118, 118, 117, 118, 118, 120, 120, 120, 120, 120}},
    {"ZEBRA_CLIENT_CAPABILITIES", {119, 119, 118, 119, 119, 121, 121, 121, 121, 121}},
    {"ZEBRA_OPAQUE_MESSAGE", {120, 120, 119, 120, 120, 122, 122, 122, 122, 122}},
    {"ZEBRA_OPAQUE_REGISTER", {121, 121, 120, 121, 121, 123, 123, 123, 123, 123}},
    {"ZEBRA_OPAQUE_UNREGISTER", {122, 122, 121, 122, 122, 124, 124, 124, 124, 124}},
    {"ZEBRA_NEIGH_DISCOVER", {123, 123, 122, 123, 123, 125, 125, 125, 125, 125}},
    {"ZEBRA_ROUTE_NOTIFY_REQUEST", {124, 124, 123, 124, 124, 126, 126, 126, 126, 126}},
    {"ZEBRA_CLIENT_CLOSE_NOTIFY", {125, 125, 124, 125, 125, 127, 127, 127, 127, 127}},
    {"ZEBRA_NHRP_NEIGH_ADDED", {126, 126, 125, -1, -1, -1, -1, -1, -1, -1}},
    {"ZEBRA_NHRP_NEIGH_REMOVED", {127, 127, 126, -1, -1, -1, -1, -1, -1, -1}},
    {"ZEBRA_NHRP_NEIGH_GET", {128, 128, 127, -1, -1, -1, -1, -1, -1, -1}},
    {"ZEBRA_NHRP_NEIGH_REGISTER", {129, 129, 128, -1, -1, -1, -1, -1, -1, -1}},
    {"ZEBRA_NHRP_NEIGH_UNREGISTER", {130, 130, 129, -1, -1, -1, -1, -1, -1, -1}},
    {"ZEBRA_NEIGH_IP_ADD", {131, 131, 130, 131, 131, 133, 133, 133, 133, 133}},
    {"ZEBRA_NEIGH_IP_DEL", {132, 132, 131, 132, 132, 134, 134, 134, 134, 134}},
    {"ZEBRA_CONFIGURE_ARP", {133, 133, 132, 133, 133, 135, 135, 135, 135, 135}},
    {"ZEBRA_GRE_GET", {134, 134, 133, 134, 134, 136, 136, 136, 136, 136}},
    {"ZEBRA_GRE_UPDATE", {135, 135, 134, 135, 135, 137, 137, 137, 137, 137}},
    {"ZEBRA_GRE_SOURCE_SET", {136, 136, 135, 136, 136, 138, 138, 138, 138, 138}},
    {"ZEBRA_TC_QDISC_INSTALL", {-1, 137, 136, 137, 137, 139, 139, 139, 139, 139}},
    {"ZEBRA_TC_QDISC_UNINSTALL", {-1, 138, 137, 138, 138, 140, 140, 140, 140, 140}},
    {"ZEBRA_TC_CLASS_ADD", {-1, 139, 138, 139, 139, 141, 141, 141, 141, 141}},
    {"ZEBRA_TC_CLASS_DELETE", {-1, 140, 139, 140, 140, 142, 142, 142, 142, 142}},
    {"ZEBRA_TC_FILTER_ADD", {-1, 141, 140, 141, 141, 143, 143, 143, 143, 143}},
    {"ZEBRA_TC_FILTER_DELETE", {-1, 142, 141, 142, 142, 144, 144, 144, 144, 144}},
    {"ZEBRA_OPAQUE_NOTIFY", {-1, -1, 142, 143, 143, 145, 145, 145, 145, 145}},
    {"ZEBRA_INTERFACE_SET_ARP", {-1, -1, -1, 7, 7, 7, 7, 7, 7, 7}},
    {"ZEBRA_NEIGH_ADDED", {-1, -1, -1, 126, 126, 128, 128, 128, 128, 128}},
    {"ZEBRA_NEIGH_REMOVED", {-1, -1, -1, 127, 127, 129, 129, 129, 129, 129}},
    {"ZEBRA_NEIGH_GET", {-1, -1, -1, 128, 128, 130, 130, 130, 130, 130}},
    {"ZEBRA_NEIGH_REGISTER", {-1, -1, -1, 129, 129, 131, 131, 131, 131, 131}},
    {"ZEBRA_NEIGH_UNREGISTER", {-1, -1, -1, 130, 130, 132, 132, 132, 132, 132}},
    {"ZEBRA_SRV6_MANAGER_GET_LOCATOR", {-1, -1, -1, -1, -1, 117, 117, 117, 117, 117}},
    {"ZEBRA_SRV6_MANAGER_GET_SRV6_SID", {-1, -1, -1, -1, -1, 118, 118, 118, 118, 118}},
    {"ZEBRA_SRV6_MANAGER_RELEASE_SRV6_SID", {-1, -1, -1, -1, -1, 119, 119, 119, 119, 119}},
    {"ZEBRA_SRV6_SID_NOTIFY", {-1, -1, -1, -1, -1, 146, 146, 146, 146, 146}},
    {"ZEBRA_NEXTHOP_LOOKUP", {-1, -1, -1, -1, -1, -1, 40, 40, 40, 40}},
};

constexpr std::size_t kCommandCount = sizeof(kCommandTable) / sizeof(kCommandTable[0]);
static_assert(kCommandCount == static_cast<std::size_t>(Command::NexthopLookup) + 1);

struct RouteTypeRow {
    std::string_view name;
    int number_before_10;  // -1: absent before 10.0
    int number_from_10;
};

// lib/route_types.txt: 10.0 inserted LOCAL at 3 and TABLE_DIRECT after SRTE.
constexpr RouteTypeRow kRouteTypeTable[] = {
    {"system", 0, 0},
    {"kernel", 1, 1},
    {"connected", 2, 2},
    {"local", -1, 3},
    {"static", 3, 4},
    {"rip", 4, 5},
    {"ripng", 5, 6},
    {"ospf", 6, 7},
    {"ospf6", 7, 8},
    {"isis", 8, 9},
    {"bgp", 9, 10},
    {"pim", 10, 11},
    {"eigrp", 11, 12},
    {"nhrp", 12, 13},
    {"hsls", 13, 14},
    {"olsr", 14, 15},
    {"table", 15, 16},
    {"ldp", 16, 17},
    {"vnc", 17, 18},
    {"vnc-direct", 18, 19},
    {"vnc-rn", 19, 20},
    {"bgp-direct", 20, 21},
    {"bgp-direct-to-nve-groups", 21, 22},
    {"babel", 22, 23},
    {"sharp", 23, 24},
    {"pbr", 24, 25},
    {"bfd", 25, 26},
    {"openfabric", 26, 27},
    {"vrrp", 27, 28},
    {"nhg", 28, 29},
    {"srte", 29, 30},
    {"table-direct", -1, 31},
    {"wildcard", 30, 32},
};
static_assert(sizeof(kRouteTypeTable) / sizeof(kRouteTypeTable[0]) ==
              static_cast<std::size_t>(RouteType::All) + 1);

bool from_10(FrrRelease release) {
    return release >= FrrRelease::v10_0;
}

}  // namespace

std::string_view to_string(FrrRelease release) {
    switch (release) {
        case FrrRelease::v8_4:
            return "8.4";
        case FrrRelease::v9_0:
            return "9.0";
        case FrrRelease::v9_1:
            return "9.1";
        case FrrRelease::v10_0:
            return "10.0";
        case FrrRelease::v10_1:
            return "10.1";
        case FrrRelease::v10_2:
            return "10.2";
        case FrrRelease::v10_3:
            return "10.3";
        case FrrRelease::v10_4:
            return "10.4";
        case FrrRelease::v10_5:
            return "10.5";
        case FrrRelease::v10_6:
            return "10.6";
    }
    return "?";
}

tl::expected<FrrRelease, std::string> parse_frr_release(std::string_view version) {
    const std::string original(version);
    if (version.starts_with("frr-")) version.remove_prefix(4);
    unsigned major = 0;
    unsigned minor = 0;
    const char* begin = version.data();
    const char* end = version.data() + version.size();
    auto [after_major, major_error] = std::from_chars(begin, end, major);
    if (major_error != std::errc{} || after_major == end || *after_major != '.') {
        return tl::unexpected("cannot read an FRR release from '" + original + "'");
    }
    auto [after_minor, minor_error] = std::from_chars(after_major + 1, end, minor);
    if (minor_error != std::errc{}) {
        return tl::unexpected("cannot read an FRR release from '" + original + "'");
    }
    // Anything after major.minor must be a patch level or a suffix, not more digits glued on.
    if (after_minor != end && *after_minor != '.' && *after_minor != '-' && *after_minor != ' ') {
        return tl::unexpected("cannot read an FRR release from '" + original + "'");
    }
    for (FrrRelease release : kAllFrrReleases) {
        const std::string_view name = to_string(release);
        const std::string wanted = std::to_string(major) + "." + std::to_string(minor);
        if (name == wanted) return release;
    }
    return tl::unexpected("unsupported FRR release '" + original +
                          "' (ZAPI tables exist for 8.4, 9.0, 9.1, 10.0 to 10.6)");
}

std::string_view command_name(Command command) {
    const auto index = static_cast<std::size_t>(command);
    return index < kCommandCount ? kCommandTable[index].name : std::string_view("?");
}

std::optional<std::uint16_t> command_number(FrrRelease release, Command command) {
    const auto index = static_cast<std::size_t>(command);
    if (index >= kCommandCount) return std::nullopt;
    const int number = kCommandTable[index].numbers[static_cast<std::size_t>(release)];
    if (number < 0) return std::nullopt;
    return static_cast<std::uint16_t>(number);
}

std::optional<Command> command_from_number(FrrRelease release, std::uint16_t number) {
    for (std::size_t i = 0; i < kCommandCount; ++i) {
        if (kCommandTable[i].numbers[static_cast<std::size_t>(release)] == number) {
            return static_cast<Command>(i);
        }
    }
    return std::nullopt;
}

std::string_view route_type_name(RouteType type) {
    return kRouteTypeTable[static_cast<std::size_t>(type)].name;
}

std::optional<std::uint8_t> route_type_number(FrrRelease release, RouteType type) {
    const RouteTypeRow& row = kRouteTypeTable[static_cast<std::size_t>(type)];
    const int number = from_10(release) ? row.number_from_10 : row.number_before_10;
    if (number < 0) return std::nullopt;
    return static_cast<std::uint8_t>(number);
}

std::optional<RouteType> route_type_from_number(FrrRelease release, std::uint8_t number) {
    for (std::size_t i = 0; i <= static_cast<std::size_t>(RouteType::All); ++i) {
        const RouteTypeRow& row = kRouteTypeTable[i];
        if ((from_10(release) ? row.number_from_10 : row.number_before_10) == number) {
            return static_cast<RouteType>(i);
        }
    }
    return std::nullopt;
}

std::optional<RouteType> route_type_from_name(std::string_view name) {
    for (std::size_t i = 0; i <= static_cast<std::size_t>(RouteType::All); ++i) {
        if (kRouteTypeTable[i].name == name) return static_cast<RouteType>(i);
    }
    return std::nullopt;
}

WireLayout wire_layout(FrrRelease release) {
    WireLayout layout;
    layout.hello_has_receive_notify = release < FrrRelease::v10_0;
    layout.capabilities_vrf_backend_u8 = release >= FrrRelease::v10_6;
    layout.capabilities_v6_with_v4_nexthop = release >= FrrRelease::v9_1;
    layout.capabilities_graceful_restart = release >= FrrRelease::v10_2;
    layout.interface_has_txqlen = release >= FrrRelease::v9_1;
    layout.interface_has_zif_type = release >= FrrRelease::v10_6;
    layout.nexthop_label_type = release >= FrrRelease::v9_0;
    layout.nexthop_weight_u64 = release >= FrrRelease::v10_1;
    layout.nexthop_seg6_count = release >= FrrRelease::v9_1;
    layout.nexthop_seg6_encap_behavior = release >= FrrRelease::v10_4;
    layout.nht_nexthop_count_u16 = release >= FrrRelease::v10_3;
    layout.notify_owner_src_prefix = release >= FrrRelease::v10_3;
    return layout;
}

}  // namespace mpsa::bgp_glue
