// The gateway role: IKEv2 responder (SaManager on the configured addresses), MPSA group manager
// (through GatewayIkeBridge), the BGP CHILD_SA installed into the kernel, group SAs persisted in
// state_dir so a restart keeps them.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "mpsa/daemon/child_sa_installer.hpp"
#include "mpsa/daemon/cpe_snapshot.hpp"
#include "mpsa/daemon/gateway_snapshot.hpp"
#include "mpsa/daemon/gateway_state.hpp"
#include "mpsa/daemon/ike_profile.hpp"
#include "mpsa/daemon/role.hpp"
#include "mpsa/ike/sa_manager.hpp"
#include "mpsa/mpsa/gateway_ike_bridge.hpp"
#include "mpsa/mpsa/peer_identity.hpp"
#include "mpsa/xfrm/netlink.hpp"

namespace mpsa::daemon {
namespace {

std::string endpoint_text(const ike::Endpoint& e) {
    return ike::to_string(e);
}

// The kernel installer for the BGP CHILD_SA, counting and logging failures. Without a usable
// kernel (no netlink, no ESP) the CHILD_SA fails and the IKE SA stays up.
class CountingInstaller final : public ike::ChildSaInstaller {
  public:
    CountingInstaller(MetricsRegistry& metrics, std::unique_ptr<xfrm::NetlinkKernel> kernel)
        : kernel_(std::move(kernel)),
          installer_(kernel_ ? std::make_unique<XfrmChildSaInstaller>(*kernel_) : nullptr),
          installed_(metrics.counter("mpsa_child_sa_installs_total",
                                     "BGP CHILD_SAs installed into the kernel")),
          failed_(metrics.counter("mpsa_child_sa_install_failures_total",
                                  "BGP CHILD_SAs the kernel refused (the IKE SA stays up)")) {}

    tl::expected<std::uint32_t, ike::InstallError> allocate_spi(
        const ike::Endpoint& local, const ike::Endpoint& remote) override {
        if (!installer_) return fail_unavailable(remote, "no xfrm netlink socket");
        auto spi = installer_->allocate_spi(local, remote);
        if (!spi) {
            failed_.inc();
            spdlog::warn("bgp CHILD_SA with {}: no SPI from the kernel: {}", endpoint_text(remote),
                         installer_->last_error());
        }
        return spi;
    }
    tl::expected<void, ike::InstallError> install(const ike::ChildSaInstall& sa) override {
        if (!installer_) return fail_unavailable(sa.outbound.destination, "no xfrm netlink socket");
        auto result = installer_->install(sa);
        if (!result) {
            failed_.inc();
            spdlog::warn("bgp CHILD_SA with {} (spi in {} out {}) not installed: {}",
                         endpoint_text(sa.outbound.destination), spi_text(sa.inbound.spi),
                         spi_text(sa.outbound.spi), installer_->last_error());
            return result;
        }
        installed_.inc();
        spdlog::info("bgp CHILD_SA with {} installed (spi in {} out {}, transport, tcp)",
                     endpoint_text(sa.outbound.destination), spi_text(sa.inbound.spi),
                     spi_text(sa.outbound.spi));
        return {};
    }
    void remove(std::uint32_t inbound_spi, std::uint32_t outbound_spi) override {
        if (installer_) installer_->remove(inbound_spi, outbound_spi);
    }

