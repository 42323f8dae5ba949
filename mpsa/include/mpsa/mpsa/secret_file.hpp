// What the CPE's and the gateway's group SA state files share: both hold SK_d, so both are
// written with the same care (mode 0600, temporary file, fsync, rename, directory fsync), read
// only if they are ours and private, serialised without leaving key copies in freed memory, and
// checksummed with SHA-256. Times are stored as wall-clock nanoseconds so they survive a reboot
// (steady clocks restart), converted through one (steady, wall) "now" pair.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/mpsa/clock.hpp"

namespace mpsa::mpsa {

using WallTime = std::chrono::system_clock::time_point;

[[nodiscard]] std::int64_t to_wall_ns(TimePoint t, TimePoint steady_now, WallTime wall_now);
[[nodiscard]] TimePoint from_wall_ns(std::int64_t ns, TimePoint steady_now, WallTime wall_now);
// Stored times further than a century from now are refused: nothing real is, and the arithmetic
// stays far from overflow.
[[nodiscard]] bool plausible_wall_ns(std::int64_t ns, WallTime wall_now);

using Sha256Digest = std::array<std::uint8_t, 32>;
// All zero if the digest cannot be computed: it never matches real data, so a load fails closed.
[[nodiscard]] Sha256Digest sha256(ike::ByteView data);

// Big-endian serialisation into wiped memory: growing reallocates into a new SecretBytes and the
// old one is wiped when it goes, so no partial copy of a key is left behind.
class SecretWriter {
  public:
    explicit SecretWriter(std::size_t capacity_hint = 256) : buffer_(capacity_hint) {}
    void u8(std::uint8_t v);
    void u16(std::uint16_t v);
    void u32(std::uint32_t v);
    void i64(std::int64_t v);
    void bytes(ike::ByteView v);
    [[nodiscard]] ike::ByteView written() const { return {buffer_.data(), size_}; }
    // The serialised bytes, exactly sized.
    [[nodiscard]] ike::SecretBytes finish() const { return ike::SecretBytes(written()); }

  private:
    void reserve(std::size_t more);
    ike::SecretBytes buffer_;
    std::size_t size_ = 0;
};

enum class SecretFileErrorKind {
    kNotFound,        // nothing saved yet
    kIo,              // open/read/write/fsync/rename failed (errno set)
    kBadPermissions,  // not a regular file, a symlink, not ours, or group/other bits set
    kTooLarge,
};

struct SecretFileError {
    SecretFileErrorKind kind = SecretFileErrorKind::kIo;
    int error_number = 0;  // errno for kIo
    std::filesystem::path path;
};
[[nodiscard]] std::string describe(const SecretFileError& error);

// Atomically replaces state_dir/name with `contents` (0600).
[[nodiscard]] tl::expected<void, SecretFileError> write_secret_file(
    const std::filesystem::path& state_dir, std::string_view name, ike::ByteView contents);
// Reads a file written by write_secret_file, refusing one others could have read or written.
[[nodiscard]] tl::expected<ike::SecretBytes, SecretFileError> read_secret_file(
    const std::filesystem::path& path, std::size_t max_size);

}  // namespace mpsa::mpsa
