#include "mpsa/daemon/gateway_state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace mpsa::daemon {
namespace {

constexpr std::string_view kMagic = "MPSAGW01";
constexpr std::uint16_t kVersion = 1;
constexpr std::size_t kDigest = 32;
constexpr std::size_t kMaxFileSize = 1 << 20;
constexpr std::int64_t kMaxDistanceNs = std::int64_t{100} * 366 * 24 * 3600 * 1'000'000'000;

std::array<std::uint8_t, kDigest> sha256(ike::ByteView data) {
    std::array<std::uint8_t, kDigest> out{};
    unsigned length = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &length, EVP_sha256(), nullptr) != 1)
        out.fill(0);  // never matches: a load fails closed
    return out;
}

std::int64_t to_wall_ns(mpsa::TimePoint t, mpsa::TimePoint steady_now, WallTime wall_now) {
    const auto wall = wall_now.time_since_epoch() +
                      std::chrono::duration_cast<WallTime::duration>(t - steady_now);
    return std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count();
}

mpsa::TimePoint from_wall_ns(std::int64_t ns, mpsa::TimePoint steady_now, WallTime wall_now) {
    const auto now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(wall_now.time_since_epoch()).count();
    return steady_now +
           std::chrono::duration_cast<mpsa::Duration>(std::chrono::nanoseconds(ns - now_ns));
}

class Writer {
  public:
    void u8(std::uint8_t v) { out_.push_back(v); }
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
    void bytes(ike::ByteView b) {
        u16(static_cast<std::uint16_t>(b.size()));
        out_.insert(out_.end(), b.begin(), b.end());
    }
    std::vector<std::uint8_t>& data() { return out_; }

  private:
    std::vector<std::uint8_t> out_;
};

class Reader {
  public:
    explicit Reader(ike::ByteView in) : in_(in) {}
    bool ok() const { return ok_; }
    bool at_end() const { return pos_ == in_.size(); }
    std::uint8_t u8() {
        if (pos_ >= in_.size()) {
            ok_ = false;
            return 0;
        }
        return in_[pos_++];
    }
    std::uint16_t u16() {
        const std::uint16_t hi = u8();
        return static_cast<std::uint16_t>((hi << 8) | u8());
    }
    std::uint32_t u32() {
        const std::uint32_t hi = u16();
        return (hi << 16) | u16();
    }
    std::int64_t i64() {
        const std::uint64_t hi = u32();
        return static_cast<std::int64_t>((hi << 32) | u32());
    }
    ike::ByteView bytes() {
        const std::size_t n = u16();
        if (!ok_ || in_.size() - pos_ < n) {
            ok_ = false;
            return {};
        }
        const ike::ByteView out = in_.subspan(pos_, n);
        pos_ += n;
        return out;
    }

  private:
    ike::ByteView in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

void write_record(Writer& w, const mpsa::GroupSaRecord& r, mpsa::TimePoint steady_now,
                  WallTime wall_now) {
    w.u32(r.spi);
    w.u16(static_cast<std::uint16_t>(r.suite.encr));
    w.u16(r.suite.encr_key_bits);
    w.u16(static_cast<std::uint16_t>(r.suite.prf));
    w.u16(static_cast<std::uint16_t>(r.suite.integ));
    w.bytes(ike::ByteView(r.nonce.data(), r.nonce.size()));
    w.bytes(r.sk_d.view());
    w.i64(to_wall_ns(r.created_at, steady_now, wall_now));
    w.i64(to_wall_ns(r.expires_at, steady_now, wall_now));
    w.u32(static_cast<std::uint32_t>(r.roll1.count()));
    w.u32(static_cast<std::uint32_t>(r.roll2.count()));
}

tl::expected<mpsa::GroupSaRecord, std::string> read_record(Reader& r, mpsa::TimePoint steady_now,
                                                           WallTime wall_now) {
    mpsa::GroupSaRecord rec;
    rec.spi = r.u32();
    const auto encr = r.u16();
    rec.suite.encr_key_bits = r.u16();
    const auto prf = r.u16();
    const auto integ = r.u16();
    auto enc = mpsa::encr_from_transform_id(encr);
    auto integ_id = mpsa::integ_from_transform_id(integ);
    if (!enc || (!integ_id && integ != 0)) return tl::make_unexpected("unknown algorithm");
    rec.suite.encr = *enc;
    rec.suite.integ = integ_id.value_or(mpsa::IntegId::kNone);
    rec.suite.prf = static_cast<ike::PrfId>(prf);
    const auto nonce = r.bytes();
    rec.nonce.assign(nonce.begin(), nonce.end());
    rec.sk_d = ike::SecretBytes(r.bytes());
    const std::int64_t created = r.i64();
    const std::int64_t expires = r.i64();
    rec.roll1 = std::chrono::seconds(r.u32());
    rec.roll2 = std::chrono::seconds(r.u32());
    if (!r.ok()) return tl::make_unexpected("truncated");
    const auto now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(wall_now.time_since_epoch()).count();
    for (const std::int64_t t : {created, expires}) {
        if (t < now_ns - kMaxDistanceNs || t > now_ns + kMaxDistanceNs)
            return tl::make_unexpected("implausible time");
    }
    rec.created_at = from_wall_ns(created, steady_now, wall_now);
    rec.expires_at = from_wall_ns(expires, steady_now, wall_now);
    return rec;
}

struct Fd {
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int release() { return std::exchange(fd, -1); }
    int fd;
};

std::string io_error(const std::filesystem::path& path, const char* what) {
    return path.string() + ": " + what + ": " + std::strerror(errno);
}

}  // namespace

