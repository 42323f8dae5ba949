// The CPE role: an IKE initiator towards the gateway (one IKE SA with the "multi-point SA" Vendor
// ID and one transport-mode CHILD_SA for the iBGP session, draft 4.1), the group SA lifecycle
// fed by MPSA_PUT (mpsa::CpeIkeBridge), the overlay routes (BGP through zebra, or static), and
// the kernel state they mean (CpeController -> xfrm::Reconciler).
//
// Everything runs on the runtime's single Asio thread. Kernel state is never withdrawn here:
// a stopped or killed daemon leaves the dataplane forwarding, and the next start adopts it
// (persisted group state + the reconciler's adopting apply: zero changes when nothing changed).
#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <spdlog/spdlog.h>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>

#include <mpsa/bgp_glue/bgp_learner.hpp>
#include <mpsa/bgp_glue/frr_release.hpp>
#include <mpsa/bgp_glue/zapi_client.hpp>
#include <mpsa/ike/rate_limit.hpp>
#include <mpsa/ike/sa_manager.hpp>
#include <mpsa/ike/udp_socket.hpp>
#include <mpsa/mpsa/cpe_ike_bridge.hpp>
#include <mpsa/mpsa/cpe_state_store.hpp>
#include <mpsa/mpsa/peer_identity.hpp>
#include <mpsa/xfrm/netlink.hpp>
#include <mpsa/xfrm/reconciler.hpp>

#include "mpsa/daemon/child_sa_installer.hpp"
#include "mpsa/daemon/cpe_controller.hpp"
#include "mpsa/daemon/cpe_reconnect.hpp"
#include "mpsa/daemon/cpe_snapshot.hpp"
#include "mpsa/daemon/ike_profile.hpp"
#include "mpsa/daemon/role.hpp"
#include "mpsa/daemon/version.hpp"

namespace mpsa::daemon {
namespace {

using namespace std::chrono_literals;

// After this long without zebra having answered (routes and next-hop resolution), the start-up
// apply goes ahead with what is known, so a dead zebra does not keep the group SAs out.
constexpr auto kStartupHold = 10s;
constexpr auto kStartupPoll = 200ms;

ike::IpAddress to_ike_address(const xfrm::IpAddress& address) {
    ike::IpAddress out;
    out.v6 = address.family == xfrm::Family::kIpv6;
    std::copy_n(address.bytes.begin(), out.v6 ? 16 : 4, out.octets.begin());
    return out;
}

// The config's protected_prefixes (validated there already: CIDR, host bits zero).
tl::expected<std::vector<xfrm::Prefix>, std::string> parse_protected_prefixes(
    const std::vector<std::string>& texts) {
    std::vector<xfrm::Prefix> prefixes;
    for (const auto& text : texts) {
        auto prefix = xfrm::Prefix::parse(text);
        if (!prefix) return tl::make_unexpected("protected prefix '" + text + "' is no prefix");
        prefixes.push_back(*prefix);
    }
    return prefixes;
}

std::uint32_t random32(ike::RandomSource& random) {
    std::array<std::uint8_t, 4> b{};
    if (!random.fill(b)) return 0;
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
           b[3];
}

// xfrm::Timer on the event loop, for the reconciler's debounced resyncs.
class AsioTimer final : public xfrm::Timer {
  public:
    explicit AsioTimer(asio::io_context& io) : timer_(io) {}
    void start(std::chrono::milliseconds delay, std::function<void()> callback) override {
        timer_.expires_after(delay);
        timer_.async_wait([callback = std::move(callback)](const std::error_code& error) {
            if (!error) callback();
        });
    }
    void cancel() override { timer_.cancel(); }

  private:
    asio::steady_timer timer_;
};

// The reconciler's kernel, counting what it changes (metrics, and the start-up figure a test
// asserts to be zero after a restart with nothing changed).
class CountingKernel final : public xfrm::Kernel {
  public:
    CountingKernel(xfrm::Kernel& inner, MetricsRegistry& metrics)
        : inner_(inner),
          adds_(metrics.counter("mpsa_reconciler_changes_total",
                                "Kernel changes made by the reconciler", {{"op", "add"}})),
          updates_(metrics.counter("mpsa_reconciler_changes_total",
                                   "Kernel changes made by the reconciler", {{"op", "update"}})),
          deletes_(metrics.counter("mpsa_reconciler_changes_total",
                                   "Kernel changes made by the reconciler", {{"op", "delete"}})),
          errors_(metrics.counter("mpsa_reconciler_errors_total",
                                  "Kernel changes the reconciler could not make")) {}

    tl::expected<xfrm::State, xfrm::Error> dump() override { return inner_.dump(); }
    std::vector<std::optional<xfrm::Error>> apply(std::span<const xfrm::Change> changes) override {
        auto results = inner_.apply(changes);
        for (std::size_t i = 0; i < changes.size() && i < results.size(); ++i) {
            if (results[i]) {
                ++errors;
                errors_.inc();
                last_error = xfrm::describe(changes[i]) + ": " + results[i]->message;
                continue;
            }
            ++changes_made;
            spdlog::debug("kernel: {}", xfrm::describe(changes[i]));
            switch (changes[i].op) {
                case xfrm::ChangeOp::kAdd:
                    adds_.inc();
                    break;
                case xfrm::ChangeOp::kUpdate:
                    updates_.inc();
                    break;
                case xfrm::ChangeOp::kDelete:
                    deletes_.inc();
                    break;
            }
        }
        return results;
    }

    std::uint64_t changes_made = 0;
    std::uint64_t errors = 0;
    std::optional<std::string> last_error;

  private:
    xfrm::Kernel& inner_;
    Metric& adds_;
    Metric& updates_;
    Metric& deletes_;
    Metric& errors_;
};

// XfrmChildSaInstaller, remembering what each CHILD_SA is (SPIs, addresses, suite; no keys) for
// the status API.
class RecordingInstaller final : public ike::ChildSaInstaller {
  public:
    RecordingInstaller(xfrm::Kernel& kernel, XfrmChildSaInstaller::RandomSource random)
        : inner_(kernel, ChildSaOptions{}, std::move(random)) {}

