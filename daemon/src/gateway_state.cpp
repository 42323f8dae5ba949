#include "mpsa/daemon/gateway_state.hpp"

#include <array>
#include <cstring>

#include "mpsa/mpsa/secret_file.hpp"

namespace mpsa::daemon {
namespace {

constexpr std::string_view kMagic = "MPSAGW01";
constexpr std::uint16_t kVersion = 1;
constexpr std::size_t kDigest = 32;
constexpr std::size_t kMaxFileSize = 1 << 20;

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

// A u16 length, then the octets.
void write_sized(mpsa::SecretWriter& w, ike::ByteView b) {
    w.u16(static_cast<std::uint16_t>(b.size()));
    w.bytes(b);
}

void write_record(mpsa::SecretWriter& w, const mpsa::GroupSaRecord& r, mpsa::TimePoint steady_now,
                  WallTime wall_now) {
    w.u32(r.spi);
    w.u16(static_cast<std::uint16_t>(r.suite.encr));
    w.u16(r.suite.encr_key_bits);
    w.u16(static_cast<std::uint16_t>(r.suite.prf));
    w.u16(static_cast<std::uint16_t>(r.suite.integ));
    write_sized(w, ike::ByteView(r.nonce.data(), r.nonce.size()));
    write_sized(w, r.sk_d.view());
    w.i64(mpsa::to_wall_ns(r.created_at, steady_now, wall_now));
    w.i64(mpsa::to_wall_ns(r.expires_at, steady_now, wall_now));
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
    for (const std::int64_t t : {created, expires}) {
        if (!mpsa::plausible_wall_ns(t, wall_now)) return tl::make_unexpected("implausible time");
    }
    rec.created_at = mpsa::from_wall_ns(created, steady_now, wall_now);
    rec.expires_at = mpsa::from_wall_ns(expires, steady_now, wall_now);
    return rec;
}

}  // namespace

ike::SecretBytes encode_gateway_state(const std::vector<mpsa::GroupSaState>& groups,
                                      mpsa::TimePoint steady_now, WallTime wall_now) {
    mpsa::SecretWriter w;
    for (char c : kMagic) w.u8(static_cast<std::uint8_t>(c));
    w.u16(kVersion);
    w.u16(static_cast<std::uint16_t>(groups.size()));
    for (const auto& g : groups) {
        write_sized(
            w, ike::ByteView(reinterpret_cast<const std::uint8_t*>(g.name.data()), g.name.size()));
        for (const auto* rec : {g.current ? &*g.current : nullptr, g.next ? &*g.next : nullptr}) {
            w.u8(rec ? 1 : 0);
            if (rec) write_record(w, *rec, steady_now, wall_now);
        }
    }
    const auto digest = mpsa::sha256(w.written());
    w.bytes(digest);
    return w.finish();
}

tl::expected<std::vector<mpsa::GroupSaState>, std::string> decode_gateway_state(
    ike::ByteView encoded, mpsa::TimePoint steady_now, WallTime wall_now) {
    if (encoded.size() < kMagic.size() + 4 + kDigest) return tl::make_unexpected("truncated");
    const auto body = encoded.first(encoded.size() - kDigest);
    const auto digest = mpsa::sha256(body);
    if (!ike::constant_time_equal(digest, encoded.last(kDigest)))
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
    const ike::SecretBytes encoded = encode_gateway_state(groups, steady_now, wall_now);
    auto written = mpsa::write_secret_file(state_dir, kGatewayStateFileName, encoded.view());
    if (!written) return tl::make_unexpected(mpsa::describe(written.error()));
    return {};
}

tl::expected<GatewayStateLoad, std::string> load_gateway_state(
    const std::filesystem::path& state_dir, mpsa::TimePoint steady_now, WallTime wall_now) {
    const auto path = state_dir / kGatewayStateFileName;
    auto contents = mpsa::read_secret_file(path, kMaxFileSize);
    if (!contents) {
        if (contents.error().kind == mpsa::SecretFileErrorKind::kNotFound)
            return GatewayStateLoad{};
        return tl::make_unexpected(mpsa::describe(contents.error()));
    }
    auto groups = decode_gateway_state(contents->view(), steady_now, wall_now);
    if (!groups) return tl::make_unexpected(path.string() + ": " + groups.error());
    return GatewayStateLoad{true, std::move(*groups)};
}

}  // namespace mpsa::daemon
