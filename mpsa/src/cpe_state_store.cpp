#include "mpsa/mpsa/cpe_state_store.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <utility>

#include "mpsa/mpsa/keymat.hpp"
#include "mpsa/mpsa/mpsa_put.hpp"
#include "mpsa/mpsa/secret_file.hpp"

namespace mpsa::mpsa {

namespace {

constexpr std::array<std::uint8_t, 8> kMagic = {'M', 'P', 'S', 'A', 'C', 'P', 'E', '1'};
constexpr std::uint16_t kVersion = 1;
constexpr std::size_t kHeaderSize = 8 + 2 + 8 + 8 + 1 + 4 + 2;
constexpr std::size_t kRecordFixedSize = 4 + 2 + 2 + 2 + 2 + 2 + 2 + 3 * 8 + 1 + 8 + 1;
constexpr std::size_t kChecksumSize = 32;
constexpr std::size_t kMaxFileSize = 1 << 20;

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
        if (!plausible_wall_ns(t, wall_now) && !(t == removal && has_removal == 0))
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

StateFileError file_error(const SecretFileError& e) {
    StateFileErrorKind kind = StateFileErrorKind::kIo;
    switch (e.kind) {
        case SecretFileErrorKind::kNotFound:
            kind = StateFileErrorKind::kNotFound;
            break;
        case SecretFileErrorKind::kIo:
            kind = StateFileErrorKind::kIo;
            break;
        case SecretFileErrorKind::kBadPermissions:
            kind = StateFileErrorKind::kBadPermissions;
            break;
        case SecretFileErrorKind::kTooLarge:
            kind = StateFileErrorKind::kTooLarge;
            break;
    }
    return StateFileError{kind, e.error_number, {}, e.path};
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
    // Sized up front: the writer never has to grow (and wipe) its buffer.
    SecretWriter w(size);
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
    const Sha256Digest checksum = sha256(w.written());
    w.bytes(checksum);
    return w.finish();
}

tl::expected<CpeGroupSaState, StateError> decode_cpe_state(ike::ByteView encoded,
                                                           TimePoint steady_now, WallTime wall_now,
                                                           SuitePolicy policy) {
    if (encoded.size() < kMagic.size()) return tl::unexpected(StateError::kTruncated);
    if (!std::equal(kMagic.begin(), kMagic.end(), encoded.begin()))
        return tl::unexpected(StateError::kBadMagic);
    if (encoded.size() < kHeaderSize + kChecksumSize) return tl::unexpected(StateError::kTruncated);
    const ike::ByteView body = encoded.first(encoded.size() - kChecksumSize);
    const Sha256Digest checksum = sha256(body);
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
    if (evaluated_until > saved_at || !plausible_wall_ns(saved_at, wall_now) ||
        !plausible_wall_ns(evaluated_until, wall_now))
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
    const ike::SecretBytes encoded = encode_cpe_state(state, steady_now, wall_now);
    auto written = write_secret_file(state_dir, kCpeStateFileName, encoded.view());
    if (!written) return tl::unexpected(file_error(written.error()));
    return {};
}

tl::expected<CpeGroupSaState, StateFileError> load_cpe_state(const std::filesystem::path& state_dir,
                                                             TimePoint steady_now,
                                                             WallTime wall_now,
                                                             SuitePolicy policy) {
    const std::filesystem::path path = state_dir / kCpeStateFileName;
    auto contents = read_secret_file(path, kMaxFileSize);
    if (!contents) return tl::unexpected(file_error(contents.error()));
    auto state = decode_cpe_state(contents->view(), steady_now, wall_now, policy);
    if (!state)
        return tl::unexpected(
            StateFileError{StateFileErrorKind::kBadContents, 0, state.error(), path});
    return std::move(*state);
}

}  // namespace mpsa::mpsa