    tl::expected<std::uint32_t, ike::InstallError> allocate_spi(
        const ike::Endpoint& local, const ike::Endpoint& remote) override {
        return inner_.allocate_spi(local, remote);
    }
    tl::expected<void, ike::InstallError> install(const ike::ChildSaInstall& sa) override {
        auto result = inner_.install(sa);
        if (!result) {
            spdlog::error("CHILD_SA 0x{:08x}/0x{:08x} with the gateway not installed: {}",
                          sa.inbound.spi, sa.outbound.spi, inner_.last_error());
            return result;
        }
        ChildSaView view;
        view.inbound_spi = sa.inbound.spi;
        view.outbound_spi = sa.outbound.spi;
        view.local = address_text(sa.inbound.destination.address);
        view.remote = address_text(sa.outbound.destination.address);
        view.suite = sa.inbound.suite;
        installed_[sa.inbound.spi] = view;
        spdlog::info("CHILD_SA with the gateway installed: in 0x{:08x} out 0x{:08x} ({} <-> {})",
                     sa.inbound.spi, sa.outbound.spi, view.local, view.remote);
        return {};
    }
    void remove(std::uint32_t inbound_spi, std::uint32_t outbound_spi) override {
        inner_.remove(inbound_spi, outbound_spi);
        installed_.erase(inbound_spi);
    }
    [[nodiscard]] std::vector<ChildSaView> installed() const {
        std::vector<ChildSaView> out;
        for (const auto& [spi, view] : installed_) out.push_back(view);
        return out;
    }

  private:
    XfrmChildSaInstaller inner_;
    std::map<std::uint32_t, ChildSaView> installed_;
};

// A CHILD_SA object a previous mpsad left behind (its reqid is in the CHILD_SA band).
bool in_child_sa_band(std::uint32_t reqid) {
    return reqid >= kChildSaReqidMin && reqid <= kChildSaReqidMax;
}

class CpeRole final : public NodeRole {
  public:
    CpeRole(RoleContext context, const Config& config);
    ~CpeRole() override;

    tl::expected<void, std::string> start() override;
    tl::expected<void, std::string> reload(const Config& config) override;
    [[nodiscard]] Snapshot snapshot() const override;
    void shutdown() override;

  private:
    struct GatewaySession {
        mpsa::AttachedIkeSa attached = 0;
        ike::IkeSaConfig config;  // what the SA was created with (the bridge asks)
        bool established = false;
    };

    // start-up
    tl::expected<void, std::string> derive_facts();
    tl::expected<void, std::string> open_kernel();
    void remove_stale_child_sas(const xfrm::State& kernel);
    // Connected subnets (NodeFacts::local_prefixes) from a dump, or from monitor events.
    void set_connected_routes(const xfrm::State& kernel);
    void on_connected_route_events(const std::vector<xfrm::KernelEvent>& events);
    void update_local_prefixes();
    void load_group_state();
    tl::expected<void, std::string> open_ike();
    tl::expected<void, std::string> open_zebra();
    void seed_static_routes(const std::vector<StaticRoute>& routes, bool add);

    // IKE
    void connect_gateway(bool initial_contact = false);
    void schedule_reconnect(const std::string& why);
    void on_session_event(const ike::SessionEvent& event);
    void handle_put_results(const std::vector<mpsa::PutResult>& results);
    void reauthenticate();
    void on_peer_lost_sa_hint(const ike::SessionHint& hint);
    [[nodiscard]] bool any_established() const;

    // group SA lifecycle
    void advance_lifecycle();
    void process_lifecycle_events(const std::vector<mpsa::CpeEvent>& events);
    void arm_lifecycle_timer();
    void persist();
    // state_dir/group-<id>: the file holds no group id, so SAs saved for one group can never be
    // adopted into another after the configured group changed.
    [[nodiscard]] std::filesystem::path group_state_dir() const {
        return std::filesystem::path(config_.state_dir) /
               ("group-" + std::to_string(layout_.group_id));
    }

    // overlay and kernel
    void on_model_change(const bgp_glue::ModelChange& change);
    void arm_rebuild_timer();
    void rebuild();
    void poll_startup();
    [[nodiscard]] bool zebra_ready() const;
    void initial_apply();
    void watch_monitor(asio::posix::stream_descriptor& descriptor);
    void arm_resync_timer();
    void update_gauges();
    void notify_state_changed();

    RoleContext context_;
    Config config_;
    const mpsa::Clock& clock_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::chrono::steady_clock::time_point started_at_ = std::chrono::steady_clock::now();
    bool stopped_ = false;

    NodeFacts node_;
    GroupLayout layout_;
    ike::IpAddress ike_local_;
    ike::IpAddress gateway_;

    // kernel
    std::unique_ptr<xfrm::NetlinkKernel> kernel_;
    std::unique_ptr<CountingKernel> counting_kernel_;
    std::unique_ptr<AsioTimer> reconciler_timer_;
    std::unique_ptr<xfrm::Reconciler> reconciler_;
    std::unique_ptr<xfrm::NetlinkMonitor> monitor_;
    std::unique_ptr<asio::posix::stream_descriptor> monitor_xfrm_fd_;
    std::unique_ptr<asio::posix::stream_descriptor> monitor_route_fd_;
    std::unique_ptr<RecordingInstaller> installer_;
    std::map<xfrm::RouteKey, xfrm::Prefix> connected_routes_;
    bool initial_applied_ = false;
    std::uint64_t startup_changes_ = 0;
    bool last_update_ok_ = true;
    mpsa::TimePoint startup_deadline_{};

    // group SAs
    std::unique_ptr<mpsa::CpeIkeBridge> bridge_;
    std::unique_ptr<CpeController> controller_;
    GroupDesiredState state_;

    // IKE
    std::unique_ptr<ike::Authenticator> authenticator_;
    std::vector<std::unique_ptr<ike::Authenticator>> retired_authenticators_;  // see reload()
    std::unique_ptr<ike::SaManager> ike_;
    std::map<ike::SessionId, GatewaySession> sessions_;
    ReconnectBackoff backoff_;
    bool reconnect_pending_ = false;
    // A re-authentication is under way (or must be retried) while an older IKE SA still works.
    bool reauth_pending_ = false;
    // INVALID_IKE_SPI hints are unauthenticated: at most one re-authentication per 10 s for them.
    ike::TokenBucket lost_sa_reauth_limit_{1, std::chrono::seconds(10)};

    // overlay routes
    std::unique_ptr<bgp_glue::ZapiClient> zapi_;
    std::unique_ptr<bgp_glue::BgpLearner> learner_;
    std::set<bgp_glue::IpAddress> static_peers_;

    asio::steady_timer lifecycle_timer_;
    asio::steady_timer rebuild_timer_;
    std::optional<mpsa::TimePoint> rebuild_armed_for_;
    asio::steady_timer reconnect_timer_;
    asio::steady_timer resync_timer_;
    asio::steady_timer startup_timer_;

