// A gateway and N CPEs over our IKEv2 in one process, strongSwan-style: every datagram goes
// through a small in-test network that can drop or delay it; time is one manual clock shared by
// the IKE engines and the MPSA logic; randomness is deterministic. No sockets, no sleeps.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mpsa/ike/auth.hpp"
#include "mpsa/ike/exchange.hpp"
#include "mpsa/ike/exchange_auth.hpp"
#include "mpsa/ike/ike_sa.hpp"
#include "mpsa/ike/suite.hpp"
#include "mpsa/mpsa/cpe_ike_bridge.hpp"
#include "mpsa/mpsa/gateway_ike_bridge.hpp"
#include "mpsa/mpsa/vendor_id.hpp"

namespace mpsa::mpsa::testing {

using namespace std::chrono_literals;

// One clock for both layers (mpsa::Clock is ike::Clock).
class SharedClock final : public ike::Clock {
  public:
    [[nodiscard]] TimePoint now() const override { return now_; }
    void set(TimePoint t) { now_ = t; }

  private:
    TimePoint now_ = TimePoint{} + 1h;
};

// splitmix64; deterministic SPIs, nonces and group keys.
class DeterministicRandom final : public ike::RandomSource {
  public:
    explicit DeterministicRandom(std::uint64_t seed) : state_(seed) {}
    bool fill(std::span<std::uint8_t> out) override {
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
};

// The kernel, as far as the IKE CHILD_SA goes (group SAs are checked on the lifecycle).
class NullInstaller final : public ike::ChildSaInstaller {
  public:
    explicit NullInstaller(std::uint32_t base) : next_(base) {}
    tl::expected<std::uint32_t, ike::InstallError> allocate_spi(const ike::Endpoint&,
                                                                const ike::Endpoint&) override {
        return next_++;
    }
    tl::expected<void, ike::InstallError> install(const ike::ChildSaInstall&) override {
        return {};
    }
    void remove(std::uint32_t, std::uint32_t) override {}

  private:
    std::uint32_t next_;
};

inline ike::Identification fqdn(const std::string& name) {
    return ike::Identification{ike::IdType::kFqdn, ike::Bytes(name.begin(), name.end())};
}

inline ike::IkeSaConfig ike_config(const std::string& local_id, bool send_mpsa_vendor_id) {
    ike::IkeSaConfig config;
    config.proposals = {ike::parse_suite("aes256-sha256-x25519").value()};
    config.local_id = fqdn(local_id);
    if (send_mpsa_vendor_id) config.vendor_ids = {mpsa_vendor_id()};
    ike::ChildSaConfig child;
    child.proposals = {ike::EspSuite{ike::EncrId::kAesCbc, 256, ike::IntegId::kHmacSha2_256_128}};
    child.local_ts = {ike::ipv4_prefix_selector(0, 0, 0, 0, 0)};
    child.remote_ts = {ike::ipv4_prefix_selector(0, 0, 0, 0, 0)};
    config.child = child;
    return config;
}

inline bool is_informational_request(const ike::Datagram& d) {
    // IKE header: exchange type at octet 18 (37 = INFORMATIONAL), flags at 19 (0x20 = Response)
    return d.kind == ike::DatagramKind::kIke && d.data.size() >= 28 && d.data[18] == 37 &&
           (d.data[19] & 0x20) == 0;
}

struct TimedCpeEvent {
    TimePoint at;
    CpeEvent event;
};

struct CpeNode {
    CpeNode(const SharedClock& clock, int index, bool send_vid, const std::string& gateway)
        : name("cpe" + std::to_string(index) + ".example"),
          endpoint{ike::IpAddress::v4(10, 0, 0, static_cast<std::uint8_t>(index)), ike::kIkePort},
          config(ike_config(name, send_vid)),
          random(1000 + static_cast<std::uint64_t>(index)),
          installer(0xc0000000U + static_cast<std::uint32_t>(index) * 0x100000U),
          auth(ike::SecretBytes(ike::ByteView(reinterpret_cast<const std::uint8_t*>("psk"), 3))),
          bridge(clock, CpeBridgeConfig{fqdn(gateway), {}, {}}) {
        config.remote_id = fqdn(gateway);
    }

