// Group SA lifecycle on a CPE (draft-yamaya-ipsecme-mpsa-04 3.3.2, 3.3.3), as a pure state
// machine: MPSA_PUTs and the clock go in, the desired SA set comes out (which SPIs have an
// inbound SA, which SPI outbound traffic uses) plus events for the daemon.
//
// Timeline of a rekey, t = receipt of the new SA's MPSA_PUT:
//   t            new SA installed inbound (so peers that switch early are already readable)
//   t + ROLL1    outbound switches to the new SA
//   t + ROLL2    older SAs' inbound removed (ROLL1 <= ROLL2 is enforced by the decoder)
//   t + Lifetime the SA is removed in both directions, successor or not
// ROLL1/ROLL2 have no meaning for the first SA: it is used outbound at once.
// "Newer" means later expiry, not later receipt, so a reordered or re-sent older SA can never
// displace the current one.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include <tl/expected.hpp>

#include "mpsa/mpsa/clock.hpp"
#include "mpsa/mpsa/esp_suite.hpp"
#include "mpsa/mpsa/keymat.hpp"
#include "mpsa/mpsa/mpsa_put.hpp"

namespace mpsa::mpsa {

struct CpeLifecycleConfig {
    // Ask the gateway again (re-authenticate) when the newest SA has this little time left.
    Duration reauth_margin = std::chrono::seconds(60);
};

struct CpeGroupSa {
    std::uint32_t spi = 0;
    EspSuite suite;
    GroupSaKeys keys;
    // What the keys were derived from, kept so the state can be persisted without the keys
    // themselves and re-derived after a restart.
    ike::Bytes nonce;
    ike::SecretBytes sk_d;
    TimePoint received_at;
    TimePoint outbound_at;  // earliest time this SA may be used outbound
    TimePoint expires_at;
    std::optional<TimePoint> inbound_removal_at;  // set by a newer SA's ROLL2
    bool reauth_requested = false;

    [[nodiscard]] TimePoint end_at() const {
        return inbound_removal_at && *inbound_removal_at < expires_at ? *inbound_removal_at
                                                                      : expires_at;
    }
};

struct DesiredGroupSas {
    std::vector<std::uint32_t> inbound_spis;  // ascending SPI
    std::optional<std::uint32_t> outbound_spi;
    friend bool operator==(const DesiredGroupSas&, const DesiredGroupSas&) = default;
};

enum class CpeEventKind {
    kInstalled,        // new inbound SA
    kOutboundChanged,  // spi = new outbound SA, or 0 when there is none left (fail closed)
    kRolledOver,       // inbound removed after a newer SA's ROLL2
    kExpired,          // lifetime ended, removed in both directions
    kReauthNeeded,     // newest SA near its end with no successor: ask the gateway again
};

struct CpeEvent {
    CpeEventKind kind;
    std::uint32_t spi;
    friend bool operator==(const CpeEvent&, const CpeEvent&) = default;
};

enum class PutDisposition { kInstalled, kDuplicate };

// Everything the lifecycle knows, for persistence across a daemon restart.
struct CpeGroupSaState {
    std::map<std::uint32_t, CpeGroupSa> sas;
    std::optional<std::uint32_t> outbound_spi;
    TimePoint evaluated_until;  // deadlines up to here have been acted on
};

class CpeGroupSaLifecycle {
  public:
    CpeGroupSaLifecycle(const Clock& clock, CpeLifecycleConfig config);

    // Install the SA from a decoded MPSA_PUT at clock.now(); an SPI already present is ignored
    // (a retransmitted or re-sent MPSA_PUT). Fails only if KEYMAT cannot be derived.
    [[nodiscard]] tl::expected<PutDisposition, KeymatError> on_mpsa_put(const MpsaPut& put);

    // Applies everything due up to clock.now(), in time order; returns the events since the
    // previous call (including those of on_mpsa_put).
    [[nodiscard]] std::vector<CpeEvent> advance();

    [[nodiscard]] DesiredGroupSas desired() const;
    [[nodiscard]] const CpeGroupSa* find(std::uint32_t spi) const;
    [[nodiscard]] const std::map<std::uint32_t, CpeGroupSa>& sas() const { return sas_; }
    [[nodiscard]] CpeGroupSaState state() const;
    // Takes over a state saved before a restart, as it is: no events for what it already had
    // (the kernel still holds those SAs); deadlines passed meanwhile come out of advance().
    void adopt(CpeGroupSaState state);
    // When advance() next has something to do (for the daemon's timer).
    [[nodiscard]] std::optional<TimePoint> next_deadline() const;

  private:
    void process_until(TimePoint now);
    void evaluate_at(TimePoint t);
    [[nodiscard]] std::optional<std::uint32_t> outbound_at(TimePoint t) const;
    [[nodiscard]] const CpeGroupSa* newest() const;
    [[nodiscard]] TimePoint reauth_time(const CpeGroupSa& sa) const;

    const Clock& clock_;
    CpeLifecycleConfig config_;
    std::map<std::uint32_t, CpeGroupSa> sas_;
    std::optional<std::uint32_t> outbound_;
    TimePoint evaluated_until_{};
    std::vector<CpeEvent> events_;
};

}  // namespace mpsa::mpsa
