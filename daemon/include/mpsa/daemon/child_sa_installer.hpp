// ike::ChildSaInstaller on the xfrm library: a negotiated CHILD_SA becomes two ESP SAs and the
// out/in(/fwd) policies of its traffic selectors.
//
// Tagging. Every SA and policy template carries a reqid from kChildSaReqidMin..kChildSaReqidMax
// ("mq" in the top bytes). The group band of ownership.hpp cannot host CHILD_SAs: group ids
// 1..65535 take every if_id in it. The installer also leaves if_id at 0 by default, on purpose:
// the kernel only looks up policies with a non-zero if_id for packets routed through an xfrm
// interface with that if_id, so an if_id-tagged CHILD_SA would let the gateway-CPE BGP session
// leave in clear. With if_id 0 the group reconciler sees these objects as foreign and never
// touches them; this installer deletes exactly what it added (tracked by key), nothing else.
//
// Order. Policies first (fail closed: selected traffic is held rather than sent in clear until
// the SAs exist), then both SAs; when an SA fails, what this call added is removed again.
// A rekeyed CHILD_SA with the same selectors shares the policies (reference counted) and the
// reqid; the kernel prefers the newest SA for output, and remove() of the old one keeps them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include <mpsa/ike/child_sa.hpp>
#include <mpsa/xfrm/diff.hpp>
#include <mpsa/xfrm/kernel.hpp>
#include <mpsa/xfrm/objects.hpp>

namespace mpsa::daemon {

inline constexpr std::uint32_t kChildSaReqidMin = 0x6d710000;
inline constexpr std::uint32_t kChildSaReqidMax = 0x6d71ffff;
// SPIs below 256 are reserved by RFC 4303 2.1.
inline constexpr std::uint32_t kMinSpi = 0x100;

struct ChildSaOptions {
    std::uint32_t if_id = 0;           // see the header comment before changing it
    std::uint32_t replay_window = 32;  // inbound SA of a pairwise CHILD_SA (no ESN: at most 32)
    xfrm::Lifetime lifetime;           // kernel limits; none by default (IKE rekeys on its timers)
    std::uint32_t policy_priority = 0;
};

struct ChildSaObjects {
    xfrm::Sa inbound;
    xfrm::Sa outbound;
    // Per selector pair: out (local -> remote), in (remote -> local), and fwd for tunnel mode.
    std::vector<xfrm::Policy> policies;
};

// The pure mapping of a CHILD_SA to kernel objects. Fails (with a message naming the problem)
// on suites the kernel mapping does not know, key lengths that do not fit the suite, mixed
// address families, missing encapsulation ports and selectors the kernel cannot express.
[[nodiscard]] tl::expected<ChildSaObjects, std::string> child_sa_objects(
    const ike::ChildSaInstall& sa, std::uint32_t reqid, const ChildSaOptions& options);

// An IKE traffic selector as kernel selector parts: the covering prefixes of its address range,
// its protocol and port (0: any). Fails on port ranges other than one port or all ports.
struct SelectorParts {
    std::vector<xfrm::Prefix> prefixes;
    std::uint8_t proto = 0;
    std::uint16_t port = 0;
};
[[nodiscard]] tl::expected<SelectorParts, std::string> selector_parts(
    const ike::TrafficSelector& ts);

class XfrmChildSaInstaller final : public ike::ChildSaInstaller {
  public:
    // Returns uniformly random 32-bit values (a CSPRNG in production, a script in tests).
    using RandomSource = std::function<std::uint32_t()>;

    XfrmChildSaInstaller(xfrm::Kernel& kernel, ChildSaOptions options = {},
                         RandomSource random = {});

    [[nodiscard]] tl::expected<std::uint32_t, ike::InstallError> allocate_spi(
        const ike::Endpoint& local, const ike::Endpoint& remote) override;
    [[nodiscard]] tl::expected<void, ike::InstallError> install(
        const ike::ChildSaInstall& sa) override;
    void remove(std::uint32_t inbound_spi, std::uint32_t outbound_spi) override;