    std::string name;
    ike::Endpoint endpoint;
    ike::IkeSaConfig config;
    DeterministicRandom random;
    NullInstaller installer;
    ike::PskAuthenticator auth;
    CpeIkeBridge bridge;
    std::unique_ptr<ike::IkeSa> sa;
    AttachedIkeSa attached = 0;
    std::vector<PutResult> results;
    std::vector<TimedCpeEvent> timeline;
    std::vector<ike::IkeSpis> puts_received_on;  // the IKE SA each MPSA_PUT arrived on
    std::size_t ike_downs = 0;
};

class TwoPartyNet {
  public:
    // `expected_gateway`: the identity the CPEs' bridges accept MPSA_PUT from.
    explicit TwoPartyNet(int cpes, bool gateway_sends_vid = true,
                         const std::string& expected_gateway = "gw.example")
        : gateway_endpoint_{ike::IpAddress::v4(10, 0, 0, 100), ike::kIkePort},
          gateway_config_(ike_config("gw.example", gateway_sends_vid)),
          gateway_random_(7),
          gateway_installer_(0xd0000000U),
          gateway_auth_(
              ike::SecretBytes(ike::ByteView(reinterpret_cast<const std::uint8_t*>("psk"), 3))),
          group_random_(99),
          gateway_(clock, group_random_) {
        for (int i = 1; i <= cpes; ++i)
            cpes_.push_back(std::make_unique<CpeNode>(clock, i, true, expected_gateway));
    }

    CpeNode& cpe(int index) { return *cpes_.at(static_cast<std::size_t>(index - 1)); }
    std::size_t cpe_count() const { return cpes_.size(); }
    CpeNode& add_cpe(bool send_vid) {
        cpes_.push_back(std::make_unique<CpeNode>(clock, static_cast<int>(cpes_.size()) + 1,
                                                  send_vid, "gw.example"));
        return *cpes_.back();
    }
    GatewayIkeBridge& gateway() { return gateway_; }
    ike::IkeSaConfig& gateway_config() { return gateway_config_; }
    // The gateway's IKE SA with this CPE (nullptr when none).
    ike::IkeSa* gateway_sa(const CpeNode& cpe) {
        const auto it = gateway_sas_.find(cpe.endpoint.address.octets[3]);
        return it == gateway_sas_.end() ? nullptr : it->second.sa.get();
    }
    std::optional<AttachedIkeSa> gateway_attached(const CpeNode& cpe) {
        const auto it = gateway_sas_.find(cpe.endpoint.address.octets[3]);
        if (it == gateway_sas_.end()) return std::nullopt;
        return it->second.attached;
    }

    void connect(CpeNode& cpe) {
        auto sa = ike::IkeSa::initiate(
            cpe.config, ike::IkeSaDeps{&clock, &cpe.random, &cpe.auth, &cpe.installer},
            cpe.endpoint, gateway_endpoint_);
        ASSERT_TRUE(sa.has_value());
        cpe.sa = std::move(*sa);
        cpe.attached = cpe.bridge.attach(*cpe.sa, cpe.config);
    }
    void connect_all() {
        for (auto& c : cpes_) connect(*c);
    }

    // Network faults: return true to drop a datagram; a fixed one-way delay.
    std::function<bool(const ike::Datagram&)> drop;
    Duration delay = 0s;
    std::size_t dropped = 0;

    // Runs everything (deliveries, IKE timers, group timers, CPE deadlines) up to `end`.
    void run_until(TimePoint end) {
        for (int step = 0; step < 1000000; ++step) {
            settle();
            const auto next = next_time();
            if (!next || *next > end) {
                clock.set(std::max(clock.now(), end));
                settle();
                return;
            }
            clock.set(std::max(clock.now(), *next));
        }
        FAIL() << "simulation did not come to rest";
    }
    void run_for(Duration d) { run_until(clock.now() + d); }

    SharedClock clock;
    std::vector<ike::NotifyRequestDone> gateway_requests_done;  // every outcome, any requester

  private:
    struct GatewaySa {
        std::unique_ptr<ike::IkeSa> sa;
        AttachedIkeSa attached = 0;
    };
    struct InFlight {
        TimePoint at;
        ike::Datagram datagram;
    };

    void send(const ike::Datagram& d) {
        if (drop && drop(d)) {
            ++dropped;
            return;
        }
        wire_.push_back({clock.now() + delay, d});
    }

    void deliver(const ike::Datagram& sent) {
        ike::Datagram seen{sent.remote, sent.local, sent.kind, sent.data};
        if (seen.kind != ike::DatagramKind::kIke) return;
        if (seen.local == gateway_endpoint_) {
            const std::uint8_t key = seen.remote.address.octets[3];
            auto it = gateway_sas_.find(key);
            if (it != gateway_sas_.end()) {
                it->second.sa->receive(seen);
                return;
            }
            auto start = ike::IkeSa::respond(
                gateway_config_,
                ike::IkeSaDeps{&clock, &gateway_random_, &gateway_auth_, &gateway_installer_},
                seen);
            if (start.stateless_reply) send(*start.stateless_reply);
            if (start.sa) {
                GatewaySa g;
                g.attached = gateway_.attach(*start.sa, gateway_config_);
                g.sa = std::move(start.sa);
                gateway_sas_[key] = std::move(g);
            }
            return;
        }
        for (auto& c : cpes_) {
            if (c->endpoint == seen.local && c->sa) c->sa->receive(seen);
        }
    }