  private:
    tl::unexpected<ike::InstallError> fail_unavailable(const ike::Endpoint& peer, const char* why) {
        failed_.inc();
        spdlog::warn("bgp CHILD_SA with {} not installed: {}", endpoint_text(peer), why);
        return tl::unexpected(ike::InstallError::kUnavailable);
    }
    std::unique_ptr<xfrm::NetlinkKernel> kernel_;
    std::unique_ptr<XfrmChildSaInstaller> installer_;
    Metric& installed_;
    Metric& failed_;
};

struct Session {
    mpsa::AttachedIkeSa attached = 0;
    std::string identity;
    ike::Endpoint peer;
    ike::Endpoint local;
    ike::IkeSpis spis;
    bool established = false;
    mpsa::TimePoint since{};
    std::vector<ike::ChildSaUp> child_sas;
};

class GatewayRole final : public NodeRole {
  public:
    GatewayRole(RoleContext context, const Config& config)
        : ctx_(std::move(context)),
          config_(config),
          bridge_(ctx_.clock, ctx_.random),
          group_timer_(ctx_.io),
          m_ike_sas_(ctx_.metrics.gauge("mpsa_ike_sas", "Established IKE SAs")),
          m_refused_(ctx_.metrics.counter(
              "mpsa_members_refused_total",
              "peers whose authenticated identity matches no group (IKE SA refused)")),
          m_auth_failed_(ctx_.metrics.counter("mpsa_ike_auth_failures_total",
                                              "IKE SAs that failed authentication")),
          m_put_sent_(ctx_.metrics.counter("mpsa_put_sent_total", "MPSA_PUT requests sent")),
          m_put_acked_(ctx_.metrics.counter("mpsa_put_acked_total",
                                            "MPSA_PUT requests acknowledged by the member")),
          m_put_retx_(ctx_.metrics.counter(
              "mpsa_put_retransmitted_total",
              "MPSA_PUT deliveries sent again (no answer, failure, or IKE SA rekeyed)")),
          m_put_failed_(
              ctx_.metrics.counter("mpsa_put_failed_total",
                                   "MPSA_PUT exchanges timed out, lost or answered with an error")),
          m_peers_without_mpsa_(ctx_.metrics.counter(
              "mpsa_peers_without_mpsa_total",
              "IKE SAs up without the multi-point SA Vendor ID (plain IKEv2 peers)")),
          m_state_saves_failed_(ctx_.metrics.counter("mpsa_state_save_failures_total",
                                                     "group SA state file writes that failed")),
          m_guard_installed_(ctx_.metrics.gauge(
              "mpsa_bgp_guard_installed",
              "1 when the policies blocking clear-text BGP (TCP 179) to the gateway are in place")),
          m_guard_failures_(ctx_.metrics.counter(
              "mpsa_bgp_guard_failures_total",
              "BGP guard policies not installed (no xfrm, kernel error, foreign policy)")) {}

    ~GatewayRole() override = default;

    tl::expected<void, std::string> start() override {
        auto auth = load_authenticator(config_.credentials,
                                       [this](const ike::Identification& id) { return admit(id); });
        if (!auth) return tl::make_unexpected(auth.error());
        authenticator_ = std::move(auth->authenticator);

        auto addresses = resolve_listen_addresses(config_.ike_listen);
        if (!addresses) return tl::make_unexpected(addresses.error());

        std::unique_ptr<xfrm::NetlinkKernel> kernel;
        if (config_.bgp_child_sa.enabled) {
            auto opened = xfrm::NetlinkKernel::open();
            if (opened) {
                kernel = std::move(*opened);
            } else {
                spdlog::warn("xfrm netlink unavailable ({}): bgp CHILD_SAs will fail",
                             opened.error().message);
            }
            install_bgp_guard(kernel.get(), *addresses);
        } else {
            remove_bgp_guard();
        }
        installer_ = std::make_unique<CountingInstaller>(ctx_.metrics, std::move(kernel));

        for (const auto& g : config_.groups) {
            if (auto added = bridge_.groups().add_group(manager_group_config(g)); !added) {
                return tl::make_unexpected("group " + g.name + ": " +
                                           std::string(mpsa::to_string(added.error())));
            }
        }
        adopt_persisted_state();

        ike::SaManagerConfig manager_config;
        manager_config.endpoint.addresses = *addresses;
        manager_config.endpoint.ike_port = config_.ike_port;
        manager_config.endpoint.natt_port = config_.natt_port;
        // A CPE behind NAT gets a UDP-encapsulated BGP CHILD_SA: the NAT-T socket must hand
        // ESP-in-UDP to the kernel, or inbound ESP is silently dropped at the socket.
        manager_config.endpoint.options.esp_in_udp = config_.bgp_child_sa.enabled;
        base_ike_config_ = base_ike_sa_config(config_);
        auto manager = ike::SaManager::open(
            ctx_.io, ctx_.clock, ctx_.random, manager_config,
            [this](const ike::Endpoint& local, const ike::Endpoint& remote) {
                return responder_setup(local, remote);
            },
            [this](const ike::SessionEvent& event) { on_event(event); });
        if (!manager) {
            return tl::make_unexpected("IKE sockets (" + listen_text(*addresses) + " port " +
                                       std::to_string(config_.ike_port) +
                                       "): " + manager.error().message());
        }
        manager_ = std::move(*manager);
        spdlog::info("gateway {}: IKE responder on {} (ports {}/{}), {} group(s), auth {}",
                     config_.identity, listen_text(*addresses), config_.ike_port, config_.natt_port,
                     config_.groups.size(), auth->method);
        for (const auto& g : config_.groups) log_group(g.name, "configured");
        save_state_if_changed();
        arm_group_timer();
        return {};
    }

