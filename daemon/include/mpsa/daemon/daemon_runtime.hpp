// mpsad's runtime: one Asio io_context thread running the role, signals (SIGHUP reload,
// SIGTERM/SIGINT shutdown), the status API server and snapshot publication. The pieces that
// hold no I/O (config checks, reload decisions, the runtime part of /v1/status) are free
// functions so they are unit-tested without a daemon.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "mpsa/daemon/config.hpp"
#include "mpsa/daemon/status_server.hpp"

namespace mpsa::daemon {

struct ReloadRecord {
    bool ok = false;
    std::int64_t at = 0;              // unix seconds
    std::vector<std::string> errors;  // "<json-pointer>: <reason>"
};

// The runtime-level fields of /v1/status.
struct RuntimeStatusInfo {
    Role role = Role::kGateway;
    std::string identity;
    std::string version;
    std::int64_t pid = 0;
    std::int64_t uptime_seconds = 0;
    std::string config_file;
    std::uint64_t generation = 1;  // 1 at start, +1 per successful reload
    std::optional<ReloadRecord> last_reload;
};

// Puts the runtime fields over the role's "status" document (creating it if the role has none).
void merge_runtime_status(Snapshot& snapshot, const RuntimeStatusInfo& info);

// "<json-pointer>: <reason>" for each error ("(document)" for the document itself).
[[nodiscard]] std::vector<std::string> error_lines(const std::vector<ConfigError>& errors);

// mpsad --check: every problem of the file, or nothing.
[[nodiscard]] std::vector<std::string> check_config_file(const std::string& path);

// SIGHUP: the new configuration if it is valid and keeps the role, else every reason.
[[nodiscard]] tl::expected<Config, std::vector<std::string>> reload_candidate(
    const std::string& path, const Config& running);

struct RuntimeOptions {
    std::string config_file;
    std::string log_level;  // overrides the config's when not empty
};

// Runs mpsad in the foreground until SIGTERM/SIGINT; the exit status (0 after a clean
// shutdown, 1 when the start failed).
[[nodiscard]] int run_daemon(const RuntimeOptions& options);

}  // namespace mpsa::daemon
