// Two IKE SAs in one process, strongSwan-style: the test moves datagrams between initiator and
// responder by hand (and may drop, duplicate, reorder or NAT-rewrite them); time is a
// ManualClock, randomness a deterministic source, the kernel a fake ChildSaInstaller.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mpsa/ike/cookie.hpp"
#include "mpsa/ike/exchange.hpp"
#include "mpsa/ike/ike_sa.hpp"
#include "mpsa/ike/suite.hpp"

namespace mpsa::ike::testing {

// splitmix64 stream; fills of a given size can be scripted (e.g. to order nonces).
class ScriptedRandom final : public RandomSource {
  public:
    explicit ScriptedRandom(std::uint64_t seed) : state_(seed) {}
    bool fail = false;
    // The next fill of exactly this size returns these bytes.
    void script(Bytes bytes) { scripted_.push_back(std::move(bytes)); }

    bool fill(std::span<std::uint8_t> out) override {
        if (fail) return false;
        for (auto it = scripted_.begin(); it != scripted_.end(); ++it) {
            if (it->size() == out.size()) {
                std::copy(it->begin(), it->end(), out.begin());
                scripted_.erase(it);
                return true;
            }
        }
        for (auto& b : out) {
            state_ += 0x9e3779b97f4a7c15ULL;
            std::uint64_t z = state_;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
            b = static_cast<std::uint8_t>(z ^ (z >> 31));
        }
        return true;
    }

  private:
    std::uint64_t state_;
    std::deque<Bytes> scripted_;
};

class FakeInstaller final : public ChildSaInstaller {
  public:
    explicit FakeInstaller(std::uint32_t spi_base) : next_spi_(spi_base) {}
    std::map<std::uint32_t, ChildSaInstall> installed;  // by inbound SPI
    std::vector<std::uint32_t> removed;                 // inbound SPIs
    bool reject = false;

    tl::expected<std::uint32_t, InstallError> allocate_spi(const Endpoint&,
                                                           const Endpoint&) override {
        return next_spi_++;
    }
    tl::expected<void, InstallError> install(const ChildSaInstall& sa) override {
        if (reject) return tl::unexpected(InstallError::kRejected);
        installed[sa.inbound.spi] = sa;
        return {};
    }
    void remove(std::uint32_t inbound_spi, std::uint32_t) override {
        if (installed.erase(inbound_spi) != 0) removed.push_back(inbound_spi);
    }

