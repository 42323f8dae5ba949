#include <mpsa/daemon/child_sa_installer.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <random>
#include <span>

#include <spdlog/spdlog.h>

namespace mpsa::daemon {
namespace {

using Address = std::array<std::uint8_t, 16>;

std::string hex32(std::uint32_t value) {
    char text[16];
    std::snprintf(text, sizeof text, "0x%08x", value);
    return text;
}

xfrm::IpAddress to_xfrm(const ike::IpAddress& address) {
    xfrm::IpAddress out;
    out.family = address.v6 ? xfrm::Family::kIpv6 : xfrm::Family::kIpv4;
    const std::size_t size = address.v6 ? 16 : 4;
    for (std::size_t i = 0; i < size; ++i) out.bytes[i] = address.octets[i];
    return out;
}

xfrm::SecretBuffer secret(const ike::SecretBytes& bytes) {
    return xfrm::SecretBuffer(std::span<const std::uint8_t>(bytes.data(), bytes.size()));
}

// Address-range arithmetic on the first `bits` bits of a big-endian address.
bool bit(const Address& a, unsigned bits, unsigned from_low) {
    const unsigned index = bits - 1 - from_low;
    return ((a[index / 8] >> (7 - index % 8)) & 1U) != 0;
}
Address with_low_bits_set(Address a, unsigned bits, unsigned count) {
    for (unsigned i = 0; i < count; ++i) {
        const unsigned index = bits - 1 - i;
        a[index / 8] = static_cast<std::uint8_t>(a[index / 8] | (0x80U >> (index % 8)));
    }
    return a;
}
// a + 1; false on wrap-around past the all-ones address.
bool increment(Address& a, unsigned bits) {
    for (int i = static_cast<int>(bits / 8) - 1; i >= 0; --i) {
        if (++a[static_cast<std::size_t>(i)] != 0) return true;
    }
    return false;
}

// The smallest set of prefixes covering [start, end] exactly.
std::vector<xfrm::Prefix> covering_prefixes(Address start, const Address& end, unsigned bits,
                                            xfrm::Family family) {
    std::vector<xfrm::Prefix> prefixes;
    while (true) {
        unsigned host_bits = 0;
        while (host_bits < bits && !bit(start, bits, host_bits)) ++host_bits;
        Address last = with_low_bits_set(start, bits, host_bits);
        while (last > end) {
            --host_bits;
            last = with_low_bits_set(start, bits, host_bits);
        }
        xfrm::Prefix prefix;
        prefix.address.family = family;
        prefix.address.bytes = start;
        prefix.length = static_cast<std::uint8_t>(bits - host_bits);
        prefixes.push_back(prefix);
        if (last == end) return prefixes;
        start = last;
        if (!increment(start, bits)) return prefixes;
    }
}

struct AlgorithmNames {
    const char* name;
    std::size_t key_bytes;
    std::uint32_t truncation_bits;
};

std::optional<AlgorithmNames> integ_algorithm(ike::IntegId id) {
    switch (id) {
        case ike::IntegId::kHmacSha1_96:
            return AlgorithmNames{"hmac(sha1)", 20, 96};
        case ike::IntegId::kHmacSha2_256_128:
            return AlgorithmNames{"hmac(sha256)", 32, 128};
        case ike::IntegId::kHmacSha2_384_192:
            return AlgorithmNames{"hmac(sha384)", 48, 192};
        case ike::IntegId::kHmacSha2_512_256:
            return AlgorithmNames{"hmac(sha512)", 64, 256};
        case ike::IntegId::kNone:
            break;
    }
    return std::nullopt;
}

tl::expected<void, std::string> set_algorithms(const ike::EspSaParams& params, xfrm::Sa& sa) {
    const auto& suite = params.suite;
    if (suite.encr_key_bits != 128 && suite.encr_key_bits != 192 && suite.encr_key_bits != 256) {
        return tl::unexpected("unsupported AES key length " + std::to_string(suite.encr_key_bits));
    }
    const std::size_t aes_bytes = suite.encr_key_bits / 8;
    switch (suite.encr) {
        case ike::EncrId::kAesGcm16:
            if (suite.integ != ike::IntegId::kNone) {
                return tl::unexpected(
                    std::string("AES-GCM negotiated with an integrity transform"));
            }
            if (params.encr_key.size() != aes_bytes + 4) {
                return tl::unexpected("AES-GCM key of " + std::to_string(params.encr_key.size()) +
                                      " octets, expected " + std::to_string(aes_bytes + 4) +
                                      " (key and 4-octet salt)");
            }
            sa.aead = xfrm::AeadAlgorithm{"rfc4106(gcm(aes))", secret(params.encr_key), 128};
            return {};
        case ike::EncrId::kAesCbc: {
            const auto integ = integ_algorithm(suite.integ);
            if (!integ) return tl::unexpected(std::string("AES-CBC without integrity transform"));
            if (params.encr_key.size() != aes_bytes) {
                return tl::unexpected("AES-CBC key of " + std::to_string(params.encr_key.size()) +
                                      " octets, expected " + std::to_string(aes_bytes));
            }
            if (params.integ_key.size() != integ->key_bytes) {
                return tl::unexpected(std::string(integ->name) + " key of " +
                                      std::to_string(params.integ_key.size()) +
                                      " octets, expected " + std::to_string(integ->key_bytes));
            }
            sa.cipher = xfrm::CipherAlgorithm{"cbc(aes)", secret(params.encr_key)};
            sa.auth =
                xfrm::AuthAlgorithm{integ->name, secret(params.integ_key), integ->truncation_bits};
            return {};
        }
    }
    return tl::unexpected("unsupported encryption transform " +
                          std::to_string(static_cast<unsigned>(suite.encr)));
}

std::string describe_direction(const ike::EspSaParams& params, const char* direction) {
    return std::string(direction) + " SPI " + hex32(params.spi);
}

tl::expected<xfrm::Sa, std::string> make_sa(const ike::EspSaParams& params, std::uint32_t reqid,
                                            const ChildSaOptions& options,
                                            std::uint32_t replay_window, const char* direction) {
    const auto context = describe_direction(params, direction);
    if (params.spi < kMinSpi) return tl::unexpected(context + ": SPI below 256 is reserved");
    if (params.source.address.v6 != params.destination.address.v6) {
        return tl::unexpected(context + ": outer addresses of different families");
    }
    xfrm::Sa sa;
    sa.src = to_xfrm(params.source.address);
    sa.dst = to_xfrm(params.destination.address);
    sa.spi = params.spi;
    sa.mode = params.mode == ike::ChildMode::kTunnel ? xfrm::Mode::kTunnel : xfrm::Mode::kTransport;
    sa.reqid = reqid;
    sa.replay_window = replay_window;
    sa.if_id = options.if_id;
    sa.lifetime = options.lifetime;
    if (params.udp_encap) {
        if (params.source.port == 0 || params.destination.port == 0) {
            return tl::unexpected(context + ": UDP encapsulation without ports");
        }
        sa.encap = xfrm::UdpEncap{params.source.port, params.destination.port};
    }
    if (auto algorithms = set_algorithms(params, sa); !algorithms) {
        return tl::unexpected(context + ": " + algorithms.error());
    }
    return sa;
}

// Kernel selectors for traffic from `sources` to `destinations`: every same-family pair whose
// protocols agree, expanded to covering prefixes.
tl::expected<std::vector<xfrm::Selector>, std::string> selectors(
    const std::vector<ike::TrafficSelector>& sources,
    const std::vector<ike::TrafficSelector>& destinations) {
    std::vector<xfrm::Selector> out;
    for (const auto& source_ts : sources) {
        auto source = selector_parts(source_ts);
        if (!source) return tl::unexpected(source.error());
        for (const auto& destination_ts : destinations) {
            if (source_ts.type != destination_ts.type) continue;
            auto destination = selector_parts(destination_ts);
            if (!destination) return tl::unexpected(destination.error());
            if (source->proto != 0 && destination->proto != 0 &&
                source->proto != destination->proto) {
                continue;  // no traffic matches both
            }
            const auto proto = source->proto != 0 ? source->proto : destination->proto;
            for (const auto& src : source->prefixes) {
                for (const auto& dst : destination->prefixes) {
                    out.push_back(xfrm::Selector{src, dst, proto, source->port, destination->port});
                }
            }
        }
    }
    if (out.empty()) return tl::unexpected(std::string("no traffic selector pair of one family"));
    return out;
}

xfrm::Template make_template(const xfrm::Sa& sa) {
    xfrm::Template t;
    // Transport mode takes the addresses from the packet; a tunnel names its outer endpoints.
    if (sa.mode == xfrm::Mode::kTunnel) {
        t.src = sa.src;
        t.dst = sa.dst;
    }
    t.mode = sa.mode;
    t.reqid = sa.reqid;
    return t;
}

xfrm::Policy make_policy(xfrm::Direction dir, const xfrm::Selector& selector, const xfrm::Sa& sa,
                         const ChildSaOptions& options) {
    xfrm::Policy policy;
    policy.dir = dir;
    policy.selector = selector;
    policy.if_id = options.if_id;
    policy.priority = options.policy_priority;
    policy.templates.push_back(make_template(sa));
    return policy;
}

xfrm::Sa without_keys(const xfrm::Sa& sa) {
    xfrm::Sa copy = sa;
    copy.aead.reset();
    copy.cipher.reset();
    copy.auth.reset();
    return copy;
}

std::vector<xfrm::PolicyKey> keys_of(const std::vector<xfrm::Policy>& policies) {
    std::vector<xfrm::PolicyKey> keys;
    keys.reserve(policies.size());
    for (const auto& policy : policies) keys.push_back(policy.key());
    return keys;
}

}  // namespace

tl::expected<SelectorParts, std::string> selector_parts(const ike::TrafficSelector& ts) {
    const unsigned bits = ts.type == ike::TsType::kIpv4AddrRange ? 32 : 128;
    const auto family =
        ts.type == ike::TsType::kIpv4AddrRange ? xfrm::Family::kIpv4 : xfrm::Family::kIpv6;
    Address start{};
    Address end{};
    for (std::size_t i = 0; i < ts.address_length(); ++i) {
        start[i] = ts.start_address[i];
        end[i] = ts.end_address[i];
    }
    if (start > end) return tl::unexpected(std::string("traffic selector with start > end"));
    SelectorParts parts;
    parts.prefixes = covering_prefixes(start, end, bits, family);
    parts.proto = ts.ip_protocol;
    if (ts.start_port == 0 && ts.end_port == 65535) {
        parts.port = 0;
    } else if (ts.start_port == ts.end_port && ts.start_port != 0) {
        parts.port = ts.start_port;
    } else {
        // The kernel selector holds one port (or a power-of-two block the library does not
        // model); widening would admit traffic the peer did not agree to.
        return tl::unexpected("port range " + std::to_string(ts.start_port) + "-" +
                              std::to_string(ts.end_port) +
                              " is not expressible as a kernel selector (one port or all)");
    }
    return parts;
}

tl::expected<ChildSaObjects, std::string> child_sa_objects(const ike::ChildSaInstall& sa,
                                                           std::uint32_t reqid,
                                                           const ChildSaOptions& options) {
    if (sa.inbound.mode != sa.outbound.mode) {
        return tl::unexpected(std::string("inbound and outbound SA in different modes"));
    }
    if (!(sa.inbound.source.address == sa.outbound.destination.address) ||
        !(sa.inbound.destination.address == sa.outbound.source.address)) {
        return tl::unexpected(std::string("inbound and outbound SA with mismatched addresses"));
    }
    auto inbound = make_sa(sa.inbound, reqid, options, options.replay_window, "inbound");
    if (!inbound) return tl::unexpected(inbound.error());
    // Only the receiver checks replays; an outbound window has no effect.
    auto outbound = make_sa(sa.outbound, reqid, options, 0, "outbound");
    if (!outbound) return tl::unexpected(outbound.error());

    auto outgoing = selectors(sa.outbound.source_ts, sa.outbound.destination_ts);
    if (!outgoing) return tl::unexpected("outbound selectors: " + outgoing.error());
    auto incoming = selectors(sa.inbound.source_ts, sa.inbound.destination_ts);
    if (!incoming) return tl::unexpected("inbound selectors: " + incoming.error());

    const bool tunnel = inbound->mode == xfrm::Mode::kTunnel;
    if (!tunnel) {
        // Transport mode protects the endpoints' own traffic: selectors of the outer family.
        for (const auto& s : *outgoing) {
            if (s.src.family() != outbound->src.family) {
                return tl::unexpected(
                    std::string("transport mode with selectors of another "
                                "family than the outer addresses"));
            }
        }
        if (outgoing->size() == 1) outbound->selector = outgoing->front();
        if (incoming->size() == 1) inbound->selector = incoming->front();
    }

    ChildSaObjects objects;
    for (const auto& s : *outgoing) {
        objects.policies.push_back(make_policy(xfrm::Direction::kOut, s, *outbound, options));
    }
    for (const auto& s : *incoming) {
        objects.policies.push_back(make_policy(xfrm::Direction::kIn, s, *inbound, options));
        if (tunnel) {
            objects.policies.push_back(make_policy(xfrm::Direction::kFwd, s, *inbound, options));
        }
    }
    objects.inbound = std::move(*inbound);
    objects.outbound = std::move(*outbound);
    return objects;
}

std::vector<xfrm::Policy> bgp_guard_policies(const std::vector<ike::IpAddress>& local_addresses) {
    constexpr std::uint8_t kTcp = 6;
    std::vector<xfrm::Policy> out;
    std::set<xfrm::PolicyKey> seen;
    for (const auto& address : local_addresses) {
        const bool unspecified = std::all_of(address.octets.begin(), address.octets.end(),
                                             [](auto o) { return o == 0; });
        xfrm::Prefix local;
        local.address = to_xfrm(address);
        local.length = unspecified ? 0 : (address.v6 ? 128 : 32);
        xfrm::Prefix any;
        any.address.family = local.address.family;
        any.length = 0;
        // To bgpd's listener (a peer connecting) and from a peer's listener (bgpd connecting).
        for (const bool to_listener : {true, false}) {
            xfrm::Policy policy;
            policy.dir = xfrm::Direction::kIn;
            policy.selector =
                xfrm::Selector{any, local, kTcp, to_listener ? std::uint16_t{0} : kBgpPort,
                               to_listener ? kBgpPort : std::uint16_t{0}};
            policy.priority = kBgpGuardPolicyPriority;
            policy.action = xfrm::PolicyAction::kBlock;
            if (seen.insert(policy.key()).second) out.push_back(std::move(policy));
        }
    }
    return out;
}

bool is_bgp_guard_policy(const xfrm::Policy& policy) {
    const auto& s = policy.selector;
    const bool one_side_bgp =
        (s.sport == kBgpPort && s.dport == 0) || (s.sport == 0 && s.dport == kBgpPort);
    return policy.dir == xfrm::Direction::kIn && policy.action == xfrm::PolicyAction::kBlock &&
           policy.templates.empty() && policy.if_id == 0 && policy.mark == xfrm::Mark{} &&
           policy.priority == kBgpGuardPolicyPriority && s.proto == 6 && one_side_bgp &&
           s.src.length == 0;
}

BgpGuardPlan plan_bgp_guard(const std::vector<xfrm::Policy>& wanted,
                            const std::map<xfrm::PolicyKey, xfrm::Policy>& kernel) {
    BgpGuardPlan plan;
    std::set<xfrm::PolicyKey> wanted_keys;
    for (const auto& policy : wanted) {
        wanted_keys.insert(policy.key());
        const auto found = kernel.find(policy.key());
        if (found == kernel.end()) {
            plan.changes.push_back({xfrm::ChangeOp::kAdd, policy});
        } else if (found->second == policy) {
            ++plan.in_place;
        } else if (is_bgp_guard_policy(found->second)) {
            // Ours from an earlier run with another value (cannot differ today; kept for
            // future changes of the guard's shape that keep its key).
            plan.changes.push_back({xfrm::ChangeOp::kUpdate, policy});
        } else {
            plan.conflicts.push_back(found->second);
        }
    }
    for (const auto& [key, policy] : kernel) {
        if (!wanted_keys.contains(key) && is_bgp_guard_policy(policy)) {
            plan.changes.push_back({xfrm::ChangeOp::kDelete, policy});
        }
    }
    return plan;
}

MappedInstallError map_install_error(const xfrm::Error& error, bool is_sa) {
    using ike::InstallError;
    switch (error.code) {
        case EPROTONOSUPPORT:
            if (is_sa) {
                return {InstallError::kUnavailable,
                        "the kernel has no ESP support (esp4/esp6: CONFIG_INET_ESP, "
                        "CONFIG_INET6_ESP): " +
                            error.message};
            }
            return {InstallError::kUnavailable, error.message};
        case ENOSYS:
            return {InstallError::kUnavailable,
                    "the kernel lacks the negotiated ESP algorithm: " + error.message};
        case EOPNOTSUPP:
        case EAFNOSUPPORT:
        case ENOMEM:
        case ENOBUFS:
        case EPERM:
            return {InstallError::kUnavailable, error.message};
        case EEXIST:
            return {InstallError::kRejected,
                    "an object with the same identity exists (foreign or stale state): " +
                        error.message};
        default:
            return {InstallError::kRejected, error.message};
    }
}

XfrmChildSaInstaller::XfrmChildSaInstaller(xfrm::Kernel& kernel, ChildSaOptions options,
                                           RandomSource random)
    : kernel_(kernel), options_(options), random_(std::move(random)) {
    if (!random_) {
        random_ = [device = std::make_shared<std::random_device>()]() { return (*device)(); };
    }
}

ike::InstallError XfrmChildSaInstaller::fail(ike::InstallError category, std::string message) {
    spdlog::warn("CHILD_SA install: {}", message);
    last_error_ = std::move(message);
    return category;
}

tl::expected<std::uint32_t, ike::InstallError> XfrmChildSaInstaller::allocate_spi(
    const ike::Endpoint& local, const ike::Endpoint& remote) {
    // Random SPIs keep a restarted daemon from reusing recent values. The kernel's exclusive
    // add catches the rare collision with an SA someone else installed (EEXIST at install).
    for (int attempt = 0; attempt < 64; ++attempt) {
        const std::uint32_t spi = random_();
        if (spi < kMinSpi || allocated_spis_.contains(spi)) continue;
        bool in_use = false;
        for (const auto& [spis, child] : child_sas_) in_use = in_use || spis.first == spi;
        if (in_use) continue;
        allocated_spis_.insert(spi);
        return spi;
    }
    return tl::unexpected(
        fail(ike::InstallError::kNoSpi,
             "no free SPI for " + ike::to_string(local) + " <- " + ike::to_string(remote)));
}

tl::expected<std::uint32_t, ike::InstallError> XfrmChildSaInstaller::choose_reqid(
    const std::vector<xfrm::PolicyKey>& keys, const std::string& context) {
    std::optional<std::uint32_t> shared;
    std::size_t shared_count = 0;
    for (const auto& key : keys) {
        const auto found = policies_.find(key);
        if (found == policies_.end()) continue;
        if (shared && *shared != found->second.reqid) {
            return tl::unexpected(fail(ike::InstallError::kRejected,
                                       context + ": selectors overlap two installed CHILD_SAs"));
        }
        shared = found->second.reqid;
        ++shared_count;
    }
    if (shared) {
        std::size_t owned_by_reqid = 0;
        for (const auto& [key, installed] : policies_) {
            owned_by_reqid += installed.reqid == *shared ? 1 : 0;
        }
        if (shared_count != keys.size() || owned_by_reqid != keys.size()) {
            return tl::unexpected(
                fail(ike::InstallError::kRejected,
                     context + ": selectors partly overlap an installed CHILD_SA's"));
        }
        return *shared;  // a rekey: same selectors, same reqid, the newest SA wins
    }
    std::set<std::uint32_t> used;
    for (const auto& [key, installed] : policies_) used.insert(installed.reqid);
    for (std::uint32_t reqid = kChildSaReqidMin; reqid <= kChildSaReqidMax; ++reqid) {
        if (!used.contains(reqid)) return reqid;
    }
    return tl::unexpected(fail(ike::InstallError::kUnavailable, context + ": reqid band full"));
}

void XfrmChildSaInstaller::delete_objects(const std::vector<xfrm::Object>& objects,
                                          const std::string& context) {
    if (objects.empty()) return;
    std::vector<xfrm::Change> changes;
    changes.reserve(objects.size());
    for (const auto& object : objects) changes.push_back({xfrm::ChangeOp::kDelete, object});
    const auto results = kernel_.apply(changes);
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (results[i]) {
            spdlog::error("CHILD_SA {}: could not delete {}: {}", context,
                          xfrm::describe(changes[i].object), results[i]->message);
        }
    }
}

