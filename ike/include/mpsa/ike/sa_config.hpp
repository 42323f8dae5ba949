// Configuration of one IKE SA (and its CHILD_SA) as the application gives it to IkeSa.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/ike/child_sa.hpp"
#include "mpsa/ike/clock.hpp"
#include "mpsa/ike/payloads.hpp"
#include "mpsa/ike/retransmit.hpp"
#include "mpsa/ike/suite.hpp"

namespace mpsa::ike {

struct ChildSaConfig {
    std::vector<EspSuite> proposals;  // preference order
    // Initiator: proposed as TSi/TSr. Responder: what the peer's TS are narrowed to.
    std::vector<TrafficSelector> local_ts;
    std::vector<TrafficSelector> remote_ts;
    // Initiator: the mode asked for. Responder: kTransport accepts USE_TRANSPORT_MODE, kTunnel
    // answers it with a tunnel-mode SA.
    ChildMode mode = ChildMode::kTunnel;
    // PFS (RFC 7296 1.3.1): CHILD_SAs made or rekeyed by CREATE_CHILD_SA carry a key exchange in
    // one of these groups, preference order (strongSwan: esp_proposals = aes128gcm16-x25519).
    // Initiator: proposed, KE in the first (or the one INVALID_KE_PAYLOAD asks for). Responder:
    // required. Empty: no PFS (KE transforms other than NONE refused). The CHILD_SA of IKE_AUTH
    // never has its own key exchange.
    std::vector<DhGroup> pfs_groups;
};

struct IkeSaConfig {
    std::vector<Suite> proposals;  // preference order; the initiator's KE uses the first group
    Identification local_id;
    std::optional<Identification> remote_id;  // when set, the peer must authenticate as this
    std::vector<Bytes> vendor_ids;            // sent in IKE_SA_INIT (MPSA: "multi-point SA")
    // RFC 7383: advertised, and used when the peer advertises it too, for protected messages
    // whose IP packet would exceed fragment_size (strongSwan's default 1280).
    bool send_fragmentation_supported = true;
    std::size_t fragment_size = 1280;
    bool send_signature_hash_algorithms = true;
    bool send_initial_contact = true;
    std::optional<ChildSaConfig> child;  // the CHILD_SA negotiated in IKE_AUTH
    RetransmitPolicy retransmit;
    Duration dpd_interval = std::chrono::seconds(30);  // zero: no liveness checks
    Duration nat_keepalive_interval = std::chrono::seconds(20);
    // Rekeying on our own initiative (zero: only when the application asks); each time is
    // shortened by a random part of rekey_jitter. strongSwan: 4 h and 1 h, 10 % jitter.
    Duration ike_rekey_interval = std::chrono::hours(4);
    Duration child_rekey_interval = std::chrono::hours(1);
    Duration rekey_jitter = std::chrono::minutes(6);
    // Responder: an IKE SA still without IKE_AUTH after this long is dropped (strongSwan 30 s).
    Duration half_open_timeout = std::chrono::seconds(30);
    unsigned max_init_retries = 3;  // COOKIE / INVALID_KE_PAYLOAD round trips
    unsigned nonce_length = 32;
};

}  // namespace mpsa::ike
