// One of mpsad's two roles (gateway, CPE), driven by the runtime's single-threaded Asio loop.
// The runtime (mpsad_main / DaemonRuntime) owns the io_context, signals, the status server and
// the metrics registry; a role owns its protocols (IKE, ZAPI, netlink) and kernel state.
//
// Contract, in the order the runtime calls it:
//   start()     open sockets, adopt persisted and kernel state (a restart with nothing changed
//               makes zero netlink changes), start protocols. An error is fatal at start-up.
//   reload()    SIGHUP with an already validated configuration of the same role: apply the
//               difference only. An error leaves the previous configuration in effect.
//   snapshot()  the status API documents, keyed "status", "groups", "members", "peers",
//               "routes", "sas" (schema: docs/api.md). Never key bytes.
//   shutdown()  SIGTERM: stop protocols, persist state, leave every kernel object in place so
//               the dataplane keeps forwarding while mpsad is down.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <asio/io_context.hpp>
#include <tl/expected.hpp>

#include "mpsa/daemon/config.hpp"
#include "mpsa/daemon/metrics.hpp"
#include "mpsa/daemon/status_server.hpp"
#include "mpsa/ike/clock.hpp"

namespace mpsa::daemon {

// What the runtime lends a role; everything outlives the role.
struct RoleContext {
    asio::io_context& io;
    MetricsRegistry& metrics;
    const ike::Clock& clock;  // steady
    ike::RandomSource& random;
    // Ask the runtime to publish a fresh snapshot soon (coalesced), e.g. after a state change.
    std::function<void()> state_changed;
};

class NodeRole {
  public:
    virtual ~NodeRole() = default;
    [[nodiscard]] virtual tl::expected<void, std::string> start() = 0;
    [[nodiscard]] virtual tl::expected<void, std::string> reload(const Config& config) = 0;
    [[nodiscard]] virtual Snapshot snapshot() const = 0;
    virtual void shutdown() = 0;
};

[[nodiscard]] std::unique_ptr<NodeRole> make_gateway_role(RoleContext context,
                                                          const Config& config);
[[nodiscard]] std::unique_ptr<NodeRole> make_cpe_role(RoleContext context, const Config& config);

}  // namespace mpsa::daemon
