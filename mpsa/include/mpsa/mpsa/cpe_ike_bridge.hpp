// CPE glue between the IKEv2 engine (ike::IkeSa) and the group SA lifecycle.
//
// MPSA_PUT notifies are accepted only on an established IKE SA with the configured (and
// authenticated) gateway, where both sides sent the "multi-point SA" Vendor ID. The IKE engine
// answers every such INFORMATIONAL request with an empty SK payload (draft 3.1) before the
// notifies reach us, so a rejected or malformed MPSA_PUT never costs the IKE SA: it is counted
// with its own reason and dropped.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "mpsa/ike/events.hpp"
#include "mpsa/ike/ike_sa.hpp"
#include "mpsa/ike/sa_config.hpp"
#include "mpsa/mpsa/clock.hpp"
#include "mpsa/mpsa/cpe_group_sa.hpp"
#include "mpsa/mpsa/gateway_ike_bridge.hpp"
#include "mpsa/mpsa/mpsa_put.hpp"

namespace mpsa::mpsa {

struct CpeBridgeConfig {
    ike::Identification gateway_id;  // MPSA_PUT only from the IKE SA authenticated as this
    DecodeOptions decode;            // AES-GCM only if the CPE opted in too
    CpeLifecycleConfig lifecycle;
};

enum class PutRejection {
    kIkeSaNotEstablished,
    kNotFromGateway,  // the peer authenticated as someone else
    kNoVendorId,      // one side did not send "multi-point SA"
    kMalformed,       // see PutResult::malformation
    kKeymatFailed,
};
[[nodiscard]] std::string_view to_string(PutRejection rejection);

struct PutResult {
    std::uint32_t spi = 0;  // from the Notify's SPI field when readable, else 0
    tl::expected<PutDisposition, PutRejection> outcome;
    std::optional<PutError> malformation;  // set with kMalformed
};

struct CpeBridgeCounters {
    std::uint64_t installed = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t not_established = 0;
    std::uint64_t not_from_gateway = 0;
    std::uint64_t without_vendor_id = 0;
    std::uint64_t malformed = 0;
    std::map<PutError, std::uint64_t> malformed_by_error;
    std::uint64_t keymat_failures = 0;
    std::uint64_t other_notifies = 0;  // notifies other than MPSA_PUT (ignored)
};

class CpeIkeBridge {
  public:
    CpeIkeBridge(const Clock& clock, CpeBridgeConfig config);

    // `local_config` is what the IKE SA was created with: whether we sent the Vendor ID.
    [[nodiscard]] AttachedIkeSa attach(ike::IkeSa& sa, const ike::IkeSaConfig& local_config);
    // Every event taken from the attached SA, in order; one PutResult per MPSA_PUT received.
    // Non-const: the received notification data (it holds SK_d) is wiped once decoded.
    [[nodiscard]] std::vector<PutResult> on_ike_event(AttachedIkeSa sa, ike::Event& event);
    void detach(AttachedIkeSa sa);

    [[nodiscard]] CpeGroupSaLifecycle& lifecycle() { return lifecycle_; }
    [[nodiscard]] const CpeGroupSaLifecycle& lifecycle() const { return lifecycle_; }
    [[nodiscard]] const CpeBridgeCounters& counters() const { return counters_; }

  private:
    struct Attached {
        bool local_sent_vendor_id = false;
        bool established = false;
        bool peer_sent_vendor_id = false;
        std::optional<ike::Identification> peer_id;
    };

    [[nodiscard]] PutResult handle_put(const Attached& attached, const ike::NotifyPayload& n);

    CpeBridgeConfig config_;
    CpeGroupSaLifecycle lifecycle_;
    std::map<AttachedIkeSa, Attached> attached_;
    AttachedIkeSa next_attached_ = 1;
    CpeBridgeCounters counters_;
};

}  // namespace mpsa::mpsa