    // metrics
    Metric& peers_gauge_;
    Metric& prefixes_gauge_;
    Metric& policies_gauge_;
    Metric& ike_sas_gauge_;
    Metric& group_sas_installed_;
    Metric& lost_sa_hints_;
};

CpeRole::CpeRole(RoleContext context, const Config& config)
    : context_(std::move(context)),
      config_(config),
      clock_(context_.clock),
      backoff_(BackoffPolicy{1s, 60s, 20}),
      lifecycle_timer_(context_.io),
      rebuild_timer_(context_.io),
      reconnect_timer_(context_.io),
      resync_timer_(context_.io),
      startup_timer_(context_.io),
      peers_gauge_(context_.metrics.gauge("mpsa_peers", "ESP peers of the group",
                                          {{"group", config.group.name}})),
      prefixes_gauge_(context_.metrics.gauge("mpsa_prefixes", "Overlay destination prefixes",
                                             {{"group", config.group.name}})),
      policies_gauge_(context_.metrics.gauge("mpsa_policies", "XFRM policies of the group",
                                             {{"group", config.group.name}})),
      ike_sas_gauge_(context_.metrics.gauge("mpsa_ike_sas", "Established IKE SAs")),
      group_sas_installed_(context_.metrics.counter("mpsa_group_sa_installed_total",
                                                    "Group SAs installed from MPSA_PUT")),
      lost_sa_hints_(context_.metrics.counter(
          "mpsa_ike_peer_lost_sa_hints_total",
          "Unprotected INVALID_IKE_SPI answers from the gateway (it may have restarted)")) {}

CpeRole::~CpeRole() {
    *alive_ = false;
}

tl::expected<void, std::string> CpeRole::derive_facts() {
    auto layout = group_layout(config_.group.id);
    if (!layout) return tl::make_unexpected("group id: " + std::string(to_string(layout.error())));
    layout_ = *layout;

    auto esp = xfrm::IpAddress::parse(config_.esp_address);
    if (!esp) return tl::make_unexpected("esp_address '" + config_.esp_address + "' is no address");
    node_.esp_address = *esp;
    if (!config_.esp_address_v6.empty()) {
        auto esp6 = xfrm::IpAddress::parse(config_.esp_address_v6);
        if (!esp6 || esp6->family != xfrm::Family::kIpv6) {
            return tl::make_unexpected("esp_address_v6 '" + config_.esp_address_v6 +
                                       "' is no IPv6 address");
        }
        node_.esp_address_v6 = *esp6;
    }
    node_.underlay_interface = config_.underlay_interface;
    if (!config_.overlay_source_v4.empty()) {
        node_.overlay_source_v4 = xfrm::IpAddress::parse(config_.overlay_source_v4);
    }
    if (!config_.overlay_source_v6.empty()) {
        node_.overlay_source_v6 = xfrm::IpAddress::parse(config_.overlay_source_v6);
    }
    auto protected_prefixes = parse_protected_prefixes(config_.protected_prefixes);
    if (!protected_prefixes) return tl::make_unexpected(protected_prefixes.error());
    node_.protected_prefixes = std::move(*protected_prefixes);
    auto gateway = xfrm::IpAddress::parse(config_.gateway_address);
    if (!gateway) {
        return tl::make_unexpected("gateway address '" + config_.gateway_address +
                                   "' is no address");
    }
    // ESP and IKE to the gateway never enter the overlay, whatever a member advertises.
    node_.never_overlay = {*gateway};
    gateway_ = to_ike_address(*gateway);
    auto local = node_.esp_address_of(gateway->family);
    if (!local) {
        return tl::make_unexpected("no ESP address of the gateway's address family (gateway " +
                                   config_.gateway_address + ")");
    }
    // The IKE SA runs between our ESP address and the gateway, so the transport-mode CHILD_SA
    // (same addresses) protects the iBGP session whose next-hop is that ESP address.
    ike_local_ = to_ike_address(*local);
    return {};
}

tl::expected<void, std::string> CpeRole::open_kernel() {
    auto kernel = xfrm::NetlinkKernel::open();
    if (!kernel) return tl::make_unexpected("xfrm netlink: " + kernel.error().message);
    kernel_ = std::move(*kernel);
    counting_kernel_ = std::make_unique<CountingKernel>(*kernel_, context_.metrics);
    reconciler_timer_ = std::make_unique<AsioTimer>(context_.io);
    reconciler_ = std::make_unique<xfrm::Reconciler>(*counting_kernel_, *reconciler_timer_);
    auto monitor = xfrm::NetlinkMonitor::open();
    if (!monitor) return tl::make_unexpected("netlink monitor: " + monitor.error().message);
    monitor_ = std::move(*monitor);
    // The descriptors stay the monitor's: watch duplicates.
    monitor_xfrm_fd_ =
        std::make_unique<asio::posix::stream_descriptor>(context_.io, ::dup(monitor_->xfrm_fd()));
    monitor_route_fd_ =
        std::make_unique<asio::posix::stream_descriptor>(context_.io, ::dup(monitor_->route_fd()));
    installer_ = std::make_unique<RecordingInstaller>(
        *kernel_, [&random = context_.random] { return random32(random); });
    return {};
}

void CpeRole::remove_stale_child_sas(const xfrm::State& kernel) {
    // A previous mpsad (crashed, or stopped without deleting its IKE SA) leaves its CHILD_SA
    // with the gateway behind; its policies would collide with the new CHILD_SA's. Group SAs
    // (reqid = the group's if_id, outside this band) are never touched here.
    std::vector<xfrm::Change> removals;
    for (const auto& [key, policy] : kernel.policies) {
        const bool ours = std::any_of(policy.templates.begin(), policy.templates.end(),
                                      [](const auto& t) { return in_child_sa_band(t.reqid); });
        if (ours) removals.push_back({xfrm::ChangeOp::kDelete, policy});
    }
    for (const auto& [key, sa] : kernel.sas) {
        if (in_child_sa_band(sa.reqid)) removals.push_back({xfrm::ChangeOp::kDelete, sa});
    }
    if (removals.empty()) return;
    const auto results = kernel_->apply(removals);
    std::size_t failed = 0;
    for (const auto& result : results) {
        if (result) ++failed;
    }
    spdlog::info("removed {} stale CHILD_SA objects of a previous instance ({} failed)",
                 removals.size() - failed, failed);
}

void CpeRole::set_connected_routes(const xfrm::State& kernel) {
    connected_routes_.clear();
    for (const auto& [key, route] : kernel.routes) {
        if (is_connected_route(route, layout_.interface_name)) connected_routes_[key] = route.dst;
    }
    update_local_prefixes();
}

void CpeRole::on_connected_route_events(const std::vector<xfrm::KernelEvent>& events) {
    bool touched = false;
    for (const auto& event : events) {
        const auto* route = std::get_if<xfrm::Route>(&event.object);
        if (route == nullptr || !is_connected_route(*route, layout_.interface_name)) continue;
        touched = true;
        if (event.kind == xfrm::KernelEvent::Kind::kNew) {
            connected_routes_[route->key()] = route->dst;
        } else {
            connected_routes_.erase(route->key());
        }
    }
    if (touched) update_local_prefixes();
}

void CpeRole::update_local_prefixes() {
    std::set<xfrm::Prefix> prefixes;
    for (const auto& [key, prefix] : connected_routes_) prefixes.insert(prefix);
    std::vector<xfrm::Prefix> local(prefixes.begin(), prefixes.end());
    if (local == node_.local_prefixes) return;
    node_.local_prefixes = std::move(local);
    std::string text;
    for (const auto& prefix : node_.local_prefixes) text += " " + prefix.to_string();
    spdlog::info("local prefixes kept out of the overlay:{}", text);
    if (controller_) {
        controller_->set_node(node_);
        arm_rebuild_timer();
    }
}

void CpeRole::load_group_state() {
    auto loaded = mpsa::load_cpe_state(group_state_dir(), clock_.now(),
                                       std::chrono::system_clock::now(), mpsa::SuitePolicy{});
    if (!loaded) {
        if (loaded.error().kind == mpsa::StateFileErrorKind::kNotFound) {
            spdlog::info("no saved group SA state in {}: starting empty",
                         group_state_dir().string());
        } else {
            // Not fatal: the gateway sends the group SA again once the IKE SA is up.
            spdlog::error("saved group SA state not usable ({}): starting empty",
                          mpsa::describe(loaded.error()));
        }
        return;
    }
    spdlog::info("adopting saved group SA state: {} SA(s), outbound {}", loaded->sas.size(),
                 loaded->outbound_spi ? spi_text(*loaded->outbound_spi) : std::string("none"));
    bridge_->lifecycle().adopt(std::move(*loaded));
}

tl::expected<void, std::string> CpeRole::open_ike() {
    auto auth = load_authenticator(
        config_.credentials, [expected = make_identification(config_.gateway_identity)](
                                 const ike::Identification& peer) { return peer == expected; });
    if (!auth) return tl::make_unexpected(auth.error());
    authenticator_ = std::move(auth->authenticator);
    spdlog::info("IKE authentication: {}", auth->method);

    auto addresses = resolve_listen_addresses(config_.ike_listen);
    if (!addresses) return tl::make_unexpected(addresses.error());
    if (std::find(addresses->begin(), addresses->end(), ike_local_) == addresses->end()) {
        addresses->push_back(ike_local_);
    }
    ike::SaManagerConfig manager_config;
    manager_config.endpoint.addresses = *addresses;
    manager_config.endpoint.ike_port = config_.ike_port;
    manager_config.endpoint.natt_port = config_.natt_port;
    manager_config.endpoint.options.esp_in_udp = true;
    auto manager = ike::SaManager::open(
        context_.io, clock_, context_.random, manager_config,
        // A CPE answers no IKE_SA_INIT: only the gateway is a peer, and we initiate.
        [](const ike::Endpoint&, const ike::Endpoint&) { return std::nullopt; },
        [this, alive = std::weak_ptr<bool>(alive_)](const ike::SessionEvent& event) {
            if (auto a = alive.lock(); a && *a) on_session_event(event);
        });
    if (!manager) return tl::make_unexpected("IKE sockets: " + manager.error().message());
    ike_ = std::move(*manager);
    ike_->set_hint_handler(
        [this, alive = std::weak_ptr<bool>(alive_)](const ike::SessionHint& hint) {
            if (auto a = alive.lock(); a && *a) on_peer_lost_sa_hint(hint);
        });
    return {};
}

tl::expected<void, std::string> CpeRole::open_zebra() {
    if (!config_.frr.enabled) return {};
    std::optional<std::string> configured;
    if (config_.frr.release != "auto") configured = config_.frr.release;
    bgp_glue::VtyshCommand vtysh;
    vtysh.vtysh = config_.frr.vtysh_path;
    bgp_glue::ZapiClientConfig zapi_config;
    auto release = bgp_glue::resolve_frr_release(configured, vtysh);
    if (!release) {
        if (configured) return tl::make_unexpected("FRR release: " + release.error());
        // FRR may start after us (boot order): not fatal, the ZAPI client retries its socket.
        spdlog::warn("FRR release not detected ({}): assuming {}; set frr.release to be sure",
                     release.error(), bgp_glue::to_string(zapi_config.release));
        release = zapi_config.release;
    }
    zapi_config.socket_path = config_.frr.zserv_path;
    zapi_config.release = *release;
    zapi_ = std::make_unique<bgp_glue::ZapiClient>(context_.io, zapi_config);
    learner_ = std::make_unique<bgp_glue::BgpLearner>(
        context_.io, *zapi_,
        [this](const bgp_glue::ModelChange& change) { on_model_change(change); });
    zapi_->on_disconnected(
        [](const std::string& reason) { spdlog::warn("zebra connection lost: {}", reason); });
    zapi_->start();
    spdlog::info("learning BGP routes from zebra at {} (FRR {})", config_.frr.zserv_path,
                 bgp_glue::to_string(*release));
    return {};
}

void CpeRole::seed_static_routes(const std::vector<StaticRoute>& routes, bool add) {
    using bgp_glue::PeerChange;
    using bgp_glue::RouteChange;
    for (const auto& route : routes) {
        auto prefix = bgp_glue::Prefix::parse(route.prefix);
        auto peer = bgp_glue::IpAddress::parse(route.peer);
        if (!prefix || !peer) {
            spdlog::error("static route {} via {}: not a prefix and an address", route.prefix,
                          route.peer);
            continue;
        }
        if (add) {
            static_peers_.insert(*peer);
            controller_->on_model_change(
                RouteChange{RouteChange::Kind::added, *prefix, {*peer}, {}});
            // A static route's peer counts as resolved: there is no zebra to ask.
            controller_->on_model_change(PeerChange{PeerChange::Kind::resolved, *peer, {}});
        } else {
            controller_->on_model_change(
                RouteChange{RouteChange::Kind::removed, *prefix, {}, {*peer}});
        }
    }
    if (!add) {
        static_peers_.clear();
        for (const auto& route : config_.static_routes) {
            if (auto peer = bgp_glue::IpAddress::parse(route.peer)) static_peers_.insert(*peer);
        }
    }
    arm_rebuild_timer();
}

tl::expected<void, std::string> CpeRole::start() {
    if (auto facts = derive_facts(); !facts) return facts;
    if (auto kernel = open_kernel(); !kernel) return kernel;

    mpsa::CpeBridgeConfig bridge_config;
    bridge_config.gateway_id = make_identification(config_.gateway_identity);
    bridge_ = std::make_unique<mpsa::CpeIkeBridge>(clock_, bridge_config);
    controller_ = std::make_unique<CpeController>(
        node_, layout_, bridge_->lifecycle(), clock_,
        std::chrono::duration_cast<mpsa::Duration>(config_.timers.debounce));
    state_.layout = layout_;

    if (auto kernel = kernel_->dump()) {
        remove_stale_child_sas(*kernel);
        set_connected_routes(*kernel);
        controller_->set_node(node_);
    } else {
        spdlog::warn("kernel dump failed: {}", kernel.error().message);
    }
    load_group_state();
    // Deadlines that passed while we were down (ROLL1/ROLL2, expiry) are acted on now.
    process_lifecycle_events(bridge_->lifecycle().advance());
    seed_static_routes(config_.static_routes, true);

    if (auto zebra = open_zebra(); !zebra) return zebra;
    if (!config_.frr.enabled) {
        initial_apply();
    } else {
        // Adopt only once zebra has replayed its routes and resolved their next-hops, or the
        // start-up apply would withdraw every learned destination for a moment.
        startup_deadline_ = clock_.now() + kStartupHold;
        poll_startup();
    }

    if (auto ike = open_ike(); !ike) return ike;
    connect_gateway();

    watch_monitor(*monitor_xfrm_fd_);
    watch_monitor(*monitor_route_fd_);
    arm_resync_timer();
    notify_state_changed();
    return {};
}

// ---------------------------------------------------------------------------------------- IKE

void CpeRole::connect_gateway(bool initial_contact) {
    if (stopped_ || !ike_) return;
    auto ike_config = base_ike_sa_config(config_);
    ike_config.remote_id = make_identification(config_.gateway_identity);
    ike_config.child = bgp_child_sa_config(ike_local_, gateway_);
    // INITIAL_CONTACT (RFC 7296 2.4) whenever this will be our only IKE SA with the gateway: it
    // drops what an earlier instance or a dead SA left. Not on re-authentication, where the old
    // SA stays until the new one is up.
    ike_config.send_initial_contact = initial_contact || sessions_.empty();
    ike::IkeSaDeps deps;
    deps.clock = &clock_;
    deps.random = &context_.random;
    deps.authenticator = authenticator_.get();
    deps.installer = installer_.get();
    const ike::Endpoint local{ike_local_, config_.ike_port};
    const ike::Endpoint remote{gateway_, config_.ike_port};
    auto id = ike_->initiate(ike_config, deps, local, remote);
    if (!id) {
        schedule_reconnect("IKE SA could not be started");
        return;
    }
    ike::IkeSa* sa = ike_->find(*id);
    if (sa == nullptr) {
        schedule_reconnect("IKE SA vanished at start");
        return;
    }
    GatewaySession session;
    session.config = ike_config;
    session.attached = bridge_->attach(*sa, session.config);
    sessions_[*id] = std::move(session);
    spdlog::info("IKE: connecting to gateway {} ({}) from {}", config_.gateway_address,
                 config_.gateway_identity, address_text(ike_local_));
    notify_state_changed();
}

void CpeRole::schedule_reconnect(const std::string& why) {
    if (stopped_ || reconnect_pending_) return;
    const auto delay = backoff_.next(random32(context_.random));
    reconnect_pending_ = true;
    spdlog::warn("IKE: {}; connecting to the gateway again in {} ms", why, delay.count());
    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](std::error_code e) {
        auto a = alive.lock();
        if (e || !a || !*a) return;
        reconnect_pending_ = false;
        // Another SA may have come up meanwhile (re-authentication).
        if (!sessions_.empty() && !reauth_pending_) return;
        connect_gateway();
    });
}

