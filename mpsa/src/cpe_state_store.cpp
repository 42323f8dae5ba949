#include "mpsa/mpsa/cpe_state_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <utility>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "mpsa/mpsa/keymat.hpp"
#include "mpsa/mpsa/mpsa_put.hpp"

namespace mpsa::mpsa {

namespace {

constexpr std::array<std::uint8_t, 8> kMagic = {'M', 'P', 'S', 'A', 'C', 'P', 'E', '1'};
constexpr std::uint16_t kVersion = 1;
constexpr std::size_t kHeaderSize = 8 + 2 + 8 + 8 + 1 + 4 + 2;
constexpr std::size_t kRecordFixedSize = 4 + 2 + 2 + 2 + 2 + 2 + 2 + 3 * 8 + 1 + 8 + 1;
constexpr std::size_t kChecksumSize = 32;
constexpr std::size_t kMaxFileSize = 1 << 20;

using Sha256 = std::array<std::uint8_t, kChecksumSize>;

Sha256 sha256(ike::ByteView data) {
    Sha256 out{};
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &length, EVP_sha256(), nullptr) != 1)
        out.fill(0);  // a zero checksum never matches real data: the load fails closed
    return out;
}

// Steady time <-> wall-clock nanoseconds since the epoch, through the same "now" pair.
std::int64_t to_wall_ns(TimePoint t, TimePoint steady_now, WallTime wall_now) {
    const auto wall = wall_now.time_since_epoch() +
                      std::chrono::duration_cast<WallTime::duration>(t - steady_now);
    return std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count();
}

// Stored times further than this from "now" are refused: nothing real is, and the arithmetic
// below stays far from overflow.
constexpr std::int64_t kMaxDistanceNs = std::int64_t{100} * 366 * 24 * 3600 * 1'000'000'000;

bool plausible(std::int64_t ns, WallTime wall_now) {
    const std::int64_t now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(wall_now.time_since_epoch()).count();
    return ns >= now_ns - kMaxDistanceNs && ns <= now_ns + kMaxDistanceNs;
}

TimePoint from_wall_ns(std::int64_t ns, TimePoint steady_now, WallTime wall_now) {
    const auto since_now =
        std::chrono::nanoseconds(ns) -
        std::chrono::duration_cast<std::chrono::nanoseconds>(wall_now.time_since_epoch());
    return steady_now + std::chrono::duration_cast<Duration>(since_now);
}

class Writer {
  public:
    explicit Writer(ike::SecretBytes& out) : out_(out) {}
    void u8(std::uint8_t v) { out_.data()[pos_++] = v; }
    void u16(std::uint16_t v) {
        u8(static_cast<std::uint8_t>(v >> 8));
        u8(static_cast<std::uint8_t>(v));
    }
    void u32(std::uint32_t v) {
        u16(static_cast<std::uint16_t>(v >> 16));
        u16(static_cast<std::uint16_t>(v));
    }
    void i64(std::int64_t v) {
        const auto u = static_cast<std::uint64_t>(v);
        u32(static_cast<std::uint32_t>(u >> 32));
        u32(static_cast<std::uint32_t>(u));
    }
    void bytes(ike::ByteView v) {
        if (!v.empty()) std::memcpy(out_.data() + pos_, v.data(), v.size());
        pos_ += v.size();
    }
    [[nodiscard]] std::size_t position() const { return pos_; }

  private:
    ike::SecretBytes& out_;
    std::size_t pos_ = 0;
};

class Reader {
  public:
    explicit Reader(ike::ByteView in) : in_(in) {}
    bool u8(std::uint8_t& v) {
        if (in_.size() - pos_ < 1) return false;
        v = in_[pos_++];
        return true;
    }
    bool u16(std::uint16_t& v) {
        std::uint8_t a = 0;
        std::uint8_t b = 0;
        if (!u8(a) || !u8(b)) return false;
        v = static_cast<std::uint16_t>((a << 8) | b);
        return true;
    }
    bool u32(std::uint32_t& v) {
        std::uint16_t a = 0;
        std::uint16_t b = 0;
        if (!u16(a) || !u16(b)) return false;
        v = (std::uint32_t{a} << 16) | b;
        return true;
    }
    bool i64(std::int64_t& v) {
        std::uint32_t a = 0;
        std::uint32_t b = 0;
        if (!u32(a) || !u32(b)) return false;
        v = static_cast<std::int64_t>((std::uint64_t{a} << 32) | b);
        return true;
    }
    bool bytes(std::size_t n, ike::ByteView& v) {
        if (in_.size() - pos_ < n) return false;
        v = in_.subspan(pos_, n);
        pos_ += n;
        return true;
    }
    [[nodiscard]] bool at_end() const { return pos_ == in_.size(); }

