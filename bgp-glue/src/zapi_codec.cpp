#include "mpsa/bgp_glue/zapi_codec.hpp"

#include <algorithm>
#include <numeric>

#include "wire.hpp"

namespace mpsa::bgp_glue {
namespace {

using wire::Reader;
using wire::Writer;

tl::unexpected<DecodeError> failure(const Reader& reader) {
    return tl::unexpected(reader.error());
}

std::optional<Family> family_from_wire(unsigned value) {
    if (value == kAfInet) return Family::ipv4;
    if (value == kAfInet6) return Family::ipv6;
    return std::nullopt;
}

std::uint8_t family_to_wire(Family family) {
    return family == Family::ipv4 ? kAfInet : kAfInet6;
}

std::size_t address_size(Family family) {
    return family == Family::ipv4 ? 4 : 16;
}

Family read_family_u8(Reader& reader, std::string_view field) {
    const auto family = family_from_wire(reader.u8(field));
    if (!family) {
        reader.fail(DecodeErrc::bad_address_family, field);
        return Family::ipv4;
    }
    return *family;
}

Family read_family_u16(Reader& reader, std::string_view field) {
    const auto family = family_from_wire(reader.u16(field));
    if (!family) {
        reader.fail(DecodeErrc::bad_address_family, field);
        return Family::ipv4;
    }
    return *family;
}

IpAddress read_address(Reader& reader, Family family, std::size_t size, std::string_view field) {
    std::array<std::uint8_t, 16> bytes{};
    reader.bytes(bytes.data(), size, field);
    return IpAddress(family, bytes);
}

std::uint8_t read_prefix_length(Reader& reader, Family family, std::string_view field) {
    const std::uint8_t length = reader.u8(field);
    if (reader.ok() && length > address_size(family) * 8) {
        reader.fail(DecodeErrc::bad_prefix_length, field);
    }
    return length;
}

// plen u8 + the (plen + 7) / 8 significant bytes (zapi_route's compact form).
Prefix read_compact_prefix(Reader& reader, Family family, std::string_view field) {
    const std::uint8_t length = read_prefix_length(reader, family, field);
    if (!reader.ok()) return {};
    const IpAddress address = read_address(reader, family, (length + 7u) / 8u, field);
    return Prefix(address, length);
}

void write_compact_prefix(Writer& writer, const Prefix& prefix) {
    writer.u8(static_cast<std::uint8_t>(prefix.length()));
    writer.bytes(prefix.address().bytes().data(), (prefix.length() + 7u) / 8u);
}

ZapiNexthop read_nexthop(Reader& reader, const WireLayout& layout, std::uint32_t message) {
    ZapiNexthop nexthop;
    nexthop.vrf_id = reader.u32("nexthop vrf");
    const std::uint8_t type = reader.u8("nexthop type");
    nexthop.flags = reader.u8("nexthop flags");
    if (!reader.ok()) return nexthop;
    if (type < 1 || type > 6) {
        reader.fail(DecodeErrc::bad_nexthop_type, "nexthop type");
        return nexthop;
    }
    nexthop.type = static_cast<NexthopType>(type);
    switch (nexthop.type) {
        case NexthopType::blackhole:
            nexthop.blackhole_type = reader.u8("nexthop blackhole type");
            break;
        case NexthopType::ipv4:
        case NexthopType::ipv4_ifindex:
            nexthop.gate = read_address(reader, Family::ipv4, 4, "nexthop ipv4 gate");
            nexthop.ifindex = reader.u32("nexthop ifindex");
            break;
        case NexthopType::ipv6:
        case NexthopType::ipv6_ifindex:
            nexthop.gate = read_address(reader, Family::ipv6, 16, "nexthop ipv6 gate");
            nexthop.ifindex = reader.u32("nexthop ifindex");
            break;
        case NexthopType::ifindex:
            nexthop.ifindex = reader.u32("nexthop ifindex");
            break;
    }
    if (nexthop.flags & zapi_nexthop_flag::label) {
        const std::uint8_t count = reader.u8("nexthop label count");
        if (layout.nexthop_label_type) nexthop.label_type = reader.u8("nexthop label type");
        if (!reader.ok()) return nexthop;
        if (count > kMaxLabels) {
            reader.fail(DecodeErrc::too_many_labels, "nexthop label count");
            return nexthop;
        }
        for (std::uint8_t i = 0; i < count && reader.ok(); ++i) {
            nexthop.labels.push_back(reader.u32_host("nexthop label"));
        }
    }
    if (nexthop.flags & zapi_nexthop_flag::weight) {
        nexthop.weight =
            layout.nexthop_weight_u64 ? reader.u64("nexthop weight") : reader.u32("nexthop weight");
    }
    if (nexthop.flags & zapi_nexthop_flag::evpn) {
        reader.bytes(nexthop.router_mac.data(), nexthop.router_mac.size(), "nexthop router mac");
    }
    if (message & zapi_message::srte) nexthop.srte_color = reader.u32("nexthop srte color");
    if (nexthop.flags & zapi_nexthop_flag::has_backup) {
        const std::uint8_t count = reader.u8("nexthop backup count");
        if (!reader.ok()) return nexthop;
        if (count > kMaxBackupIndexes) {
            reader.fail(DecodeErrc::too_many_backup_indexes, "nexthop backup count");
            return nexthop;
        }
        for (std::uint8_t i = 0; i < count && reader.ok(); ++i) {
            nexthop.backup_indexes.push_back(reader.u8("nexthop backup index"));
        }
    }
    if (nexthop.flags & zapi_nexthop_flag::seg6local) {
        // struct seg6local_context is copied raw and its size depends on the zebra build.
        reader.fail(DecodeErrc::unsupported_nexthop_flag, "nexthop seg6local");
        return nexthop;
    }
    if (nexthop.flags & zapi_nexthop_flag::seg6) {
        std::size_t count = 1;
        if (layout.nexthop_seg6_count) count = reader.u8("nexthop seg6 count");
        if (!reader.ok()) return nexthop;
        if (count > kMaxSeg6Segments) {
            reader.fail(DecodeErrc::too_many_segments, "nexthop seg6 count");
            return nexthop;
        }
        for (std::size_t i = 0; i < count && reader.ok(); ++i) {
            nexthop.seg6_segments.push_back(
                read_address(reader, Family::ipv6, 16, "nexthop seg6 segment"));
        }
        if (layout.nexthop_seg6_encap_behavior) {
            nexthop.seg6_encap_behavior = reader.u32("nexthop seg6 encap behavior");
        }
    }
    return nexthop;
}

std::vector<ZapiNexthop> read_nexthops(Reader& reader, const WireLayout& layout,
                                       std::uint32_t message, std::size_t count,
                                       std::string_view count_field) {
    std::vector<ZapiNexthop> nexthops;
    if (!reader.ok()) return nexthops;
    if (count > kMaxNexthops) {
        reader.fail(DecodeErrc::too_many_nexthops, count_field);
        return nexthops;
    }
    nexthops.reserve(count);
    for (std::size_t i = 0; i < count && reader.ok(); ++i) {
        nexthops.push_back(read_nexthop(reader, layout, message));
    }
    return nexthops;
}

std::optional<EncodeErrc> write_nexthop(Writer& writer, const WireLayout& layout,
                                        const ZapiNexthop& nexthop, std::uint32_t message) {
    std::uint8_t flags = nexthop.flags;
    // Like zclient: the optional parts' flags follow from the data.
    flags = static_cast<std::uint8_t>(flags &
                                      ~(zapi_nexthop_flag::label | zapi_nexthop_flag::weight |
                                        zapi_nexthop_flag::has_backup | zapi_nexthop_flag::seg6));
    if (!nexthop.labels.empty()) flags |= zapi_nexthop_flag::label;
    if (nexthop.weight != 0) flags |= zapi_nexthop_flag::weight;
    if (!nexthop.backup_indexes.empty()) flags |= zapi_nexthop_flag::has_backup;
    if (!nexthop.seg6_segments.empty()) flags |= zapi_nexthop_flag::seg6;
    if (flags & zapi_nexthop_flag::seg6local) return EncodeErrc::unsupported_nexthop_flag;
    if (nexthop.labels.size() > kMaxLabels) return EncodeErrc::too_many_labels;
    if (nexthop.backup_indexes.size() > kMaxBackupIndexes) {
        return EncodeErrc::too_many_backup_indexes;
    }
    const std::size_t segment_limit = layout.nexthop_seg6_count ? kMaxSeg6Segments : 1;
    if (nexthop.seg6_segments.size() > segment_limit) return EncodeErrc::too_many_segments;

    writer.u32(nexthop.vrf_id);
    writer.u8(static_cast<std::uint8_t>(nexthop.type));
    writer.u8(flags);
    switch (nexthop.type) {
        case NexthopType::blackhole:
            writer.u8(nexthop.blackhole_type);
            break;
        case NexthopType::ipv4:
        case NexthopType::ipv4_ifindex:
        case NexthopType::ipv6:
        case NexthopType::ipv6_ifindex: {
            const bool v4 =
                nexthop.type == NexthopType::ipv4 || nexthop.type == NexthopType::ipv4_ifindex;
            if (!nexthop.gate || nexthop.gate->is_v4() != v4) return EncodeErrc::missing_gateway;
            writer.bytes(nexthop.gate->bytes().data(), nexthop.gate->size());
            writer.u32(nexthop.ifindex);
            break;
        }
        case NexthopType::ifindex:
            writer.u32(nexthop.ifindex);
            break;
    }
    if (flags & zapi_nexthop_flag::label) {
        writer.u8(static_cast<std::uint8_t>(nexthop.labels.size()));
        if (layout.nexthop_label_type) writer.u8(nexthop.label_type);
        for (std::uint32_t label : nexthop.labels) writer.u32_host(label);
    }
    if (flags & zapi_nexthop_flag::weight) {
        if (layout.nexthop_weight_u64) {
            writer.u64(nexthop.weight);
        } else {
            writer.u32(static_cast<std::uint32_t>(nexthop.weight));
        }
    }
    if (flags & zapi_nexthop_flag::evpn) {
        writer.bytes(nexthop.router_mac.data(), nexthop.router_mac.size());
    }
    if (message & zapi_message::srte) writer.u32(nexthop.srte_color);
    if (flags & zapi_nexthop_flag::has_backup) {
        writer.u8(static_cast<std::uint8_t>(nexthop.backup_indexes.size()));
        for (std::uint8_t index : nexthop.backup_indexes) writer.u8(index);
    }
    if (flags & zapi_nexthop_flag::seg6) {
        if (layout.nexthop_seg6_count) {
            writer.u8(static_cast<std::uint8_t>(nexthop.seg6_segments.size()));
        }
        for (const IpAddress& segment : nexthop.seg6_segments) {
            writer.bytes(segment.bytes().data(), 16);
        }
        if (layout.nexthop_seg6_encap_behavior) writer.u32(nexthop.seg6_encap_behavior);
    }
    return std::nullopt;
}

Bytes header_placeholder(std::uint32_t vrf_id, std::uint16_t command) {
    Bytes out;
    out.reserve(64);
    Writer writer(out);
    writer.u16(0);
    writer.u8(kZapiMarker);
    writer.u8(kZapiVersion);
    writer.u32(vrf_id);
    writer.u16(command);
    return out;
}

tl::expected<Bytes, EncodeErrc> finish(Bytes out) {
    if (out.size() > kZapiMaxMessageSize) return tl::unexpected(EncodeErrc::message_too_large);
    out[0] = static_cast<std::uint8_t>(out.size() >> 8);
    out[1] = static_cast<std::uint8_t>(out.size());
    return out;
}

}  // namespace

std::string_view to_string(DecodeErrc code) {
    switch (code) {
        case DecodeErrc::header_truncated:
            return "header truncated";
        case DecodeErrc::bad_marker:
            return "bad marker";
        case DecodeErrc::bad_version:
            return "bad version";
        case DecodeErrc::length_below_header:
            return "length below header size";
        case DecodeErrc::length_above_maximum:
            return "length above maximum";
        case DecodeErrc::length_mismatch:
            return "length mismatch";
        case DecodeErrc::unknown_command:
            return "unknown command";
        case DecodeErrc::truncated:
            return "truncated";
        case DecodeErrc::trailing_bytes:
            return "trailing bytes";
        case DecodeErrc::bad_address_family:
            return "bad address family";
        case DecodeErrc::bad_prefix_length:
            return "bad prefix length";
        case DecodeErrc::bad_nexthop_type:
            return "bad nexthop type";
        case DecodeErrc::too_many_nexthops:
            return "too many nexthops";
        case DecodeErrc::too_many_labels:
            return "too many labels";
        case DecodeErrc::too_many_backup_indexes:
            return "too many backup indexes";
        case DecodeErrc::too_many_segments:
            return "too many segments";
        case DecodeErrc::unsupported_nexthop_flag:
            return "unsupported nexthop flag";
        case DecodeErrc::opaque_too_long:
            return "opaque data too long";
        case DecodeErrc::bad_hardware_address_length:
            return "bad hardware address length";
    }
    return "?";
}

std::string DecodeError::to_string() const {
    return std::string(bgp_glue::to_string(code)) + " at " + std::string(field);
}

std::string_view to_string(EncodeErrc code) {
    switch (code) {
        case EncodeErrc::command_not_in_release:
            return "command not in this FRR release";
        case EncodeErrc::route_type_not_in_release:
            return "route type not in this FRR release";
        case EncodeErrc::message_too_large:
            return "message too large";
        case EncodeErrc::too_many_nexthops:
            return "too many nexthops";
        case EncodeErrc::too_many_labels:
            return "too many labels";
        case EncodeErrc::too_many_backup_indexes:
            return "too many backup indexes";
        case EncodeErrc::too_many_segments:
            return "too many segments";
        case EncodeErrc::unsupported_nexthop_flag:
            return "unsupported nexthop flag";
        case EncodeErrc::opaque_too_long:
            return "opaque data too long";
        case EncodeErrc::missing_gateway:
            return "nexthop gateway missing or of the wrong family";
    }
    return "?";
}

std::uint64_t DecodeCounters::total_errors() const {
    return std::accumulate(errors.begin(), errors.end(), std::uint64_t{0});
}

tl::expected<ZapiHeader, DecodeError> decode_header(ByteView bytes) {
    if (bytes.size() < kZapiHeaderSize) {
        return tl::unexpected(DecodeError{DecodeErrc::header_truncated, "header"});
    }
    Reader reader(bytes.first(kZapiHeaderSize));
    ZapiHeader header;
    header.length = reader.u16("length");
    const std::uint8_t marker = reader.u8("marker");
    const std::uint8_t version = reader.u8("version");
    header.vrf_id = reader.u32("vrf id");
    header.command = reader.u16("command");
    if (marker != kZapiMarker) return tl::unexpected(DecodeError{DecodeErrc::bad_marker, "marker"});
    if (version != kZapiVersion) {
        return tl::unexpected(DecodeError{DecodeErrc::bad_version, "version"});
    }
    if (header.length < kZapiHeaderSize) {
        return tl::unexpected(DecodeError{DecodeErrc::length_below_header, "length"});
    }
    if (header.length > kZapiMaxMessageSize) {
        return tl::unexpected(DecodeError{DecodeErrc::length_above_maximum, "length"});
    }
    return header;
}

ZapiDecoder::ZapiDecoder(FrrRelease release) : release_(release), layout_(wire_layout(release)) {}

tl::expected<ZapiMessage, DecodeError> ZapiDecoder::decode(ByteView message) {
    auto result = [&]() -> tl::expected<ZapiMessage, DecodeError> {
        auto header = decode_header(message);
        if (!header) return tl::unexpected(header.error());
        if (header->length != message.size()) {
            return tl::unexpected(DecodeError{DecodeErrc::length_mismatch, "length"});
        }
        const auto command = command_from_number(release_, header->command);
        if (!command) return tl::unexpected(DecodeError{DecodeErrc::unknown_command, "command"});
        const ByteView body = message.subspan(kZapiHeaderSize);
        ZapiMessage decoded{*header, *command, UndecodedBody{}};
        auto assign = [&](auto parsed) -> tl::expected<ZapiMessage, DecodeError> {
            if (!parsed) return tl::unexpected(parsed.error());
            decoded.body = std::move(*parsed);
            return std::move(decoded);
        };
        switch (*command) {
            case Command::Capabilities:
                return assign(decode_capabilities(body));
            case Command::RouterIdUpdate:
                return assign(decode_router_id_update(body));
            case Command::InterfaceAdd:
            case Command::InterfaceDelete:
            case Command::InterfaceUp:
            case Command::InterfaceDown:
                return assign(decode_interface_state(body));
            case Command::InterfaceAddressAdd:
            case Command::InterfaceAddressDelete:
                return assign(decode_interface_address(body));
            case Command::RedistributeRouteAdd:
            case Command::RedistributeRouteDel:
            case Command::RouteAdd:
            case Command::RouteDelete:
                return assign(decode_route(body));
            case Command::NexthopUpdate:
                return assign(decode_nexthop_update(body));
            case Command::RouteNotifyOwner:
                return assign(decode_route_notify_owner(body));
            case Command::Error:
                return assign(decode_error(body));
            default:
                decoded.body = UndecodedBody{Bytes(body.begin(), body.end())};
                return decoded;
        }
    }();
    if (!result) {
        ++counters_.errors[static_cast<std::size_t>(result.error().code)];
    } else if (std::holds_alternative<UndecodedBody>(result->body)) {
        ++counters_.undecoded;
    } else {
        ++counters_.decoded;
    }
    return result;
}

tl::expected<ZapiRoute, DecodeError> ZapiDecoder::decode_route(ByteView body) const {
    Reader reader(body);
    ZapiRoute route;
    route.type = reader.u8("route type");
    route.instance = reader.u16("route instance");
    route.flags = reader.u32("route flags");
    route.message = reader.u32("route message");
    route.safi = reader.u8("route safi");
    const Family family = read_family_u8(reader, "route family");
    route.prefix = read_compact_prefix(reader, family, "route prefix");
    if (!reader.ok()) return failure(reader);
    const std::uint32_t message = route.message;
    route.srte = (message & zapi_message::srte) != 0;
    if (message & zapi_message::srcpfx) {
        route.src_prefix = read_compact_prefix(reader, family, "route source prefix");
    }
    if (message & zapi_message::nhg) route.nhg_id = reader.u32("route nhg id");
    if (message & zapi_message::nexthop) {
        const std::uint16_t count = reader.u16("route nexthop count");
        route.nexthops = read_nexthops(reader, layout_, message, count, "route nexthop count");
    }
    if (message & zapi_message::backup_nexthops) {
        const std::uint16_t count = reader.u16("route backup nexthop count");
        route.backup_nexthops =
            read_nexthops(reader, layout_, message, count, "route backup nexthop count");
    }
    if (message & zapi_message::distance) route.distance = reader.u8("route distance");
    if (message & zapi_message::metric) route.metric = reader.u32("route metric");
    if (message & zapi_message::tag) route.tag = reader.u32("route tag");
    if (message & zapi_message::mtu) route.mtu = reader.u32("route mtu");
    if (message & zapi_message::table_id) route.table_id = reader.u32("route table id");
    if (message & zapi_message::opaque) {
        const std::uint16_t length = reader.u16("route opaque length");
        if (reader.ok() && length > kMaxOpaqueLength) {
            reader.fail(DecodeErrc::opaque_too_long, "route opaque length");
        }
        if (reader.ok()) {
            Bytes opaque(length);
            reader.bytes(opaque.data(), length, "route opaque data");
            route.opaque = std::move(opaque);
        }
    }
    reader.expect_end();
    if (!reader.ok()) return failure(reader);
    return route;
}

tl::expected<NexthopUpdate, DecodeError> ZapiDecoder::decode_nexthop_update(ByteView body) const {
    Reader reader(body);
    NexthopUpdate update;
    update.message = reader.u32("nht message");
    update.safi = reader.u16("nht safi");
    const Family family = read_family_u16(reader, "nht family");
    const std::uint8_t length = read_prefix_length(reader, family, "nht prefix length");
    update.registered =
        Prefix(read_address(reader, family, address_size(family), "nht address"), length);
    // The resolving route: AF_UNSPEC (no address bytes) is accepted for an unresolved entry.
    const std::uint16_t resolved_family = reader.u16("nht resolved family");
    if (resolved_family == 0) {
        reader.u8("nht resolved prefix length");
    } else {
        const auto parsed = family_from_wire(resolved_family);
        if (reader.ok() && !parsed)
            reader.fail(DecodeErrc::bad_address_family, "nht resolved family");
        const Family via_family = parsed.value_or(Family::ipv4);
        const std::uint8_t via_length =
            read_prefix_length(reader, via_family, "nht resolved prefix length");
        update.resolved_via = Prefix(
            read_address(reader, via_family, address_size(via_family), "nht resolved address"),
            via_length);
    }
    if (update.message & zapi_message::srte) update.srte_color = reader.u32("nht srte color");
    update.route_type = reader.u8("nht route type");
    update.instance = reader.u16("nht instance");
    update.distance = reader.u8("nht distance");
    update.metric = reader.u32("nht metric");
    const std::size_t count = layout_.nht_nexthop_count_u16 ? reader.u16("nht nexthop count")
                                                            : reader.u8("nht nexthop count");
    update.nexthops = read_nexthops(reader, layout_, update.message, count, "nht nexthop count");
    reader.expect_end();
    if (!reader.ok()) return failure(reader);
    return update;
}

tl::expected<Capabilities, DecodeError> ZapiDecoder::decode_capabilities(ByteView body) const {
    Reader reader(body);
    Capabilities capabilities;
    capabilities.vrf_backend = layout_.capabilities_vrf_backend_u8
                                   ? reader.u8("capabilities vrf backend")
                                   : reader.u32("capabilities vrf backend");
    capabilities.mpls_enabled = reader.u8("capabilities mpls") != 0;
    capabilities.multipath_num = reader.u32("capabilities multipath");
    capabilities.mlag_role = reader.u8("capabilities mlag role");
    if (layout_.capabilities_v6_with_v4_nexthop) {
        capabilities.v6_with_v4_nexthop = reader.u8("capabilities v6 with v4 nexthop") != 0;
    }
    if (layout_.capabilities_graceful_restart) {
        capabilities.graceful_restart = reader.u8("capabilities graceful restart") != 0;
    }
    reader.expect_end();
    if (!reader.ok()) return failure(reader);
    return capabilities;
}

tl::expected<RouterIdUpdate, DecodeError> ZapiDecoder::decode_router_id_update(
    ByteView body) const {
    Reader reader(body);
    const Family family = read_family_u8(reader, "router id family");
    const IpAddress address = read_address(reader, family, address_size(family), "router id");
    const std::uint8_t length = read_prefix_length(reader, family, "router id prefix length");
    reader.expect_end();
    if (!reader.ok()) return failure(reader);
    return RouterIdUpdate{Prefix(address, length)};
}

tl::expected<InterfaceState, DecodeError> ZapiDecoder::decode_interface_state(ByteView body) const {
    constexpr std::size_t kNameSize = 16;            // IFNAMSIZ in every supported release
    constexpr std::size_t kHardwareAddressMax = 20;  // INTERFACE_HWADDR_MAX
    Reader reader(body);
    InterfaceState state;
    char name[kNameSize] = {};
    reader.bytes(reinterpret_cast<std::uint8_t*>(name), kNameSize, "interface name");
    state.name.assign(name, strnlen(name, kNameSize));
    state.ifindex = reader.u32("interface ifindex");
    state.status = reader.u8("interface status");
    state.flags = reader.u64("interface flags");
    reader.u8("interface ptm enable");
    reader.u8("interface ptm status");
    state.metric = reader.u32("interface metric");
    state.speed = reader.u32("interface speed");
    if (layout_.interface_has_txqlen) state.txqlen = reader.u32("interface txqlen");
    state.mtu = reader.u32("interface mtu");
    state.mtu6 = reader.u32("interface mtu6");
    state.bandwidth = reader.u32("interface bandwidth");
    state.link_ifindex = reader.u32("interface link ifindex");
    if (layout_.interface_has_zif_type) state.zif_type = reader.u32("interface zif type");
    state.ll_type = reader.u32("interface link layer type");
    const std::uint32_t hardware_length = reader.u32("interface hardware address length");
    if (reader.ok() && hardware_length > kHardwareAddressMax) {
        reader.fail(DecodeErrc::bad_hardware_address_length, "interface hardware address length");
    }
    if (reader.ok()) {
        state.hardware_address.resize(hardware_length);
        reader.bytes(state.hardware_address.data(), hardware_length, "interface hardware address");
    }
    state.has_link_params = reader.u8("interface link params flag") != 0;
    // Traffic-engineering parameters (variable, unused here) may follow only when flagged.
    if (!state.has_link_params) reader.expect_end();
    if (!reader.ok()) return failure(reader);
    return state;
}

tl::expected<InterfaceAddress, DecodeError> ZapiDecoder::decode_interface_address(
    ByteView body) const {
    Reader reader(body);
    InterfaceAddress address;
    address.ifindex = reader.u32("address ifindex");
    address.flags = reader.u8("address flags");
    const Family family = read_family_u8(reader, "address family");
    const std::size_t size = address_size(family);
    address.host = read_address(reader, family, size, "address");
    const std::uint8_t length = read_prefix_length(reader, family, "address prefix length");
    address.address = Prefix(address.host, length);
    const IpAddress destination = read_address(reader, family, size, "address destination");
    if (!destination.is_unspecified()) address.destination = destination;
    reader.expect_end();
    if (!reader.ok()) return failure(reader);
    return address;
}

tl::expected<RouteNotifyOwner, DecodeError> ZapiDecoder::decode_route_notify_owner(
    ByteView body) const {
    Reader reader(body);
    RouteNotifyOwner notify;
    notify.note = reader.u32_host("notify note");
    const Family family = read_family_u8(reader, "notify family");
    const std::uint8_t length = read_prefix_length(reader, family, "notify prefix length");
    notify.prefix =
        Prefix(read_address(reader, family, address_size(family), "notify prefix"), length);
    if (layout_.notify_owner_src_prefix) {
        const std::uint8_t src_length =
            read_prefix_length(reader, family, "notify source prefix length");
        const IpAddress src =
            read_address(reader, family, address_size(family), "notify source prefix");
        if (src_length != 0) notify.src_prefix = Prefix(src, src_length);
    }
    notify.table_id = reader.u32("notify table");
    notify.afi = reader.u8("notify afi");
    notify.safi = reader.u8("notify safi");
    reader.expect_end();
    if (!reader.ok()) return failure(reader);
    return notify;
}

tl::expected<ZebraError, DecodeError> ZapiDecoder::decode_error(ByteView body) const {
    Reader reader(body);
    ZebraError error{reader.u32_host("error code")};
    reader.expect_end();
    if (!reader.ok()) return failure(reader);
    return error;
}

// ---- encoder ----

ZapiEncoder::ZapiEncoder(FrrRelease release, std::uint32_t vrf_id)
    : release_(release), layout_(wire_layout(release)), vrf_id_(vrf_id) {}

ZapiEncoder::Result ZapiEncoder::raw(Command command, ByteView body) const {
    const auto number = command_number(release_, command);
    if (!number) return tl::unexpected(EncodeErrc::command_not_in_release);
    Bytes out = header_placeholder(vrf_id_, *number);
    out.insert(out.end(), body.begin(), body.end());
    return finish(std::move(out));
}

ZapiEncoder::Result ZapiEncoder::hello(const HelloParams& params) const {
    const auto protocol = route_type_number(release_, params.protocol);
    if (!protocol) return tl::unexpected(EncodeErrc::route_type_not_in_release);
    Bytes body;
    Writer writer(body);
    writer.u8(*protocol);
    writer.u16(params.instance);
    writer.u32(params.session_id);
    if (layout_.hello_has_receive_notify) writer.u8(params.receive_notify ? 1 : 0);
    writer.u8(params.synchronous ? 1 : 0);
    return raw(Command::Hello, body);
}

ZapiEncoder::Result ZapiEncoder::router_id_add(std::uint8_t afi) const {
    Bytes body;
    Writer(body).u16(afi);
    return raw(Command::RouterIdAdd, body);
}

ZapiEncoder::Result ZapiEncoder::redistribute_add(std::uint8_t afi, RouteType type,
                                                  std::uint16_t instance) const {
    const auto number = route_type_number(release_, type);
    if (!number) return tl::unexpected(EncodeErrc::route_type_not_in_release);
    Bytes body;
    Writer writer(body);
    writer.u8(afi);
    writer.u8(*number);
    writer.u16(instance);
    return raw(Command::RedistributeAdd, body);
}

ZapiEncoder::Result ZapiEncoder::redistribute_delete(std::uint8_t afi, RouteType type,
                                                     std::uint16_t instance) const {
    const auto number = route_type_number(release_, type);
    if (!number) return tl::unexpected(EncodeErrc::route_type_not_in_release);
    Bytes body;
    Writer writer(body);
    writer.u8(afi);
    writer.u8(*number);
    writer.u16(instance);
    return raw(Command::RedistributeDelete, body);
}

ZapiEncoder::Result ZapiEncoder::registration(Command command,
                                              std::span<const NexthopRegistration> nexthops) const {
    Bytes body;
    Writer writer(body);
    for (const NexthopRegistration& nexthop : nexthops) {
        writer.u8(nexthop.connected ? 1 : 0);
        writer.u8(nexthop.resolve_via_default ? 1 : 0);
        writer.u16(nexthop.safi);
        writer.u16(family_to_wire(nexthop.address.family()));
        writer.u8(static_cast<std::uint8_t>(nexthop.address.max_prefix_length()));
        writer.bytes(nexthop.address.bytes().data(), nexthop.address.size());
    }
    return raw(command, body);
}

ZapiEncoder::Result ZapiEncoder::nexthop_register(
    std::span<const NexthopRegistration> nexthops) const {
    return registration(Command::NexthopRegister, nexthops);
}

ZapiEncoder::Result ZapiEncoder::nexthop_unregister(
    std::span<const NexthopRegistration> nexthops) const {
    return registration(Command::NexthopUnregister, nexthops);
}

ZapiEncoder::Result ZapiEncoder::route_message(Command command, const ZapiRoute& route) const {
    if (route.nexthops.size() > kMaxNexthops || route.backup_nexthops.size() > kMaxNexthops) {
        return tl::unexpected(EncodeErrc::too_many_nexthops);
    }
    if (route.opaque && route.opaque->size() > kMaxOpaqueLength) {
        return tl::unexpected(EncodeErrc::opaque_too_long);
    }
    // The message bits follow from which optional parts are present.
    std::uint32_t message = 0;
    if (!route.nexthops.empty()) message |= zapi_message::nexthop;
    if (!route.backup_nexthops.empty()) message |= zapi_message::backup_nexthops;
    if (route.src_prefix) message |= zapi_message::srcpfx;
    if (route.nhg_id) message |= zapi_message::nhg;
    if (route.distance) message |= zapi_message::distance;
    if (route.metric) message |= zapi_message::metric;
    if (route.tag) message |= zapi_message::tag;
    if (route.mtu) message |= zapi_message::mtu;
    if (route.table_id) message |= zapi_message::table_id;
    if (route.opaque) message |= zapi_message::opaque;
    if (route.srte) message |= zapi_message::srte;

    Bytes body;
    Writer writer(body);
    writer.u8(route.type);
    writer.u16(route.instance);
    writer.u32(route.flags);
    writer.u32(message);
    writer.u8(route.safi);
    writer.u8(family_to_wire(route.prefix.family()));
    write_compact_prefix(writer, route.prefix);
    if (route.src_prefix) write_compact_prefix(writer, *route.src_prefix);
    if (route.nhg_id) writer.u32(*route.nhg_id);
    for (const auto* list : {&route.nexthops, &route.backup_nexthops}) {
        if (list->empty()) continue;
        writer.u16(static_cast<std::uint16_t>(list->size()));
        for (const ZapiNexthop& nexthop : *list) {
            if (auto error = write_nexthop(writer, layout_, nexthop, message)) {
                return tl::unexpected(*error);
            }
        }
    }
    if (route.distance) writer.u8(*route.distance);
    if (route.metric) writer.u32(*route.metric);
    if (route.tag) writer.u32(*route.tag);
    if (route.mtu) writer.u32(*route.mtu);
    if (route.table_id) writer.u32(*route.table_id);
    if (route.opaque) {
        writer.u16(static_cast<std::uint16_t>(route.opaque->size()));
        writer.bytes(route.opaque->data(), route.opaque->size());
    }
    return raw(command, body);
}

ZapiEncoder::Result ZapiEncoder::route_add(const ZapiRoute& route) const {
    return route_message(Command::RouteAdd, route);
}
ZapiEncoder::Result ZapiEncoder::route_delete(const ZapiRoute& route) const {
    return route_message(Command::RouteDelete, route);
}
ZapiEncoder::Result ZapiEncoder::redistribute_route_add(const ZapiRoute& route) const {
    return route_message(Command::RedistributeRouteAdd, route);
}
ZapiEncoder::Result ZapiEncoder::redistribute_route_delete(const ZapiRoute& route) const {
    return route_message(Command::RedistributeRouteDel, route);
}

ZapiEncoder::Result ZapiEncoder::nexthop_update(const NexthopUpdate& update) const {
    if (update.nexthops.size() > kMaxNexthops) return tl::unexpected(EncodeErrc::too_many_nexthops);
    std::uint32_t message = update.message;
    if (update.srte_color) {
        message |= zapi_message::srte;
    } else {
        message &= ~zapi_message::srte;
    }
    Bytes body;
    Writer writer(body);
    writer.u32(message);
    writer.u16(update.safi);
    for (const Prefix* prefix : {&update.registered, &update.resolved_via}) {
        writer.u16(family_to_wire(prefix->family()));
        writer.u8(static_cast<std::uint8_t>(prefix->length()));
        writer.bytes(prefix->address().bytes().data(), prefix->address().size());
    }
    if (update.srte_color) writer.u32(*update.srte_color);
    writer.u8(update.route_type);
    writer.u16(update.instance);
    writer.u8(update.distance);
    writer.u32(update.metric);
    if (layout_.nht_nexthop_count_u16) {
        writer.u16(static_cast<std::uint16_t>(update.nexthops.size()));
    } else {
        writer.u8(static_cast<std::uint8_t>(update.nexthops.size()));
    }
    for (const ZapiNexthop& nexthop : update.nexthops) {
        if (auto error = write_nexthop(writer, layout_, nexthop, message)) {
            return tl::unexpected(*error);
        }
    }
    return raw(Command::NexthopUpdate, body);
}

ZapiEncoder::Result ZapiEncoder::router_id_update(const Prefix& router_id) const {
    Bytes body;
    Writer writer(body);
    writer.u8(family_to_wire(router_id.family()));
    writer.bytes(router_id.address().bytes().data(), router_id.address().size());
    writer.u8(static_cast<std::uint8_t>(router_id.length()));
    return raw(Command::RouterIdUpdate, body);
}

ZapiEncoder::Result ZapiEncoder::capabilities(const Capabilities& capabilities) const {
    Bytes body;
    Writer writer(body);
    if (layout_.capabilities_vrf_backend_u8) {
        writer.u8(static_cast<std::uint8_t>(capabilities.vrf_backend));
    } else {
        writer.u32(capabilities.vrf_backend);
    }
    writer.u8(capabilities.mpls_enabled ? 1 : 0);
    writer.u32(capabilities.multipath_num);
    writer.u8(capabilities.mlag_role);
    if (layout_.capabilities_v6_with_v4_nexthop) {
        writer.u8(capabilities.v6_with_v4_nexthop.value_or(false) ? 1 : 0);
    }
    if (layout_.capabilities_graceful_restart) {
        writer.u8(capabilities.graceful_restart.value_or(false) ? 1 : 0);
    }
    return raw(Command::Capabilities, body);
}

}  // namespace mpsa::bgp_glue
