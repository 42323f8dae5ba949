// Netlink encoding and decoding of our value types. Kernel structs are copied in and out with
// memcpy: messages in a multi-message buffer are only 4-byte aligned.
#include <arpa/inet.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <string.h>  // explicit_bzero

#include <algorithm>
#include <cstring>

#include <mpsa/xfrm/codec.hpp>

namespace mpsa::xfrm::codec {

namespace {

constexpr int kRequestFlags = NLM_F_REQUEST | NLM_F_ACK;

// Owns a libnl message; wipes it on destruction because SA messages carry keys.
class Builder {
  public:
    Builder(int type, int flags) : msg_(nlmsg_alloc_simple(type, flags)) { ok_ = msg_ != nullptr; }
    ~Builder() {
        if (msg_ == nullptr) return;
        auto* header = nlmsg_hdr(msg_);
        explicit_bzero(header, header->nlmsg_len);
        nlmsg_free(msg_);
    }
    Builder(const Builder&) = delete;
    Builder& operator=(const Builder&) = delete;

    template <class T>
    void header(const T& value) {
        if (ok_) ok_ = nlmsg_append(msg_, const_cast<T*>(&value), sizeof(T), NLMSG_ALIGNTO) == 0;
    }
    void put(int type, const void* data, std::size_t size) {
        if (ok_) ok_ = nla_put(msg_, type, static_cast<int>(size), data) == 0;
    }
    template <class T>
    void put_value(int type, const T& value) {
        put(type, &value, sizeof(T));
    }
    void put_string(int type, const std::string& value) {
        put(type, value.c_str(), value.size() + 1);
    }
    nlattr* nest_start(int type) {
        nlattr* nest = ok_ ? nla_nest_start(msg_, type) : nullptr;
        ok_ = nest != nullptr;
        return nest;
    }
    void nest_end(nlattr* nest) {
        if (ok_) ok_ = nla_nest_end(msg_, nest) == 0;
    }
    tl::expected<WireMessage, Error> finish(const std::string& what) {
        if (!ok_) return tl::unexpected(Error{ENOMEM, "netlink message too large: " + what});
        const auto* header = nlmsg_hdr(msg_);
        return WireMessage(std::span<const std::uint8_t>(
            reinterpret_cast<const std::uint8_t*>(header), header->nlmsg_len));
    }