    tl::expected<void, std::string> reload(const Config& config) override {
        // Sockets, identity and credentials need a restart; say so instead of half-applying.
        if (config.identity != config_.identity || config.credentials != config_.credentials ||
            config.ike_listen != config_.ike_listen || config.ike_port != config_.ike_port ||
            config.natt_port != config_.natt_port || config.bgp_child_sa != config_.bgp_child_sa) {
            return tl::make_unexpected(
                "identity, credentials, ike and bgp_child_sa changes need a restart");
        }
        std::map<std::string, const GroupConfig*> wanted;
        for (const auto& g : config.groups) wanted[g.name] = &g;
        auto& manager = bridge_.groups();
        for (const auto& name : manager.group_names()) {
            if (wanted.contains(name)) continue;
            (void)manager.remove_group(name);
            spdlog::info("group {}: removed by reload", name);
        }
        for (const auto& g : config.groups) {
            const auto old = std::find_if(config_.groups.begin(), config_.groups.end(),
                                          [&](const GroupConfig& o) { return o.name == g.name; });
            const bool exists = old != config_.groups.end();
            auto result = exists ? manager.update_group(manager_group_config(g))
                                 : manager.add_group(manager_group_config(g));
            if (!result) {
                // Validation ran already; this is an internal inconsistency, reported as is.
                return tl::make_unexpected("group " + g.name + ": " +
                                           std::string(mpsa::to_string(result.error())));
            }
            if (!exists) {
                log_group(g.name, "added by reload");
            } else if (!(*old == g)) {
                spdlog::info("group {}: changed by reload (suite/lifetime from the next SA on)",
                             g.name);
            }
        }
        config_ = config;
        close_unadmitted();
        after_activity();
        return {};
    }

    Snapshot snapshot() const override {
        const auto now = ctx_.clock.now();
        std::vector<GatewayGroupView> groups;
        for (const auto& g : config_.groups) {
            auto status = bridge_.groups().status(g.name);
            if (!status) continue;
            groups.push_back({g, *status, bridge_.groups().member_status(g.name)});
        }
        std::vector<GatewayPeerView> peers;
        for (const auto& [id, s] : sessions_) {
            GatewayPeerView p;
            p.identity = s.identity;
            p.peer = s.peer;
            p.local = s.local;
            p.spis = s.spis;
            p.state = s.established ? "established" : "connecting";
            p.established_seconds =
                s.established
                    ? std::chrono::duration_cast<std::chrono::seconds>(now - s.since).count()
                    : 0;
            if (auto member = bridge_.member(s.attached)) p.mpsa = member->mpsa;
            p.generation = bridge_.generation(s.attached);
            if (manager_) {
                if (const ike::IkeSa* sa = manager_->find(id)) {
                    p.suite = sa->suite();
                }
            }
            p.child_sas = s.child_sas;
            peers.push_back(std::move(p));
        }
        Snapshot snap;
        snap["status"] = gateway_status_document(groups, peers);
        snap["groups"] = gateway_groups_document(groups, now);
        snap["members"] = gateway_members_document(groups, peers);
        snap["peers"] = gateway_peers_document(peers);
        snap["routes"] = nlohmann::json{{"routes", nlohmann::json::array()}};
        snap["sas"] = gateway_sas_document(groups, peers, now);
        return snap;
    }

