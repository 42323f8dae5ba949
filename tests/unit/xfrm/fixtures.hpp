// Small builders for test objects, all owned by mpsa unless stated.
#pragma once

#include <map>
#include <string>

#include <mpsa/xfrm/kernel.hpp>
#include <mpsa/xfrm/objects.hpp>
#include <mpsa/xfrm/ownership.hpp>
#include <mpsa/xfrm/reconciler.hpp>

namespace mpsa::xfrm::test {

inline const std::uint32_t kGroupIfId = ownership::group_if_id(1);

inline std::string hex(std::span<const std::uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (auto b : bytes) {
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
    }
    return out;
}

inline SecretBuffer key_of(std::size_t size, std::uint8_t seed) {
    SecretBuffer key(size);
    for (std::size_t i = 0; i < size; ++i) key.data()[i] = static_cast<std::uint8_t>(seed + i);
    return key;
}

inline Sa group_sa(const std::string& src, const std::string& dst, std::uint32_t spi = 0x1000,
                   std::uint8_t key_seed = 1) {
    Sa sa;
    sa.src = IpAddress::from(src);
    sa.dst = IpAddress::from(dst);
    sa.spi = spi;
    sa.reqid = 7;
    sa.cipher = CipherAlgorithm{"cbc(aes)", key_of(16, key_seed)};
    sa.auth = AuthAlgorithm{"hmac(sha256)", key_of(32, key_seed + 100), 128};
    sa.if_id = kGroupIfId;
    return sa;
}

inline Policy policy(Direction dir, const std::string& src, const std::string& dst,
                     const std::string& tunnel_src, const std::string& tunnel_dst,
                     std::uint32_t if_id = kGroupIfId) {
    Policy p;
    p.dir = dir;
    p.selector.src = Prefix::from(src);
    p.selector.dst = Prefix::from(dst);
    p.if_id = if_id;
    p.priority = 1000;
    Template t;
    t.src = IpAddress::from(tunnel_src);
    t.dst = IpAddress::from(tunnel_dst);
    t.reqid = 7;
    p.templates.push_back(t);
    return p;
}

inline Route route(const std::string& dst, const std::string& dev = "mpsa1",
                   std::uint32_t table = 100) {
    Route r;
    r.dst = Prefix::from(dst);
    r.dev = dev;
    r.table = table;
    return r;
}

inline Rule rule(std::uint32_t priority = ownership::kRulePriorityMin, std::uint32_t table = 100,
                 Family family = Family::kIpv4) {
    Rule r;
    r.family = family;
    r.priority = priority;
    r.table = table;
    return r;
}

// A kernel in memory: applies changes to a State, counts requests, fails on demand.
class FakeKernel final : public Kernel {
  public:
    State state;
    std::size_t dumps = 0;
    std::size_t applied = 0;
    std::vector<Change> log;
    std::map<std::string, int> fail_with;  // describe(object) -> errno for the next change
    std::optional<Error> dump_error;

    tl::expected<State, Error> dump() override {
        ++dumps;
        if (dump_error) return tl::unexpected(*dump_error);
        return state;
    }
    std::vector<std::optional<Error>> apply(std::span<const Change> changes) override {
        std::vector<std::optional<Error>> results;
        for (const auto& change : changes) {
            log.push_back(change);
            auto failure = fail_with.find(describe(change.object));
            if (failure != fail_with.end()) {
                results.push_back(Error{failure->second, "injected"});
                fail_with.erase(failure);
                continue;
            }
            apply_to(state, change);
            ++applied;
            results.push_back(std::nullopt);
        }
        return results;
    }
};

// A timer fired by hand: tests decide when time passes.
class ManualTimer final : public Timer {
  public:
    std::optional<std::function<void()>> pending;
    std::chrono::milliseconds last_delay{0};
    std::size_t starts = 0;
    void start(std::chrono::milliseconds delay, std::function<void()> callback) override {
        ++starts;
        last_delay = delay;
        pending = std::move(callback);
    }
    void cancel() override { pending.reset(); }
    bool fire() {
        if (!pending) return false;
        auto callback = std::move(*pending);
        pending.reset();
        callback();
        return true;
    }
};

}  // namespace mpsa::xfrm::test