  private:
    nl_msg* msg_;
    bool ok_ = true;
};

std::uint16_t af(Family family) {
    return static_cast<std::uint16_t>(family);
}

xfrm_address_t to_xfrm(const IpAddress& address) {
    xfrm_address_t out{};
    std::memcpy(&out, address.bytes.data(), address.size());
    return out;
}

IpAddress from_bytes(int family, const void* data, std::size_t available) {
    IpAddress address;
    if (family != AF_INET && family != AF_INET6) return address;
    address.family = static_cast<Family>(family);
    std::memcpy(address.bytes.data(), data, std::min(address.size(), available));
    return address;
}

// A template's unset address comes back as zeros of the template's family.
IpAddress from_xfrm_optional(int family, const xfrm_address_t& data) {
    IpAddress address = from_bytes(family, &data, sizeof(data));
    const bool zero = std::all_of(address.bytes.begin(), address.bytes.end(),
                                  [](std::uint8_t b) { return b == 0; });
    return zero ? IpAddress{} : address;
}

xfrm_selector to_selector(const Selector& selector) {
    xfrm_selector out{};
    out.family = af(selector.dst.family() != Family::kUnspec ? selector.dst.family()
                                                             : selector.src.family());
    out.daddr = to_xfrm(selector.dst.address);
    out.saddr = to_xfrm(selector.src.address);
    out.prefixlen_d = selector.dst.length;
    out.prefixlen_s = selector.src.length;
    out.proto = selector.proto;
    out.sport = htons(selector.sport);
    out.sport_mask = selector.sport != 0 ? 0xffff : 0;
    out.dport = htons(selector.dport);
    out.dport_mask = selector.dport != 0 ? 0xffff : 0;
    return out;
}

Selector from_selector(const xfrm_selector& sel) {
    Selector out;
    out.dst = Prefix{from_bytes(sel.family, &sel.daddr, sizeof(sel.daddr)), sel.prefixlen_d};
    out.src = Prefix{from_bytes(sel.family, &sel.saddr, sizeof(sel.saddr)), sel.prefixlen_s};
    out.proto = sel.proto;
    out.sport = sel.sport_mask != 0 ? ntohs(sel.sport) : 0;
    out.dport = sel.dport_mask != 0 ? ntohs(sel.dport) : 0;
    return out;
}

template <class T>
std::optional<T> read_struct(const void* data, std::size_t available) {
    if (available < sizeof(T)) return std::nullopt;
    T out;
    std::memcpy(&out, data, sizeof(T));
    return out;
}

template <class F>
void for_each_attr(const nlattr* head, int length, F&& visit) {
    for (const nlattr* attr = head; nla_ok(attr, length); attr = nla_next(attr, &length)) {
        visit(*attr);
    }
}

template <class T>
std::optional<T> attr_struct(const nlattr& attr) {
    return read_struct<T>(nla_data(&attr), static_cast<std::size_t>(nla_len(&attr)));
}

std::optional<std::uint32_t> attr_u32(const nlattr& attr) {
    return attr_struct<std::uint32_t>(attr);
}

std::string attr_string(const nlattr& attr) {
    const auto* data = static_cast<const char*>(nla_data(&attr));
    return std::string(data, strnlen(data, static_cast<std::size_t>(nla_len(&attr))));
}

// Algorithm attributes: fixed header then the key, built in a wiped buffer.
template <class Header>
void put_algorithm(Builder& builder, int type, Header header, const SecretBuffer& key) {
    SecretBuffer buffer(sizeof(Header) + key.size());
    header.alg_key_len = static_cast<unsigned int>(key.size() * 8);
    std::memcpy(buffer.data(), &header, sizeof(Header));
    if (!key.empty()) std::memcpy(buffer.data() + sizeof(Header), key.data(), key.size());
    builder.put(type, buffer.data(), buffer.size());
    explicit_bzero(&header, sizeof(header));
}

template <class Header>
void set_name(Header& header, const std::string& name) {
    std::strncpy(header.alg_name, name.c_str(), sizeof(header.alg_name) - 1);
}

template <class Header>
std::optional<std::pair<std::string, SecretBuffer>> get_algorithm(const nlattr& attr,
                                                                  Header& header) {
    const auto length = static_cast<std::size_t>(nla_len(&attr));
    if (length < sizeof(Header)) return std::nullopt;
    std::memcpy(&header, nla_data(&attr), sizeof(Header));
    const std::size_t key_bytes = (header.alg_key_len + 7) / 8;
    if (length < sizeof(Header) + key_bytes) return std::nullopt;
    const auto* key = static_cast<const std::uint8_t*>(nla_data(&attr)) + sizeof(Header);
    std::string name(header.alg_name, strnlen(header.alg_name, sizeof(header.alg_name)));
    return std::make_pair(std::move(name),
                          SecretBuffer(std::span<const std::uint8_t>(key, key_bytes)));
}

// ---- SAs ----

tl::expected<WireMessage, Error> encode_sa_add(const Sa& sa, int type, int flags) {
    xfrm_usersa_info info{};
    if (sa.selector) {
        info.sel = to_selector(*sa.selector);
    } else {
        info.flags |= XFRM_STATE_AF_UNSPEC;
    }
    info.id.daddr = to_xfrm(sa.dst);
    info.id.spi = htonl(sa.spi);
    info.id.proto = sa.proto;
    info.saddr = to_xfrm(sa.src);
    info.lft.soft_byte_limit = sa.lifetime.soft_bytes;
    info.lft.hard_byte_limit = sa.lifetime.hard_bytes;
    info.lft.soft_packet_limit = sa.lifetime.soft_packets;
    info.lft.hard_packet_limit = sa.lifetime.hard_packets;
    info.lft.soft_add_expires_seconds = sa.lifetime.soft_add_seconds;
    info.lft.hard_add_expires_seconds = sa.lifetime.hard_add_seconds;
    info.reqid = sa.reqid;
    info.family = af(sa.dst.family);
    info.mode = static_cast<std::uint8_t>(sa.mode);
    info.replay_window = static_cast<std::uint8_t>(std::min<std::uint32_t>(sa.replay_window, 255));

    Builder builder(type, kRequestFlags | flags);
    builder.header(info);
    if (sa.aead) {
        xfrm_algo_aead header{};
        set_name(header, sa.aead->name);
        header.alg_icv_len = sa.aead->icv_bits;
        put_algorithm(builder, XFRMA_ALG_AEAD, header, sa.aead->key);
    }
    if (sa.cipher) {
        xfrm_algo header{};
        set_name(header, sa.cipher->name);
        put_algorithm(builder, XFRMA_ALG_CRYPT, header, sa.cipher->key);
    }
    if (sa.auth) {
        xfrm_algo_auth header{};
        set_name(header, sa.auth->name);
        header.alg_trunc_len = sa.auth->truncation_bits;
        put_algorithm(builder, XFRMA_ALG_AUTH_TRUNC, header, sa.auth->key);
    }
    if (sa.encap) {
        xfrm_encap_tmpl encap{};
        encap.encap_type = UDP_ENCAP_ESPINUDP;
        encap.encap_sport = htons(sa.encap->sport);
        encap.encap_dport = htons(sa.encap->dport);
        builder.put_value(XFRMA_ENCAP, encap);
    }
    if (sa.mark.value != 0 || sa.mark.mask != 0) {
        xfrm_mark mark{sa.mark.value, sa.mark.mask};
        builder.put_value(XFRMA_MARK, mark);
    }
    if (sa.output_mark) {
        builder.put_value(XFRMA_SET_MARK, sa.output_mark->value);
        builder.put_value(XFRMA_SET_MARK_MASK, sa.output_mark->mask);
    }
    if (sa.if_id != 0) builder.put_value(XFRMA_IF_ID, sa.if_id);
    explicit_bzero(&info, sizeof(info));
    return builder.finish(describe(Object{sa}));
}

tl::expected<WireMessage, Error> encode_sa_delete(const Sa& sa) {
    xfrm_usersa_id id{};
    id.daddr = to_xfrm(sa.dst);
    id.spi = htonl(sa.spi);
    id.family = af(sa.dst.family);
    id.proto = sa.proto;
    Builder builder(XFRM_MSG_DELSA, kRequestFlags);
    builder.header(id);
    const auto src = to_xfrm(sa.src);
    builder.put_value(XFRMA_SRCADDR, src);
    if (sa.mark.value != 0 || sa.mark.mask != 0) {
        xfrm_mark mark{sa.mark.value, sa.mark.mask};
        builder.put_value(XFRMA_MARK, mark);
    }
    return builder.finish(describe(Object{sa}));
}

std::optional<Sa> decode_sa(const xfrm_usersa_info& info, const nlattr* attrs, int length) {
    Sa sa;
    sa.src = from_bytes(info.family, &info.saddr, sizeof(info.saddr));
    sa.dst = from_bytes(info.family, &info.id.daddr, sizeof(info.id.daddr));
    if (sa.dst.unspecified()) return std::nullopt;
    sa.spi = ntohl(info.id.spi);
    sa.proto = info.id.proto;
    sa.mode = static_cast<Mode>(info.mode);
    sa.reqid = info.reqid;
    sa.replay_window = info.replay_window;
    sa.lifetime = Lifetime{info.lft.soft_byte_limit,          info.lft.hard_byte_limit,
                           info.lft.soft_packet_limit,        info.lft.hard_packet_limit,
                           info.lft.soft_add_expires_seconds, info.lft.hard_add_expires_seconds};
    if (info.sel.family != 0) sa.selector = from_selector(info.sel);
    std::optional<std::uint32_t> set_mark;
    std::optional<std::uint32_t> set_mark_mask;
    bool malformed = false;
    for_each_attr(attrs, length, [&](const nlattr& attr) {
        switch (nla_type(&attr)) {
            case XFRMA_ALG_AEAD: {
                xfrm_algo_aead header{};
                auto alg = get_algorithm(attr, header);
                if (!alg) {
                    malformed = true;
                    break;
                }
                sa.aead = AeadAlgorithm{std::move(alg->first), std::move(alg->second),
                                        header.alg_icv_len};
                explicit_bzero(&header, sizeof(header));
                break;
            }
            case XFRMA_ALG_CRYPT: {
                xfrm_algo header{};
                auto alg = get_algorithm(attr, header);
                if (!alg) {
                    malformed = true;
                    break;
                }
                sa.cipher = CipherAlgorithm{std::move(alg->first), std::move(alg->second)};
                break;
            }
            case XFRMA_ALG_AUTH_TRUNC: {
                xfrm_algo_auth header{};
                auto alg = get_algorithm(attr, header);
                if (!alg) {
                    malformed = true;
                    break;
                }
                sa.auth = AuthAlgorithm{std::move(alg->first), std::move(alg->second),
                                        header.alg_trunc_len};
                break;
            }
            case XFRMA_ENCAP:
                if (auto encap = attr_struct<xfrm_encap_tmpl>(attr)) {
                    sa.encap = UdpEncap{ntohs(encap->encap_sport), ntohs(encap->encap_dport)};
                }
                break;
            case XFRMA_MARK:
                if (auto mark = attr_struct<xfrm_mark>(attr)) sa.mark = Mark{mark->v, mark->m};
                break;
            case XFRMA_SET_MARK:
                set_mark = attr_u32(attr);
                break;
            case XFRMA_SET_MARK_MASK:
                set_mark_mask = attr_u32(attr);
                break;
            case XFRMA_IF_ID:
                sa.if_id = attr_u32(attr).value_or(0);
                break;
            default:
                break;
        }
    });
    if (malformed) return std::nullopt;
    if (set_mark || set_mark_mask)
        sa.output_mark = Mark{set_mark.value_or(0), set_mark_mask.value_or(0)};
    return sa;
}

// ---- policies ----

tl::expected<WireMessage, Error> encode_policy_add(const Policy& policy, int type, int flags) {
    xfrm_userpolicy_info info{};
    info.sel = to_selector(policy.selector);
    info.lft.soft_byte_limit = XFRM_INF;
    info.lft.hard_byte_limit = XFRM_INF;
    info.lft.soft_packet_limit = XFRM_INF;
    info.lft.hard_packet_limit = XFRM_INF;
    info.priority = policy.priority;
    info.dir = static_cast<std::uint8_t>(policy.dir);
    info.action = static_cast<std::uint8_t>(policy.action);
    Builder builder(type, kRequestFlags | flags);
    builder.header(info);
    if (!policy.templates.empty()) {
        std::vector<xfrm_user_tmpl> templates;
        for (const auto& tmpl : policy.templates) {
            xfrm_user_tmpl out{};
            out.id.daddr = to_xfrm(tmpl.dst);
            out.id.spi = htonl(tmpl.spi);
            out.id.proto = tmpl.proto;
            out.family = tmpl.dst.unspecified() ? info.sel.family : af(tmpl.dst.family);
            out.saddr = to_xfrm(tmpl.src);
            out.reqid = tmpl.reqid;
            out.mode = static_cast<std::uint8_t>(tmpl.mode);
            out.optional = tmpl.optional ? 1 : 0;
            out.aalgos = ~0U;
            out.ealgos = ~0U;
            out.calgos = ~0U;
            templates.push_back(out);
        }
        builder.put(XFRMA_TMPL, templates.data(), templates.size() * sizeof(xfrm_user_tmpl));
    }
    if (policy.mark.value != 0 || policy.mark.mask != 0) {
        xfrm_mark mark{policy.mark.value, policy.mark.mask};
        builder.put_value(XFRMA_MARK, mark);
    }
    if (policy.if_id != 0) builder.put_value(XFRMA_IF_ID, policy.if_id);
    return builder.finish(describe(Object{policy}));
}

tl::expected<WireMessage, Error> encode_policy_delete(const Policy& policy) {
    xfrm_userpolicy_id id{};
    id.sel = to_selector(policy.selector);
    id.dir = static_cast<std::uint8_t>(policy.dir);
    Builder builder(XFRM_MSG_DELPOLICY, kRequestFlags);
    builder.header(id);
    if (policy.mark.value != 0 || policy.mark.mask != 0) {
        xfrm_mark mark{policy.mark.value, policy.mark.mask};
        builder.put_value(XFRMA_MARK, mark);
    }
    if (policy.if_id != 0) builder.put_value(XFRMA_IF_ID, policy.if_id);
    return builder.finish(describe(Object{policy}));
}

std::optional<Policy> decode_policy(const xfrm_userpolicy_info& info, const nlattr* attrs,
                                    int length) {
    if (info.dir > XFRM_POLICY_FWD) return std::nullopt;  // socket policies
    Policy policy;
    policy.dir = static_cast<Direction>(info.dir);
    policy.selector = from_selector(info.sel);
    policy.priority = info.priority;
    policy.action = static_cast<PolicyAction>(info.action);
    bool sub_policy = false;
    for_each_attr(attrs, length, [&](const nlattr& attr) {
        switch (nla_type(&attr)) {
            case XFRMA_TMPL: {
                const auto count =
                    static_cast<std::size_t>(nla_len(&attr)) / sizeof(xfrm_user_tmpl);
                const auto* data = static_cast<const std::uint8_t*>(nla_data(&attr));
                for (std::size_t i = 0; i < count; ++i) {
                    xfrm_user_tmpl tmpl;
                    std::memcpy(&tmpl, data + i * sizeof(tmpl), sizeof(tmpl));
                    Template out;
                    out.dst = from_xfrm_optional(tmpl.family, tmpl.id.daddr);
                    out.src = from_xfrm_optional(tmpl.family, tmpl.saddr);
                    out.spi = ntohl(tmpl.id.spi);
                    out.proto = tmpl.id.proto;
                    out.mode = static_cast<Mode>(tmpl.mode);
                    out.reqid = tmpl.reqid;
                    out.optional = tmpl.optional != 0;
                    policy.templates.push_back(out);
                }
                break;
            }
            case XFRMA_MARK:
                if (auto mark = attr_struct<xfrm_mark>(attr)) policy.mark = Mark{mark->v, mark->m};
                break;
            case XFRMA_IF_ID:
                policy.if_id = attr_u32(attr).value_or(0);
                break;
            case XFRMA_POLICY_TYPE:
                if (auto type = attr_struct<xfrm_userpolicy_type>(attr)) {
                    sub_policy = type->type != XFRM_POLICY_TYPE_MAIN;
                }
                break;
            default:
                break;
        }
    });
    if (sub_policy) return std::nullopt;
    return policy;
}

// ---- routes, rules, links ----

std::optional<std::uint32_t> index_of(const LinkNames& links, const std::string& name) {
    auto found = links.index_by_name.find(name);
    if (found == links.index_by_name.end()) return std::nullopt;
    return found->second;
}

std::string name_of(const LinkNames& links, std::uint32_t index) {
    auto found = links.name_by_index.find(index);
    return found != links.name_by_index.end() ? found->second : "ifindex" + std::to_string(index);
}

tl::expected<WireMessage, Error> encode_route(const Route& route, int type, int flags,
                                              const LinkNames& links) {
    rtmsg header{};
    header.rtm_family = static_cast<unsigned char>(route.dst.family());
    header.rtm_dst_len = route.dst.length;
    header.rtm_table = route.table < 256 ? static_cast<unsigned char>(route.table)
                                         : static_cast<unsigned char>(RT_TABLE_UNSPEC);
    header.rtm_protocol = route.protocol;
    header.rtm_type = RTN_UNICAST;
    if (type == RTM_DELROUTE) {
        header.rtm_scope = RT_SCOPE_NOWHERE;  // matches any scope
    } else {
        header.rtm_scope = route.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    }
    Builder builder(type, kRequestFlags | flags);
    builder.header(header);
    if (route.dst.length > 0)
        builder.put(RTA_DST, route.dst.address.bytes.data(), route.dst.address.size());
    builder.put_value(RTA_TABLE, route.table);
    if (!route.dev.empty()) {
        const auto index = index_of(links, route.dev);
        if (!index) {
            return tl::unexpected(
                Error{ENODEV, describe(Object{route}) + ": no device " + route.dev});
        }
        builder.put_value(RTA_OIF, *index);
    }
    if (route.gateway) builder.put(RTA_GATEWAY, route.gateway->bytes.data(), route.gateway->size());
    if (route.source) builder.put(RTA_PREFSRC, route.source->bytes.data(), route.source->size());
    builder.put_value(RTA_PRIORITY, route.metric);
    return builder.finish(describe(Object{route}));
}

std::optional<Route> decode_route_message(const nlmsghdr* header, const LinkNames& links) {
    auto rtm =
        read_struct<rtmsg>(nlmsg_data(header), static_cast<std::size_t>(nlmsg_datalen(header)));
    if (!rtm || rtm->rtm_type != RTN_UNICAST || (rtm->rtm_flags & RTM_F_CLONED) != 0) {
        return std::nullopt;
    }
    if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6) return std::nullopt;
    Route route;
    route.dst =
        Prefix{from_bytes(rtm->rtm_family, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16), rtm->rtm_dst_len};
    route.table = rtm->rtm_table;
    route.protocol = rtm->rtm_protocol;
    bool multipath = false;
    for_each_attr(nlmsg_attrdata(header, sizeof(rtmsg)), nlmsg_attrlen(header, sizeof(rtmsg)),
                  [&](const nlattr& attr) {
                      const auto size = static_cast<std::size_t>(nla_len(&attr));
                      switch (nla_type(&attr)) {
                          case RTA_DST:
                              route.dst.address =
                                  from_bytes(rtm->rtm_family, nla_data(&attr), size);
                              break;
                          case RTA_TABLE:
                              route.table = attr_u32(attr).value_or(route.table);
                              break;
                          case RTA_OIF:
                              route.dev = name_of(links, attr_u32(attr).value_or(0));
                              break;
                          case RTA_GATEWAY:
                              route.gateway = from_bytes(rtm->rtm_family, nla_data(&attr), size);
                              break;
                          case RTA_PREFSRC:
                              route.source = from_bytes(rtm->rtm_family, nla_data(&attr), size);
                              break;
                          case RTA_PRIORITY:
                              route.metric = attr_u32(attr).value_or(0);
                              break;
                          case RTA_MULTIPATH:
                              multipath = true;
                              break;
                          default:
                              break;
                      }
                  });
    if (multipath) return std::nullopt;
    return route;
}

tl::expected<WireMessage, Error> encode_rule(const Rule& rule, int type, int flags) {
    fib_rule_hdr header{};
    header.family = static_cast<std::uint8_t>(rule.family);
    header.dst_len = rule.dst ? rule.dst->length : 0;
    header.src_len = rule.src ? rule.src->length : 0;
    header.table = rule.table < 256 ? static_cast<std::uint8_t>(rule.table)
                                    : static_cast<std::uint8_t>(RT_TABLE_UNSPEC);
    header.action = FR_ACT_TO_TBL;
    Builder builder(type, kRequestFlags | flags);
    builder.header(header);
    builder.put_value(FRA_PRIORITY, rule.priority);
    builder.put_value(FRA_TABLE, rule.table);
    if (rule.src) builder.put(FRA_SRC, rule.src->address.bytes.data(), rule.src->address.size());
    if (rule.dst) builder.put(FRA_DST, rule.dst->address.bytes.data(), rule.dst->address.size());
    if (rule.fwmark != 0 || rule.fwmask != 0) {
        builder.put_value(FRA_FWMARK, rule.fwmark);
        builder.put_value(FRA_FWMASK, rule.fwmask);
    }
    if (!rule.iif.empty()) builder.put_string(FRA_IIFNAME, rule.iif);
    builder.put_value(FRA_PROTOCOL, rule.protocol);
    return builder.finish(describe(Object{rule}));
}

std::optional<Rule> decode_rule_message(const nlmsghdr* header) {
    auto frh = read_struct<fib_rule_hdr>(nlmsg_data(header),
                                         static_cast<std::size_t>(nlmsg_datalen(header)));
    if (!frh || frh->action != FR_ACT_TO_TBL) return std::nullopt;
    if (frh->family != AF_INET && frh->family != AF_INET6) return std::nullopt;
    Rule rule;
    rule.family = static_cast<Family>(frh->family);
    rule.table = frh->table;
    for_each_attr(
        nlmsg_attrdata(header, sizeof(fib_rule_hdr)), nlmsg_attrlen(header, sizeof(fib_rule_hdr)),
        [&](const nlattr& attr) {
            const auto size = static_cast<std::size_t>(nla_len(&attr));
            switch (nla_type(&attr)) {
                case FRA_PRIORITY:
                    rule.priority = attr_u32(attr).value_or(0);
                    break;
                case FRA_TABLE:
                    rule.table = attr_u32(attr).value_or(rule.table);
                    break;
                case FRA_SRC:
                    rule.src = Prefix{from_bytes(frh->family, nla_data(&attr), size), frh->src_len};
                    break;
                case FRA_DST:
                    rule.dst = Prefix{from_bytes(frh->family, nla_data(&attr), size), frh->dst_len};
                    break;
                case FRA_FWMARK:
                    rule.fwmark = attr_u32(attr).value_or(0);
                    break;
                case FRA_FWMASK:
                    rule.fwmask = attr_u32(attr).value_or(0);
                    break;
                case FRA_IIFNAME:
                    rule.iif = attr_string(attr);
                    break;
                case FRA_PROTOCOL:
                    rule.protocol =
                        size >= 1 ? *static_cast<const std::uint8_t*>(nla_data(&attr)) : 0;
                    break;
                default:
                    break;
            }
        });
    return rule;
}

tl::expected<WireMessage, Error> encode_interface(const XfrmInterface& interface, int type,
                                                  int flags, const LinkNames& links) {
    ifinfomsg header{};
    header.ifi_family = AF_UNSPEC;
    if (type == RTM_NEWLINK) {
        header.ifi_flags = IFF_UP;
        header.ifi_change = IFF_UP;
    }
    Builder builder(type, kRequestFlags | flags);
    builder.header(header);
    builder.put_string(IFLA_IFNAME, interface.name);
    if (type == RTM_NEWLINK) {
        if (interface.mtu != 0) builder.put_value(IFLA_MTU, interface.mtu);
        auto* linkinfo = builder.nest_start(IFLA_LINKINFO);
        builder.put_string(IFLA_INFO_KIND, "xfrm");
        auto* data = builder.nest_start(IFLA_INFO_DATA);
        if (!interface.underlay.empty()) {
            const auto index = index_of(links, interface.underlay);
            if (!index) {
                return tl::unexpected(Error{
                    ENODEV, describe(Object{interface}) + ": no device " + interface.underlay});
            }
            builder.put_value(IFLA_XFRM_LINK, *index);
        }
        builder.put_value(IFLA_XFRM_IF_ID, interface.if_id);
        builder.nest_end(data);
        builder.nest_end(linkinfo);
    }
    return builder.finish(describe(Object{interface}));
}

std::optional<XfrmInterface> decode_interface(const nlmsghdr* header, const LinkNames& links) {
    if (nlmsg_datalen(header) < static_cast<int>(sizeof(ifinfomsg))) return std::nullopt;
    XfrmInterface interface;
    bool is_xfrm = false;
    for_each_attr(nlmsg_attrdata(header, sizeof(ifinfomsg)),
                  nlmsg_attrlen(header, sizeof(ifinfomsg)), [&](const nlattr& attr) {
                      switch (nla_type(&attr)) {
                          case IFLA_IFNAME:
                              interface.name = attr_string(attr);
                              break;
                          case IFLA_MTU:
                              interface.mtu = attr_u32(attr).value_or(0);
                              break;
                          case IFLA_LINKINFO:
                              for_each_attr(
                                  static_cast<const nlattr*>(nla_data(&attr)), nla_len(&attr),
                                  [&](const nlattr& info) {
                                      if (nla_type(&info) == IFLA_INFO_KIND) {
                                          is_xfrm = attr_string(info) == "xfrm";
                                      } else if (nla_type(&info) == IFLA_INFO_DATA) {
                                          for_each_attr(
                                              static_cast<const nlattr*>(nla_data(&info)),
                                              nla_len(&info), [&](const nlattr& data) {
                                                  if (nla_type(&data) == IFLA_XFRM_LINK) {
                                                      const auto index = attr_u32(data).value_or(0);
                                                      interface.underlay =
                                                          index != 0 ? name_of(links, index) : "";
                                                  } else if (nla_type(&data) == IFLA_XFRM_IF_ID) {
                                                      interface.if_id = attr_u32(data).value_or(0);
                                                  }
                                              });
                                      }
                                  });
                              break;
                          default:
                              break;
                      }
                  });
    if (!is_xfrm) return std::nullopt;
    return interface;
}

const nlmsghdr* as_header(std::span<const std::uint8_t> message) {
    if (message.size() < sizeof(nlmsghdr)) return nullptr;
    const auto* header = reinterpret_cast<const nlmsghdr*>(message.data());
    if (header->nlmsg_len < sizeof(nlmsghdr) || header->nlmsg_len > message.size()) return nullptr;
    return header;
}

}  // namespace