bool CpeRole::any_established() const {
    return std::any_of(sessions_.begin(), sessions_.end(),
                       [](const auto& entry) { return entry.second.established; });
}

void CpeRole::on_session_event(const ike::SessionEvent& session_event) {
    auto found = sessions_.find(session_event.session);
    if (found == sessions_.end()) return;
    auto& session = found->second;
    const auto id = session_event.session;
    // The bridge wipes the MPSA_PUT's key material (SK_d) once decoded, in the event itself;
    // the SaManager's event object is not const, only the callback's view of it.
    auto& event = const_cast<ike::Event&>(session_event.event);
    handle_put_results(bridge_->on_ike_event(session.attached, event));

    bool down = false;
    std::vector<ike::SessionId> to_close;
    std::visit(
        [&](const auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, ike::IkeSaUp>) {
                session.established = true;
                backoff_.reset();
                reauth_pending_ = false;
                spdlog::info("IKE SA with gateway {} established (SPIs {}/{})",
                             mpsa::identity_text(e.peer_id), ike_spi_text(e.spis.initiator),
                             ike_spi_text(e.spis.responder));
                // Re-authentication (make-before-break): the older SAs go now (below, as
                // closing reports events re-entrantly).
                for (const auto& [other, other_session] : sessions_) {
                    if (other != id) to_close.push_back(other);
                }
            } else if constexpr (std::is_same_v<T, ike::IkeSaRekeyed>) {
                spdlog::info("IKE SA with the gateway rekeyed (SPIs {}/{})",
                             ike_spi_text(e.new_spis.initiator),
                             ike_spi_text(e.new_spis.responder));
            } else if constexpr (std::is_same_v<T, ike::IkeSaDown>) {
                spdlog::warn("IKE SA with the gateway down: {}", ike::down_reason_name(e.reason));
                down = true;
            } else if constexpr (std::is_same_v<T, ike::ChildSaFailed>) {
                spdlog::error("CHILD_SA for the iBGP session refused by the gateway (notify {})",
                              e.notify_type);
            } else if constexpr (std::is_same_v<T, ike::ChildSaDown>) {
                spdlog::info("CHILD_SA 0x{:08x} with the gateway deleted", e.inbound_spi);
            }
        },
        event);

    for (const auto other : to_close) {
        spdlog::info("IKE: closing the previous IKE SA with the gateway");
        (void)ike_->with_sa(other, [](ike::IkeSa& sa) { sa.close(); });
    }
    if (down) {
        // Look it up again: closing others above may have changed the map.
        found = sessions_.find(id);
        if (found == sessions_.end()) return;
        bridge_->detach(found->second.attached);
        sessions_.erase(found);
        if (sessions_.empty()) {
            schedule_reconnect("no IKE SA with the gateway");
        } else if (reauth_pending_ &&
                   std::none_of(sessions_.begin(), sessions_.end(),
                                [](const auto& s) { return !s.second.established; })) {
            schedule_reconnect("re-authentication failed");
        }
    }
    advance_lifecycle();
    update_gauges();
    notify_state_changed();
}

