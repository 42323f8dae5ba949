#include "mpsa/mpsa/secret_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <unistd.h>
#include <filesystem>
#include <limits>

namespace mpsa::mpsa {
namespace {

using std::chrono::seconds;

TEST(SecretFile, WriterGrowsAcrossReallocationsAndKeepsEveryOctet) {
    SecretWriter w(1);  // forces several reallocations
    ike::Bytes expected;
    for (int i = 0; i < 300; ++i) {
        w.u8(static_cast<std::uint8_t>(i));
        expected.push_back(static_cast<std::uint8_t>(i));
    }
    w.u16(0x0102);
    w.u32(0x03040506);
    w.i64(-2);
    const ike::Bytes tail = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0xff, 0xff,
                             0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xaa};
    w.bytes(ike::ByteView(&tail.back(), 1));  // 0xaa
    expected.insert(expected.end(), tail.begin(), tail.end());
    const auto out = w.finish();
    ASSERT_EQ(out.size(), expected.size());
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), out.data()));
}

TEST(SecretFile, WallClockRoundTripAndPlausibility) {
    const TimePoint steady{seconds(1000)};
    const WallTime wall{seconds(1'800'000'000)};
    const TimePoint t = steady + seconds(3600);
    const auto ns = to_wall_ns(t, steady, wall);
    EXPECT_EQ(ns, (1'800'000'000LL + 3600) * 1'000'000'000LL);
    // After a "reboot": another steady origin, 10 s of wall time later.
    const TimePoint steady2{seconds(5)};
    EXPECT_EQ(from_wall_ns(ns, steady2, wall + seconds(10)), steady2 + seconds(3590));
    EXPECT_TRUE(plausible_wall_ns(ns, wall));
    EXPECT_FALSE(plausible_wall_ns(std::numeric_limits<std::int64_t>::max(), wall));
    EXPECT_FALSE(plausible_wall_ns(std::numeric_limits<std::int64_t>::min(), wall));
}

class SecretFileIo : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("mpsa-secret-file-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::filesystem::path dir_;
};

TEST_F(SecretFileIo, WrittenPrivateAndReadBack) {
    const ike::Bytes data = {1, 2, 3, 4};
    ASSERT_TRUE(write_secret_file(dir_, "s", data));
    struct stat st {};
    ASSERT_EQ(::stat((dir_ / "s").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600U);
    EXPECT_FALSE(std::filesystem::exists(dir_ / ".s.tmp"));
    auto back = read_secret_file(dir_ / "s", 1024);
    ASSERT_TRUE(back) << describe(back.error());
    EXPECT_TRUE(std::equal(data.begin(), data.end(), back->data()));
}

TEST_F(SecretFileIo, MissingTooLargeAndExposedFilesAreRefused) {
    EXPECT_EQ(read_secret_file(dir_ / "none", 1024).error().kind, SecretFileErrorKind::kNotFound);
    ASSERT_TRUE(write_secret_file(dir_, "s", ike::Bytes(100, 7)));
    EXPECT_EQ(read_secret_file(dir_ / "s", 99).error().kind, SecretFileErrorKind::kTooLarge);
    ASSERT_EQ(::chmod((dir_ / "s").c_str(), 0640), 0);
    EXPECT_EQ(read_secret_file(dir_ / "s", 1024).error().kind,
              SecretFileErrorKind::kBadPermissions);
    std::filesystem::create_symlink(dir_ / "s", dir_ / "link");
    EXPECT_EQ(read_secret_file(dir_ / "link", 1024).error().kind,
              SecretFileErrorKind::kBadPermissions);
    EXPECT_EQ(write_secret_file(dir_ / "missing-dir", "s", ike::Bytes(1)).error().kind,
              SecretFileErrorKind::kIo);
}

}  // namespace
}  // namespace mpsa::mpsa
