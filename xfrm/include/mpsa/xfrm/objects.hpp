// Value types for everything the controller programs into the kernel, and the state they form.
// Each object has an identity key (what the kernel uses to find it) and a full value; the diff
// adds objects whose key is missing, updates those whose value differs, deletes the rest.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <mpsa/xfrm/address.hpp>
#include <mpsa/xfrm/secret.hpp>

namespace mpsa::xfrm {

inline constexpr std::uint64_t kInfinite = std::numeric_limits<std::uint64_t>::max();
inline constexpr std::uint8_t kProtoEsp = 50;
// rtm_protocol / FRA_PROTOCOL of our routes and rules (see ownership.hpp).
inline constexpr std::uint8_t kMpsaRouteProtocol = 0xa5;

enum class Mode : std::uint8_t { kTransport = 0, kTunnel = 1 };       // XFRM_MODE_*
enum class Direction : std::uint8_t { kIn = 0, kOut = 1, kFwd = 2 };  // XFRM_POLICY_IN/OUT/FWD
enum class PolicyAction : std::uint8_t { kAllow = 0, kBlock = 1 };    // XFRM_POLICY_ALLOW/BLOCK

struct Mark {
    std::uint32_t value = 0;
    std::uint32_t mask = 0;
    auto operator<=>(const Mark&) const = default;
};

// Traffic selector; port 0 and proto 0 mean any.
struct Selector {
    Prefix src;
    Prefix dst;
    std::uint8_t proto = 0;
    std::uint16_t sport = 0;
    std::uint16_t dport = 0;
    auto operator<=>(const Selector&) const = default;
};

// Route-based IPsec device: `ip link add NAME type xfrm dev UNDERLAY if_id IF_ID`.
struct XfrmInterface {
    std::string name;
    std::uint32_t if_id = 0;
    std::string underlay;   // device name; the kernel stores its ifindex
    std::uint32_t mtu = 0;  // 0: leave the kernel's default
    bool operator==(const XfrmInterface&) const = default;
};

struct AeadAlgorithm {
    std::string name;  // kernel name, e.g. "rfc4106(gcm(aes))"; key includes the 4-byte salt
    SecretBuffer key;
    std::uint32_t icv_bits = 128;
};
struct CipherAlgorithm {
    std::string name;  // e.g. "cbc(aes)"
    SecretBuffer key;
};
struct AuthAlgorithm {
    std::string name;  // e.g. "hmac(sha256)"
    SecretBuffer key;
    std::uint32_t truncation_bits = 128;
};

struct UdpEncap {  // ESP-in-UDP (RFC 3948)
    std::uint16_t sport = 4500;
    std::uint16_t dport = 4500;
    auto operator<=>(const UdpEncap&) const = default;
};

struct Lifetime {  // kernel semantics: limits of 0 seconds mean none, kInfinite counts mean none
    std::uint64_t soft_bytes = kInfinite;
    std::uint64_t hard_bytes = kInfinite;
    std::uint64_t soft_packets = kInfinite;
    std::uint64_t hard_packets = kInfinite;
    std::uint64_t soft_add_seconds = 0;
    std::uint64_t hard_add_seconds = 0;
    auto operator<=>(const Lifetime&) const = default;
};

struct SaKey {
    IpAddress dst;
    std::uint32_t spi = 0;  // host order
    std::uint8_t proto = kProtoEsp;
    Mark mark;
    auto operator<=>(const SaKey&) const = default;
};

struct Sa {
    IpAddress src;
    IpAddress dst;
    std::uint32_t spi = 0;  // host order
    std::uint8_t proto = kProtoEsp;
    Mode mode = Mode::kTunnel;
    std::uint32_t reqid = 0;
    std::optional<AeadAlgorithm> aead;  // either aead, or cipher (+ auth)
    std::optional<CipherAlgorithm> cipher;
    std::optional<AuthAlgorithm> auth;
    std::uint32_t replay_window = 0;  // a shared group SA has many senders: 0
    std::optional<UdpEncap> encap;
    std::uint32_t if_id = 0;
    Mark mark;                        // SA lookup mark
    std::optional<Mark> output_mark;  // XFRMA_SET_MARK: mark set on packets after output
    Lifetime lifetime;
    // nullopt: any inner family (XFRM_STATE_AF_UNSPEC), as a tunnel carrying IPv4 and IPv6 needs.
    std::optional<Selector> selector;