void CpeRole::handle_put_results(const std::vector<mpsa::PutResult>& results) {
    for (const auto& result : results) {
        if (result.outcome) {
            if (*result.outcome == mpsa::PutDisposition::kInstalled) {
                group_sas_installed_.inc();
                spdlog::info("group {}: MPSA_PUT SPI {} installed", config_.group.name,
                             spi_text(result.spi));
            }
            continue;
        }
        const auto reason = std::string(mpsa::to_string(result.outcome.error()));
        context_.metrics
            .counter("mpsa_put_rejected_total", "MPSA_PUT notifies refused",
                     {{"reason", std::string(put_rejection_label(result.outcome.error()))}})
            .inc();
        if (result.malformation) {
            context_.metrics
                .counter("mpsa_decode_errors_total", "Malformed input by source and reason",
                         {{"source", "mpsa_put"},
                          {"reason", metric_label(mpsa::to_string(*result.malformation))}})
                .inc();
        }
        spdlog::warn("group {}: MPSA_PUT SPI {} refused: {}{}", config_.group.name,
                     spi_text(result.spi), reason,
                     result.malformation
                         ? " (" + std::string(mpsa::to_string(*result.malformation)) + ")"
                         : std::string());
    }
}

void CpeRole::reauthenticate() {
    // A new IKE SA (full authentication) before the old one goes: the gateway answers it with
    // the group SAs it has now.
    for (const auto& [id, session] : sessions_) {
        if (!session.established) return;  // one is being set up already
    }
    spdlog::info("group {}: group SA near its end without a successor: re-authenticating",
                 config_.group.name);
    reauth_pending_ = true;
    connect_gateway();
}