tl::expected<void, ike::InstallError> XfrmChildSaInstaller::install(const ike::ChildSaInstall& sa) {
    const std::string context = "CHILD_SA in " + hex32(sa.inbound.spi) + " out " +
                                hex32(sa.outbound.spi) + " with " +
                                ike::to_string(sa.outbound.destination);
    const auto spis = std::make_pair(sa.inbound.spi, sa.outbound.spi);
    if (child_sas_.contains(spis)) {
        return tl::unexpected(fail(ike::InstallError::kRejected, context + ": already installed"));
    }
    auto probe = child_sa_objects(sa, kChildSaReqidMin, options_);
    if (!probe) {
        return tl::unexpected(fail(ike::InstallError::kRejected, context + ": " + probe.error()));
    }
    const auto keys = keys_of(probe->policies);
    auto reqid = choose_reqid(keys, context);
    if (!reqid) return tl::unexpected(reqid.error());
    auto objects = child_sa_objects(sa, *reqid, options_);
    if (!objects) {
        return tl::unexpected(fail(ike::InstallError::kRejected, context + ": " + objects.error()));
    }

    // 1. Policies: new ones added, shared ones (a rekey) updated only if their value changed.
    std::vector<xfrm::Change> policy_changes;
    std::vector<xfrm::Policy> previous;  // the values an update replaces, for the rollback
    for (const auto& policy : objects->policies) {
        const auto found = policies_.find(policy.key());
        if (found == policies_.end()) {
            policy_changes.push_back({xfrm::ChangeOp::kAdd, policy});
        } else if (!(found->second.policy == policy)) {
            policy_changes.push_back({xfrm::ChangeOp::kUpdate, policy});
            previous.push_back(found->second.policy);
        }
    }
    const auto rollback_policies = [&](const std::vector<std::optional<xfrm::Error>>& results) {
        std::vector<xfrm::Object> added;
        std::vector<xfrm::Change> restore;
        std::size_t update_index = 0;
        for (std::size_t i = 0; i < policy_changes.size(); ++i) {
            const bool done = i >= results.size() || !results[i];
            if (policy_changes[i].op == xfrm::ChangeOp::kAdd) {
                if (done) added.push_back(policy_changes[i].object);
            } else {
                if (done) restore.push_back({xfrm::ChangeOp::kUpdate, previous[update_index]});
                ++update_index;
            }
        }
        if (!restore.empty()) {
            const auto restored = kernel_.apply(restore);
            for (const auto& result : restored) {
                if (result) spdlog::error("{}: policy rollback: {}", context, result->message);
            }
        }
        delete_objects(added, context + " rollback");
    };
    if (!policy_changes.empty()) {
        const auto results = kernel_.apply(policy_changes);
        for (std::size_t i = 0; i < results.size(); ++i) {
            if (!results[i]) continue;
            const auto mapped = map_install_error(*results[i], false);
            rollback_policies(results);
            return tl::unexpected(fail(
                mapped.category, context + ": policy " + xfrm::describe(policy_changes[i].object) +
                                     ": " + mapped.message));
        }
    }

    // 2. Both SAs; on failure remove what this call added, policies included.
    const std::vector<xfrm::Change> sa_changes{{xfrm::ChangeOp::kAdd, objects->inbound},
                                               {xfrm::ChangeOp::kAdd, objects->outbound}};
    const auto sa_results = kernel_.apply(sa_changes);
    for (std::size_t i = 0; i < sa_results.size(); ++i) {
        if (!sa_results[i]) continue;
        const auto mapped = map_install_error(*sa_results[i], true);
        std::vector<xfrm::Object> added_sas;
        if (!sa_results[0]) added_sas.emplace_back(without_keys(objects->inbound));
        if (sa_results.size() > 1 && !sa_results[1]) {
            added_sas.emplace_back(without_keys(objects->outbound));
        }
        delete_objects(added_sas, context + " rollback");
        rollback_policies({});
        return tl::unexpected(
            fail(mapped.category,
                 context + ": " + (i == 0 ? "inbound" : "outbound") + " SA: " + mapped.message));
    }

    // 3. Book-keeping: what we now own and must delete again.
    InstalledChildSa record{without_keys(objects->inbound), without_keys(objects->outbound), keys};
    for (const auto& policy : objects->policies) {
        auto& installed = policies_[policy.key()];
        installed.policy = policy;
        installed.reqid = *reqid;
        ++installed.users;
    }
    child_sas_.emplace(spis, std::move(record));
    allocated_spis_.erase(sa.inbound.spi);
    spdlog::info("{}: installed ({} policies, reqid {})", context, keys.size(), hex32(*reqid));
    return {};
}

void XfrmChildSaInstaller::remove(std::uint32_t inbound_spi, std::uint32_t outbound_spi) {
    allocated_spis_.erase(inbound_spi);
    const auto found = child_sas_.find({inbound_spi, outbound_spi});
    if (found == child_sas_.end()) return;
    const std::string context = "CHILD_SA in " + hex32(inbound_spi) + " out " + hex32(outbound_spi);
    // Unshared policies go before their SAs (the xfrm diff's delete order), so no packet meets a
    // policy whose SA is gone and triggers an ACQUIRE for it.
    std::vector<xfrm::Object> objects;
    for (const auto& key : found->second.policies) {
        const auto policy = policies_.find(key);
        if (policy == policies_.end()) continue;
        if (--policy->second.users == 0) {
            objects.emplace_back(policy->second.policy);
            policies_.erase(policy);
        }
    }
    objects.emplace_back(found->second.outbound);
    objects.emplace_back(found->second.inbound);
    delete_objects(objects, context);
    child_sas_.erase(found);
    spdlog::info("{}: removed", context);
}

}  // namespace mpsa::daemon
