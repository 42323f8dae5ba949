// The IKE daemon's event loop side: IkeSessions (SPI dispatch, responder SAs behind the
// CookieGuard, half-open accounting) driven by the IkeEndpoint's sockets and one Asio
// steady_timer, with events surfaced through a callback.
//
// Threading: single-threaded. Everything -- socket handlers, the timer, the event callback and
// every call into SaManager -- runs on the thread that runs the io_context. Received datagrams
// are handed to the sessions at once; the resulting datagrams, events and the timer re-arm are
// done by one posted "pump" per loop turn, so a burst of datagrams costs one timer scan.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <system_error>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <tl/expected.hpp>

#include "mpsa/ike/clock.hpp"
#include "mpsa/ike/cookie.hpp"
#include "mpsa/ike/ike_endpoint.hpp"
#include "mpsa/ike/ike_sa.hpp"
#include "mpsa/ike/ike_session.hpp"

namespace mpsa::ike {

struct SaManagerConfig {
    IkeEndpointConfig endpoint;
    CookiePolicy cookies;
};

class SaManager {
  public:
    using EventHandler = std::function<void(const SessionEvent&)>;
    using HintHandler = std::function<void(const SessionHint&)>;

    // `clock` must be a steady clock (the timer is an asio::steady_timer); clock and random
    // outlive the manager.
    [[nodiscard]] static tl::expected<std::unique_ptr<SaManager>, std::error_code> open(
        asio::io_context& io, const Clock& clock, RandomSource& random, SaManagerConfig config,
        ResponderPolicy responder_policy, EventHandler on_event);
    ~SaManager();
    SaManager(const SaManager&) = delete;
    SaManager& operator=(const SaManager&) = delete;

    [[nodiscard]] tl::expected<SessionId, StartError> initiate(IkeSaConfig config, IkeSaDeps deps,
                                                               const Endpoint& local,
                                                               const Endpoint& remote);
    // Runs `action` on the IKE SA (rekey, close, send_notifies, ...) and sends what it queued;
    // false when the session is gone.
    bool with_sa(SessionId id, const std::function<void(IkeSa&)>& action);
    [[nodiscard]] IkeSa* find(SessionId id) { return sessions_.find(id); }
    // Unauthenticated hints (PeerLostSaHint); dropped without a handler.
    void set_hint_handler(HintHandler on_hint) { on_hint_ = std::move(on_hint); }

    [[nodiscard]] const IkeSessions& sessions() const { return sessions_; }
    [[nodiscard]] const IkeEndpoint& endpoint() const { return *endpoint_; }

  private:
    SaManager(asio::io_context& io, const Clock& clock, RandomSource& random,
              const SaManagerConfig& config, ResponderPolicy responder_policy,
              EventHandler on_event);
    void schedule_pump();
    void pump();
    void arm_timer();

    asio::io_context& io_;
    IkeSessions sessions_;
    std::unique_ptr<IkeEndpoint> endpoint_;
    EventHandler on_event_;
    HintHandler on_hint_;
    asio::steady_timer timer_;
    std::optional<TimePoint> armed_for_;
    bool pump_posted_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mpsa::ike
