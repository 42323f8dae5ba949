// mpsa_distribute: a gateway with N CPEs (default 10,000), each a real ike::IkeSa pair (PSK,
// x25519), all in this process with datagrams passed by hand (loopback.cpp: the same over UDP).
// After every IKE SA is up and every member has the first group SA, the group is rekeyed and we
// measure the wall time until every member has acknowledged the new SA's MPSA_PUT, in total and
// spent on the gateway side alone (the CPEs' share runs on the CPEs in reality).
//
// Usage: mpsa_distribute_bench [cpes]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "mpsa/ike/exchange.hpp"
#include "mpsa/ike/exchange_auth.hpp"
#include "mpsa/ike/ike_sa.hpp"
#include "mpsa/ike/suite.hpp"
#include "mpsa/mpsa/cpe_ike_bridge.hpp"
#include "mpsa/mpsa/gateway_ike_bridge.hpp"
#include "mpsa/mpsa/vendor_id.hpp"

namespace {

using namespace std::chrono_literals;
using mpsa::ike::Datagram;
using WallClock = std::chrono::steady_clock;

class FixedClock final : public mpsa::ike::Clock {
  public:
    [[nodiscard]] mpsa::ike::TimePoint now() const override { return now_; }
    void set(mpsa::ike::TimePoint t) { now_ = t; }

  private:
    mpsa::ike::TimePoint now_ = mpsa::ike::TimePoint{} + 1h;
};

class Random final : public mpsa::ike::RandomSource {
  public:
    bool fill(std::span<std::uint8_t> out) override { return openssl_.fill(out); }

  private:
    mpsa::mpsa::OpenSslRandom openssl_;
};

class NullInstaller final : public mpsa::ike::ChildSaInstaller {
  public:
    tl::expected<std::uint32_t, mpsa::ike::InstallError> allocate_spi(
        const mpsa::ike::Endpoint&, const mpsa::ike::Endpoint&) override {
        return next_++;
    }
    tl::expected<void, mpsa::ike::InstallError> install(const mpsa::ike::ChildSaInstall&) override {
        return {};
    }
    void remove(std::uint32_t, std::uint32_t) override {}

  private:
    std::uint32_t next_ = 0x1000;
};

mpsa::ike::Identification fqdn(const std::string& name) {
    return {mpsa::ike::IdType::kFqdn, mpsa::ike::Bytes(name.begin(), name.end())};
}

mpsa::ike::IkeSaConfig config(const std::string& id) {
    mpsa::ike::IkeSaConfig c;
    c.proposals = {mpsa::ike::parse_suite("aes256-sha256-x25519").value()};
    c.local_id = fqdn(id);
    c.vendor_ids = {mpsa::mpsa::mpsa_vendor_id()};
    c.dpd_interval = 0s;  // no liveness traffic while the clock jumps
    mpsa::ike::ChildSaConfig child;
    child.proposals = {mpsa::ike::EspSuite{mpsa::ike::EncrId::kAesCbc, 256,
                                           mpsa::ike::IntegId::kHmacSha2_256_128}};
    child.local_ts = {mpsa::ike::ipv4_prefix_selector(0, 0, 0, 0, 0)};
    child.remote_ts = child.local_ts;
    c.child = child;
    return c;
}

mpsa::ike::SecretBytes psk() {
    static const std::uint8_t key[] = {'b', 'e', 'n', 'c', 'h'};
    return mpsa::ike::SecretBytes(mpsa::ike::ByteView(key, sizeof key));
}

mpsa::ike::Endpoint cpe_endpoint(std::size_t i) {
    return {
        mpsa::ike::IpAddress::v4(10, static_cast<std::uint8_t>(i >> 16),
                                 static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)),
        mpsa::ike::kIkePort};
}

std::size_t cpe_index(const mpsa::ike::Endpoint& e) {
    return (std::size_t{e.address.octets[1]} << 16) | (std::size_t{e.address.octets[2]} << 8) |
           e.address.octets[3];
}

struct Cpe {
    std::unique_ptr<mpsa::ike::IkeSa> sa;
    std::unique_ptr<mpsa::mpsa::CpeIkeBridge> bridge;
    mpsa::mpsa::AttachedIkeSa attached = 0;
    std::unique_ptr<mpsa::ike::IkeSa> gateway_sa;
    mpsa::mpsa::AttachedIkeSa gateway_attached = 0;
};

struct Bench {
    explicit Bench(std::size_t n) : cpes(n), gateway(clock, random) {}

