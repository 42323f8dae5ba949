// One IKEv2 SA with its CHILD_SAs as a pure state machine (RFC 7296): it consumes received
// datagrams and the passage of time (an injected Clock; call on_timer() at next_timer()) and
// produces datagrams to send and events. No sockets, no threads: the event loop owns it.
//
// Exchanges: IKE_SA_INIT (COOKIE and INVALID_KE_PAYLOAD retries, NAT detection, Vendor IDs),
// IKE_AUTH with one CHILD_SA, INFORMATIONAL (Delete, liveness checks, application notifies),
// CREATE_CHILD_SA (IKE SA and CHILD_SA rekey, simultaneous rekeys per 2.8.1/2.8.2, additional
// CHILD_SAs, PFS with INVALID_KE_PAYLOAD retries). Window size
// 1: one request of ours outstanding, retransmitted with backoff; the last response is cached
// and sent again for a retransmitted request.
//
// An IKE SA rekey keeps this object: it switches to the new SPIs and keys ("generations"), so
// the application's handle stays valid and queued requests carry on on the new SA; owns_spi()
// tells a dispatcher which SPIs belong here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <tl/expected.hpp>

#include "mpsa/ike/child_sa.hpp"
#include "mpsa/ike/clock.hpp"
#include "mpsa/ike/events.hpp"
#include "mpsa/ike/exchange_auth.hpp"
#include "mpsa/ike/message.hpp"
#include "mpsa/ike/sa_config.hpp"
#include "mpsa/ike/transport.hpp"

namespace mpsa::ike {

class KeyLogSink;  // mpsa/ike/keylog.hpp

struct IkeSaDeps {
    const Clock* clock = nullptr;
    RandomSource* random = nullptr;
    Authenticator* authenticator = nullptr;
    ChildSaInstaller* installer = nullptr;
    // Opt-in (null by default): told the keys of every IKE SA and installed CHILD_SA, for a
    // Wireshark/tshark key log. Nothing else ever sees key bytes.
    KeyLogSink* keylog = nullptr;
};

enum class IkeSaState : std::uint8_t {
    kInitSent,  // initiator: IKE_SA_INIT request outstanding
    kInitDone,  // responder: IKE_SA_INIT answered (half-open), waiting for IKE_AUTH
    kAuthSent,  // initiator: IKE_AUTH request outstanding
    kEstablished,
    kDeleting,  // our Delete of the IKE SA is outstanding
    kDown,      // final; the object can be dropped
};

enum class StartError : std::uint8_t {
    kBadConfig,  // no proposals, or a dependency missing
    kNoRandom,   // the RandomSource failed
    kCrypto,     // DH key generation failed
};

// Counters of messages the state machine dropped, by reason (for metrics and tests).
struct IkeSaCounters {
    std::uint64_t decode_errors = 0;
    std::uint64_t unexpected_message_id = 0;  // old or future requests, unmatched responses
    std::uint64_t retransmitted_responses = 0;
    std::uint64_t retransmitted_requests = 0;
    std::uint64_t unknown_spi = 0;
    std::uint64_t peer_lost_sa_hints = 0;  // unprotected INVALID_IKE_SPI answers (see events.hpp)
};

class IkeSa;

// Result of IkeSa::respond(): an IKE SA, or a stateless answer (INVALID_KE_PAYLOAD,
// NO_PROPOSAL_CHOSEN) to send without keeping anything, or nothing (malformed request).
struct ResponderStart {
    std::unique_ptr<IkeSa> sa;
    std::optional<Datagram> stateless_reply;
};

class IkeSa {
  public:
    // Initiator: queues the IKE_SA_INIT request at once (take_outgoing()).
    [[nodiscard]] static tl::expected<std::unique_ptr<IkeSa>, StartError> initiate(
        IkeSaConfig config, IkeSaDeps deps, const Endpoint& local, const Endpoint& remote);

    // Responder: from an IKE_SA_INIT request that passed the CookieGuard.
    [[nodiscard]] static ResponderStart respond(IkeSaConfig config, IkeSaDeps deps,
                                                const Datagram& request);

    ~IkeSa();
    IkeSa(const IkeSa&) = delete;
    IkeSa& operator=(const IkeSa&) = delete;

    // A datagram whose IKE SPIs belong to this SA (see owns_spi()).
    void receive(const Datagram& datagram);
    // Runs every timer that is due (retransmissions, liveness check, keepalives).
    void on_timer();
    [[nodiscard]] std::optional<TimePoint> next_timer() const;

    [[nodiscard]] std::vector<Datagram> take_outgoing();
    [[nodiscard]] std::vector<Event> take_events();
    [[nodiscard]] std::vector<PeerLostSaHint> take_hints();

    // Application hook: an INFORMATIONAL request carrying these notifies; the outcome comes as
    // NotifyRequestDone with the returned id (at once with kIkeSaGone when not established).
    RequestId send_notifies(std::vector<NotifyPayload> notifies);
    // CREATE_CHILD_SA rekeys and Deletes started by us.
    void rekey_ike_sa();
    void rekey_child_sa(std::uint32_t inbound_spi);
    // An additional CHILD_SA (CREATE_CHILD_SA without REKEY_SA, RFC 7296 1.3.1) with the
    // configured proposals, selectors, mode and PFS groups: ChildSaUp or ChildSaFailed follows.
    void create_child_sa();
    // The same for other traffic selectors (TSi/TSr as proposed; the peer may narrow them).
    void create_child_sa(std::vector<TrafficSelector> local_ts,
                         std::vector<TrafficSelector> remote_ts);
    void delete_child_sa(std::uint32_t inbound_spi);
    void close();

    [[nodiscard]] IkeSaState state() const;
    [[nodiscard]] bool is_original_initiator() const;
    [[nodiscard]] IkeSpis spis() const;
    [[nodiscard]] bool owns_spi(std::uint64_t spi) const;
    // Our own SPI of every IKE SA held (the initiator SPI where we are its original initiator).
    [[nodiscard]] std::vector<std::uint64_t> local_spis() const;
    // IKE SAs held: the current one plus rekeyed or redundant ones whose Delete is pending.
    [[nodiscard]] std::size_t ike_sa_count() const;
    [[nodiscard]] const Endpoint& local_endpoint() const;
    [[nodiscard]] const Endpoint& remote_endpoint() const;
    [[nodiscard]] const std::optional<Identification>& peer_id() const;
    [[nodiscard]] const std::vector<Bytes>& peer_vendor_ids() const;
    [[nodiscard]] bool local_behind_nat() const;
    [[nodiscard]] bool peer_behind_nat() const;
    [[nodiscard]] std::optional<Suite> suite() const;
    [[nodiscard]] std::vector<ChildSaUp> child_sas() const;
    [[nodiscard]] const IkeSaCounters& counters() const;

    struct Impl;

  private:
    explicit IkeSa(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace mpsa::ike
