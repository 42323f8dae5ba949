// The gateway's group SAs across restarts: a restarted gateway adopts the SAs its members hold
// instead of generating new ones (which would push every member through a rollover).
//
// state_dir/gateway_group_sas.state, format (big-endian), version 1:
//   "MPSAGW01" | version u16 | count u16 | count x group | SHA-256 of everything before
//   group:  name length u16 | name | has_current u8 [record] | has_next u8 [record]
//   record: SPI u32 | ENCR u16 | key bits u16 | PRF u16 | INTEG u16 | nonce length u16 | nonce |
//           SK_d length u16 | SK_d | created_at, expires_at i64 (wall-clock ns) |
//           ROLL1 u32 | ROLL2 u32 (seconds after created_at)
// SK_d makes the file secret: mode 0600, owned by us, written to a temporary file, fsynced and
// renamed (then the directory fsynced); a file others can access is refused on load. The
// contents are checked only for framing and the checksum here; whether an SA is still usable
// is for GatewayGroupManager::adopt_sas to decide. Nothing here logs.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/mpsa/clock.hpp"
#include "mpsa/mpsa/group_manager.hpp"
#include "mpsa/mpsa/secret_file.hpp"

namespace mpsa::daemon {

inline constexpr std::string_view kGatewayStateFileName = "gateway_group_sas.state";
using WallTime = mpsa::WallTime;

[[nodiscard]] ike::SecretBytes encode_gateway_state(const std::vector<mpsa::GroupSaState>& groups,
                                                    mpsa::TimePoint steady_now, WallTime wall_now);
// Errors are short reasons ("checksum mismatch", "truncated", ...), never contents.
[[nodiscard]] tl::expected<std::vector<mpsa::GroupSaState>, std::string> decode_gateway_state(
    ike::ByteView encoded, mpsa::TimePoint steady_now, WallTime wall_now);

struct GatewayStateLoad {
    bool found = false;
    std::vector<mpsa::GroupSaState> groups;
};
[[nodiscard]] tl::expected<void, std::string> save_gateway_state(
    const std::filesystem::path& state_dir, const std::vector<mpsa::GroupSaState>& groups,
    mpsa::TimePoint steady_now, WallTime wall_now);
[[nodiscard]] tl::expected<GatewayStateLoad, std::string> load_gateway_state(
    const std::filesystem::path& state_dir, mpsa::TimePoint steady_now, WallTime wall_now);

}  // namespace mpsa::daemon
