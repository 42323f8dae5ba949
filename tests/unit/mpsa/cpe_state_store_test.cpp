// CPE group SA state across a restart: round trip (same SAs, same deadlines, same re-derived
// keys, nothing re-announced), every corruption rejected with its own error, file permissions.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "mpsa/mpsa/cpe_state_store.hpp"
#include "mpsa/mpsa/keymat.hpp"

namespace mpsa::mpsa {
namespace {

using namespace std::chrono_literals;

MpsaPut put(std::uint32_t spi, std::uint8_t fill, std::uint32_t lifetime, std::uint32_t roll1,
            std::uint32_t roll2, EspSuite suite = suites::default_suite()) {
    MpsaPut p;
    p.spi = spi;
    p.suite = suite;
    p.nonce = ike::Bytes(32, fill);
    p.sk_d = ike::SecretBytes(ike::Bytes(ike::prf_key_length(suite.prf), fill ^ 0xffU));
    p.lifetime_s = lifetime;
    p.roll1_s = roll1;
    p.roll2_s = roll2;
    return p;
}

const WallTime kWallNow = WallTime{} + std::chrono::seconds(1'800'000'000);

// A lifecycle in the middle of a rollover: old SA (draft suite) outbound, new one inbound only.
struct MidRollover {
    MidRollover() {
        clock.set(TimePoint{} + 10h);
        EXPECT_TRUE(lifecycle.on_mpsa_put(put(0x1111, 1, 3600, 0, 0, suites::draft_example())));
        clock.advance(3000s);
        EXPECT_TRUE(lifecycle.on_mpsa_put(put(0x2222, 2, 3600, 30, 60)));
        clock.advance(10s);
        (void)lifecycle.advance();
    }
    ManualClock clock;
    CpeGroupSaLifecycle lifecycle{clock, {}};
};

class TempDir {
  public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "mpsa_state_XXXXXX").string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

void expect_same(const CpeGroupSaState& a, const CpeGroupSaState& b) {
    EXPECT_EQ(a.outbound_spi, b.outbound_spi);
    EXPECT_EQ(a.evaluated_until, b.evaluated_until);
    ASSERT_EQ(a.sas.size(), b.sas.size());
    for (const auto& [spi, x] : a.sas) {
        const auto& y = b.sas.at(spi);
        EXPECT_EQ(x.suite, y.suite);
        EXPECT_EQ(x.nonce, y.nonce);
        EXPECT_TRUE(ike::constant_time_equal(x.sk_d.view(), y.sk_d.view()));
        EXPECT_TRUE(
            ike::constant_time_equal(x.keys.encryption_key.view(), y.keys.encryption_key.view()));
        EXPECT_TRUE(
            ike::constant_time_equal(x.keys.integrity_key.view(), y.keys.integrity_key.view()));
        EXPECT_EQ(x.received_at, y.received_at);
        EXPECT_EQ(x.outbound_at, y.outbound_at);
        EXPECT_EQ(x.expires_at, y.expires_at);
        EXPECT_EQ(x.inbound_removal_at, y.inbound_removal_at);
        EXPECT_EQ(x.reauth_requested, y.reauth_requested);
    }
}

TEST(CpeStateStore, RoundTripInMemoryKeepsEverything) {
    MidRollover m;
    const auto state = m.lifecycle.state();
    ASSERT_EQ(state.sas.size(), 2U);
    const auto encoded = encode_cpe_state(state, m.clock.now(), kWallNow);
    const auto decoded = decode_cpe_state(encoded.view(), m.clock.now(), kWallNow);
    ASSERT_TRUE(decoded.has_value()) << to_string(decoded.error());
    expect_same(state, *decoded);
}

TEST(CpeStateStore, RestartedLifecycleAdoptsStateAndCarriesOnTheTimeline) {
    MidRollover m;
    TempDir dir;
    ASSERT_TRUE(save_cpe_state(dir.path(), m.lifecycle.state(), m.clock.now(), kWallNow));
    const auto desired_before = m.lifecycle.desired();

    // The new process: another steady clock origin, 5 s of wall time later.
    ManualClock clock;
    clock.set(TimePoint{} + 77h);
    auto loaded = load_cpe_state(dir.path(), clock.now(), kWallNow + 5s);
    ASSERT_TRUE(loaded.has_value()) << describe(loaded.error());
    CpeGroupSaLifecycle restarted(clock, {});
    restarted.adopt(std::move(*loaded));
    EXPECT_EQ(restarted.desired(), desired_before) << "same SAs as the kernel still holds";
    EXPECT_TRUE(restarted.advance().empty()) << "nothing re-installed";

    // ROLL1 (30 s after the new SA) was 20 s away at save time: 15 s after the restart.
    clock.advance(14s);
    EXPECT_TRUE(restarted.advance().empty());
    clock.advance(1s);
    EXPECT_EQ(restarted.advance(),
              (std::vector<CpeEvent>{{CpeEventKind::kOutboundChanged, 0x2222}}));
    clock.advance(30s);
    EXPECT_EQ(restarted.advance(), (std::vector<CpeEvent>{{CpeEventKind::kRolledOver, 0x1111}}));
}

TEST(CpeStateStore, DeadlinesPassedWhileDownComeOutAtOnce) {
    MidRollover m;
    const auto encoded = encode_cpe_state(m.lifecycle.state(), m.clock.now(), kWallNow);
    ManualClock clock;
    auto decoded = decode_cpe_state(encoded.view(), clock.now(), kWallNow + 120s);
    ASSERT_TRUE(decoded.has_value());
    CpeGroupSaLifecycle restarted(clock, {});
    restarted.adopt(std::move(*decoded));
    EXPECT_EQ(restarted.advance(), (std::vector<CpeEvent>{{CpeEventKind::kOutboundChanged, 0x2222},
                                                          {CpeEventKind::kRolledOver, 0x1111}}));
}

TEST(CpeStateStore, EmptyStateRoundTrips) {
    ManualClock clock;
    CpeGroupSaLifecycle lifecycle(clock, {});
    const auto encoded = encode_cpe_state(lifecycle.state(), clock.now(), kWallNow);
    const auto decoded = decode_cpe_state(encoded.view(), clock.now(), kWallNow);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_TRUE(decoded->sas.empty());
    EXPECT_FALSE(decoded->outbound_spi.has_value());
}

// Written by a Python script from the format description alone (struct.pack + hashlib), the
// same bytes as tests/fuzz/mpsa_put_decoder/state_corpus/mid_rollover.bin: an old SA (draft
// suite) outbound with ROLL2 removal 50 s ahead, a new SA whose outbound switch is 20 s ahead.
TEST(CpeStateStore, IndependentlyWrittenFileDecodes) {
    const ike::Bytes file = ike::from_hex(
        "4d50534143504531000118fae27693b4000018fae27693b400000100001111000200001111000c0100000200"
        "02002001010101010101010101010101010101010101010101010101010101010101010014fefefefefefefe"
        "fefefefefefefefefefefefefe18fadfb9c1b8ec0018fadfb9c1b8ec0018fae2fff2718c000118fae28237ef"
        "74000000002222000c01000005000c0020020202020202020202020202020202020202020202020202020202"
        "02020202020020fdfdfdfdfdfdfdfdfdfdfdfdfdfdfdfdfdfdfdfdfdfdfdfdfdfdfdfdfdfdfdfd18fae2743f"
        "a81c0018fae27b3bcbc80018fae5ba7060bc00000000000000000000001496e07f9cf12d1cd834155c8ee836"
        "0159cd2b19a25eac0ae9e205c82c96092d");
    ASSERT_EQ(file.size(), 281U);
    const TimePoint now = TimePoint{} + 5h;
    const auto state = decode_cpe_state(file, now, kWallNow);
    ASSERT_TRUE(state.has_value()) << to_string(state.error());
    ASSERT_EQ(state->sas.size(), 2U);
    EXPECT_EQ(state->outbound_spi, 0x1111U);
    EXPECT_EQ(state->evaluated_until, now);
    const CpeGroupSa& old_sa = state->sas.at(0x1111);
    EXPECT_EQ(old_sa.suite, suites::draft_example());
    EXPECT_EQ(old_sa.expires_at, now + 590s);
    EXPECT_EQ(old_sa.inbound_removal_at, now + 50s);
    const CpeGroupSa& new_sa = state->sas.at(0x2222);
    EXPECT_EQ(new_sa.suite, suites::default_suite());
    EXPECT_EQ(new_sa.outbound_at, now + 20s);
    EXPECT_FALSE(new_sa.inbound_removal_at.has_value());
    const auto keys =
        derive_group_sa_keys(new_sa.suite, ike::Bytes(32, 0xfd), ike::Bytes(32, 0x02));
    ASSERT_TRUE(keys.has_value());
    EXPECT_TRUE(
        ike::constant_time_equal(keys->encryption_key.view(), new_sa.keys.encryption_key.view()));
    // The encoder writes the same bytes (the save time aside, which is "now" here too).
    const auto again = encode_cpe_state(*state, now, kWallNow);
    EXPECT_TRUE(ike::constant_time_equal(again.view(), file));
}

TEST(CpeStateStore, CorruptionIsRejectedWithItsOwnError) {
    MidRollover m;
    const TimePoint now = m.clock.now();
    const auto encoded = encode_cpe_state(m.lifecycle.state(), now, kWallNow);
    const ike::Bytes good(encoded.data(), encoded.data() + encoded.size());
    const auto decode = [&](const ike::Bytes& b) { return decode_cpe_state(b, now, kWallNow); };

    ike::Bytes flipped = good;
    flipped[60] ^= 0x01;
    EXPECT_EQ(decode(flipped).error(), StateError::kChecksumMismatch);
    ike::Bytes magic = good;
    magic[0] = 'X';
    EXPECT_EQ(decode(magic).error(), StateError::kBadMagic);
    EXPECT_EQ(decode(ike::Bytes(good.begin(), good.begin() + 20)).error(), StateError::kTruncated);
    ike::Bytes cut(good.begin(), good.end() - 40);  // checksum recomputed over a cut record
    EXPECT_EQ(decode(cut).error(), StateError::kChecksumMismatch);

    ike::Bytes version = good;
    version[9] = 2;
    EXPECT_EQ(decode(version).error(), StateError::kChecksumMismatch)
        << "the checksum covers the version too";
}

TEST(CpeStateStore, RecordsThatDoNotMakeSenseAreRejected) {
    ManualClock clock;
    clock.set(TimePoint{} + 1h);
    const auto check = [&](CpeGroupSaState state, StateError expected) {
        const auto encoded = encode_cpe_state(state, clock.now(), kWallNow);
        const auto decoded = decode_cpe_state(encoded.view(), clock.now(), kWallNow);
        ASSERT_FALSE(decoded.has_value());
        EXPECT_EQ(decoded.error(), expected) << to_string(expected);
    };
    CpeGroupSaLifecycle lifecycle(clock, {});
    ASSERT_TRUE(lifecycle.on_mpsa_put(put(0x3333, 3, 600, 0, 0)));
    const CpeGroupSaState good = lifecycle.state();

    auto bad = good;
    bad.sas.begin()->second.sk_d = ike::SecretBytes(ike::Bytes(20, 1));
    check(bad, StateError::kBadSkdSize);
    bad = good;
    bad.sas.begin()->second.nonce = ike::Bytes(8, 1);
    check(bad, StateError::kBadNonceSize);
    bad = good;
    bad.sas.begin()->second.suite = suites::aes_gcm_256();
    check(bad, StateError::kBadSuite);  // AES-GCM not allowed by the default policy
    bad = good;
    bad.outbound_spi = 0x4444;
    check(bad, StateError::kBadOutboundSpi);
    bad = good;
    bad.sas.begin()->second.expires_at = bad.sas.begin()->second.received_at;
    check(bad, StateError::kBadTimes);
    bad = good;
    auto node = bad.sas.extract(bad.sas.begin());
    node.key() = 0x10;
    node.mapped().spi = 0x10;
    bad.sas.insert(std::move(node));
    bad.outbound_spi = 0x10;
    check(bad, StateError::kBadSpi);
}

TEST(CpeStateStore, FileIsWrittenWithMode0600AndReplacedAtomically) {
    MidRollover m;
    TempDir dir;
    const auto file = dir.path() / kCpeStateFileName;
    ASSERT_TRUE(save_cpe_state(dir.path(), m.lifecycle.state(), m.clock.now(), kWallNow));
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600U);
    // A stale temporary with wide permissions does not leak its mode into the new file.
    const auto temp = dir.path() / (std::string(".") + std::string(kCpeStateFileName) + ".tmp");
    { std::ofstream(temp) << "stale"; }
    ::chmod(temp.c_str(), 0644);
    ASSERT_TRUE(save_cpe_state(dir.path(), m.lifecycle.state(), m.clock.now(), kWallNow));
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600U);
    EXPECT_FALSE(std::filesystem::exists(temp)) << "renamed into place";
    EXPECT_TRUE(load_cpe_state(dir.path(), m.clock.now(), kWallNow).has_value());
}

TEST(CpeStateStore, LoadRefusesFilesOthersCanReadAndReportsClearly) {
    MidRollover m;
    TempDir dir;
    const auto file = dir.path() / kCpeStateFileName;
    auto missing = load_cpe_state(dir.path(), m.clock.now(), kWallNow);
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().kind, StateFileErrorKind::kNotFound);