    [[nodiscard]] SaKey key() const { return {dst, spi, proto, mark}; }
};
// Compares keys in constant time; two SAs are equal when everything we program is equal.
bool operator==(const Sa& a, const Sa& b);

// What the kernel counted on an SA (never part of the desired state).
struct SaCounters {
    SaKey key;
    std::uint64_t bytes = 0;
    std::uint64_t packets = 0;
    std::uint32_t replay_failures = 0;
    std::uint32_t integrity_failures = 0;
};

struct Template {
    IpAddress src;  // unspecified in transport mode
    IpAddress dst;
    std::uint32_t spi = 0;  // 0: any
    std::uint8_t proto = kProtoEsp;
    Mode mode = Mode::kTunnel;
    std::uint32_t reqid = 0;
    bool optional = false;
    auto operator<=>(const Template&) const = default;
};

struct PolicyKey {  // what the kernel matches an update or delete on
    Direction dir = Direction::kOut;
    Selector selector;
    Mark mark;
    std::uint32_t if_id = 0;
    auto operator<=>(const PolicyKey&) const = default;
};

struct Policy {
    Direction dir = Direction::kOut;
    Selector selector;
    std::uint32_t if_id = 0;
    Mark mark;
    std::uint32_t priority = 0;
    PolicyAction action = PolicyAction::kAllow;
    std::vector<Template> templates;

    [[nodiscard]] PolicyKey key() const { return {dir, selector, mark, if_id}; }
    bool operator==(const Policy&) const = default;
};

struct RouteKey {  // (table, prefix, metric) identify a unicast route for IPv4 and IPv6
    std::uint32_t table = 0;
    Prefix dst;
    std::uint32_t metric = 0;
    auto operator<=>(const RouteKey&) const = default;
};

struct Route {
    Prefix dst;
    std::uint32_t table = 254;  // main
    std::string dev;            // output device name
    std::optional<IpAddress> gateway;
    std::optional<IpAddress> source;  // preferred source (RTA_PREFSRC) for local traffic
    std::uint32_t metric = 0;  // IPv6 0 is stored by the kernel as 1024: State::add normalises
    std::uint8_t protocol = kMpsaRouteProtocol;

    [[nodiscard]] RouteKey key() const { return {table, dst, metric}; }
    bool operator==(const Route&) const = default;
};

// `ip rule`: the whole value is the identity (the kernel can hold duplicates; we never add one).
struct Rule {
    Family family = Family::kIpv4;
    std::uint32_t priority = 0;
    std::uint32_t table = 0;
    std::optional<Prefix> src;
    std::optional<Prefix> dst;
    std::uint32_t fwmark = 0;
    std::uint32_t fwmask = 0;  // with fwmark != 0, 0 means 0xffffffff (as the kernel stores it)
    std::string iif;
    std::uint8_t protocol = kMpsaRouteProtocol;
    auto operator<=>(const Rule&) const = default;
};

using Object = std::variant<XfrmInterface, Sa, Policy, Route, Rule>;

// A set of kernel objects keyed by identity: what we want (desired) or what a dump returned.
struct State {
    std::map<std::string, XfrmInterface> interfaces;
    std::map<SaKey, Sa> sas;
    std::map<PolicyKey, Policy> policies;
    std::map<RouteKey, Route> routes;
    std::set<Rule> rules;

    // Insert or replace by key, after normalising to what a kernel dump would return (IPv6
    // metric 0 -> 1024, fwmark without mask -> full mask, replay window capped at 32 as the
    // kernel does without ESN, output mark {0, 0} -> none).
    void add(XfrmInterface interface);
    void add(Sa sa);
    void add(Policy policy);
    void add(Route route);
    void add(Rule rule);
    void add(Object object);
    // Remove by the object's key (no-op when absent).
    void remove(const Object& object);

    [[nodiscard]] std::size_t size() const {
        return interfaces.size() + sas.size() + policies.size() + routes.size() + rules.size();
    }
    bool operator==(const State&) const = default;
};
using DesiredState = State;

// Human-readable identity for logs and errors (never contains key bytes).
[[nodiscard]] std::string describe(const Object& object);

}  // namespace mpsa::xfrm