// The gateway answered one of our requests with an unprotected INVALID_IKE_SPI: it has most
// likely restarted and lost our IKE SA (its group SAs survive in its state file). Rather than
// wait for the liveness check to time out, re-authenticate at once, make-before-break: the old
// SA and its CHILD_SA stay until the new one is up (then on_session_event closes them), so a
// spoofed hint costs the gateway one re-authentication of the same identity and nothing more.
// INITIAL_CONTACT as on a reconnect, since the gateway holds nothing of ours that should stay.
void CpeRole::on_peer_lost_sa_hint(const ike::SessionHint& hint) {
    const auto found = sessions_.find(hint.session);
    if (found == sessions_.end() || !found->second.established) return;
    // Hints for an SA we are deleting anyway (e.g. the old one after re-authentication) change
    // nothing.
    const ike::IkeSa* sa = ike_ ? ike_->find(hint.session) : nullptr;
    if (sa == nullptr || sa->state() != ike::IkeSaState::kEstablished) return;
    lost_sa_hints_.inc();
    for (const auto& [id, session] : sessions_) {
        if (!session.established) return;  // a new IKE SA is being set up already
    }
    if (!lost_sa_reauth_limit_.take(clock_.now())) {
        spdlog::info(
            "IKE: gateway answered INVALID_IKE_SPI (SPIs {}/{}); re-authenticated "
            "recently, waiting",
            ike_spi_text(hint.hint.spis.initiator), ike_spi_text(hint.hint.spis.responder));
        return;
    }
    spdlog::warn(
        "IKE: gateway {} answered INVALID_IKE_SPI for our IKE SA (SPIs {}/{}): it may "
        "have restarted; re-authenticating, the old SA stays until the new one is up",
        ike::to_string(hint.hint.peer), ike_spi_text(hint.hint.spis.initiator),
        ike_spi_text(hint.hint.spis.responder));
    reauth_pending_ = true;
    connect_gateway(/*initial_contact=*/true);
}

// ------------------------------------------------------------------------ group SA lifecycle

void CpeRole::advance_lifecycle() {
    process_lifecycle_events(bridge_->lifecycle().advance());
}

void CpeRole::process_lifecycle_events(const std::vector<mpsa::CpeEvent>& events) {
    if (!events.empty()) {
        bool reauth = false;
        for (const auto& event : events) {
            switch (event.kind) {
                case mpsa::CpeEventKind::kInstalled:
                    spdlog::info("group {}: SA {} inbound", config_.group.name,
                                 spi_text(event.spi));
                    break;
                case mpsa::CpeEventKind::kOutboundChanged:
                    if (event.spi == 0) {
                        spdlog::warn("group {}: no valid outbound SA: destinations blocked",
                                     config_.group.name);
                    } else {
                        spdlog::info("group {}: outbound switched to SA {}", config_.group.name,
                                     spi_text(event.spi));
                    }
                    break;
                case mpsa::CpeEventKind::kRolledOver:
                    spdlog::info("group {}: SA {} rolled over (inbound removed)",
                                 config_.group.name, spi_text(event.spi));
                    break;
                case mpsa::CpeEventKind::kExpired:
                    spdlog::info("group {}: SA {} expired", config_.group.name,
                                 spi_text(event.spi));
                    break;
                case mpsa::CpeEventKind::kReauthNeeded:
                    reauth = true;
                    break;
            }
        }
        if (controller_) {
            controller_->on_group_sa_changed();
            arm_rebuild_timer();
        }
        persist();
        if (reauth) reauthenticate();
        // A group SA change must not wait for zebra: adopt now (the hold protects routes only).
        if (!initial_applied_ && reconciler_ && controller_ && ike_) initial_apply();
        notify_state_changed();
    }
    arm_lifecycle_timer();
}

void CpeRole::arm_lifecycle_timer() {
    const auto next = bridge_->lifecycle().next_deadline();
    lifecycle_timer_.cancel();
    if (!next || stopped_) return;
    lifecycle_timer_.expires_at(*next);
    lifecycle_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](std::error_code e) {
        auto a = alive.lock();
        if (e || !a || !*a) return;
        advance_lifecycle();
    });
}

void CpeRole::persist() {
    std::error_code error;
    const auto directory = group_state_dir();
    if (std::filesystem::create_directories(directory, error) && !error) {
        // Key material lives here: owner only.
        std::filesystem::permissions(directory, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::replace, error);
    }
    if (error) {
        spdlog::error("state directory {}: {}", directory.string(), error.message());
        return;
    }
    auto saved = mpsa::save_cpe_state(directory, bridge_->lifecycle().state(), clock_.now(),
                                      std::chrono::system_clock::now());
    if (!saved) spdlog::error("group SA state not saved: {}", mpsa::describe(saved.error()));
}

// ---------------------------------------------------------------------- overlay and kernel

void CpeRole::on_model_change(const bgp_glue::ModelChange& change) {
    if (const auto* peer = std::get_if<bgp_glue::PeerChange>(&change)) {
        // A static route's peer stays resolved whatever zebra says about it.
        const bool loses = peer->kind == bgp_glue::PeerChange::Kind::unresolved ||
                           peer->kind == bgp_glue::PeerChange::Kind::untracked;
        if (loses && static_peers_.contains(peer->peer)) return;
    }
    controller_->on_model_change(change);
    arm_rebuild_timer();
}

void CpeRole::arm_rebuild_timer() {
    if (!controller_ || stopped_) return;
    const auto deadline = controller_->next_deadline();
    if (!deadline || rebuild_armed_for_ == deadline) return;
    rebuild_armed_for_ = deadline;
    rebuild_timer_.expires_at(*deadline);
    rebuild_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](std::error_code e) {
        auto a = alive.lock();
        if (e || !a || !*a) return;
        rebuild_armed_for_.reset();
        rebuild();
    });
}