    void shutdown() override {
        stopping_ = true;
        group_timer_.cancel();
        save_state(true);
        // IKE SAs are not deleted: the members keep their group SAs until Lifetime, and their
        // IKE SAs time out or are replaced when the gateway is back (INITIAL_CONTACT).
        for (auto& [id, s] : sessions_) bridge_.detach(s.attached);
        sessions_.clear();
        manager_.reset();
        spdlog::info("gateway: stopped (group SAs saved, kernel state left in place)");
    }

  private:
    static std::string listen_text(const std::vector<ike::IpAddress>& addresses) {
        std::string out;
        for (const auto& a : addresses) out += (out.empty() ? "" : ",") + address_text(a);
        return out;
    }

    const GroupConfig* group_config(std::string_view name) const {
        for (const auto& g : config_.groups)
            if (g.name == name) return &g;
        return nullptr;
    }

    std::vector<std::string> groups_of(const std::string& identity) const {
        std::vector<std::string> out;
        for (const auto& g : config_.groups) {
            if (std::any_of(g.members.begin(), g.members.end(),
                            [&](const std::string& p) { return identity_matches(p, identity); }))
                out.push_back(g.name);
        }
        return out;
    }

    bool admit(const ike::Identification& id) {
        const std::string identity = mpsa::identity_text(id);
        if (!groups_of(identity).empty()) return true;
        m_refused_.inc();
        spdlog::warn("peer identity '{}' matches no group: IKE SA refused (AUTHENTICATION_FAILED)",
                     identity);
        return false;
    }

    void log_group(const std::string& name, const char* what) const {
        const auto status = bridge_.groups().status(name);
        const GroupConfig* g = group_config(name);
        if (!status || !g) return;
        spdlog::info("group {} (id {}): {}, SA spi {}{}", name, g->id, what,
                     status->current_spi ? spi_text(*status->current_spi) : "-",
                     status->next_spi ? ", next spi " + spi_text(*status->next_spi) : "");
    }

    std::optional<ike::ResponderSetup> responder_setup(const ike::Endpoint& local,
                                                       const ike::Endpoint& remote) {
        if (stopping_) return std::nullopt;
        ike::ResponderSetup setup{base_ike_config_, {}};
        if (config_.bgp_child_sa.enabled && local.address.v6 == remote.address.v6) {
            setup.config.child = bgp_child_sa_config(local.address, remote.address);
        }
        setup.deps = ike::IkeSaDeps{&ctx_.clock, &ctx_.random, authenticator_.get(),
                                    installer_.get(), nullptr};
        return setup;
    }

    void on_event(const ike::SessionEvent& se) {
        auto it = sessions_.find(se.session);
        if (it == sessions_.end()) {
            if (std::holds_alternative<ike::IkeSaDown>(se.event)) {
                // Never established (e.g. authentication failed): nothing was attached.
                const auto& down = std::get<ike::IkeSaDown>(se.event);
                note_failed_setup(down);
                return;
            }
            Session s;
            ike::SaManager* manager = manager_.get();
            const ike::SessionId id = se.session;
            s.attached =
                bridge_.attach([manager, id]() { return manager->find(id); }, base_ike_config_);
            if (const ike::IkeSa* sa = manager_->find(se.session)) {
                s.peer = sa->remote_endpoint();
                s.local = sa->local_endpoint();
                s.spis = sa->spis();
            }
            it = sessions_.emplace(se.session, std::move(s)).first;
        }
        Session& s = it->second;
        ike::Event event = se.event;  // the bridge wipes received notify data in its copy
        bridge_.on_ike_event(s.attached, event);
        std::visit([&](const auto& e) { handle(se.session, s, e); }, se.event);
        after_activity();
    }