    // The full text of the last failure (the interface's error is only a category).
    [[nodiscard]] const std::string& last_error() const { return last_error_; }
    [[nodiscard]] std::size_t installed_child_sas() const { return child_sas_.size(); }
    [[nodiscard]] std::size_t installed_policies() const { return policies_.size(); }

  private:
    struct InstalledPolicy {
        xfrm::Policy policy;
        std::uint32_t reqid = 0;
        std::size_t users = 0;
    };
    struct InstalledChildSa {
        xfrm::Sa inbound;  // without keys: enough to delete by key
        xfrm::Sa outbound;
        std::vector<xfrm::PolicyKey> policies;
    };

    tl::expected<std::uint32_t, ike::InstallError> choose_reqid(
        const std::vector<xfrm::PolicyKey>& keys, const std::string& context);
    ike::InstallError fail(ike::InstallError category, std::string message);
    void delete_objects(const std::vector<xfrm::Object>& objects, const std::string& context);

    xfrm::Kernel& kernel_;
    ChildSaOptions options_;
    RandomSource random_;
    std::set<std::uint32_t> allocated_spis_;  // handed out, not yet installed
    std::map<std::pair<std::uint32_t, std::uint32_t>, InstalledChildSa> child_sas_;
    std::map<xfrm::PolicyKey, InstalledPolicy> policies_;
    std::string last_error_;
};

// The BGP guard (draft 4.1: a member's iBGP session runs inside its CHILD_SA). On the gateway,
// in-policies that block TCP to or from port 179 on its IKE addresses for any source, so a node
// that never authenticated cannot reach bgpd in clear. An authenticated member's CHILD_SA
// in-policy (priority ChildSaOptions::policy_priority, 0 on the gateway, selector member/32 <->
// gateway/32 TCP, with a template) is more specific in priority and wins for its own traffic.
//
// Ownership. The guard must have if_id 0 (the kernel only applies policies with a non-zero if_id
// to packets of an xfrm interface) and has no template to carry a reqid, so it cannot live in the
// if_id or reqid bands. It is ours by its whole shape: direction in, action block, no template,
// if_id 0, mark 0/0, TCP with port 179 on one side, and this priority ("mr" in the top bytes, in
// line with the "mp" if_id and "mq" reqid bands). The value is far weaker than any CHILD_SA's
// (0) and than strongSwan's computed priorities (below 2^20), so foreign policies decide first.
// The group reconciler never sees it (if_id 0 is foreign to it); only the gateway's guard code
// adds, updates or deletes policies of exactly this shape.
inline constexpr std::uint32_t kBgpGuardPolicyPriority = 0x6d720000 + 179;
inline constexpr std::uint16_t kBgpPort = 179;
static_assert(kBgpGuardPolicyPriority > ChildSaOptions{}.policy_priority);

// The guard's policies for the gateway's local IKE addresses: per address, dport 179 and sport
// 179, destination the address as /32 or /128 (an unspecified address, a wildcard listen, gives
// the family's /0). Duplicate addresses give one set.
[[nodiscard]] std::vector<xfrm::Policy> bgp_guard_policies(
    const std::vector<ike::IpAddress>& local_addresses);

// True for a policy of the guard's shape (see above): ours to update or delete.
[[nodiscard]] bool is_bgp_guard_policy(const xfrm::Policy& policy);

// What brings the kernel's policies to the wanted guard (empty: remove every guard policy).
// Adds missing policies, updates our own whose value differs, deletes our own no longer wanted;
// a foreign policy under a wanted key is a conflict and left alone. Deletes come last.
struct BgpGuardPlan {
    std::vector<xfrm::Change> changes;
    std::vector<xfrm::Policy> conflicts;
    std::size_t in_place = 0;  // wanted policies the kernel holds already
};
[[nodiscard]] BgpGuardPlan plan_bgp_guard(const std::vector<xfrm::Policy>& wanted,
                                          const std::map<xfrm::PolicyKey, xfrm::Policy>& kernel);

// What a netlink error on a CHILD_SA object means for IKE, with a message that says why.
struct MappedInstallError {
    ike::InstallError category;
    std::string message;
};
[[nodiscard]] MappedInstallError map_install_error(const xfrm::Error& error, bool is_sa);

}  // namespace mpsa::daemon