void CpeRole::rebuild() {
    if (!initial_applied_) return;  // the start-up apply builds from the latest input itself
    auto next = controller_->take_rebuild();
    if (!next) {
        arm_rebuild_timer();
        return;
    }
    state_ = std::move(*next);
    auto report = reconciler_->update(state_.state);
    if (!report) {
        last_update_ok_ = false;
        spdlog::error("group {}: kernel update failed: {}", config_.group.name,
                      report.error().message);
        reconciler_->request_resync();
    } else {
        last_update_ok_ = report->ok();
        if (report->changes > 0) {
            spdlog::info("group {}: {} kernel change(s), {} failed; {} destination(s)",
                         config_.group.name, report->changes, report->failures.size(),
                         state_.destinations.size());
        }
        for (const auto& failure : report->failures) {
            spdlog::error("group {}: {}: {}", config_.group.name, xfrm::describe(failure.change),
                          failure.error.message);
        }
    }
    update_gauges();
    notify_state_changed();
}

bool CpeRole::zebra_ready() const {
    if (!zapi_ || !zapi_->synchronized()) return false;
    const auto& model = learner_->model();
    for (const auto& peer : model.tracked_peers()) {
        if (model.resolution(peer) == bgp_glue::RouteModel::Resolution::unknown) return false;
    }
    return true;
}

void CpeRole::poll_startup() {
    if (initial_applied_ || stopped_) return;
    if (zebra_ready() || clock_.now() >= startup_deadline_) {
        if (!zebra_ready()) {
            spdlog::warn(
                "zebra has not answered within {} s: adopting the kernel state with "
                "the routes known so far",
                std::chrono::duration_cast<std::chrono::seconds>(kStartupHold).count());
        }
        initial_apply();
        return;
    }
    startup_timer_.expires_after(kStartupPoll);
    startup_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](std::error_code e) {
        auto a = alive.lock();
        if (e || !a || !*a) return;
        poll_startup();
    });
}

void CpeRole::initial_apply() {
    if (initial_applied_) return;
    state_ = controller_->build_now();
    // A pending debounced rebuild is covered by this build.
    (void)controller_->take_rebuild();
    auto report = reconciler_->apply(state_.state);
    initial_applied_ = true;
    if (!report) {
        last_update_ok_ = false;
        spdlog::error("group {}: start-up kernel apply failed: {}", config_.group.name,
                      report.error().message);
        reconciler_->request_resync();
    } else {
        startup_changes_ = report->changes;
        last_update_ok_ = report->ok();
        spdlog::info(
            "group {}: adopted the kernel state with {} netlink change(s) ({} failed): {} "
            "inbound SA(s), outbound {}, {} destination(s)",
            config_.group.name, report->changes, report->failures.size(),
            state_.inbound_spis.size(),
            state_.outbound_spi ? spi_text(*state_.outbound_spi) : std::string("none"),
            state_.destinations.size());
        for (const auto& failure : report->failures) {
            spdlog::error("group {}: {}: {}", config_.group.name, xfrm::describe(failure.change),
                          failure.error.message);
        }
    }
    // Input that arrived meanwhile is in this build; later input takes the debounced path.
    arm_rebuild_timer();
    update_gauges();
    notify_state_changed();
}

void CpeRole::watch_monitor(asio::posix::stream_descriptor& descriptor) {
    descriptor.async_wait(
        asio::posix::stream_descriptor::wait_read,
        [this, &descriptor, alive = std::weak_ptr<bool>(alive_)](std::error_code e) {
            auto a = alive.lock();
            if (e || !a || !*a || stopped_) return;
            const auto batch = monitor_->drain();
            if (batch.overrun) {
                spdlog::warn("netlink notifications lost (ENOBUFS): full kernel resync");
                if (auto kernel = kernel_->dump()) set_connected_routes(*kernel);
            } else {
                on_connected_route_events(batch.events);
            }
            if (initial_applied_) xfrm::feed(*reconciler_, batch);
            watch_monitor(descriptor);
        });
}

void CpeRole::arm_resync_timer() {
    if (config_.timers.resync.count() <= 0 || stopped_) return;
    resync_timer_.expires_after(config_.timers.resync);
    resync_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](std::error_code e) {
        auto a = alive.lock();
        if (e || !a || !*a) return;
        if (initial_applied_) reconciler_->request_resync();
        arm_resync_timer();
    });
}

void CpeRole::update_gauges() {
    std::set<xfrm::IpAddress> peers;
    for (const auto& d : state_.destinations) {
        if (d.peer) peers.insert(*d.peer);
    }
    peers_gauge_.set(static_cast<std::int64_t>(peers.size()));
    prefixes_gauge_.set(static_cast<std::int64_t>(state_.destinations.size()));
    policies_gauge_.set(static_cast<std::int64_t>(state_.state.policies.size()));
    ike_sas_gauge_.set(static_cast<std::int64_t>(std::count_if(
        sessions_.begin(), sessions_.end(), [](const auto& s) { return s.second.established; })));
    if (zapi_) {
        const auto& counters = zapi_->decode_counters();
        for (std::size_t i = 0; i < bgp_glue::kDecodeErrcCount; ++i) {
            if (counters.errors[i] == 0) continue;
            context_.metrics
                .counter(
                    "mpsa_decode_errors_total", "Malformed input by source and reason",
                    {{"source", "zapi"},
                     {"reason",
                      metric_label(bgp_glue::to_string(static_cast<bgp_glue::DecodeErrc>(i)))}})
                .set(static_cast<std::int64_t>(counters.errors[i]));
        }
    }
}

void CpeRole::notify_state_changed() {
    if (context_.state_changed) context_.state_changed();
}

// ------------------------------------------------------------------------- reload / snapshot

