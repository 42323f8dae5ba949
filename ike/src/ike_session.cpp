#include "mpsa/ike/ike_session.hpp"

#include "mpsa/ike/message.hpp"
#include "mpsa/ike/notify_types.hpp"

namespace mpsa::ike {

IkeSessions::IkeSessions(const Clock& clock, RandomSource& random, CookiePolicy cookies,
                         ResponderPolicy responder_policy)
    : clock_(clock),
      cookies_(cookies, clock, random),
      responder_policy_(std::move(responder_policy)) {}

tl::expected<SessionId, StartError> IkeSessions::initiate(IkeSaConfig config, IkeSaDeps deps,
                                                          const Endpoint& local,
                                                          const Endpoint& remote) {
    auto sa = IkeSa::initiate(std::move(config), deps, local, remote);
    if (!sa) return tl::unexpected(sa.error());
    const SessionId id = next_id_++;
    sessions_.emplace(id, std::move(*sa));
    after_call(id);
    return id;
}

void IkeSessions::receive(const Datagram& datagram) {
    if (datagram.kind != DatagramKind::kIke) return;
    const auto header = peek_header(datagram.data);
    if (!header) {
        ++counters_.malformed;
        return;
    }
    if (header->exchange_type == ExchangeType::kIkeSaInit && !header->response &&
        header->responder_spi == 0) {
        const HalfOpenKey key{header->initiator_spi, datagram.remote};
        if (auto it = by_init_request_.find(key); it != by_init_request_.end()) {
            if (IkeSa* sa = lookup(it->second)) {
                sa->receive(datagram);  // a retransmission: the cached response again
                after_call(it->second);
            }
            return;
        }
        auto request = decode(datagram.data);
        if (!request) {
            ++counters_.malformed;
            return;
        }
        if (auto cookie = cookies_.check(*request, datagram.remote, half_open())) {
            ++counters_.cookies_sent;
            outgoing_.push_back(
                Datagram{datagram.local, datagram.remote, DatagramKind::kIke, std::move(*cookie)});
            return;
        }
        auto setup =
            responder_policy_ ? responder_policy_(datagram.local, datagram.remote) : std::nullopt;
        if (!setup) {
            ++counters_.refused_peers;
            return;
        }
        auto start = IkeSa::respond(std::move(setup->config), setup->deps, datagram);
        if (start.stateless_reply) {
            ++counters_.stateless_replies;
            outgoing_.push_back(std::move(*start.stateless_reply));
        }
        if (start.sa) {
            const SessionId id = next_id_++;
            sessions_.emplace(id, std::move(start.sa));
            by_init_request_[key] = id;
            half_open_.emplace(id, key);
            after_call(id);
        }
        return;
    }
    // The I flag tells whose SA it is: the sender is its original initiator, so our SPI is the
    // responder SPI, and the other way round.
    const std::uint64_t ours = header->initiator ? header->responder_spi : header->initiator_spi;
    const auto it = by_local_spi_.find(ours);
    if (it == by_local_spi_.end()) {
        ++counters_.unknown_spi;
        answer_unknown_spi(datagram, *header);
        return;
    }
    const SessionId id = it->second;
    if (IkeSa* sa = lookup(id)) {
        sa->receive(datagram);
        after_call(id);
    }
}

// RFC 7296 2.21.4: a request for an IKE SA we do not have gets an unprotected INFORMATIONAL
// response with INVALID_IKE_SPI, so that a peer that lost us (e.g. after our restart) need not
// wait for its liveness check to time out. Never for responses (no reply to a reply), never for
// IKE_SA_INIT (handled above), and rate-limited: the sender is not authenticated.
void IkeSessions::answer_unknown_spi(const Datagram& datagram, const Header& header) {
    if (header.response || header.major_version != 2 ||
        header.exchange_type == ExchangeType::kIkeSaInit) {
        return;
    }
    if (!invalid_spi_limiter_.allow(datagram.remote.address, clock_.now())) {
        ++counters_.invalid_spi_suppressed;
        return;
    }
    Message reply;
    reply.header.initiator_spi = header.initiator_spi;
    reply.header.responder_spi = header.responder_spi;
    reply.header.exchange_type = ExchangeType::kInformational;
    // We are the other party of whatever SA the sender meant.
    reply.header.initiator = !header.initiator;
    reply.header.response = true;
    reply.header.message_id = header.message_id;
    NotifyPayload notify;
    notify.type = static_cast<std::uint16_t>(NotifyType::kInvalidIkeSpi);
    reply.payloads.emplace_back(std::move(notify));
    auto bytes = encode(reply);
    if (!bytes) return;
    ++counters_.invalid_spi_sent;
    outgoing_.push_back(
        Datagram{datagram.local, datagram.remote, DatagramKind::kIke, std::move(*bytes)});
}

void IkeSessions::on_timer() {
    refresh_touched();
    const TimePoint now = clock_.now();
    std::vector<SessionId> due;
    for (auto it = timers_.begin(); it != timers_.end() && it->first <= now; ++it) {
        due.push_back(it->second);
    }
    for (const SessionId id : due) {
        if (IkeSa* sa = lookup(id)) {
            sa->on_timer();
            after_call(id);
        }
    }
}

std::optional<TimePoint> IkeSessions::next_timer() const {
    refresh_touched();
    if (timers_.empty()) return std::nullopt;
    return timers_.begin()->first;
}

void IkeSessions::reschedule(SessionId id) {
    index_timer(id, lookup(id));
}

IkeSa* IkeSessions::lookup(SessionId id) const {
    const auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.get();
}

void IkeSessions::index_timer(SessionId id, const IkeSa* sa) const {
    const auto next = sa != nullptr ? sa->next_timer() : std::nullopt;
    const auto it = timer_of_.find(id);
    if (it != timer_of_.end()) {
        if (next && *next == it->second) return;
        timers_.erase({it->second, id});
        if (!next) {
            timer_of_.erase(it);
            return;
        }
        it->second = *next;
    } else {
        if (!next) return;
        timer_of_.emplace(id, *next);
    }
    timers_.emplace(*next, id);
}

void IkeSessions::refresh_touched() const {
    for (const SessionId id : touched_) index_timer(id, lookup(id));
    touched_.clear();
}

std::vector<Datagram> IkeSessions::take_outgoing() {
    return std::exchange(outgoing_, {});
}

std::vector<SessionEvent> IkeSessions::take_events() {
    return std::exchange(events_, {});
}

std::vector<SessionHint> IkeSessions::take_hints() {
    return std::exchange(hints_, {});
}

IkeSa* IkeSessions::find(SessionId id) {
    IkeSa* sa = lookup(id);
    if (sa != nullptr && (touched_.empty() || touched_.back() != id)) touched_.push_back(id);
    return sa;
}

void IkeSessions::after_call(SessionId id) {
    const auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    IkeSa& sa = *it->second;
    for (auto& d : sa.take_outgoing()) outgoing_.push_back(std::move(d));
    for (auto& e : sa.take_events()) events_.push_back(SessionEvent{id, std::move(e)});
    for (auto& h : sa.take_hints()) hints_.push_back(SessionHint{id, std::move(h)});
    auto& indexed = spis_of_[id];
    for (const auto spi : indexed) by_local_spi_.erase(spi);
    indexed.clear();
    const bool down = sa.state() == IkeSaState::kDown;
    if (sa.state() != IkeSaState::kInitDone) {
        if (const auto key = half_open_.find(id); key != half_open_.end()) {
            by_init_request_.erase(key->second);
            half_open_.erase(key);
        }
    }
    if (down) {
        spis_of_.erase(id);
        sessions_.erase(it);
        index_timer(id, nullptr);
        return;
    }
    index_timer(id, &sa);
    for (const auto spi : sa.local_spis()) {
        if (spi == 0) continue;
        by_local_spi_[spi] = id;
        indexed.push_back(spi);
    }
}

}  // namespace mpsa::ike