    // Delivers everything until quiet; returns the wall time spent in gateway code (an upper
    // bound: it visits every gateway IKE SA each round, an event loop would visit only busy ones).
    WallClock::duration pump() {
        WallClock::duration gateway_time{};
        std::vector<Datagram> to_gateway;
        std::vector<Datagram> to_cpes;
        for (;;) {
            for (auto& c : cpes) {
                for (auto& d : c.sa->take_outgoing()) to_gateway.push_back(std::move(d));
                for (auto& e : c.sa->take_events()) (void)c.bridge->on_ike_event(c.attached, e);
            }
            const bool gateway_idle = to_gateway.empty();
            const auto g0 = WallClock::now();
            for (auto& d : to_gateway) gateway_receive(d);
            to_gateway.clear();
            for (auto& c : cpes) {
                if (!c.gateway_sa) continue;
                for (auto& e : c.gateway_sa->take_events())
                    gateway.on_ike_event(c.gateway_attached, e);
                for (auto& d : c.gateway_sa->take_outgoing()) to_cpes.push_back(std::move(d));
            }
            gateway_time += WallClock::now() - g0;
            if (gateway_idle && to_cpes.empty()) return gateway_time;
            for (auto& d : to_cpes) {
                Datagram seen{d.remote, d.local, d.kind, std::move(d.data)};
                cpes[cpe_index(seen.local)].sa->receive(seen);
            }
            to_cpes.clear();
        }
    }

    void gateway_receive(Datagram& sent) {
        Datagram seen{sent.remote, sent.local, sent.kind, std::move(sent.data)};
        Cpe& c = cpes[cpe_index(seen.remote)];
        if (c.gateway_sa) {
            c.gateway_sa->receive(seen);
            return;
        }
        auto start = mpsa::ike::IkeSa::respond(gateway_config,
                                               {&clock, &random, &gateway_auth, &installer}, seen);
        if (start.sa) {
            c.gateway_sa = std::move(start.sa);
            c.gateway_attached = gateway.attach(*c.gateway_sa, gateway_config);
        }
    }

    FixedClock clock;
    Random random;
    NullInstaller installer;
    mpsa::ike::PskAuthenticator gateway_auth{psk()};
    mpsa::ike::PskAuthenticator cpe_auth{psk()};
    mpsa::ike::IkeSaConfig gateway_config = config("gw.example");
    std::vector<Cpe> cpes;
    mpsa::mpsa::GatewayIkeBridge gateway;
};

double ms(WallClock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
    if (n == 0 || n > 0xffffff) return 2;
    Bench bench(n);
    mpsa::mpsa::GroupConfig group;
    group.name = "all";
    group.member_patterns = {"cpe*"};
    group.lifetime = 600s;
    group.roll1 = 30s;
    group.roll2 = 60s;
    group.rekey_margin = 120s;
    if (!bench.gateway.groups().add_group(group)) return 1;

    const auto t0 = WallClock::now();
    for (std::size_t i = 0; i < n; ++i) {
        Cpe& c = bench.cpes[i];
        const std::string name = "cpe" + std::to_string(i);
        auto cfg = config(name);
        cfg.remote_id = fqdn("gw.example");
        auto sa = mpsa::ike::IkeSa::initiate(
            cfg, {&bench.clock, &bench.random, &bench.cpe_auth, &bench.installer}, cpe_endpoint(i),
            {mpsa::ike::IpAddress::v4(10, 255, 255, 254), mpsa::ike::kIkePort});
        if (!sa) return 1;
        c.sa = std::move(*sa);
        c.bridge = std::make_unique<mpsa::mpsa::CpeIkeBridge>(
            bench.clock, mpsa::mpsa::CpeBridgeConfig{fqdn("gw.example"), {}, {}});
        c.attached = c.bridge->attach(*c.sa, cfg);
    }
    bench.pump();
    const auto t1 = WallClock::now();
    auto status = bench.gateway.groups().status("all");
    std::printf("setup: %zu IKE SAs + first group SA in %.0f ms; members %zu, acked %zu\n", n,
                ms(t1 - t0), status->members, status->acked_current);

    // Straight to the rekey time: no timers in between (no DPD, no retransmissions).
    bench.clock.set(*bench.gateway.groups().next_deadline());
    const auto r0 = WallClock::now();
    bench.gateway.groups().advance();
    const auto rekey_time = WallClock::now() - r0;
    const auto gateway_time = rekey_time + bench.pump();
    const auto r1 = WallClock::now();
    status = bench.gateway.groups().status("all");
    std::size_t installed = 0;
    for (auto& c : bench.cpes)
        if (status->next_spi && c.bridge->lifecycle().find(*status->next_spi)) ++installed;
    std::printf(
        "rekey: %zu/%zu members acknowledged, %zu CPEs installed it; all acknowledged after "
        "%.0f ms wall (both sides, one thread); rekey+MPSA_PUT path on the gateway <= %.0f ms\n",
        status->acked_next, n, installed, ms(r1 - r0), ms(gateway_time));
    return status->acked_next == n ? 0 : 1;
}