  private:
    ike::ByteView in_;
    std::size_t pos_ = 0;
};

tl::expected<CpeGroupSa, StateError> read_record(Reader& r, TimePoint steady_now, WallTime wall_now,
                                                 SuitePolicy policy) {
    const auto truncated = tl::unexpected(StateError::kTruncated);
    CpeGroupSa sa;
    std::uint16_t encr = 0;
    std::uint16_t key_bits = 0;
    std::uint16_t prf = 0;
    std::uint16_t integ = 0;
    if (!r.u32(sa.spi) || !r.u16(encr) || !r.u16(key_bits) || !r.u16(prf) || !r.u16(integ))
        return truncated;
    const auto encr_id = encr_from_transform_id(encr);
    const auto prf_id = ike::prf_from_transform_id(prf);
    const auto integ_id = integ_from_transform_id(integ);
    if (!encr_id || !prf_id || !integ_id) return tl::unexpected(StateError::kBadSuite);
    sa.suite = EspSuite{*encr_id, key_bits, *prf_id, *integ_id};
    if (!validate_suite(sa.suite, policy)) return tl::unexpected(StateError::kBadSuite);
    if (sa.spi < 256) return tl::unexpected(StateError::kBadSpi);

    std::uint16_t length = 0;
    ike::ByteView nonce;
    ike::ByteView sk_d;
    if (!r.u16(length) || !r.bytes(length, nonce)) return truncated;
    if (nonce.size() < kMinNonceSize || nonce.size() > kMaxNonceSize)
        return tl::unexpected(StateError::kBadNonceSize);
    if (!r.u16(length) || !r.bytes(length, sk_d)) return truncated;
    if (sk_d.size() != ike::prf_key_length(sa.suite.prf))
        return tl::unexpected(StateError::kBadSkdSize);
    sa.nonce.assign(nonce.begin(), nonce.end());
    sa.sk_d = ike::SecretBytes(sk_d);

    std::int64_t received = 0;
    std::int64_t outbound = 0;
    std::int64_t expires = 0;
    std::uint8_t has_removal = 0;
    std::int64_t removal = 0;
    std::uint8_t reauth = 0;
    if (!r.i64(received) || !r.i64(outbound) || !r.i64(expires) || !r.u8(has_removal) ||
        !r.i64(removal) || !r.u8(reauth))
        return truncated;
    // One encoding per state (an absent removal time is 0), so what decodes re-encodes equal.
    if (has_removal > 1 || reauth > 1 || outbound < received || expires <= received ||
        (has_removal == 1 && removal < received) || (has_removal == 0 && removal != 0))
        return tl::unexpected(StateError::kBadTimes);
    for (std::int64_t t : {received, outbound, expires, removal}) {
        if (!plausible(t, wall_now) && !(t == removal && has_removal == 0))
            return tl::unexpected(StateError::kBadTimes);
    }
    sa.received_at = from_wall_ns(received, steady_now, wall_now);
    sa.outbound_at = from_wall_ns(outbound, steady_now, wall_now);
    sa.expires_at = from_wall_ns(expires, steady_now, wall_now);
    if (has_removal == 1) sa.inbound_removal_at = from_wall_ns(removal, steady_now, wall_now);
    sa.reauth_requested = reauth == 1;

    auto keys = derive_group_sa_keys(sa.suite, sa.sk_d.view(), sa.nonce);
    if (!keys) return tl::unexpected(StateError::kKeymatFailed);
    sa.keys = std::move(*keys);
    return sa;
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

tl::unexpected<StateFileError> io_error(const std::filesystem::path& path) {
    return tl::unexpected(StateFileError{StateFileErrorKind::kIo, errno, {}, path});
}

}  // namespace

