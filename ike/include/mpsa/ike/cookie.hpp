// Stateless cookies (RFC 7296 2.6) on the responder: when more IKE SAs are half-open than a
// threshold, an IKE_SA_INIT request without a valid COOKIE is answered with one and forgotten.
//   cookie = <secret version, 4 octets> | SHA-256(Ni | IPi | SPIi | <secret>)
// The secret is replaced every `secret_lifetime`; cookies of the previous secret stay valid.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/ike/clock.hpp"
#include "mpsa/ike/message.hpp"
#include "mpsa/ike/transport.hpp"

namespace mpsa::ike {

struct CookiePolicy {
    std::size_t half_open_threshold = 30;  // cookies required at or above this many half-open SAs
    Duration secret_lifetime = std::chrono::minutes(2);
};

class CookieGuard {
  public:
    CookieGuard(CookiePolicy policy, const Clock& clock, RandomSource& random)
        : policy_(policy), clock_(clock), random_(random) {}

    // For an IKE_SA_INIT request from `remote`: std::nullopt to go on and create the IKE SA, or
    // the IKE message (unprotected, N(COOKIE), responder SPI zero) to answer with instead.
    [[nodiscard]] std::optional<Bytes> check(const Message& request, const Endpoint& remote,
                                             std::size_t half_open_count);

    // The cookie we expect from this request's sender with the current secret (for tests).
    [[nodiscard]] Bytes cookie_for(const Message& request, const Endpoint& remote);

  private:
    struct Secret {
        std::uint32_t version = 0;
        SecretBytes value;
    };
    void rotate_if_due();
    [[nodiscard]] Bytes compute(const Secret& secret, const Message& request,
                                const Endpoint& remote) const;

    CookiePolicy policy_;
    const Clock& clock_;
    RandomSource& random_;
    std::optional<Secret> current_;
    std::optional<Secret> previous_;
    TimePoint current_since_{};
};

}  // namespace mpsa::ike