  private:
    std::uint32_t next_spi_;
};

inline Identification fqdn(const std::string& name) {
    return Identification{IdType::kFqdn, Bytes(name.begin(), name.end())};
}

inline SecretBytes psk(const std::string& text) {
    return SecretBytes(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

inline Suite suite(const char* keywords) {
    auto parsed = parse_suite(keywords);
    EXPECT_TRUE(parsed.has_value()) << keywords;
    return parsed.value_or(Suite{});
}

template <class T>
std::vector<T> events_of(const std::vector<Event>& events) {
    std::vector<T> out;
    for (const auto& e : events) {
        if (const auto* t = std::get_if<T>(&e)) out.push_back(*t);
    }
    return out;
}

struct Side {
    Side(const ManualClock& clock, std::uint64_t seed, const std::string& id, const Endpoint& ep,
         std::uint32_t spi_base, const std::string& key)
        : random(seed), installer(spi_base), auth(psk(key)), endpoint(ep) {
        deps = IkeSaDeps{&clock, &random, &auth, &installer};
        config.proposals = {suite("aes256-sha256-modp2048")};
        config.local_id = fqdn(id);
        ChildSaConfig child;
        child.proposals = {EspSuite{EncrId::kAesGcm16, 256, IntegId::kNone},
                           EspSuite{EncrId::kAesCbc, 128, IntegId::kHmacSha2_256_128}};
        config.child = child;
    }

    void collect() {
        if (!sa) return;
        for (auto& e : sa->take_events()) events.push_back(std::move(e));
    }
    template <class T>
    std::vector<T> got() {
        collect();
        return events_of<T>(events);
    }

    ScriptedRandom random;
    FakeInstaller installer;
    PskAuthenticator auth;
    Endpoint endpoint;
    IkeSaDeps deps;
    IkeSaConfig config;
    std::unique_ptr<IkeSa> sa;
    std::vector<Event> events;
};

// Initiator 10.0.0.1 (selectors 10.1.0.0/16) and responder 10.0.0.2 (10.2.0.0/16).
class SaPair {
  public:
    SaPair()
        : i(clock, 1, "cpe1.example", Endpoint{IpAddress::v4(10, 0, 0, 1), kIkePort}, 0xc1000000,
            "secret"),
          r(clock, 2, "gw.example", Endpoint{IpAddress::v4(10, 0, 0, 2), kIkePort}, 0xc2000000,
            "secret") {
        clock.set(TimePoint{} + std::chrono::hours(1));
        i.config.child->local_ts = {ipv4_prefix_selector(10, 1, 0, 0, 16)};
        i.config.child->remote_ts = {ipv4_prefix_selector(10, 2, 0, 0, 16)};
        r.config.child->local_ts = {ipv4_prefix_selector(10, 2, 0, 0, 16)};
        r.config.child->remote_ts = {ipv4_prefix_selector(10, 1, 0, 0, 16)};
    }

    void start() {
        auto sa = IkeSa::initiate(i.config, i.deps, i.endpoint, r.endpoint);
        ASSERT_TRUE(sa.has_value());
        i.sa = std::move(*sa);
    }

    // What `from` has queued to send.
    std::vector<Datagram> take(Side& from) {
        return from.sa ? from.sa->take_outgoing() : std::vector<Datagram>{};
    }

    // Hands one datagram sent by the other side to `to`, as its socket would see it. A NAT in
    // front of the initiator rewrites its source address and port.
    void deliver(Side& to, const Datagram& sent) {
        Datagram seen;
        seen.local = sent.remote;
        seen.remote = sent.local;
        seen.kind = sent.kind;
        seen.data = sent.data;
        if (&to == &r && nat_source) {
            seen.remote.address = nat_source->address;
            if (seen.remote.port == kIkePort) seen.remote.port = nat_source->port;
            if (seen.remote.port == kNatTPort) seen.remote.port = nat_source->port + 1;
        }
        if (&to == &i && nat_source) {
            seen.local = i.endpoint;
            seen.local.port = sent.remote.port == kIkePort ? kIkePort : kNatTPort;
        }
        if (seen.kind == DatagramKind::kNatKeepalive) {
            ++keepalives;
            return;
        }
        if (&to == &r && !r.sa) {
            accept_init(seen);
            return;
        }
        if (to.sa) to.sa->receive(seen);
    }

    // The responder's socket layer: cookie check, then a new IKE SA or a stateless answer.
    void accept_init(const Datagram& seen) {
        if (guard) {
            auto m = decode(seen.data);
            ASSERT_TRUE(m.has_value());
            if (auto reply = guard->check(*m, seen.remote, half_open)) {
                ++cookie_replies;
                i.sa->receive(Datagram{seen.remote, seen.local, DatagramKind::kIke, *reply});
                return;
            }
        }
        auto start = IkeSa::respond(r.config, r.deps, seen);
        if (start.stateless_reply) {
            ++stateless_replies;
            Datagram reply = *start.stateless_reply;
            deliver(i, reply);
        }
        if (start.sa) r.sa = std::move(start.sa);
    }

    void deliver_all(Side& from, Side& to) {
        for (const auto& d : take(from)) deliver(to, d);
    }

    // Delivers everything both ways until nobody has anything to send.
    void pump(int max_rounds = 50) {
        for (int round = 0; round < max_rounds; ++round) {
            auto from_i = take(i);
            auto from_r = take(r);
            if (from_i.empty() && from_r.empty()) break;
            for (const auto& d : from_i) deliver(r, d);
            for (const auto& d : from_r) deliver(i, d);
        }
        i.collect();
        r.collect();
    }

    void establish() {
        start();
        pump();
        ASSERT_TRUE(i.sa && r.sa);
        ASSERT_EQ(i.sa->state(), IkeSaState::kEstablished);
        ASSERT_EQ(r.sa->state(), IkeSaState::kEstablished);
    }

    // Advances the clock to the earliest timer of either side and runs it.
    void advance_to_next_timer() {
        std::optional<TimePoint> next;
        for (Side* s : {&i, &r}) {
            if (!s->sa) continue;
            auto t = s->sa->next_timer();
            if (t && (!next || *t < *next)) next = t;
        }
        ASSERT_TRUE(next.has_value());
        if (*next > clock.now()) clock.set(*next);
        for (Side* s : {&i, &r}) {
            if (s->sa) s->sa->on_timer();
        }
    }

    ManualClock clock;
    Side i;
    Side r;
    std::optional<Endpoint> nat_source;  // the initiator's address as the NAT maps it
    std::unique_ptr<CookieGuard> guard;
    std::size_t half_open = 0;
    int cookie_replies = 0;
    int stateless_replies = 0;
    int keepalives = 0;
};

}  // namespace mpsa::ike::testing