ike::SecretBytes encode_gateway_state(const std::vector<mpsa::GroupSaState>& groups,
                                      mpsa::TimePoint steady_now, WallTime wall_now) {
    Writer w;
    for (char c : kMagic) w.u8(static_cast<std::uint8_t>(c));
    w.u16(kVersion);
    w.u16(static_cast<std::uint16_t>(groups.size()));
    for (const auto& g : groups) {
        w.bytes(ike::ByteView(reinterpret_cast<const std::uint8_t*>(g.name.data()), g.name.size()));
        for (const auto* rec : {g.current ? &*g.current : nullptr, g.next ? &*g.next : nullptr}) {
            w.u8(rec ? 1 : 0);
            if (rec) write_record(w, *rec, steady_now, wall_now);
        }
    }
    const auto digest = sha256(ike::ByteView(w.data().data(), w.data().size()));
    w.data().insert(w.data().end(), digest.begin(), digest.end());
    ike::SecretBytes out(ike::ByteView(w.data().data(), w.data().size()));
    OPENSSL_cleanse(w.data().data(), w.data().size());
    return out;
}

tl::expected<std::vector<mpsa::GroupSaState>, std::string> decode_gateway_state(
    ike::ByteView encoded, mpsa::TimePoint steady_now, WallTime wall_now) {
    if (encoded.size() < kMagic.size() + 4 + kDigest) return tl::make_unexpected("truncated");
    const auto body = encoded.first(encoded.size() - kDigest);
    const auto digest = sha256(body);
    if (CRYPTO_memcmp(digest.data(), encoded.data() + body.size(), kDigest) != 0)
        return tl::make_unexpected("checksum mismatch");
    if (std::memcmp(body.data(), kMagic.data(), kMagic.size()) != 0)
        return tl::make_unexpected("not a gateway state file");
    Reader r(body.subspan(kMagic.size()));
    if (r.u16() != kVersion) return tl::make_unexpected("unsupported version");
    const std::size_t count = r.u16();
    std::vector<mpsa::GroupSaState> out;
    for (std::size_t i = 0; i < count && r.ok(); ++i) {
        mpsa::GroupSaState g;
        const auto name = r.bytes();
        g.name.assign(name.begin(), name.end());
        for (auto* slot : {&g.current, &g.next}) {
            const auto present = r.u8();
            if (present > 1) return tl::make_unexpected("malformed");
            if (present == 0) continue;
            auto rec = read_record(r, steady_now, wall_now);
            if (!rec) return tl::make_unexpected(rec.error());
            *slot = std::move(*rec);
        }
        out.push_back(std::move(g));
    }
    if (!r.ok()) return tl::make_unexpected("truncated");
    if (!r.at_end()) return tl::make_unexpected("trailing data");
    return out;
}

tl::expected<void, std::string> save_gateway_state(const std::filesystem::path& state_dir,
                                                   const std::vector<mpsa::GroupSaState>& groups,
                                                   mpsa::TimePoint steady_now, WallTime wall_now) {
    const auto final_path = state_dir / kGatewayStateFileName;
    const auto temp_path = state_dir / ("." + std::string(kGatewayStateFileName) + ".tmp");
    const ike::SecretBytes encoded = encode_gateway_state(groups, steady_now, wall_now);
    Fd fd(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.fd < 0) return tl::make_unexpected(io_error(temp_path, "open"));
    if (::fchmod(fd.fd, 0600) != 0) return tl::make_unexpected(io_error(temp_path, "chmod"));
    std::size_t written = 0;
    while (written < encoded.size()) {
        const ssize_t n = ::write(fd.fd, encoded.data() + written, encoded.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            auto error = io_error(temp_path, "write");
            ::unlink(temp_path.c_str());
            return tl::make_unexpected(error);
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.fd) != 0 || ::close(fd.release()) != 0) {
        auto error = io_error(temp_path, "fsync");
        ::unlink(temp_path.c_str());
        return tl::make_unexpected(error);
    }
    if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
        auto error = io_error(final_path, "rename");
        ::unlink(temp_path.c_str());
        return tl::make_unexpected(error);
    }
    Fd dir(::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.fd < 0 || ::fsync(dir.fd) != 0)
        return tl::make_unexpected(io_error(state_dir, "fsync"));
    return {};
}

tl::expected<GatewayStateLoad, std::string> load_gateway_state(
    const std::filesystem::path& state_dir, mpsa::TimePoint steady_now, WallTime wall_now) {
    const auto path = state_dir / kGatewayStateFileName;
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.fd < 0) {
        if (errno == ENOENT) return GatewayStateLoad{};
        return tl::make_unexpected(io_error(path, "open"));
    }
    struct stat st {};
    if (::fstat(fd.fd, &st) != 0) return tl::make_unexpected(io_error(path, "stat"));
    if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077) != 0) {
        return tl::make_unexpected(path.string() +
                                   ": refused: must be a regular file owned by us, mode 0600");
    }
    if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > kMaxFileSize)
        return tl::make_unexpected(path.string() + ": refused: too large");
    ike::SecretBytes contents(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < contents.size()) {
        const ssize_t n = ::read(fd.fd, contents.data() + got, contents.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return tl::make_unexpected(io_error(path, "read"));
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    auto groups = decode_gateway_state(ike::ByteView(contents.data(), got), steady_now, wall_now);
    if (!groups) return tl::make_unexpected(path.string() + ": " + groups.error());
    return GatewayStateLoad{true, std::move(*groups)};
}

}  // namespace mpsa::daemon
