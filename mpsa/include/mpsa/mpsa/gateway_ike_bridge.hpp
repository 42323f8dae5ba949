// Gateway glue between the IKEv2 engine (ike::IkeSa) and GatewayGroupManager.
//
// The caller (the daemon's event loop) owns the IKE SAs: it attaches each one here, feeds every
// event it takes from it into on_ike_event(), and detaches it before dropping the object. The
// bridge turns IKE SA up / rekeyed / down into group membership, and implements MpsaPutSender
// with IkeSa::send_notifies(): an answered INFORMATIONAL acknowledges the MPSA_PUT, a timed-out
// one or a vanished IKE SA counts as a failure (the manager re-sends, on the new IKE SA when it
// was rekeyed).
//
// MPSA is used only on an IKE SA where both sides sent the "multi-point SA" Vendor ID.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mpsa/ike/events.hpp"
#include "mpsa/ike/ike_sa.hpp"
#include "mpsa/ike/sa_config.hpp"
#include "mpsa/mpsa/clock.hpp"
#include "mpsa/mpsa/group_manager.hpp"
#include "mpsa/mpsa/random.hpp"

namespace mpsa::mpsa {

// One attached IKE SA object; stays the same across IKE SA rekeys (the engine keeps the object).
using AttachedIkeSa = std::uint64_t;

struct GatewayBridgeCounters {
    std::uint64_t puts_sent = 0;
    std::uint64_t puts_acked = 0;
    std::uint64_t puts_failed = 0;          // timed out, IKE SA gone, or answered with an error
    std::uint64_t send_refused = 0;         // no usable IKE SA or encoding refused
    std::uint64_t peers_without_mpsa = 0;   // IKE SAs up without the Vendor ID on both sides
    std::uint64_t unexpected_notifies = 0;  // notifies a CPE sent us (ignored)
};

struct GatewayMemberView {
    std::string identity;
    ike::Endpoint peer;
    bool mpsa = false;  // both sides sent the Vendor ID
};

class GatewayIkeBridge final : private MpsaPutSender {
  public:
    GatewayIkeBridge(const Clock& clock, RandomSource& random);
    GatewayIkeBridge(const GatewayIkeBridge&) = delete;
    GatewayIkeBridge& operator=(const GatewayIkeBridge&) = delete;
    ~GatewayIkeBridge() override;

    [[nodiscard]] GatewayGroupManager& groups() { return manager_; }
    [[nodiscard]] const GatewayGroupManager& groups() const { return manager_; }

    // `local_config` is what this IKE SA was created with: whether we sent the Vendor ID.
    [[nodiscard]] AttachedIkeSa attach(ike::IkeSa& sa, const ike::IkeSaConfig& local_config);
    // For IKE SA objects the caller does not keep alive until detach(): the engine
    // (ike::IkeSessions) destroys an SA as soon as it is down, before the application has seen
    // its IkeSaDown. `lookup` returns the object, or nullptr once it is gone; an MPSA_PUT due
    // then is refused (retried later) instead of touching a destroyed object.
    using SaLookup = std::function<ike::IkeSa*()>;
    [[nodiscard]] AttachedIkeSa attach(SaLookup lookup, const ike::IkeSaConfig& local_config);
    // Every event taken from the attached SA, in order. Non-const: key-bearing buffers of
    // received notifies are wiped once handled.
    void on_ike_event(AttachedIkeSa sa, ike::Event& event);
    // Before the caller drops the IkeSa object. A member still up counts as having left.
    void detach(AttachedIkeSa sa);

    // The attached SAs on which the bridge started requests (send_notifies) since the last
    // call: their datagrams wait to be collected (ike::IkeSessions::collect).
    [[nodiscard]] std::vector<AttachedIkeSa> take_driven();

    [[nodiscard]] std::optional<GatewayMemberView> member(AttachedIkeSa sa) const;
    // The group manager's id (MemberStatus::ike_sa) of the attached SA's current generation.
    [[nodiscard]] std::optional<IkeSaId> generation(AttachedIkeSa sa) const;
    [[nodiscard]] const GatewayBridgeCounters& counters() const { return counters_; }

  private:
    struct Attached {
        SaLookup lookup;
        bool local_sent_vendor_id = false;
        std::optional<IkeSaId> generation;  // the manager's id of the current IKE SA, while up
        GatewayMemberView view;
    };

    [[nodiscard]] std::optional<RequestHandle> send_mpsa_put(IkeSaId ike_sa,
                                                             const MpsaPut& put) override;
    void on_up(AttachedIkeSa handle, Attached& attached, const ike::IkeSaUp& up);
    void on_down(Attached& attached);
    void on_request_done(AttachedIkeSa handle, const ike::NotifyRequestDone& done);

    GatewayGroupManager manager_;
    std::map<AttachedIkeSa, Attached> attached_;
    std::map<IkeSaId, AttachedIkeSa> by_generation_;
    std::map<std::pair<AttachedIkeSa, ike::RequestId>, RequestHandle> requests_;
    std::set<AttachedIkeSa> driven_;
    AttachedIkeSa next_attached_ = 1;
    IkeSaId next_generation_ = 1;
    RequestHandle next_request_ = 1;
    GatewayBridgeCounters counters_;
};

}  // namespace mpsa::mpsa