    void note_failed_setup(const ike::IkeSaDown& down) {
        if (down.reason == ike::DownReason::kAuthenticationFailed) {
            m_auth_failed_.inc();
            spdlog::warn("IKE SA from {} failed authentication{}", endpoint_text(down.peer),
                         down.peer_id ? " (identity '" + mpsa::identity_text(*down.peer_id) + "')"
                                      : std::string());
        } else {
            spdlog::info("IKE SA from {} down before it was established: {}",
                         endpoint_text(down.peer), ike::down_reason_name(down.reason));
        }
    }

    void handle(ike::SessionId id, Session& s, const ike::IkeSaUp& up) {
        s.identity = mpsa::identity_text(up.peer_id);
        s.peer = up.peer;
        s.spis = up.spis;
        s.established = true;
        s.since = ctx_.clock.now();
        if (const ike::IkeSa* sa = manager_->find(id)) s.local = sa->local_endpoint();
        const auto member = bridge_.member(s.attached);
        const auto groups = groups_of(s.identity);
        std::string group_list;
        for (const auto& g : groups) group_list += (group_list.empty() ? "" : ",") + g;
        spdlog::info("IKE SA up: peer {} identity '{}' spi {}_{} groups [{}] mpsa {}",
                     endpoint_text(up.peer), s.identity, ike_spi_text(up.spis.initiator),
                     ike_spi_text(up.spis.responder), group_list,
                     member && member->mpsa ? "yes" : "no (plain IKEv2 peer)");
        if (groups.empty()) {  // admitted at AUTH, but a reload since removed it
            close_session(id, "identity matches no group");
            return;
        }
        // A new IKE SA of the same identity replaces the older ones (re-authentication,
        // INITIAL_CONTACT after a reboot): not a leave, so no membership rekey.
        for (const auto& [other_id, other] : sessions_) {
            if (other_id != id && other.established && other.identity == s.identity) {
                close_session(other_id, "replaced by a new IKE SA of the same identity");
            }
        }
    }
    void handle(ike::SessionId, Session& s, const ike::IkeSaRekeyed& rekeyed) {
        s.spis = rekeyed.new_spis;
        spdlog::info("IKE SA of '{}' rekeyed: spi {}_{}", s.identity,
                     ike_spi_text(rekeyed.new_spis.initiator),
                     ike_spi_text(rekeyed.new_spis.responder));
    }
    void handle(ike::SessionId id, Session& s, const ike::IkeSaDown& down) {
        if (!s.established)
            note_failed_setup(down);
        else
            spdlog::info("IKE SA down: peer {} identity '{}': {}", endpoint_text(s.peer),
                         s.identity, ike::down_reason_name(down.reason));
        bridge_.detach(s.attached);
        sessions_.erase(id);
    }
    void handle(ike::SessionId, Session& s, const ike::ChildSaUp& up) {
        s.child_sas.push_back(up);
        spdlog::info("bgp CHILD_SA up with '{}' (spi in {} out {})", s.identity,
                     spi_text(up.inbound_spi), spi_text(up.outbound_spi));
    }
    void handle(ike::SessionId, Session& s, const ike::ChildSaRekeyed& r) {
        for (auto& c : s.child_sas) {
            if (c.inbound_spi == r.old_inbound_spi) {
                c.inbound_spi = r.new_inbound_spi;
                c.outbound_spi = r.new_outbound_spi;
            }
        }
    }
    void handle(ike::SessionId, Session& s, const ike::ChildSaDown& d) {
        std::erase_if(s.child_sas,
                      [&](const ike::ChildSaUp& c) { return c.inbound_spi == d.inbound_spi; });
    }
    void handle(ike::SessionId, Session& s, const ike::ChildSaFailed& f) {
        spdlog::warn("bgp CHILD_SA with '{}' not set up (notify {}); the IKE SA stays up",
                     s.identity, f.notify_type);
    }
    void handle(ike::SessionId, Session&, const ike::NotifiesReceived&) {}
    void handle(ike::SessionId, Session&, const ike::NotifyRequestDone&) {}