tl::expected<void, std::string> CpeRole::reload(const Config& config) {
    std::vector<std::string> needs_restart;
    const auto differs = [&](bool changed, const char* what) {
        if (changed) needs_restart.emplace_back(what);
    };
    differs(config.group != config_.group, "group");
    differs(config.esp_address != config_.esp_address, "underlay.esp_address");
    differs(config.esp_address_v6 != config_.esp_address_v6, "underlay.esp_address_v6");
    differs(config.underlay_interface != config_.underlay_interface, "underlay.interface");
    differs(config.overlay_source_v4 != config_.overlay_source_v4, "overlay_source_v4");
    differs(config.overlay_source_v6 != config_.overlay_source_v6, "overlay_source_v6");
    differs(config.frr != config_.frr, "frr");
    differs(config.ike_listen != config_.ike_listen || config.ike_port != config_.ike_port ||
                config.natt_port != config_.natt_port,
            "ike listen addresses and ports");
    differs(config.state_dir != config_.state_dir, "state_dir");
    differs(config.timers.debounce != config_.timers.debounce, "timers.debounce");
    if (!needs_restart.empty()) {
        std::string text = "changing these needs a restart:";
        for (const auto& what : needs_restart) text += " " + what;
        return tl::make_unexpected(text);
    }
    const bool gateway_changed = config.gateway_address != config_.gateway_address ||
                                 config.gateway_identity != config_.gateway_identity ||
                                 config.credentials != config_.credentials ||
                                 config.identity != config_.identity ||
                                 config.timers.dpd != config_.timers.dpd ||
                                 config.timers.natt_keepalive != config_.timers.natt_keepalive;
    if (gateway_changed) {
        // Validate everything first so a failed reload leaves the running one untouched.
        auto gateway = xfrm::IpAddress::parse(config.gateway_address);
        if (!gateway || !node_.esp_address_of(gateway->family)) {
            return tl::make_unexpected("gateway address '" + config.gateway_address +
                                       "' is not reachable from our ESP addresses");
        }
        if (to_ike_address(*node_.esp_address_of(gateway->family)) != ike_local_) {
            return tl::make_unexpected(
                "a gateway of the other address family needs a restart (IKE sockets)");
        }
        auto auth = load_authenticator(
            config.credentials, [expected = make_identification(config.gateway_identity)](
                                    const ike::Identification& peer) { return peer == expected; });
        if (!auth) return tl::make_unexpected(auth.error());
        // Closing sessions keep a pointer to the old authenticator (one may be mid-IKE_AUTH):
        // it is retired, not destroyed.
        auto closing = std::move(sessions_);
        sessions_.clear();
        for (auto& [id, session] : closing) {
            bridge_->detach(session.attached);
            (void)ike_->with_sa(id, [](ike::IkeSa& sa) { sa.close(); });
        }
        retired_authenticators_.push_back(std::move(authenticator_));
        authenticator_ = std::move(auth->authenticator);
    }
    std::optional<std::vector<xfrm::Prefix>> protected_prefixes;
    if (config.protected_prefixes != config_.protected_prefixes) {
        auto parsed = parse_protected_prefixes(config.protected_prefixes);
        if (!parsed) return tl::make_unexpected(parsed.error());
        protected_prefixes = std::move(*parsed);
    }
    if (config.static_routes != config_.static_routes) {
        const auto old_routes = config_.static_routes;
        config_.static_routes = config.static_routes;
        seed_static_routes(old_routes, false);
        seed_static_routes(config.static_routes, true);
    }
    const bool resync_changed = config.timers.resync != config_.timers.resync;
    config_ = config;
    if (gateway_changed) {
        auto gateway = xfrm::IpAddress::parse(config_.gateway_address);
        gateway_ = to_ike_address(*gateway);
        ike_local_ = to_ike_address(*node_.esp_address_of(gateway->family));
        node_.never_overlay = {*gateway};
        controller_->set_node(node_);
        reconnect_timer_.cancel();
        reconnect_pending_ = false;
        backoff_.reset();
        connect_gateway();
    }
    if (protected_prefixes) {
        node_.protected_prefixes = std::move(*protected_prefixes);
        controller_->set_node(node_);
    }
    if (resync_changed) arm_resync_timer();
    arm_rebuild_timer();
    spdlog::info("configuration reloaded");
    return {};
}

Snapshot CpeRole::snapshot() const {
    CpeGroupView group;
    group.name = config_.group.name;
    group.layout = layout_;
    if (bridge_) {
        group.records = &bridge_->lifecycle().sas();
        group.desired = bridge_->lifecycle().desired();
    }
    group.now = clock_.now();

    std::vector<IkeSaView> ike_sas;
    if (ike_) {
        for (const auto& [id, session] : sessions_) {
            if (!session.established) continue;
            const ike::IkeSa* sa = ike_->find(id);
            if (sa == nullptr) continue;
            IkeSaView view;
            view.spi_initiator = sa->spis().initiator;
            view.spi_responder = sa->spis().responder;
            view.local = address_text(sa->local_endpoint().address);
            view.remote = address_text(sa->remote_endpoint().address);
            view.suite = sa->suite();
            ike_sas.push_back(std::move(view));
        }
    }
    SaCounterMap counters;
    if (kernel_) {
        if (auto read = kernel_->sa_counters()) {
            for (const auto& c : *read) counters[c.key] = c;
        }
    }
    const auto peers = cpe_peers_document(config_.group.name, state_);
    const auto routes = cpe_routes_document(config_.group.name, state_);
    const auto sas =
        cpe_sas_document(ike_sas, installer_ ? installer_->installed() : std::vector<ChildSaView>{},
                         group, state_, counters);

    CpeStatusView status;
    status.identity = config_.identity;
    status.version = kVersion;
    status.pid = ::getpid();
    status.uptime_seconds = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::steady_clock::now() - started_at_)
                                .count();
    status.gateway_address = config_.gateway_address;
    status.gateway_ike_state =
        any_established() ? "established" : (sessions_.empty() ? "down" : "connecting");
    status.ike_sas = ike_sas.size();
    status.kernel.in_sync =
        initial_applied_ && last_update_ok_ && reconciler_ && !reconciler_->resync_pending();
    status.kernel.changes = startup_changes_;
    if (counting_kernel_) {
        status.kernel.errors = counting_kernel_->errors;
        status.kernel.last_error = counting_kernel_->last_error;
    }

    Snapshot snapshot;
    snapshot["status"] = cpe_status_document(status, peers, routes, sas);
    snapshot["groups"] = cpe_groups_document(group);
    snapshot["peers"] = peers;
    snapshot["routes"] = routes;
    snapshot["sas"] = sas;
    return snapshot;
}

void CpeRole::shutdown() {
    if (stopped_) return;
    stopped_ = true;
    if (bridge_) persist();
    // Stop protocols without telling the gateway (no Delete): its view of us stays, and our
    // kernel state (group SAs, policies, routes; the CHILD_SA too) stays in place.
    for (auto* timer :
         {&lifecycle_timer_, &rebuild_timer_, &reconnect_timer_, &resync_timer_, &startup_timer_}) {
        timer->cancel();
    }
    if (reconciler_timer_) reconciler_timer_->cancel();
    if (monitor_xfrm_fd_) monitor_xfrm_fd_->cancel();
    if (monitor_route_fd_) monitor_route_fd_->cancel();
    if (zapi_) zapi_->stop();
    learner_.reset();
    zapi_.reset();
    sessions_.clear();
    ike_.reset();
    spdlog::info("CPE role stopped; the dataplane stays in place");
}

}  // namespace

std::unique_ptr<NodeRole> make_cpe_role(RoleContext context, const Config& config) {
    return std::make_unique<CpeRole>(std::move(context), config);
}

}  // namespace mpsa::daemon
