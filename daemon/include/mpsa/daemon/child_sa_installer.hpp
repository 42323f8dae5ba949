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

// What a netlink error on a CHILD_SA object means for IKE, with a message that says why.
struct MappedInstallError {
    ike::InstallError category;
    std::string message;
};
[[nodiscard]] MappedInstallError map_install_error(const xfrm::Error& error, bool is_sa);

}  // namespace mpsa::daemon
