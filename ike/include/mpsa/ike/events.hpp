// What an IkeSa reports to the application.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/ike/child_sa.hpp"
#include "mpsa/ike/payloads.hpp"
#include "mpsa/ike/transport.hpp"

namespace mpsa::ike {

struct IkeSpis {
    std::uint64_t initiator = 0;
    std::uint64_t responder = 0;
    friend bool operator==(const IkeSpis&, const IkeSpis&) = default;
};

struct IkeSaUp {
    IkeSpis spis;
    Identification peer_id;
    Endpoint peer;
    std::vector<Bytes> peer_vendor_ids;
};

struct IkeSaRekeyed {
    IkeSpis old_spis;
    IkeSpis new_spis;
    Identification peer_id;
    Endpoint peer;
};

enum class DownReason : std::uint8_t {
    kClosedLocally,
    kDeletedByPeer,
    kTimeout,               // retransmissions exhausted (including a failed liveness check)
    kAuthenticationFailed,  // ours or theirs
    kNegotiationFailed,     // no proposal, bad KE, missing payloads
};

[[nodiscard]] std::string_view down_reason_name(DownReason reason);

struct IkeSaDown {
    IkeSpis spis;
    std::optional<Identification> peer_id;  // unset before IKE_AUTH completed
    Endpoint peer;
    DownReason reason = DownReason::kClosedLocally;
};

struct ChildSaUp {
    std::uint32_t inbound_spi = 0;
    std::uint32_t outbound_spi = 0;
    ChildMode mode = ChildMode::kTunnel;
    std::vector<TrafficSelector> local_ts;
    std::vector<TrafficSelector> remote_ts;
};

struct ChildSaRekeyed {
    std::uint32_t old_inbound_spi = 0;
    std::uint32_t new_inbound_spi = 0;
    std::uint32_t new_outbound_spi = 0;
};

struct ChildSaDown {
    std::uint32_t inbound_spi = 0;
    std::uint32_t outbound_spi = 0;
};

// The CHILD_SA could not be set up in IKE_AUTH (the IKE SA stays up): the error notify type.
struct ChildSaFailed {
    std::uint16_t notify_type = 0;
};

// Notifies of a peer's INFORMATIONAL request that the IKE engine does not handle itself (e.g.
// MPSA_PUT). Answered with an empty SK payload. The data may carry keys: never log it.
struct NotifiesReceived {
    std::vector<NotifyPayload> notifies;
};

using RequestId = std::uint64_t;

enum class NotifyOutcome : std::uint8_t {
    kAnswered,  // the peer answered; its notifies (if any) are in response
    kTimedOut,  // retransmissions exhausted (the IKE SA is down as well)
    kIkeSaGone  // the IKE SA went away before the request could be sent
};

[[nodiscard]] std::string_view notify_outcome_name(NotifyOutcome outcome);

struct NotifyRequestDone {
    RequestId id = 0;
    NotifyOutcome outcome = NotifyOutcome::kAnswered;
    std::vector<NotifyPayload> response;
};

// An unprotected INVALID_IKE_SPI (RFC 7296 2.21.4) answered one of our outstanding requests on
// an established IKE SA: the peer may have lost its state (e.g. restarted). Unauthenticated --
// anyone on the path can send it -- so the IKE SA is left as it is; the application may start a
// new IKE SA before the old one times out (rate-limited). Kept out of Event so that existing
// exhaustive visitors stay source-compatible; delivered through IkeSa/IkeSessions::take_hints()
// and SaManager::set_hint_handler().
struct PeerLostSaHint {
    IkeSpis spis;
    std::optional<Identification> peer_id;
    Endpoint peer;  // where the answer came from
    std::uint32_t message_id = 0;
};

using Event = std::variant<IkeSaUp, IkeSaRekeyed, IkeSaDown, ChildSaUp, ChildSaRekeyed, ChildSaDown,
                           ChildSaFailed, NotifiesReceived, NotifyRequestDone>;

}  // namespace mpsa::ike
