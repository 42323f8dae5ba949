#include "mpsa/mpsa/cpe_ike_bridge.hpp"

#include <utility>
#include <variant>

#include <openssl/crypto.h>

#include "mpsa/mpsa/vendor_id.hpp"

namespace mpsa::mpsa {

std::string_view to_string(PutRejection rejection) {
    switch (rejection) {
        case PutRejection::kIkeSaNotEstablished:
            return "IKE SA not established";
        case PutRejection::kNotFromGateway:
            return "peer is not the configured gateway";
        case PutRejection::kNoVendorId:
            return "multi-point SA Vendor ID not exchanged both ways";
        case PutRejection::kMalformed:
            return "malformed MPSA_PUT";
        case PutRejection::kKeymatFailed:
            return "KEYMAT derivation failed";
    }
    return "unknown";
}

CpeIkeBridge::CpeIkeBridge(const Clock& clock, CpeBridgeConfig config)
    : config_(std::move(config)), lifecycle_(clock, config_.lifecycle) {}

AttachedIkeSa CpeIkeBridge::attach(ike::IkeSa& sa, const ike::IkeSaConfig& local_config) {
    const AttachedIkeSa handle = next_attached_++;
    Attached& attached = attached_[handle];
    attached.local_sent_vendor_id = peer_supports_mpsa(local_config.vendor_ids);
    if (sa.state() == ike::IkeSaState::kEstablished && sa.peer_id()) {
        attached.established = true;
        attached.peer_id = sa.peer_id();
        attached.peer_sent_vendor_id = peer_supports_mpsa(sa.peer_vendor_ids());
    }
    return handle;
}

void CpeIkeBridge::detach(AttachedIkeSa sa) {
    attached_.erase(sa);
}

std::vector<PutResult> CpeIkeBridge::on_ike_event(AttachedIkeSa sa, ike::Event& event) {
    std::vector<PutResult> results;
    const auto it = attached_.find(sa);
    if (it == attached_.end()) return results;
    Attached& attached = it->second;
    if (const auto* up = std::get_if<ike::IkeSaUp>(&event)) {
        attached.established = true;
        attached.peer_id = up->peer_id;
        attached.peer_sent_vendor_id = peer_supports_mpsa(up->peer_vendor_ids);
    } else if (std::holds_alternative<ike::IkeSaDown>(event)) {
        // The group SAs stay until their Lifetime: the gateway pushes again on a new IKE SA.
        attached.established = false;
    } else if (auto* received = std::get_if<ike::NotifiesReceived>(&event)) {
        for (auto& n : received->notifies) {
            if (n.type == kMpsaPutNotifyType) {
                results.push_back(handle_put(attached, n));
            } else {
                ++counters_.other_notifies;
            }
            OPENSSL_cleanse(n.data.data(), n.data.size());
        }
    }
    return results;
}

PutResult CpeIkeBridge::handle_put(const Attached& attached, const ike::NotifyPayload& n) {
    PutResult result;
    if (n.spi.size() == kEspSpiSize) {
        result.spi = (std::uint32_t{n.spi[0]} << 24) | (std::uint32_t{n.spi[1]} << 16) |
                     (std::uint32_t{n.spi[2]} << 8) | std::uint32_t{n.spi[3]};
    }
    const auto reject = [&](PutRejection why, std::uint64_t& counter) {
        ++counter;
        result.outcome = tl::unexpected(why);
        return result;
    };
    if (!attached.established || !attached.peer_id)
        return reject(PutRejection::kIkeSaNotEstablished, counters_.not_established);
    if (!(*attached.peer_id == config_.gateway_id))
        return reject(PutRejection::kNotFromGateway, counters_.not_from_gateway);
    if (!attached.local_sent_vendor_id || !attached.peer_sent_vendor_id)
        return reject(PutRejection::kNoVendorId, counters_.without_vendor_id);

    auto put = decode_mpsa_put_notify(static_cast<std::uint8_t>(n.protocol), n.spi, n.type, n.data,
                                      config_.decode);
    if (!put) {
        result.malformation = put.error();
        ++counters_.malformed_by_error[put.error()];
        return reject(PutRejection::kMalformed, counters_.malformed);
    }
    const auto disposition = lifecycle_.on_mpsa_put(*put);
    if (!disposition) return reject(PutRejection::kKeymatFailed, counters_.keymat_failures);
    ++(*disposition == PutDisposition::kInstalled ? counters_.installed : counters_.duplicates);
    result.outcome = *disposition;
    return result;
}

}  // namespace mpsa::mpsa