    void close_session(ike::SessionId id, const char* why) {
        // Deferred: closing emits events, and we may be inside the event callback.
        asio::post(ctx_.io, [this, id, why] {
            if (!manager_) return;
            const auto it = sessions_.find(id);
            if (it != sessions_.end()) {
                spdlog::info("closing IKE SA of '{}' ({}): {}", it->second.identity,
                             endpoint_text(it->second.peer), why);
            }
            manager_->with_sa(id, [](ike::IkeSa& sa) { sa.close(); });
        });
    }

    void close_unadmitted() {
        for (const auto& [id, s] : sessions_) {
            if (s.established && groups_of(s.identity).empty())
                close_session(id, "identity no longer matches any group");
        }
    }

    // After anything that may have made the bridge send: send the datagrams, re-arm the
    // group timer, persist changed SAs, publish a snapshot.
    void after_activity() {
        if (!flush_posted_) {
            flush_posted_ = true;
            asio::post(ctx_.io, [this] {
                flush_posted_ = false;
                flush();
            });
        }
    }

    void flush() {
        if (!manager_ || stopping_) return;
        std::map<mpsa::AttachedIkeSa, ike::SessionId> session_of;
        for (const auto& [id, s] : sessions_) session_of[s.attached] = id;
        for (const auto attached : bridge_.take_driven()) {
            const auto it = session_of.find(attached);
            if (it != session_of.end()) manager_->with_sa(it->second, [](ike::IkeSa&) {});
        }
        update_metrics();
        save_state_if_changed();
        arm_group_timer();
        if (ctx_.state_changed) ctx_.state_changed();
    }

    void arm_group_timer() {
        if (stopping_) return;
        const auto next = bridge_.groups().next_deadline();
        if (!next) return;
        if (armed_for_ && *armed_for_ == *next) return;
        armed_for_ = next;
        group_timer_.expires_at(*next);
        group_timer_.async_wait([this](const std::error_code& error) {
            if (error) return;
            armed_for_.reset();
            bridge_.groups().advance();
            flush();
        });
    }

    void update_metrics() {
        const auto& c = bridge_.counters();
        m_put_sent_.set(static_cast<std::int64_t>(c.puts_sent));
        m_put_acked_.set(static_cast<std::int64_t>(c.puts_acked));
        m_put_failed_.set(static_cast<std::int64_t>(c.puts_failed));
        m_peers_without_mpsa_.set(static_cast<std::int64_t>(c.peers_without_mpsa));
        m_put_retx_.set(static_cast<std::int64_t>(bridge_.groups().retransmitted_puts()));
        std::int64_t established = 0;
        for (const auto& [id, s] : sessions_) established += s.established ? 1 : 0;
        m_ike_sas_.set(established);
        for (const auto& g : config_.groups) {
            const auto status = bridge_.groups().status(g.name);
            if (!status) continue;
            ctx_.metrics.gauge("mpsa_members", "MPSA members of the group", {{"group", g.name}})
                .set(static_cast<std::int64_t>(status->members));
            ctx_.metrics.counter("mpsa_group_rekeys_total", "group SA rekeys", {{"group", g.name}})
                .set(static_cast<std::int64_t>(status->rekeys));
            ctx_.metrics
                .counter("mpsa_put_deliveries_failed_total",
                         "group SA deliveries given up after every retry", {{"group", g.name}})
                .set(static_cast<std::int64_t>(status->failed_deliveries));
        }
        if (manager_) {
            const auto& sc = manager_->sessions().counters();
            ctx_.metrics
                .counter("mpsa_decode_errors_total", "Malformed input by source and reason",
                         {{"source", "ike"}, {"reason", "malformed"}})
                .set(static_cast<std::int64_t>(sc.malformed));
            ctx_.metrics
                .counter("mpsa_decode_errors_total", "Malformed input by source and reason",
                         {{"source", "ike"}, {"reason", "unknown_spi"}})
                .set(static_cast<std::int64_t>(sc.unknown_spi));
            ctx_.metrics
                .counter("mpsa_decode_errors_total", "Malformed input by source and reason",
                         {{"source", "ike"}, {"reason", "unexpected_notify"}})
                .set(static_cast<std::int64_t>(c.unexpected_notifies));
            ctx_.metrics
                .counter("mpsa_ike_cookies_sent_total", "IKE_SA_INIT answered with a COOKIE")
                .set(static_cast<std::int64_t>(sc.cookies_sent));
            ctx_.metrics
                .counter("mpsa_ike_invalid_spi_sent_total",
                         "requests for unknown IKE SAs answered with INVALID_IKE_SPI (e.g. "
                         "members still using IKE SAs from before a gateway restart)")
                .set(static_cast<std::int64_t>(sc.invalid_spi_sent));
            ctx_.metrics
                .counter("mpsa_ike_invalid_spi_suppressed_total",
                         "INVALID_IKE_SPI answers withheld by the rate limit")
                .set(static_cast<std::int64_t>(sc.invalid_spi_suppressed));
            ctx_.metrics.gauge("mpsa_ike_half_open", "half-open responder IKE SAs")
                .set(static_cast<std::int64_t>(manager_->sessions().half_open()));
        }
    }

