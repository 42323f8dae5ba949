// All IKE SAs of one daemon behind its sockets, still without I/O: routes received datagrams to
// the IkeSa that owns their SPI, creates responder IKE SAs for new IKE_SA_INIT requests (after
// the cookie check of RFC 7296 2.6, counting half-open SAs), runs timers, and collects every
// SA's datagrams and events. The socket/event-loop layer feeds it and drains it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <tl/expected.hpp>

#include "mpsa/ike/clock.hpp"
#include "mpsa/ike/cookie.hpp"
#include "mpsa/ike/events.hpp"
#include "mpsa/ike/ike_sa.hpp"
#include "mpsa/ike/rate_limit.hpp"
#include "mpsa/ike/sa_config.hpp"
#include "mpsa/ike/transport.hpp"

namespace mpsa::ike {

using SessionId = std::uint64_t;

struct SessionEvent {
    SessionId session = 0;
    Event event;
};

struct SessionHint {
    SessionId session = 0;
    PeerLostSaHint hint;
};

// What the application gives a new responder IKE SA, or nullopt to ignore the peer.
struct ResponderSetup {
    IkeSaConfig config;
    IkeSaDeps deps;
};
using ResponderPolicy =
    std::function<std::optional<ResponderSetup>(const Endpoint& local, const Endpoint& remote)>;

struct SessionCounters {
    std::uint64_t unknown_spi = 0;        // no IKE SA for the datagram's SPI
    std::uint64_t malformed = 0;          // not even an IKE header
    std::uint64_t cookies_sent = 0;       // IKE_SA_INIT answered with a COOKIE
    std::uint64_t stateless_replies = 0;  // INVALID_KE_PAYLOAD, NO_PROPOSAL_CHOSEN, ...
    std::uint64_t refused_peers = 0;      // ResponderPolicy said no
    // Requests for unknown IKE SAs (RFC 7296 2.21.4): answered with INVALID_IKE_SPI, or not
    // because of the rate limit.
    std::uint64_t invalid_spi_sent = 0;
    std::uint64_t invalid_spi_suppressed = 0;
};

class IkeSessions {
  public:
    IkeSessions(const Clock& clock, RandomSource& random, CookiePolicy cookies,
                ResponderPolicy responder_policy);

    [[nodiscard]] tl::expected<SessionId, StartError> initiate(IkeSaConfig config, IkeSaDeps deps,
                                                               const Endpoint& local,
                                                               const Endpoint& remote);
    void receive(const Datagram& datagram);
    void on_timer();
    [[nodiscard]] std::optional<TimePoint> next_timer() const;

    [[nodiscard]] std::vector<Datagram> take_outgoing();
    [[nodiscard]] std::vector<SessionEvent> take_events();
    // Unauthenticated hints (see PeerLostSaHint), kept apart from take_events().
    [[nodiscard]] std::vector<SessionHint> take_hints();
    void set_unsolicited_reply_limits(UnsolicitedReplyLimits limits) {
        invalid_spi_limiter_ = UnsolicitedReplyLimiter(limits);
    }

    // nullptr once the IKE SA is down and its events were collected. After driving the SA
    // directly (send_notifies(), rekey_ike_sa(), close(), ...), call collect(id); an SA looked
    // up here has its timer re-read at the next next_timer()/on_timer() either way.
    [[nodiscard]] IkeSa* find(SessionId id);
    void collect(SessionId id) { after_call(id); }
    // Re-reads the SA's next timer only (for a caller that drained its output itself).
    void reschedule(SessionId id);
    [[nodiscard]] std::size_t size() const { return sessions_.size(); }
    [[nodiscard]] std::size_t half_open() const { return half_open_.size(); }
    [[nodiscard]] const SessionCounters& counters() const { return counters_; }

  private:
    struct HalfOpenKey {
        std::uint64_t initiator_spi = 0;
        Endpoint remote;
        friend bool operator<(const HalfOpenKey& a, const HalfOpenKey& b) {
            return std::tie(a.initiator_spi, a.remote.address.v6, a.remote.address.octets,
                            a.remote.port) < std::tie(b.initiator_spi, b.remote.address.v6,
                                                      b.remote.address.octets, b.remote.port);
        }
    };
    // Collects the SA's output, re-indexes its SPIs and timer and forgets it once down.
    void after_call(SessionId id);
    IkeSa* lookup(SessionId id) const;
    void index_timer(SessionId id, const IkeSa* sa) const;
    void refresh_touched() const;
    void answer_unknown_spi(const Datagram& datagram, const Header& header);

    const Clock& clock_;
    CookieGuard cookies_;
    ResponderPolicy responder_policy_;
    SessionId next_id_ = 1;
    std::unordered_map<SessionId, std::unique_ptr<IkeSa>> sessions_;
    std::unordered_map<std::uint64_t, SessionId> by_local_spi_;
    std::unordered_map<SessionId, std::vector<std::uint64_t>> spis_of_;
    // Timer index: every SA's next_timer() as of its last call, ordered, so that a timer scan
    // or re-arm costs O(log n), not a pass over all SAs. SAs handed out by find() may have
    // changed without us seeing it: they are re-read lazily (a cache, hence mutable).
    mutable std::set<std::pair<TimePoint, SessionId>> timers_;
    mutable std::unordered_map<SessionId, TimePoint> timer_of_;
    mutable std::vector<SessionId> touched_;
    // Half-open responder SAs by their IKE_SA_INIT request, for retransmitted requests.
    std::map<HalfOpenKey, SessionId> by_init_request_;
    std::unordered_map<SessionId, HalfOpenKey> half_open_;
    std::vector<Datagram> outgoing_;
    std::vector<SessionEvent> events_;
    std::vector<SessionHint> hints_;
    UnsolicitedReplyLimiter invalid_spi_limiter_;
    SessionCounters counters_;
};

}  // namespace mpsa::ike