std::string_view to_string(StateError error) {
    switch (error) {
        case StateError::kTruncated:
            return "truncated";
        case StateError::kBadMagic:
            return "not a CPE group SA state file";
        case StateError::kUnsupportedVersion:
            return "unsupported version";
        case StateError::kChecksumMismatch:
            return "checksum mismatch (corrupted)";
        case StateError::kTrailingData:
            return "trailing data";
        case StateError::kBadSuite:
            return "unknown or disallowed suite";
        case StateError::kBadSpi:
            return "reserved, duplicated or unordered SPI";
        case StateError::kBadNonceSize:
            return "bad nonce size";
        case StateError::kBadSkdSize:
            return "bad SK_d size";
        case StateError::kKeymatFailed:
            return "KEYMAT derivation failed";
        case StateError::kBadOutboundSpi:
            return "outbound SPI not among the SAs";
        case StateError::kBadTimes:
            return "inconsistent times";
    }
    return "unknown";
}

ike::SecretBytes encode_cpe_state(const CpeGroupSaState& state, TimePoint steady_now,
                                  WallTime wall_now) {
    std::size_t size = kHeaderSize + kChecksumSize;
    for (const auto& [spi, sa] : state.sas)
        size += kRecordFixedSize + sa.nonce.size() + sa.sk_d.size();
    // Written in place into a buffer of the final size: no reallocation leaves SK_d behind.
    ike::SecretBytes out(size);
    Writer w(out);
    w.bytes(kMagic);
    w.u16(kVersion);
    w.i64(to_wall_ns(steady_now, steady_now, wall_now));
    w.i64(to_wall_ns(state.evaluated_until, steady_now, wall_now));
    w.u8(state.outbound_spi ? 1 : 0);
    w.u32(state.outbound_spi.value_or(0));
    w.u16(static_cast<std::uint16_t>(state.sas.size()));
    for (const auto& [spi, sa] : state.sas) {
        w.u32(sa.spi);
        w.u16(static_cast<std::uint16_t>(sa.suite.encr));
        w.u16(sa.suite.encr_key_bits);
        w.u16(static_cast<std::uint16_t>(sa.suite.prf));
        w.u16(static_cast<std::uint16_t>(sa.suite.integ));
        w.u16(static_cast<std::uint16_t>(sa.nonce.size()));
        w.bytes(sa.nonce);
        w.u16(static_cast<std::uint16_t>(sa.sk_d.size()));
        w.bytes(sa.sk_d.view());
        w.i64(to_wall_ns(sa.received_at, steady_now, wall_now));
        w.i64(to_wall_ns(sa.outbound_at, steady_now, wall_now));
        w.i64(to_wall_ns(sa.expires_at, steady_now, wall_now));
        w.u8(sa.inbound_removal_at ? 1 : 0);
        w.i64(sa.inbound_removal_at ? to_wall_ns(*sa.inbound_removal_at, steady_now, wall_now) : 0);
        w.u8(sa.reauth_requested ? 1 : 0);
    }
    const Sha256 checksum = sha256(ike::ByteView(out.data(), w.position()));
    w.bytes(checksum);
    return out;
}

tl::expected<CpeGroupSaState, StateError> decode_cpe_state(ike::ByteView encoded,
                                                           TimePoint steady_now, WallTime wall_now,
                                                           SuitePolicy policy) {
    if (encoded.size() < kMagic.size()) return tl::unexpected(StateError::kTruncated);
    if (!std::equal(kMagic.begin(), kMagic.end(), encoded.begin()))
        return tl::unexpected(StateError::kBadMagic);
    if (encoded.size() < kHeaderSize + kChecksumSize) return tl::unexpected(StateError::kTruncated);
    const ike::ByteView body = encoded.first(encoded.size() - kChecksumSize);
    const Sha256 checksum = sha256(body);
    if (!ike::constant_time_equal(checksum, encoded.last(kChecksumSize)))
        return tl::unexpected(StateError::kChecksumMismatch);

    Reader r(body);
    ike::ByteView magic;
    std::uint16_t version = 0;
    std::int64_t saved_at = 0;
    std::int64_t evaluated_until = 0;
    std::uint8_t has_outbound = 0;
    std::uint32_t outbound = 0;
    std::uint16_t count = 0;
    if (!r.bytes(kMagic.size(), magic) || !r.u16(version))
        return tl::unexpected(StateError::kTruncated);
    if (version != kVersion) return tl::unexpected(StateError::kUnsupportedVersion);
    if (!r.i64(saved_at) || !r.i64(evaluated_until) || !r.u8(has_outbound) || !r.u32(outbound) ||
        !r.u16(count))
        return tl::unexpected(StateError::kTruncated);
    if (has_outbound > 1 || (has_outbound == 0 && outbound != 0))
        return tl::unexpected(StateError::kBadOutboundSpi);
    if (evaluated_until > saved_at || !plausible(saved_at, wall_now) ||
        !plausible(evaluated_until, wall_now))
        return tl::unexpected(StateError::kBadTimes);

    CpeGroupSaState state;
    state.evaluated_until = from_wall_ns(evaluated_until, steady_now, wall_now);
    for (std::uint16_t i = 0; i < count; ++i) {
        auto sa = read_record(r, steady_now, wall_now, policy);
        if (!sa) return tl::unexpected(sa.error());
        const std::uint32_t spi = sa->spi;
        // Ascending, as written: also rules out duplicates.
        if (!state.sas.empty() && spi <= state.sas.rbegin()->first)
            return tl::unexpected(StateError::kBadSpi);
        state.sas.emplace(spi, std::move(*sa));
    }
    if (!r.at_end()) return tl::unexpected(StateError::kTrailingData);
    if (has_outbound == 1) {
        if (!state.sas.contains(outbound)) return tl::unexpected(StateError::kBadOutboundSpi);
        state.outbound_spi = outbound;
    }
    return state;
}