    // --- BGP guard (see bgp_guard_policies in child_sa_installer.hpp) ----------------------
    // Installed at start whenever bgp_child_sa is enabled, add-or-adopt; left in place at
    // shutdown like the rest of the dataplane; removed at a start with bgp_child_sa disabled
    // (a reload cannot change bgp_child_sa). Failures are logged and counted, never fatal: a
    // kernel without XFRM cannot carry the CHILD_SAs either.
    bool apply_bgp_guard(xfrm::NetlinkKernel& kernel, const std::vector<xfrm::Policy>& wanted) {
        auto dump = kernel.dump();
        if (!dump) {
            m_guard_failures_.inc();
            spdlog::warn("bgp guard: cannot read the kernel's xfrm policies: {}",
                         dump.error().message);
            return false;
        }
        const auto plan = plan_bgp_guard(wanted, dump->policies);
        bool complete = plan.conflicts.empty();
        for (const auto& conflict : plan.conflicts) {
            m_guard_failures_.inc();
            spdlog::warn("bgp guard: a foreign policy holds the guard's key, left alone: {}",
                         xfrm::describe(xfrm::Object{conflict}));
        }
        const auto results = kernel.apply(plan.changes);
        for (std::size_t i = 0; i < results.size(); ++i) {
            if (!results[i]) {
                spdlog::debug("bgp guard: {}", xfrm::describe(plan.changes[i]));
                continue;
            }
            complete = false;
            m_guard_failures_.inc();
            spdlog::warn("bgp guard: {} failed: {}", xfrm::describe(plan.changes[i]),
                         results[i]->message);
        }
        if (results.size() < plan.changes.size()) complete = false;
        if (complete && (!wanted.empty() || !plan.changes.empty())) {
            spdlog::info(
                "bgp guard: {} policies ({} added or updated, {} in place, {} removed)",
                wanted.size(),
                std::count_if(
                    plan.changes.begin(), plan.changes.end(),
                    [](const xfrm::Change& c) { return c.op != xfrm::ChangeOp::kDelete; }),
                plan.in_place,
                std::count_if(plan.changes.begin(), plan.changes.end(), [](const xfrm::Change& c) {
                    return c.op == xfrm::ChangeOp::kDelete;
                }));
        }
        return complete;
    }

    void install_bgp_guard(xfrm::NetlinkKernel* kernel,
                           const std::vector<ike::IpAddress>& addresses) {
        m_guard_installed_.set(0);
        if (!kernel) {
            m_guard_failures_.inc();
            spdlog::warn(
                "bgp guard not installed (no xfrm netlink): clear-text BGP to port 179 "
                "is not blocked");
            return;
        }
        const auto wanted = bgp_guard_policies(addresses);
        if (apply_bgp_guard(*kernel, wanted)) {
            m_guard_installed_.set(1);
            spdlog::info("bgp guard in place on {}: TCP port 179 only inside CHILD_SAs",
                         listen_text(addresses));
        } else {
            spdlog::warn("bgp guard incomplete: clear-text BGP to {} port 179 may be accepted",
                         listen_text(addresses));
        }
    }

