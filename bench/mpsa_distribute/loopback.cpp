// mpsa_distribute_loopback: the gateway and N CPEs (default 10,000) over real UDP sockets on
// 127.0.0.1, each side in its own thread with its own ike::IkeSessions (the CPEs share one
// socket; both sides route by SPI). Once every member has the first group SA, time jumps to the
// group's rekey and the gateway thread measures how long until every member has acknowledged
// the new SA's MPSA_PUT.
//
// Usage: mpsa_distribute_loopback [cpes]
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mpsa/ike/exchange.hpp"
#include "mpsa/ike/exchange_auth.hpp"
#include "mpsa/ike/ike_session.hpp"
#include "mpsa/ike/suite.hpp"
#include "mpsa/mpsa/cpe_ike_bridge.hpp"
#include "mpsa/mpsa/gateway_ike_bridge.hpp"
#include "mpsa/mpsa/vendor_id.hpp"

namespace {

using namespace std::chrono_literals;
namespace ike = mpsa::ike;
namespace mp = mpsa::mpsa;
using WallClock = std::chrono::steady_clock;

// Real time plus a jump the bench makes once (to the group's rekey time), for both layers.
class JumpClock final : public ike::Clock {
  public:
    [[nodiscard]] ike::TimePoint now() const override {
        return WallClock::now() + ike::Duration(offset_.load());
    }
    void jump_to(ike::TimePoint t) { offset_ = (t - WallClock::now()).count(); }

  private:
    std::atomic<ike::Duration::rep> offset_{0};
};

class Random final : public ike::RandomSource {
  public:
    bool fill(std::span<std::uint8_t> out) override { return openssl_.fill(out); }

  private:
    mp::OpenSslRandom openssl_;
};

class NullInstaller final : public ike::ChildSaInstaller {
  public:
    tl::expected<std::uint32_t, ike::InstallError> allocate_spi(const ike::Endpoint&,
                                                                const ike::Endpoint&) override {
        return next_++;
    }
    tl::expected<void, ike::InstallError> install(const ike::ChildSaInstall&) override {
        return {};
    }
    void remove(std::uint32_t, std::uint32_t) override {}

