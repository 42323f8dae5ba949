#include "mpsa/mpsa/cpe_group_sa.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace mpsa::mpsa {
namespace {

using std::chrono::seconds;
using Kind = CpeEventKind;

constexpr std::uint32_t A = 0x1000;
constexpr std::uint32_t B = 0x2000;
constexpr std::uint32_t C = 0x3000;

struct PutArgs {
    std::uint32_t spi;
    std::uint32_t lifetime;
    std::uint32_t roll1;
    std::uint32_t roll2;
};

MpsaPut make_put(const PutArgs& a) {
    MpsaPut put;
    put.spi = a.spi;
    put.suite = suites::default_suite();
    put.nonce = ike::Bytes(32, static_cast<std::uint8_t>(a.spi >> 8));
    put.sk_d = ike::SecretBytes(ike::Bytes(32, static_cast<std::uint8_t>(a.spi >> 4)));
    put.lifetime_s = a.lifetime;
    put.roll1_s = a.roll1;
    put.roll2_s = a.roll2;
    return put;
}

struct Step {
    int at;  // seconds since start
    std::optional<PutArgs> put;
    std::vector<CpeEvent> events;
    std::vector<std::uint32_t> inbound;
    std::optional<std::uint32_t> outbound;
    PutDisposition disposition = PutDisposition::kInstalled;
};

struct Timeline {
    const char* name;
    int reauth_margin;
    std::vector<Step> steps;
};

const std::vector<Timeline>& timelines() {
    static const std::vector<Timeline> table = {
        {"first SA is used at once, ROLL1/ROLL2 ignored",
         30,
         {
             {0,
              PutArgs{A, 100, 10, 20},
              {{Kind::kInstalled, A}, {Kind::kOutboundChanged, A}},
              {A},
              A},
             {15, {}, {}, {A}, A},
             {25, {}, {}, {A}, A},
         }},
        {"rekey: inbound at once, outbound after ROLL1, old inbound gone after ROLL2",
         30,
         {
             {0,
              PutArgs{A, 100, 10, 20},
              {{Kind::kInstalled, A}, {Kind::kOutboundChanged, A}},
              {A},
              A},
             {50, PutArgs{B, 100, 10, 20}, {{Kind::kInstalled, B}}, {A, B}, A},
             {59, {}, {}, {A, B}, A},
             {60, {}, {{Kind::kOutboundChanged, B}}, {A, B}, B},
             {69, {}, {}, {A, B}, B},
             {70, {}, {{Kind::kRolledOver, A}}, {B}, B},
         }},
        {"overlapping rekeys, stepping through",
         30,
         {
             {0,
              PutArgs{A, 100, 10, 20},
              {{Kind::kInstalled, A}, {Kind::kOutboundChanged, A}},
              {A},
              A},
             {50, PutArgs{B, 100, 10, 20}, {{Kind::kInstalled, B}}, {A, B}, A},
             {55, PutArgs{C, 100, 10, 20}, {{Kind::kInstalled, C}}, {A, B, C}, A},
             {60, {}, {{Kind::kOutboundChanged, B}}, {A, B, C}, B},
             {65, {}, {{Kind::kOutboundChanged, C}}, {A, B, C}, C},
             {70, {}, {{Kind::kRolledOver, A}}, {B, C}, C},
             {75, {}, {{Kind::kRolledOver, B}}, {C}, C},
         }},
        {"overlapping rekeys, clock jumps over every deadline: events in time order",
         30,
         {
             {0,
              PutArgs{A, 100, 10, 20},
              {{Kind::kInstalled, A}, {Kind::kOutboundChanged, A}},
              {A},
              A},
             {50, PutArgs{B, 100, 10, 20}, {{Kind::kInstalled, B}}, {A, B}, A},
             {55, PutArgs{C, 100, 10, 20}, {{Kind::kInstalled, C}}, {A, B, C}, A},
             {80,
              {},
              {{Kind::kOutboundChanged, B},
               {Kind::kOutboundChanged, C},
               {Kind::kRolledOver, A},
               {Kind::kRolledOver, B}},
              {C},
              C},
         }},
        {"overlapping rekey with shorter ROLL1 skips the intermediate SA",
         30,
         {
             {0,
              PutArgs{A, 100, 10, 20},
              {{Kind::kInstalled, A}, {Kind::kOutboundChanged, A}},
              {A},
              A},
             {50, PutArgs{B, 100, 30, 40}, {{Kind::kInstalled, B}}, {A, B}, A},
             {52, PutArgs{C, 100, 2, 4}, {{Kind::kInstalled, C}}, {A, B, C}, A},
             {54, {}, {{Kind::kOutboundChanged, C}}, {A, B, C}, C},
             {56, {}, {{Kind::kRolledOver, A}, {Kind::kRolledOver, B}}, {C}, C},
             {90, {}, {}, {C}, C},
         }},
        {"expiry without successor: re-auth requested, then removed both ways",
         30,
         {
             {0,
              PutArgs{A, 100, 10, 20},
              {{Kind::kInstalled, A}, {Kind::kOutboundChanged, A}},
              {A},
              A},
             {69, {}, {}, {A}, A},
             {70, {}, {{Kind::kReauthNeeded, A}}, {A}, A},
             {80, {}, {}, {A}, A},  // asked once only
             {100, {}, {{Kind::kExpired, A}, {Kind::kOutboundChanged, 0}}, {}, std::nullopt},
             {200, {}, {}, {}, std::nullopt},
         }},
        {"expiry with successor: old SA expires before its ROLL2, no re-auth",
         30,
         {
             {0,
              PutArgs{A, 100, 10, 20},
              {{Kind::kInstalled, A}, {Kind::kOutboundChanged, A}},
              {A},
              A},
             {60, PutArgs{B, 100, 35, 50}, {{Kind::kInstalled, B}}, {A, B}, A},
             {95, {}, {{Kind::kOutboundChanged, B}}, {A, B}, B},
             {100, {}, {{Kind::kExpired, A}}, {B}, B},
             {130, {}, {{Kind::kReauthNeeded, B}}, {B}, B},
         }},
        {"expiry of the outbound SA before ROLL1 falls back to the successor",
         5,
         {
             {0,
              PutArgs{A, 100, 10, 20},
              {{Kind::kInstalled, A}, {Kind::kOutboundChanged, A}},
              {A},
              A},
             {90, PutArgs{B, 100, 20, 30}, {{Kind::kInstalled, B}}, {A, B}, A},
             {100, {}, {{Kind::kExpired, A}, {Kind::kOutboundChanged, 0}}, {B}, std::nullopt},
             {110, {}, {{Kind::kOutboundChanged, B}}, {B}, B},
         }},
        {"SA after a gap is used at once",
         30,
         {
             {0,
              PutArgs{A, 50, 10, 20},
              {{Kind::kInstalled, A}, {Kind::kOutboundChanged, A}},
              {A},
              A},
             {60,
              PutArgs{B, 100, 10, 20},
              {{Kind::kReauthNeeded, A},
               {Kind::kExpired, A},
               {Kind::kOutboundChanged, 0},
               {Kind::kInstalled, B},
               {Kind::kOutboundChanged, B}},
              {B},
              B},
         }},
        {"duplicate MPSA_PUT for the same SPI is ignored",
         30,
         {
             {0,
              PutArgs{A, 100, 10, 20},
              {{Kind::kInstalled, A}, {Kind::kOutboundChanged, A}},
              {A},
              A},
             {40, PutArgs{A, 100, 10, 20}, {}, {A}, A, PutDisposition::kDuplicate},
             {100,
              {},
              {{Kind::kReauthNeeded, A}, {Kind::kExpired, A}, {Kind::kOutboundChanged, 0}},
              {},
              std::nullopt},  // lifetime still counted from the first receipt
         }},
        {"older SA received late neither takes over nor removes the newer one",
         30,
         {
             {0,
              PutArgs{B, 200, 10, 20},
              {{Kind::kInstalled, B}, {Kind::kOutboundChanged, B}},
              {B},
              B},
             {1, PutArgs{A, 100, 10, 20}, {{Kind::kInstalled, A}}, {A, B}, B},
             {30, {}, {}, {A, B}, B},
             {101, {}, {{Kind::kExpired, A}}, {B}, B},
         }},
    };
    return table;
}

TEST(MpsaCpeGroupSa, RolloverTimelines) {
    for (const auto& tl : timelines()) {
        SCOPED_TRACE(tl.name);
        ManualClock clock;
        const TimePoint start = clock.now();
        CpeGroupSaLifecycle lifecycle(clock, CpeLifecycleConfig{seconds(tl.reauth_margin)});
        for (const auto& step : tl.steps) {
            SCOPED_TRACE(step.at);
            clock.set(start + seconds(step.at));
            if (step.put) {
                const auto disposition = lifecycle.on_mpsa_put(make_put(*step.put));
                ASSERT_TRUE(disposition.has_value());
                EXPECT_EQ(*disposition, step.disposition);
            }
            const auto events = lifecycle.advance();
            ASSERT_EQ(events.size(), step.events.size());
            for (std::size_t i = 0; i < events.size(); ++i) {
                EXPECT_EQ(events[i].kind, step.events[i].kind) << i;
                EXPECT_EQ(events[i].spi, step.events[i].spi) << i;
            }
            EXPECT_EQ(lifecycle.desired(), (DesiredGroupSas{step.inbound, step.outbound}));
        }
    }
}

TEST(MpsaCpeGroupSa, SameKeysBothDirectionsFromKeymat) {
    ManualClock clock;
    CpeGroupSaLifecycle lifecycle(clock, {});
    const MpsaPut put = make_put({A, 100, 10, 20});
    ASSERT_TRUE(lifecycle.on_mpsa_put(put));
    const CpeGroupSa* sa = lifecycle.find(A);
    ASSERT_NE(sa, nullptr);
    const auto keys = derive_group_sa_keys(put);
    ASSERT_TRUE(keys.has_value());
    EXPECT_TRUE(
        ike::constant_time_equal(sa->keys.encryption_key.view(), keys->encryption_key.view()));
    EXPECT_TRUE(
        ike::constant_time_equal(sa->keys.integrity_key.view(), keys->integrity_key.view()));
    EXPECT_EQ(sa->suite, suites::default_suite());
}

TEST(MpsaCpeGroupSa, BadKeyMaterialIsNotInstalled) {
    ManualClock clock;
    CpeGroupSaLifecycle lifecycle(clock, {});
    MpsaPut put = make_put({A, 100, 10, 20});
    put.sk_d = ike::SecretBytes(ike::Bytes(20, 1));  // wrong size for PRF SHA2-256
    EXPECT_EQ(lifecycle.on_mpsa_put(put).error(), KeymatError::kBadSkdSize);
    EXPECT_TRUE(lifecycle.desired().inbound_spis.empty());
    EXPECT_TRUE(lifecycle.advance().empty());
}

TEST(MpsaCpeGroupSa, NextDeadlineFollowsTheTimeline) {
    ManualClock clock;
    const TimePoint start = clock.now();
    CpeGroupSaLifecycle lifecycle(clock, CpeLifecycleConfig{seconds(30)});
    EXPECT_FALSE(lifecycle.next_deadline().has_value());
    ASSERT_TRUE(lifecycle.on_mpsa_put(make_put({A, 100, 10, 20})));
    EXPECT_EQ(lifecycle.next_deadline(), start + seconds(70));  // re-auth
    clock.set(start + seconds(50));
    ASSERT_TRUE(lifecycle.on_mpsa_put(make_put({B, 100, 10, 20})));
    EXPECT_EQ(lifecycle.next_deadline(), start + seconds(60));  // ROLL1
    clock.set(start + seconds(60));
    (void)lifecycle.advance();
    EXPECT_EQ(lifecycle.next_deadline(), start + seconds(70));  // ROLL2 of A
    clock.set(start + seconds(70));
    (void)lifecycle.advance();
    EXPECT_EQ(lifecycle.next_deadline(), start + seconds(120));  // re-auth for B
}

}  // namespace
}  // namespace mpsa::mpsa