    void remove_bgp_guard() {
        m_guard_installed_.set(0);
        auto opened = xfrm::NetlinkKernel::open();
        if (!opened) {
            spdlog::debug("bgp guard: no xfrm netlink ({}), nothing to remove",
                          opened.error().message);
            return;
        }
        (void)apply_bgp_guard(**opened, {});
    }

    // --- persistence -----------------------------------------------------------------------
    std::vector<std::pair<std::string, std::pair<std::uint32_t, std::uint32_t>>> sa_fingerprint()
        const {
        std::vector<std::pair<std::string, std::pair<std::uint32_t, std::uint32_t>>> out;
        for (const auto& name : bridge_.groups().group_names()) {
            const auto s = bridge_.groups().status(name);
            out.push_back({name, {s->current_spi.value_or(0), s->next_spi.value_or(0)}});
        }
        return out;
    }

    void adopt_persisted_state() {
        std::error_code ec;
        std::filesystem::create_directories(config_.state_dir, ec);
        auto loaded = load_gateway_state(config_.state_dir, ctx_.clock.now(),
                                         std::chrono::system_clock::now());
        if (!loaded) {
            spdlog::warn("group SA state not used ({}): starting with fresh group SAs",
                         loaded.error());
            return;
        }
        if (!loaded->found) {
            spdlog::info("no saved group SA state in {}: fresh group SAs", config_.state_dir);
            return;
        }
        for (const auto& g : loaded->groups) {
            if (!group_config(g.name)) continue;  // group removed from the config meanwhile
            if (auto adopted = bridge_.groups().adopt_sas(g); !adopted) {
                spdlog::warn("group {}: saved SA not adopted ({}): fresh SA", g.name,
                             mpsa::to_string(adopted.error()));
            } else {
                log_group(g.name, "adopted saved SA");
            }
        }
    }

    void save_state_if_changed() { save_state(false); }

    void save_state(bool force) {
        auto fingerprint = sa_fingerprint();
        if (!force && fingerprint == saved_fingerprint_) return;
        std::error_code ec;
        std::filesystem::create_directories(config_.state_dir, ec);
        auto saved = save_gateway_state(config_.state_dir, bridge_.groups().export_sas(),
                                        ctx_.clock.now(), std::chrono::system_clock::now());
        if (!saved) {
            m_state_saves_failed_.inc();
            spdlog::error("group SA state not saved: {}", saved.error());
            return;
        }
        if (fingerprint != saved_fingerprint_) {
            for (const auto& [name, spis] : fingerprint) {
                spdlog::debug("group {}: state saved (spi {} next {})", name, spi_text(spis.first),
                              spi_text(spis.second));
            }
        }
        saved_fingerprint_ = std::move(fingerprint);
    }

    RoleContext ctx_;
    Config config_;
    std::unique_ptr<ike::Authenticator> authenticator_;
    std::unique_ptr<CountingInstaller> installer_;
    mpsa::GatewayIkeBridge bridge_;
    ike::IkeSaConfig base_ike_config_;
    std::unique_ptr<ike::SaManager> manager_;
    std::map<ike::SessionId, Session> sessions_;
    asio::steady_timer group_timer_;
    std::optional<mpsa::TimePoint> armed_for_;
    bool flush_posted_ = false;
    bool stopping_ = false;
    std::vector<std::pair<std::string, std::pair<std::uint32_t, std::uint32_t>>> saved_fingerprint_;
    Metric& m_ike_sas_;
    Metric& m_refused_;
    Metric& m_auth_failed_;
    Metric& m_put_sent_;
    Metric& m_put_acked_;
    Metric& m_put_retx_;
    Metric& m_put_failed_;
    Metric& m_peers_without_mpsa_;
    Metric& m_state_saves_failed_;
    Metric& m_guard_installed_;
    Metric& m_guard_failures_;
};

}  // namespace

std::unique_ptr<NodeRole> make_gateway_role(RoleContext context, const Config& config) {
    return std::make_unique<GatewayRole>(std::move(context), config);
}

}  // namespace mpsa::daemon