Channel channel_of(const Object& object) {
    return std::holds_alternative<Sa>(object) || std::holds_alternative<Policy>(object)
               ? Channel::kXfrm
               : Channel::kRoute;
}

Channel channel_of(DumpKind kind) {
    return kind == DumpKind::kSas || kind == DumpKind::kPolicies ? Channel::kXfrm : Channel::kRoute;
}

tl::expected<std::vector<WireMessage>, Error> encode(const Change& change, const LinkNames& links) {
    std::vector<WireMessage> out;
    auto push = [&out](tl::expected<WireMessage, Error> message) -> tl::expected<void, Error> {
        if (!message) return tl::unexpected(message.error());
        out.push_back(std::move(*message));
        return {};
    };
    const bool add = change.op == ChangeOp::kAdd;
    tl::expected<void, Error> result;
    if (const auto* sa = std::get_if<Sa>(&change.object)) {
        if (change.op != ChangeOp::kAdd) result = push(encode_sa_delete(*sa));
        if (result && change.op != ChangeOp::kDelete)
            result = push(encode_sa_add(*sa, XFRM_MSG_NEWSA, 0));
    } else if (const auto* policy = std::get_if<Policy>(&change.object)) {
        if (change.op == ChangeOp::kDelete) {
            result = push(encode_policy_delete(*policy));
        } else {
            result =
                push(encode_policy_add(*policy, add ? XFRM_MSG_NEWPOLICY : XFRM_MSG_UPDPOLICY, 0));
        }
    } else if (const auto* route = std::get_if<Route>(&change.object)) {
        if (change.op == ChangeOp::kDelete) {
            result = push(encode_route(*route, RTM_DELROUTE, 0, links));
        } else {
            result = push(encode_route(*route, RTM_NEWROUTE,
                                       NLM_F_CREATE | (add ? NLM_F_EXCL : NLM_F_REPLACE), links));
        }
    } else if (const auto* rule = std::get_if<Rule>(&change.object)) {
        // A rule's value is its identity: an update never reaches here, but would be an add.
        result = change.op == ChangeOp::kDelete
                     ? push(encode_rule(*rule, RTM_DELRULE, 0))
                     : push(encode_rule(*rule, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL));
    } else if (const auto* interface = std::get_if<XfrmInterface>(&change.object)) {
        if (change.op == ChangeOp::kDelete) {
            result = push(encode_interface(*interface, RTM_DELLINK, 0, links));
        } else {
            result = push(encode_interface(*interface, RTM_NEWLINK,
                                           add ? NLM_F_CREATE | NLM_F_EXCL : 0, links));
        }
    }
    if (!result) return tl::unexpected(result.error());
    return out;
}