    // Moves events and datagrams until nothing is due at the current time.
    void settle() {
        for (int round = 0; round < 10000; ++round) {
            bool busy = false;
            const TimePoint now = clock.now();
            for (auto& [key, g] : gateway_sas_) {
                if (auto t = g.sa->next_timer(); t && *t <= now) g.sa->on_timer();
            }
            for (auto& c : cpes_) {
                if (!c->sa) continue;
                if (auto t = c->sa->next_timer(); t && *t <= now) c->sa->on_timer();
            }
            if (auto t = gateway_.groups().next_deadline(); t && *t <= now)
                gateway_.groups().advance();
            busy |= process_events();
            for (auto& [key, g] : gateway_sas_) {
                for (auto& d : g.sa->take_outgoing()) {
                    send(d);
                    busy = true;
                }
            }
            for (auto& c : cpes_) {
                if (!c->sa) continue;
                for (auto& d : c->sa->take_outgoing()) {
                    send(d);
                    busy = true;
                }
            }
            std::vector<InFlight> due;
            auto split = std::stable_partition(wire_.begin(), wire_.end(),
                                               [&](const InFlight& f) { return f.at > now; });
            due.assign(std::make_move_iterator(split), std::make_move_iterator(wire_.end()));
            wire_.erase(split, wire_.end());
            for (const auto& f : due) {
                deliver(f.datagram);
                busy = true;
            }
            for (auto& c : cpes_) {
                if (auto t = c->bridge.lifecycle().next_deadline(); t && *t <= now) busy = true;
                record(*c, c->bridge.lifecycle().advance());
            }
            if (!busy) return;
        }
        ADD_FAILURE() << "no rest at one point in time";
    }

    void record(CpeNode& c, const std::vector<CpeEvent>& events) {
        for (const auto& e : events) c.timeline.push_back({clock.now(), e});
    }

    bool process_events() {
        bool any = false;
        std::vector<std::uint8_t> gone;
        for (auto& [key, g] : gateway_sas_) {
            for (auto& e : g.sa->take_events()) {
                any = true;
                if (const auto* done = std::get_if<ike::NotifyRequestDone>(&e))
                    gateway_requests_done.push_back(*done);
                gateway_.on_ike_event(g.attached, e);
                if (std::holds_alternative<ike::IkeSaDown>(e)) gone.push_back(key);
            }
        }
        for (std::uint8_t key : gone) {
            // Its last words (the answer to the peer's Delete) still go out.
            for (auto& d : gateway_sas_[key].sa->take_outgoing()) send(d);
            gateway_.detach(gateway_sas_[key].attached);
            gateway_sas_.erase(key);
        }
        for (auto& c : cpes_) {
            if (!c->sa) continue;
            bool down = false;
            for (auto& e : c->sa->take_events()) {
                any = true;
                if (std::holds_alternative<ike::NotifiesReceived>(e))
                    c->puts_received_on.push_back(c->sa->spis());
                if (std::holds_alternative<ike::IkeSaDown>(e)) down = true;
                for (auto& r : c->bridge.on_ike_event(c->attached, e)) c->results.push_back(r);
            }
            record(*c, c->bridge.lifecycle().advance());
            if (down) {
                ++c->ike_downs;
                for (auto& d : c->sa->take_outgoing()) send(d);
                c->bridge.detach(c->attached);
                c->sa.reset();
            }
        }
        return any;
    }

    std::optional<TimePoint> next_time() const {
        std::optional<TimePoint> next;
        const auto consider = [&](std::optional<TimePoint> t) {
            if (t && (!next || *t < *next)) next = t;
        };
        for (const auto& f : wire_) consider(f.at);
        for (const auto& [key, g] : gateway_sas_) consider(g.sa->next_timer());
        for (const auto& c : cpes_) {
            if (c->sa) consider(c->sa->next_timer());
            consider(c->bridge.lifecycle().next_deadline());
        }
        consider(gateway_.groups().next_deadline());
        return next;
    }

    ike::Endpoint gateway_endpoint_;
    ike::IkeSaConfig gateway_config_;
    DeterministicRandom gateway_random_;
    NullInstaller gateway_installer_;
    ike::PskAuthenticator gateway_auth_;
    DeterministicRandom group_random_;
    GatewayIkeBridge gateway_;
    std::map<std::uint8_t, GatewaySa> gateway_sas_;
    std::vector<std::unique_ptr<CpeNode>> cpes_;
    std::vector<InFlight> wire_;
};

}  // namespace mpsa::mpsa::testing
