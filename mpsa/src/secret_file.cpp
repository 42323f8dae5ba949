#include "mpsa/mpsa/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <openssl/evp.h>

namespace mpsa::mpsa {

namespace {

constexpr std::int64_t kMaxDistanceNs = std::int64_t{100} * 366 * 24 * 3600 * 1'000'000'000;

std::int64_t wall_ns(WallTime t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Closes a descriptor on every path out.
class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    [[nodiscard]] int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

  private:
    int fd_;
};

tl::unexpected<SecretFileError> io_error(const std::filesystem::path& path) {
    return tl::unexpected(SecretFileError{SecretFileErrorKind::kIo, errno, path});
}

tl::unexpected<SecretFileError> io_error_unlinking(const std::filesystem::path& path,
                                                   const std::filesystem::path& temp) {
    auto error = io_error(path);
    ::unlink(temp.c_str());
    return error;
}

}  // namespace

std::int64_t to_wall_ns(TimePoint t, TimePoint steady_now, WallTime wall_now) {
    const auto wall = wall_now.time_since_epoch() +
                      std::chrono::duration_cast<WallTime::duration>(t - steady_now);
    return std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count();
}

TimePoint from_wall_ns(std::int64_t ns, TimePoint steady_now, WallTime wall_now) {
    const auto since_now =
        std::chrono::nanoseconds(ns) - std::chrono::nanoseconds(wall_ns(wall_now));
    return steady_now + std::chrono::duration_cast<Duration>(since_now);
}

bool plausible_wall_ns(std::int64_t ns, WallTime wall_now) {
    const std::int64_t now = wall_ns(wall_now);
    return ns >= now - kMaxDistanceNs && ns <= now + kMaxDistanceNs;
}

Sha256Digest sha256(ike::ByteView data) {
    Sha256Digest out{};
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &length, EVP_sha256(), nullptr) != 1)
        out.fill(0);
    return out;
}

void SecretWriter::reserve(std::size_t more) {
    if (buffer_.size() - size_ >= more) return;
    ike::SecretBytes grown(std::max(buffer_.size() * 2, size_ + more));
    if (size_ != 0) std::memcpy(grown.data(), buffer_.data(), size_);
    buffer_ = std::move(grown);  // the old buffer is wiped by SecretBytes
}

void SecretWriter::u8(std::uint8_t v) {
    reserve(1);
    buffer_.data()[size_++] = v;
}

void SecretWriter::u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v));
}

void SecretWriter::u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
}

void SecretWriter::i64(std::int64_t v) {
    const auto u = static_cast<std::uint64_t>(v);
    u32(static_cast<std::uint32_t>(u >> 32));
    u32(static_cast<std::uint32_t>(u));
}

void SecretWriter::bytes(ike::ByteView v) {
    reserve(v.size());
    if (!v.empty()) std::memcpy(buffer_.data() + size_, v.data(), v.size());
    size_ += v.size();
}

std::string describe(const SecretFileError& error) {
    std::string text = error.path.string() + ": ";
    switch (error.kind) {
        case SecretFileErrorKind::kNotFound:
            return text + "no saved state";
        case SecretFileErrorKind::kIo:
            return text + std::strerror(error.error_number);
        case SecretFileErrorKind::kBadPermissions:
            return text + "refused: must be a regular file owned by us with mode 0600 or stricter";
        case SecretFileErrorKind::kTooLarge:
            return text + "refused: too large";
    }
    return text + "unknown error";
}

tl::expected<void, SecretFileError> write_secret_file(const std::filesystem::path& state_dir,
                                                      std::string_view name,
                                                      ike::ByteView contents) {
    const std::filesystem::path final_path = state_dir / std::string(name);
    const std::filesystem::path temp_path = state_dir / ("." + std::string(name) + ".tmp");
    // O_TRUNC keeps the mode of a leftover file, hence the fchmod.
    Fd fd(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) return io_error(temp_path);
    if (::fchmod(fd.get(), 0600) != 0) return io_error_unlinking(temp_path, temp_path);
    std::size_t written = 0;
    while (written < contents.size()) {
        const ssize_t n = ::write(fd.get(), contents.data() + written, contents.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return io_error_unlinking(temp_path, temp_path);
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0)
        return io_error_unlinking(temp_path, temp_path);
    if (::rename(temp_path.c_str(), final_path.c_str()) != 0)
        return io_error_unlinking(final_path, temp_path);
    // The rename itself is durable only once the directory is synced.
    Fd dir(::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0 || ::fsync(dir.get()) != 0) return io_error(state_dir);
    return {};
}

tl::expected<ike::SecretBytes, SecretFileError> read_secret_file(const std::filesystem::path& path,
                                                                 std::size_t max_size) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT)
            return tl::unexpected(SecretFileError{SecretFileErrorKind::kNotFound, ENOENT, path});
        if (errno == ELOOP)
            return tl::unexpected(SecretFileError{SecretFileErrorKind::kBadPermissions, 0, path});
        return io_error(path);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return io_error(path);
    if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077) != 0)
        return tl::unexpected(SecretFileError{SecretFileErrorKind::kBadPermissions, 0, path});
    if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > max_size)
        return tl::unexpected(SecretFileError{SecretFileErrorKind::kTooLarge, 0, path});

    ike::SecretBytes contents(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < contents.size()) {
        const ssize_t n = ::read(fd.get(), contents.data() + got, contents.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return io_error(path);
        if (n == 0) break;  // shrank meanwhile: the caller's decoder reports it truncated
        got += static_cast<std::size_t>(n);
    }
    if (got == contents.size()) return contents;
    return ike::SecretBytes(ike::ByteView(contents.data(), got));
}

}  // namespace mpsa::mpsa