WireMessage encode_dump_request(DumpKind kind) {
    int type = 0;
    std::vector<std::uint8_t> payload;
    switch (kind) {
        case DumpKind::kSas:
            type = XFRM_MSG_GETSA;
            break;
        case DumpKind::kPolicies:
            type = XFRM_MSG_GETPOLICY;
            break;
        case DumpKind::kLinks:
            type = RTM_GETLINK;
            payload.resize(sizeof(ifinfomsg));
            break;
        case DumpKind::kRoutes4:
        case DumpKind::kRoutes6:
            type = RTM_GETROUTE;
            payload.resize(sizeof(rtmsg));
            payload[0] = kind == DumpKind::kRoutes4 ? AF_INET : AF_INET6;  // rtm_family
            break;
        case DumpKind::kRules4:
        case DumpKind::kRules6:
            type = RTM_GETRULE;
            payload.resize(sizeof(fib_rule_hdr));
            payload[0] = kind == DumpKind::kRules4 ? AF_INET : AF_INET6;  // family
            break;
    }
    nlmsghdr header{};
    header.nlmsg_len = static_cast<std::uint32_t>(NLMSG_LENGTH(payload.size()));
    header.nlmsg_type = static_cast<std::uint16_t>(type);
    header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    WireMessage message(NLMSG_ALIGN(header.nlmsg_len));
    std::memcpy(message.data(), &header, sizeof(header));
    if (!payload.empty())
        std::memcpy(message.data() + NLMSG_HDRLEN, payload.data(), payload.size());
    return message;
}