std::string describe(const StateFileError& error) {
    std::string text = error.path.string() + ": ";
    switch (error.kind) {
        case StateFileErrorKind::kNotFound:
            return text + "no saved state";
        case StateFileErrorKind::kIo:
            return text + std::strerror(error.error_number);
        case StateFileErrorKind::kBadPermissions:
            return text + "refused: must be a regular file owned by us with mode 0600 or stricter";
        case StateFileErrorKind::kTooLarge:
            return text + "refused: too large";
        case StateFileErrorKind::kBadContents:
            return text + "rejected: " + std::string(to_string(error.contents));
    }
    return text + "unknown error";
}

tl::expected<void, StateFileError> save_cpe_state(const std::filesystem::path& state_dir,
                                                  const CpeGroupSaState& state,
                                                  TimePoint steady_now, WallTime wall_now) {
    const std::filesystem::path final_path = state_dir / kCpeStateFileName;
    const std::filesystem::path temp_path =
        state_dir / (std::string(".") + std::string(kCpeStateFileName) + ".tmp");
    const ike::SecretBytes encoded = encode_cpe_state(state, steady_now, wall_now);

    // O_TRUNC keeps the mode of a leftover file, hence the fchmod.
    Fd fd(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) return io_error(temp_path);
    if (::fchmod(fd.get(), 0600) != 0) return io_error(temp_path);
    std::size_t written = 0;
    while (written < encoded.size()) {
        const ssize_t n = ::write(fd.get(), encoded.data() + written, encoded.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const auto error = io_error(temp_path);
            ::unlink(temp_path.c_str());
            return error;
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
        const auto error = io_error(temp_path);
        ::unlink(temp_path.c_str());
        return error;
    }
    if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
        const auto error = io_error(final_path);
        ::unlink(temp_path.c_str());
        return error;
    }
    // The rename itself is durable only once the directory is synced.
    Fd dir(::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0 || ::fsync(dir.get()) != 0) return io_error(state_dir);
    return {};
}

tl::expected<CpeGroupSaState, StateFileError> load_cpe_state(const std::filesystem::path& state_dir,
                                                             TimePoint steady_now,
                                                             WallTime wall_now,
                                                             SuitePolicy policy) {
    const std::filesystem::path path = state_dir / kCpeStateFileName;
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT)
            return tl::unexpected(StateFileError{StateFileErrorKind::kNotFound, ENOENT, {}, path});
        if (errno == ELOOP)
            return tl::unexpected(StateFileError{StateFileErrorKind::kBadPermissions, 0, {}, path});
        return io_error(path);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return io_error(path);
    if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077) != 0)
        return tl::unexpected(StateFileError{StateFileErrorKind::kBadPermissions, 0, {}, path});
    if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > kMaxFileSize)
        return tl::unexpected(StateFileError{StateFileErrorKind::kTooLarge, 0, {}, path});

    ike::SecretBytes contents(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < contents.size()) {
        const ssize_t n = ::read(fd.get(), contents.data() + got, contents.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return io_error(path);
        if (n == 0) break;  // shrank meanwhile: the decoder reports it truncated
        got += static_cast<std::size_t>(n);
    }
    auto state =
        decode_cpe_state(ike::ByteView(contents.data(), got), steady_now, wall_now, policy);
    if (!state)
        return tl::unexpected(
            StateFileError{StateFileErrorKind::kBadContents, 0, state.error(), path});
    return std::move(*state);
}

}  // namespace mpsa::mpsa