    ASSERT_TRUE(save_cpe_state(dir.path(), m.lifecycle.state(), m.clock.now(), kWallNow));
    ASSERT_EQ(::chmod(file.c_str(), 0640), 0);
    auto readable = load_cpe_state(dir.path(), m.clock.now(), kWallNow);
    ASSERT_FALSE(readable.has_value());
    EXPECT_EQ(readable.error().kind, StateFileErrorKind::kBadPermissions);
    EXPECT_NE(describe(readable.error()).find("0600"), std::string::npos);

    ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
    {
        std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(40);
        f.put('\x5a');
    }
    auto corrupt = load_cpe_state(dir.path(), m.clock.now(), kWallNow);
    ASSERT_FALSE(corrupt.has_value());
    EXPECT_EQ(corrupt.error().kind, StateFileErrorKind::kBadContents);
    EXPECT_EQ(corrupt.error().contents, StateError::kChecksumMismatch);
    EXPECT_NE(describe(corrupt.error()).find("checksum mismatch"), std::string::npos);

    std::filesystem::remove(file);
    std::filesystem::create_symlink("/etc/hostname", file);
    auto link = load_cpe_state(dir.path(), m.clock.now(), kWallNow);
    ASSERT_FALSE(link.has_value());
    EXPECT_EQ(link.error().kind, StateFileErrorKind::kBadPermissions) << "symlinks not followed";
}

}  // namespace
}  // namespace mpsa::mpsa
