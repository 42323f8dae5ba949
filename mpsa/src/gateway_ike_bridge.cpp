#include "mpsa/mpsa/gateway_ike_bridge.hpp"

#include <algorithm>
#include <variant>
#include <vector>

#include <openssl/crypto.h>

#include "mpsa/mpsa/peer_identity.hpp"
#include "mpsa/mpsa/vendor_id.hpp"

namespace mpsa::mpsa {

namespace {

// Error notify types are 1..16383 (RFC 7296 3.10.1); the draft expects an empty answer.
bool has_error_notify(const std::vector<ike::NotifyPayload>& response) {
    return std::any_of(response.begin(), response.end(),
                       [](const ike::NotifyPayload& n) { return n.type != 0 && n.type < 16384; });
}

ike::Bytes spi_bytes(std::uint32_t spi) {
    return {static_cast<std::uint8_t>(spi >> 24), static_cast<std::uint8_t>(spi >> 16),
            static_cast<std::uint8_t>(spi >> 8), static_cast<std::uint8_t>(spi)};
}

}  // namespace

GatewayIkeBridge::GatewayIkeBridge(const Clock& clock, RandomSource& random)
    : manager_(clock, random, *this) {}

GatewayIkeBridge::~GatewayIkeBridge() = default;

AttachedIkeSa GatewayIkeBridge::attach(ike::IkeSa& sa, const ike::IkeSaConfig& local_config) {
    return attach([object = &sa]() { return object; }, local_config);
}

AttachedIkeSa GatewayIkeBridge::attach(SaLookup lookup, const ike::IkeSaConfig& local_config) {
    const AttachedIkeSa handle = next_attached_++;
    Attached& attached = attached_[handle];
    attached.lookup = std::move(lookup);
    attached.local_sent_vendor_id = peer_supports_mpsa(local_config.vendor_ids);
    ike::IkeSa* sa = attached.lookup();
    if (sa && sa->state() == ike::IkeSaState::kEstablished && sa->peer_id()) {
        // Attached after its IkeSaUp was taken: join now from what the SA knows.
        on_up(
            handle, attached,
            ike::IkeSaUp{sa->spis(), *sa->peer_id(), sa->remote_endpoint(), sa->peer_vendor_ids()});
    }
    return handle;
}

std::optional<IkeSaId> GatewayIkeBridge::generation(AttachedIkeSa sa) const {
    const auto it = attached_.find(sa);
    if (it == attached_.end()) return std::nullopt;
    return it->second.generation;
}

void GatewayIkeBridge::detach(AttachedIkeSa sa) {
    const auto it = attached_.find(sa);
    if (it == attached_.end()) return;
    on_down(it->second);
    std::erase_if(requests_, [sa](const auto& r) { return r.first.first == sa; });
    driven_.erase(sa);
    attached_.erase(it);
}

std::vector<AttachedIkeSa> GatewayIkeBridge::take_driven() {
    std::vector<AttachedIkeSa> out(driven_.begin(), driven_.end());
    driven_.clear();
    return out;
}

std::optional<GatewayMemberView> GatewayIkeBridge::member(AttachedIkeSa sa) const {
    const auto it = attached_.find(sa);
    if (it == attached_.end() || !it->second.generation) return std::nullopt;
    return it->second.view;
}

void GatewayIkeBridge::on_ike_event(AttachedIkeSa sa, ike::Event& event) {
    const auto it = attached_.find(sa);
    if (it == attached_.end()) return;
    Attached& attached = it->second;
    if (const auto* up = std::get_if<ike::IkeSaUp>(&event)) {
        on_up(sa, attached, *up);
    } else if (std::holds_alternative<ike::IkeSaRekeyed>(event)) {
        if (!attached.generation) return;
        const IkeSaId old_generation = *attached.generation;
        const IkeSaId new_generation = next_generation_++;
        by_generation_.erase(old_generation);
        by_generation_[new_generation] = sa;
        attached.generation = new_generation;
        // Unacknowledged MPSA_PUTs go out again on the new IKE SA; answers to requests made on
        // the old one still count (their ids stay in requests_).
        manager_.on_ike_sa_rekeyed(old_generation, new_generation);
    } else if (std::holds_alternative<ike::IkeSaDown>(event)) {
        on_down(attached);
    } else if (const auto* done = std::get_if<ike::NotifyRequestDone>(&event)) {
        on_request_done(sa, *done);
    } else if (auto* received = std::get_if<ike::NotifiesReceived>(&event)) {
        // A gateway expects no MPSA_PUT; whatever came, its data is not kept around.
        for (auto& n : received->notifies) {
            ++counters_.unexpected_notifies;
            OPENSSL_cleanse(n.data.data(), n.data.size());
        }
    }
}

void GatewayIkeBridge::on_up(AttachedIkeSa handle, Attached& attached, const ike::IkeSaUp& up) {
    if (attached.generation) return;
    const IkeSaId generation = next_generation_++;
    attached.generation = generation;
    by_generation_[generation] = handle;
    attached.view.identity = identity_text(up.peer_id);
    attached.view.peer = up.peer;
    attached.view.mpsa = attached.local_sent_vendor_id && peer_supports_mpsa(up.peer_vendor_ids);
    if (!attached.view.mpsa) ++counters_.peers_without_mpsa;
    manager_.on_ike_sa_up(generation, attached.view.identity, attached.view.mpsa);
}

void GatewayIkeBridge::on_down(Attached& attached) {
    if (!attached.generation) return;
    const IkeSaId generation = *attached.generation;
    attached.generation.reset();
    by_generation_.erase(generation);
    manager_.on_ike_sa_down(generation);
}

void GatewayIkeBridge::on_request_done(AttachedIkeSa sa, const ike::NotifyRequestDone& done) {
    const auto it = requests_.find({sa, done.id});
    if (it == requests_.end()) return;
    const RequestHandle handle = it->second;
    requests_.erase(it);
    if (done.outcome == ike::NotifyOutcome::kAnswered && !has_error_notify(done.response)) {
        ++counters_.puts_acked;
        manager_.on_put_acked(handle);
    } else {
        ++counters_.puts_failed;
        manager_.on_put_failed(handle);
    }
}

std::optional<RequestHandle> GatewayIkeBridge::send_mpsa_put(IkeSaId ike_sa, const MpsaPut& put) {
    const auto g = by_generation_.find(ike_sa);
    if (g == by_generation_.end()) {
        ++counters_.send_refused;
        return std::nullopt;
    }
    const AttachedIkeSa handle = g->second;
    Attached& attached = attached_.at(handle);
    ike::IkeSa* sa = attached.lookup();
    if (sa == nullptr) {  // destroyed by the engine; its IkeSaDown is on its way
        ++counters_.send_refused;
        return std::nullopt;
    }
    auto data = encode_mpsa_put_data(put);  // SecretBytes: wiped when it goes out of scope
    if (!data) {
        ++counters_.send_refused;
        return std::nullopt;
    }
    ike::NotifyPayload notify;
    notify.protocol = ike::ProtocolId::kEsp;
    notify.spi = spi_bytes(put.spi);
    notify.type = kMpsaPutNotifyType;
    // ike::NotifyPayload::data is plain Bytes: this copy of SK_d moves into the IKE engine,
    // which keeps it until the exchange is answered (see README, "Key material").
    notify.data.assign(data->data(), data->data() + data->size());
    std::vector<ike::NotifyPayload> notifies;
    notifies.push_back(std::move(notify));  // moved, not copied (an initializer_list would copy)
    const ike::RequestId id = sa->send_notifies(std::move(notifies));
    const RequestHandle request = next_request_++;
    requests_[{handle, id}] = request;
    driven_.insert(handle);
    ++counters_.puts_sent;
    return request;
}

}  // namespace mpsa::mpsa