  private:
    std::uint32_t next_ = 0x1000;
};

ike::Identification fqdn(const std::string& name) {
    return {ike::IdType::kFqdn, ike::Bytes(name.begin(), name.end())};
}

ike::IkeSaConfig config(const std::string& id) {
    ike::IkeSaConfig c;
    c.proposals = {ike::parse_suite("aes256-sha256-x25519").value()};
    c.local_id = fqdn(id);
    c.vendor_ids = {mp::mpsa_vendor_id()};
    c.dpd_interval = 0s;  // no liveness traffic across the time jump
    ike::ChildSaConfig child;
    child.proposals = {ike::EspSuite{ike::EncrId::kAesCbc, 256, ike::IntegId::kHmacSha2_256_128}};
    child.local_ts = {ike::ipv4_prefix_selector(0, 0, 0, 0, 0)};
    child.remote_ts = child.local_ts;
    c.child = child;
    return c;
}

ike::SecretBytes psk() {
    static const std::uint8_t key[] = {'b', 'e', 'n', 'c', 'h'};
    return ike::SecretBytes(ike::ByteView(key, sizeof key));
}

struct Socket {
    int fd = -1;
    ike::Endpoint local;
};

Socket open_socket() {
    Socket s;
    s.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s.fd < 0) std::exit(1);
    int size = 64 << 20;
    // Bursts of 10,000 datagrams: a large buffer (FORCE works as root, else capped by rmem_max).
    if (::setsockopt(s.fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
        (void)::setsockopt(s.fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    (void)::setsockopt(s.fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::exit(1);
    socklen_t len = sizeof addr;
    ::getsockname(s.fd, reinterpret_cast<sockaddr*>(&addr), &len);
    s.local = {ike::IpAddress::v4(127, 0, 0, 1), ntohs(addr.sin_port)};
    return s;
}

// Waits up to `wait` for datagrams and hands each to `sink`.
template <class Sink>
void receive_all(const Socket& s, std::chrono::milliseconds wait, Sink&& sink) {
    pollfd p{s.fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return;
    std::uint8_t buffer[65536];
    for (int i = 0; i < 4096; ++i) {
        sockaddr_in from{};
        socklen_t len = sizeof from;
        const ssize_t n =
            ::recvfrom(s.fd, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) return;
        const std::uint32_t a = ntohl(from.sin_addr.s_addr);
        ike::Datagram d;
        d.local = s.local;
        d.remote = {ike::IpAddress::v4(
                        static_cast<std::uint8_t>(a >> 24), static_cast<std::uint8_t>(a >> 16),
                        static_cast<std::uint8_t>(a >> 8), static_cast<std::uint8_t>(a)),
                    ntohs(from.sin_port)};
        d.data.assign(buffer, buffer + n);
        sink(d);
    }
}

std::size_t send_all(const Socket& s, const std::vector<ike::Datagram>& out) {
    std::size_t failed = 0;
    for (const auto& d : out) {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(d.remote.port);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (d.kind != ike::DatagramKind::kIke) continue;
        while (::sendto(s.fd, d.data.data(), d.data.size(), 0, reinterpret_cast<sockaddr*>(&to),
                        sizeof to) < 0) {
            if (errno != EAGAIN && errno != ENOBUFS) {
                ++failed;
                break;
            }
            std::this_thread::yield();
        }
    }
    return failed;
}

std::chrono::milliseconds until(std::optional<ike::TimePoint> t, const JumpClock& clock) {
    if (!t) return 50ms;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*t - clock.now());
    return std::clamp(left, 0ms, 50ms);
}

struct Shared {
    JumpClock clock;
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> cpes_with_group_sa{0};
};

void run_cpes(Shared& shared, const Socket& socket, const ike::Endpoint& gateway, std::size_t n) {
    Random random;
    NullInstaller installer;
    ike::PskAuthenticator auth(psk());
    ike::IkeSessions sessions(shared.clock, random, {}, [](const auto&, const auto&) {
        return std::optional<ike::ResponderSetup>{};
    });
    std::map<ike::SessionId, std::pair<std::unique_ptr<mp::CpeIkeBridge>, mp::AttachedIkeSa>>
        bridges;
    std::size_t started = 0;
    std::size_t with_sa = 0;
    while (!shared.stop) {
        // At most 256 handshakes in progress: setup is not what we measure.
        while (started < n && started - std::min(started, with_sa) < 256) {
            const std::string name = "cpe" + std::to_string(started++);
            auto cfg = config(name);
            cfg.remote_id = fqdn("gw.example");
            auto id = sessions.initiate(cfg, {&shared.clock, &random, &auth, &installer},
                                        socket.local, gateway);
            if (!id) std::exit(1);
            auto bridge = std::make_unique<mp::CpeIkeBridge>(
                shared.clock, mp::CpeBridgeConfig{fqdn("gw.example"), {}, {}});
            const auto attached = bridge->attach(*sessions.find(*id), cfg);
            bridges[*id] = {std::move(bridge), attached};
        }
        receive_all(socket, until(sessions.next_timer(), shared.clock),
                    [&](const ike::Datagram& d) { sessions.receive(d); });
        sessions.on_timer();
        for (auto& e : sessions.take_events()) {
            auto it = bridges.find(e.session);
            if (it == bridges.end()) continue;
            for (const auto& r : it->second.first->on_ike_event(it->second.second, e.event)) {
                if (r.outcome && *r.outcome == mp::PutDisposition::kInstalled &&
                    it->second.first->lifecycle().sas().size() == 1)
                    ++with_sa;
            }
        }
        shared.cpes_with_group_sa = with_sa;
        send_all(socket, sessions.take_outgoing());
    }
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
    Shared shared;
    const Socket gateway_socket = open_socket();
    const Socket cpe_socket = open_socket();
    std::thread cpes([&] { run_cpes(shared, cpe_socket, gateway_socket.local, n); });

    Random random;
    NullInstaller installer;
    ike::PskAuthenticator auth(psk());
    const ike::IkeSaConfig gateway_config = config("gw.example");
    ike::IkeSessions sessions(
        shared.clock, random, ike::CookiePolicy{1'000'000, 2min}, [&](const auto&, const auto&) {
            return std::optional<ike::ResponderSetup>(ike::ResponderSetup{
                gateway_config, ike::IkeSaDeps{&shared.clock, &random, &auth, &installer}});
        });
    mp::GatewayIkeBridge bridge(shared.clock, random);
    mp::GroupConfig group;
    group.name = "all";
    group.member_patterns = {"cpe*"};
    group.lifetime = 600s;
    group.roll1 = 30s;
    group.roll2 = 60s;
    group.rekey_margin = 120s;
    if (!bridge.groups().add_group(group)) return 1;
    std::map<ike::SessionId, mp::AttachedIkeSa> attached;
    std::map<mp::AttachedIkeSa, ike::SessionId> session_of;

    const auto t0 = WallClock::now();
    std::optional<WallClock::time_point> setup_done;
    std::optional<WallClock::time_point> rekey_started;
    std::optional<WallClock::time_point> rekey_done;
    while (!rekey_done && WallClock::now() - t0 < 300s) {
        const auto next = std::min(sessions.next_timer().value_or(ike::TimePoint::max()),
                                   bridge.groups().next_deadline().value_or(ike::TimePoint::max()));
        receive_all(
            gateway_socket,
            until(next == ike::TimePoint::max() ? std::nullopt : std::optional(next), shared.clock),
            [&](const ike::Datagram& d) { sessions.receive(d); });
        sessions.on_timer();
        bridge.groups().advance();
        for (auto& e : sessions.take_events()) {
            auto it = attached.find(e.session);
            if (it == attached.end()) {
                ike::IkeSa* sa = sessions.find(e.session);
                if (sa == nullptr) continue;
                it = attached.emplace(e.session, bridge.attach(*sa, gateway_config)).first;
                session_of[it->second] = e.session;
            }
            bridge.on_ike_event(it->second, e.event);
        }
        for (auto a : bridge.take_driven()) sessions.collect(session_of[a]);
        send_all(gateway_socket, sessions.take_outgoing());

        const auto status = bridge.groups().status("all");
        if (!setup_done && status->acked_current == n && shared.cpes_with_group_sa == n) {
            setup_done = WallClock::now();
            std::printf("setup: %zu IKE SAs over UDP, first group SA acknowledged by all, %.1f s\n",
                        n, std::chrono::duration<double>(*setup_done - t0).count());
            shared.clock.jump_to(*bridge.groups().next_deadline());
            rekey_started = WallClock::now();
            bridge.groups().advance();
            for (auto a : bridge.take_driven()) sessions.collect(session_of[a]);
            send_all(gateway_socket, sessions.take_outgoing());
        }
        if (rekey_started && status->next_spi && status->acked_next == n)
            rekey_done = WallClock::now();
    }
    shared.stop = true;
    cpes.join();
    const auto status = bridge.groups().status("all");
    if (!rekey_done) {
        std::printf("incomplete: members %zu, acked current %zu, acked next %zu\n", status->members,
                    status->acked_current, status->acked_next);
        return 1;
    }
    std::printf(
        "rekey: %zu/%zu members acknowledged the new SA %.0f ms after the rekey started "
        "(puts sent %llu, failed %llu)\n",
        status->acked_next, n,
        std::chrono::duration<double, std::milli>(*rekey_done - *rekey_started).count(),
        static_cast<unsigned long long>(bridge.counters().puts_sent),
        static_cast<unsigned long long>(bridge.counters().puts_failed));
    return 0;
}
