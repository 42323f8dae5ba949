// CPE group SA state across daemon restarts (draft 3.3.2 leaves this to the implementation).
//
// A restarted daemon should adopt the SAs the kernel still holds rather than tear them down and
// rebuild them (which would drop traffic). For that it needs, per group SA: SPI, suite, the
// deadlines (outbound switch, ROLL2 removal, Lifetime) and the keys. The file stores Nonce and
// SK_d, not the derived keys: KEYMAT = prf+(SK_d, Nonce) is re-derived on load, so a record that
// does not derive is rejected. Either way the file is key material: mode 0600, owner only,
// written atomically (temporary file, fsync, rename, fsync of the directory). Nothing here logs.
//
// Format (big-endian), version 1:
//   "MPSACPE1" | version u16 | saved wall time i64 ns | evaluated_until i64 ns |
//   has_outbound u8 | outbound SPI u32 | count u16 | count x record | SHA-256 of all before
//   record: SPI u32 | ENCR u16 | key bits u16 | PRF u16 | INTEG u16 | nonce len u16 | nonce |
//           SK_d len u16 | SK_d | received_at, outbound_at, expires_at i64 ns |
//           has_removal u8 | inbound_removal_at i64 ns | reauth_requested u8
// Times are wall-clock (system_clock, ns since the epoch): the steady clock does not survive a
// reboot, and its origin means nothing to another process. They are mapped through "now" on
// both sides, so a deadline that passed while the daemon was down comes out of advance() at once.
#pragma once

#include <chrono>
#include <filesystem>
#include <string_view>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/mpsa/clock.hpp"
#include "mpsa/mpsa/cpe_group_sa.hpp"
#include "mpsa/mpsa/esp_suite.hpp"
#include "mpsa/mpsa/secret_file.hpp"

namespace mpsa::mpsa {

inline constexpr std::string_view kCpeStateFileName = "cpe_group_sas.state";

enum class StateError {
    kTruncated,
    kBadMagic,
    kUnsupportedVersion,
    kChecksumMismatch,  // corrupted (or edited) file
    kTrailingData,
    kBadSuite,  // unknown algorithm, or not allowed by the suite policy
    kBadSpi,    // reserved (< 256), duplicated, or records not in ascending SPI order
    kBadNonceSize,
    kBadSkdSize,
    kKeymatFailed,
    kBadOutboundSpi,  // outbound SPI not among the SAs
    kBadTimes,        // outbound after expiry, removal before receipt, ...
};
[[nodiscard]] std::string_view to_string(StateError error);

// Serialized state; SecretBytes because it holds SK_d.
[[nodiscard]] ike::SecretBytes encode_cpe_state(const CpeGroupSaState& state, TimePoint steady_now,
                                                WallTime wall_now);
[[nodiscard]] tl::expected<CpeGroupSaState, StateError> decode_cpe_state(ike::ByteView encoded,
                                                                         TimePoint steady_now,
                                                                         WallTime wall_now,
                                                                         SuitePolicy policy = {});

enum class StateFileErrorKind {
    kNotFound,        // no state saved: start empty
    kIo,              // open/read/write/fsync/rename failed (errno set)
    kBadPermissions,  // not a regular file, not ours, or readable/writable by group or others
    kTooLarge,
    kBadContents,  // see `contents`
};

struct StateFileError {
    StateFileErrorKind kind = StateFileErrorKind::kIo;
    int error_number = 0;   // errno for kIo
    StateError contents{};  // for kBadContents
    std::filesystem::path path;
};
[[nodiscard]] std::string describe(const StateFileError& error);

// Writes state_dir/kCpeStateFileName atomically with mode 0600 (state_dir must exist).
[[nodiscard]] tl::expected<void, StateFileError> save_cpe_state(
    const std::filesystem::path& state_dir, const CpeGroupSaState& state, TimePoint steady_now,
    WallTime wall_now);
// Reads and checks it; a file others can read is refused rather than trusted or repaired.
[[nodiscard]] tl::expected<CpeGroupSaState, StateFileError> load_cpe_state(
    const std::filesystem::path& state_dir, TimePoint steady_now, WallTime wall_now,
    SuitePolicy policy = {});

}  // namespace mpsa::mpsa