std::optional<KernelEvent> decode_xfrm(std::span<const std::uint8_t> message) {
    const auto* header = as_header(message);
    if (header == nullptr) return std::nullopt;
    const auto* data = nlmsg_data(header);
    const auto size = static_cast<std::size_t>(nlmsg_datalen(header));
    switch (header->nlmsg_type) {
        case XFRM_MSG_NEWSA:
        case XFRM_MSG_UPDSA: {
            auto info = read_struct<xfrm_usersa_info>(data, size);
            if (!info) return std::nullopt;
            auto sa = decode_sa(*info, nlmsg_attrdata(header, sizeof(xfrm_usersa_info)),
                                nlmsg_attrlen(header, sizeof(xfrm_usersa_info)));
            explicit_bzero(&*info, sizeof(*info));
            if (!sa) return std::nullopt;
            return KernelEvent{KernelEvent::Kind::kNew, std::move(*sa)};
        }
        case XFRM_MSG_DELSA: {  // xfrm_usersa_id, the SA in XFRMA_SA, other attributes beside it
            if (size < sizeof(xfrm_usersa_id)) return std::nullopt;
            const auto* attrs = nlmsg_attrdata(header, sizeof(xfrm_usersa_id));
            const int length = nlmsg_attrlen(header, sizeof(xfrm_usersa_id));
            std::optional<xfrm_usersa_info> info;
            for_each_attr(attrs, length, [&](const nlattr& attr) {
                if (nla_type(&attr) == XFRMA_SA) info = attr_struct<xfrm_usersa_info>(attr);
            });
            if (!info) return std::nullopt;
            auto sa = decode_sa(*info, attrs, length);
            if (!sa) return std::nullopt;
            return KernelEvent{KernelEvent::Kind::kDelete, std::move(*sa)};
        }
        case XFRM_MSG_NEWPOLICY:
        case XFRM_MSG_UPDPOLICY: {
            auto info = read_struct<xfrm_userpolicy_info>(data, size);
            if (!info) return std::nullopt;
            auto policy = decode_policy(*info, nlmsg_attrdata(header, sizeof(xfrm_userpolicy_info)),
                                        nlmsg_attrlen(header, sizeof(xfrm_userpolicy_info)));
            if (!policy) return std::nullopt;
            return KernelEvent{KernelEvent::Kind::kNew, std::move(*policy)};
        }
        case XFRM_MSG_DELPOLICY: {
            if (size < sizeof(xfrm_userpolicy_id)) return std::nullopt;
            const auto* attrs = nlmsg_attrdata(header, sizeof(xfrm_userpolicy_id));
            const int length = nlmsg_attrlen(header, sizeof(xfrm_userpolicy_id));
            std::optional<xfrm_userpolicy_info> info;
            for_each_attr(attrs, length, [&](const nlattr& attr) {
                if (nla_type(&attr) == XFRMA_POLICY) info = attr_struct<xfrm_userpolicy_info>(attr);
            });
            if (!info) return std::nullopt;
            auto policy = decode_policy(*info, attrs, length);
            if (!policy) return std::nullopt;
            return KernelEvent{KernelEvent::Kind::kDelete, std::move(*policy)};
        }
        default:
            return std::nullopt;
    }
}

