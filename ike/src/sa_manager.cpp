#include "mpsa/ike/sa_manager.hpp"

#include <utility>

#include <asio/post.hpp>

namespace mpsa::ike {

tl::expected<std::unique_ptr<SaManager>, std::error_code> SaManager::open(
    asio::io_context& io, const Clock& clock, RandomSource& random, SaManagerConfig config,
    ResponderPolicy responder_policy, EventHandler on_event) {
    auto endpoint = IkeEndpoint::open(io, config.endpoint);
    if (!endpoint) return tl::make_unexpected(endpoint.error());
    std::unique_ptr<SaManager> manager(
        new SaManager(io, clock, random, config, std::move(responder_policy), std::move(on_event)));
    manager->endpoint_ = std::move(*endpoint);
    manager->endpoint_->start([m = manager.get()](Datagram&& datagram) {
        m->sessions_.receive(datagram);
        m->schedule_pump();
    });
    return manager;
}

SaManager::SaManager(asio::io_context& io, const Clock& clock, RandomSource& random,
                     const SaManagerConfig& config, ResponderPolicy responder_policy,
                     EventHandler on_event)
    : io_(io),
      sessions_(clock, random, config.cookies, std::move(responder_policy)),
      on_event_(std::move(on_event)),
      timer_(io) {}

SaManager::~SaManager() {
    *alive_ = false;
    timer_.cancel();
}

tl::expected<SessionId, StartError> SaManager::initiate(IkeSaConfig config, IkeSaDeps deps,
                                                        const Endpoint& local,
                                                        const Endpoint& remote) {
    auto id = sessions_.initiate(std::move(config), deps, local, remote);
    if (id) schedule_pump();
    return id;
}

bool SaManager::with_sa(SessionId id, const std::function<void(IkeSa&)>& action) {
    IkeSa* sa = sessions_.find(id);
    if (sa == nullptr) return false;
    action(*sa);
    // IkeSessions collects an SA's output only when it calls the SA itself: drain it here.
    for (const auto& datagram : sa->take_outgoing()) endpoint_->send(datagram);
    auto events = sa->take_events();
    auto hints = sa->take_hints();
    // An SA the action took down at once (close() before IKE_AUTH completed) is forgotten now;
    // otherwise its timer is re-read at the next pump.
    if (sa->state() == IkeSaState::kDown) {
        sessions_.collect(id);
    } else {
        sessions_.reschedule(id);
    }
    schedule_pump();
    for (auto& event : events) {
        if (on_event_) on_event_(SessionEvent{id, std::move(event)});
    }
    for (auto& hint : hints) {
        if (on_hint_) on_hint_(SessionHint{id, std::move(hint)});
    }
    return true;
}

void SaManager::schedule_pump() {
    if (pump_posted_) return;
    pump_posted_ = true;
    asio::post(io_, [this, alive = alive_] {
        if (!*alive) return;
        pump_posted_ = false;
        pump();
    });
}

void SaManager::pump() {
    for (const auto& datagram : sessions_.take_outgoing()) endpoint_->send(datagram);
    auto events = sessions_.take_events();
    for (const auto& event : events) {
        if (on_event_) on_event_(event);
    }
    for (const auto& hint : sessions_.take_hints()) {
        if (on_hint_) on_hint_(hint);
    }
    arm_timer();
}

void SaManager::arm_timer() {
    const auto next = sessions_.next_timer();
    if (next == armed_for_) return;
    armed_for_ = next;
    timer_.cancel();
    if (!next) return;
    timer_.expires_at(*next);
    timer_.async_wait([this, alive = alive_](const std::error_code& error) {
        if (!*alive || error) return;
        armed_for_.reset();
        sessions_.on_timer();
        pump();
    });
}

}  // namespace mpsa::ike
