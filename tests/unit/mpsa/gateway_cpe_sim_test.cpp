// Gateway group manager and CPE lifecycles wired together through the real MPSA_PUT codec (no
// IKE): at every second, every CPE's outbound SA must be one every other CPE can receive.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>

#include "mpsa/mpsa/cpe_group_sa.hpp"
#include "mpsa/mpsa/group_manager.hpp"

namespace mpsa::mpsa {
namespace {

using std::chrono::seconds;

class CountingRandom final : public RandomSource {
  public:
    bool fill(std::span<std::uint8_t> out) override {
        for (auto& b : out) b = next++;
        return true;
    }
    std::uint8_t next = 7;
};

struct Wire {
    IkeSaId ike_sa;
    RequestHandle handle;
    ike::SecretBytes payload;
};

// Queues encoded MPSA_PUT payloads; the test delivers them after a per-CPE delay.
class QueueSender final : public MpsaPutSender {
  public:
    std::optional<RequestHandle> send_mpsa_put(IkeSaId ike_sa, const MpsaPut& put) override {
        auto payload = encode_mpsa_put_payload(put, 0);
        EXPECT_TRUE(payload.has_value());
        if (!payload) return std::nullopt;
        queue.push_back({ike_sa, next_handle, std::move(*payload)});
        return next_handle++;
    }
    std::deque<Wire> queue;
    RequestHandle next_handle = 1;
};

struct Cpe {
    explicit Cpe(const Clock& clock) : lifecycle(clock, CpeLifecycleConfig{seconds(30)}) {}
    CpeGroupSaLifecycle lifecycle;
    bool connected = false;  // IKE SA up and at least one MPSA_PUT received since
    int reauth_requests = 0;
};

TEST(MpsaGatewayCpeSimulation, NoCpeEverSendsOnAnSaAPeerCannotReceive) {
    ManualClock clock;
    const TimePoint start = clock.now();
    CountingRandom random;
    QueueSender sender;
    GatewayGroupManager gateway(clock, random, sender);
    GroupConfig config;
    config.name = "g";
    config.member_patterns = {"cpe-*"};
    config.lifetime = seconds(600);
    config.roll1 = seconds(10);
    config.roll2 = seconds(20);
    config.rekey_margin = seconds(60);
    config.min_rekey_interval = seconds(30);
    ASSERT_TRUE(gateway.add_group(config));

    std::map<IkeSaId, std::unique_ptr<Cpe>> cpes;
    for (IkeSaId id = 1; id <= 3; ++id) cpes[id] = std::make_unique<Cpe>(clock);
    const auto connect = [&](IkeSaId id) {
        gateway.on_ike_sa_up(id, "cpe-" + std::to_string(id), true);
    };
    connect(1);
    connect(2);

    struct Pending {
        int at;
        IkeSaId cpe;
        Wire wire;
    };
    std::deque<Pending> pending;
    std::size_t delivered = 0;
    for (int t = 0; t <= 2000; ++t) {
        clock.set(start + seconds(t));
        gateway.advance();
        if (t == 100) connect(3);                 // late joiner
        if (t == 700) gateway.on_ike_sa_down(2);  // leave: damped rekey
        if (t == 705) connect(2);                 // back again: old SAs from before
        if (t == 1200) gateway.on_ike_sa_rekeyed(1, 11);
        // Deliver with a different delay per CPE (2, 4, 6 s), so CPEs learn of a new SA at
        // different times and only ROLL1/ROLL2 keep them consistent.
        for (auto& w : std::exchange(sender.queue, {})) {
            const IkeSaId cpe_id = w.ike_sa == 11 ? 1 : w.ike_sa;
            pending.push_back({t + 2 * static_cast<int>(cpe_id), cpe_id, std::move(w)});
        }
        std::deque<Pending> due;
        for (auto it = pending.begin(); it != pending.end();) {
            if (it->at <= t) {
                due.push_back(std::move(*it));
                it = pending.erase(it);
            } else {
                ++it;
            }
        }
        for (auto& [at, cpe_id, w] : due) {
            auto decoded = decode_mpsa_put_payload(w.payload.view());
            ASSERT_TRUE(decoded.has_value()) << to_string(decoded.error());
            ASSERT_TRUE(cpes[cpe_id]->lifecycle.on_mpsa_put(decoded->put));
            cpes[cpe_id]->connected = true;
            gateway.on_put_acked(w.handle);
            ++delivered;
        }
        for (auto& [id, cpe] : cpes) {
            for (const auto& e : cpe->lifecycle.advance())
                if (e.kind == CpeEventKind::kReauthNeeded) ++cpe->reauth_requests;
        }
        // The invariant: every connected CPE sends on an SA that every connected CPE has
        // inbound, and always has one to send on.
        for (const auto& [id, sender_cpe] : cpes) {
            if (!sender_cpe->connected) continue;
            const auto out = sender_cpe->lifecycle.desired().outbound_spi;
            ASSERT_TRUE(out.has_value()) << "CPE " << id << " has no outbound SA at t=" << t;
            for (const auto& [peer_id, peer] : cpes) {
                if (!peer->connected) continue;
                const auto in = peer->lifecycle.desired().inbound_spis;
                ASSERT_NE(std::find(in.begin(), in.end(), *out), in.end())
                    << "t=" << t << ": CPE " << id << " sends SPI " << *out << ", CPE " << peer_id
                    << " cannot receive it";
            }
        }
    }
    const auto status = gateway.status("g");
    EXPECT_GE(status->rekeys, 4U);  // lifetime rekeys plus the leave
    EXPECT_EQ(status->failed_deliveries, 0U);
    EXPECT_GT(delivered, 10U);
    for (const auto& [id, cpe] : cpes) EXPECT_EQ(cpe->reauth_requests, 0) << id;
}

}  // namespace
}  // namespace mpsa::mpsa