std::optional<KernelEvent> decode_route(std::span<const std::uint8_t> message,
                                        const LinkNames& links) {
    const auto* header = as_header(message);
    if (header == nullptr) return std::nullopt;
    const auto kind = header->nlmsg_type == RTM_DELROUTE || header->nlmsg_type == RTM_DELRULE ||
                              header->nlmsg_type == RTM_DELLINK
                          ? KernelEvent::Kind::kDelete
                          : KernelEvent::Kind::kNew;
    switch (header->nlmsg_type) {
        case RTM_NEWROUTE:
        case RTM_DELROUTE:
            if (auto route = decode_route_message(header, links)) return KernelEvent{kind, *route};
            return std::nullopt;
        case RTM_NEWRULE:
        case RTM_DELRULE:
            if (auto rule = decode_rule_message(header)) return KernelEvent{kind, *rule};
            return std::nullopt;
        case RTM_NEWLINK:
        case RTM_DELLINK:
            if (auto interface = decode_interface(header, links))
                return KernelEvent{kind, *interface};
            return std::nullopt;
        default:
            return std::nullopt;
    }
}

std::optional<SaCounters> decode_sa_counters(std::span<const std::uint8_t> message) {
    const auto* header = as_header(message);
    if (header == nullptr || header->nlmsg_type != XFRM_MSG_NEWSA) return std::nullopt;
    auto info = read_struct<xfrm_usersa_info>(nlmsg_data(header),
                                              static_cast<std::size_t>(nlmsg_datalen(header)));
    if (!info) return std::nullopt;
    auto sa = decode_sa(*info, nlmsg_attrdata(header, sizeof(xfrm_usersa_info)),
                        nlmsg_attrlen(header, sizeof(xfrm_usersa_info)));
    if (!sa) return std::nullopt;
    return SaCounters{sa->key(), info->curlft.bytes, info->curlft.packets, info->stats.replay,
                      info->stats.integrity_failed};
}

std::optional<LinkEntry> decode_link_entry(std::span<const std::uint8_t> message) {
    const auto* header = as_header(message);
    if (header == nullptr ||
        (header->nlmsg_type != RTM_NEWLINK && header->nlmsg_type != RTM_DELLINK)) {
        return std::nullopt;
    }
    auto info =
        read_struct<ifinfomsg>(nlmsg_data(header), static_cast<std::size_t>(nlmsg_datalen(header)));
    if (!info) return std::nullopt;
    LinkEntry entry;
    entry.index = static_cast<std::uint32_t>(info->ifi_index);
    for_each_attr(nlmsg_attrdata(header, sizeof(ifinfomsg)),
                  nlmsg_attrlen(header, sizeof(ifinfomsg)), [&](const nlattr& attr) {
                      if (nla_type(&attr) == IFLA_IFNAME) entry.name = attr_string(attr);
                  });
    return entry;
}

}  // namespace mpsa::xfrm::codec
