// mpsactl: the command-line client of mpsad's status API (docs/api.md, docs/operations.md).
// Everything but argument parsing lives here so unit tests drive the same code as the binary:
// where to connect (resolve_target), one HTTP GET over TCP or a unix socket (http_get), and the
// human rendering of each API document (render_human).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "mpsa/daemon/config.hpp"

namespace mpsa::daemon::ctl {

// Exit codes (documented in docs/operations.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;        // HTTP error, bad JSON, unexpected document
inline constexpr int kExitUnreachable = 2;  // no connection or no answer in time
inline constexpr int kExitUsage = 64;       // bad command line (sysexits EX_USAGE)

enum class Command { kStatus, kGroups, kMembers, kPeers, kRoutes, kSas, kMetrics };
inline constexpr Command kCommands[] = {Command::kStatus, Command::kGroups, Command::kMembers,
                                        Command::kPeers,  Command::kRoutes, Command::kSas,
                                        Command::kMetrics};

[[nodiscard]] std::string_view command_name(Command command);
[[nodiscard]] std::optional<Command> parse_command(std::string_view name);
[[nodiscard]] std::string_view api_path(Command command);  // "/v1/groups", "/metrics"

// Where mpsad's API listens.
struct Target {
    std::string host = "127.0.0.1";
    std::uint16_t port = 7979;
    std::string unix_path;  // non-empty: a unix socket
    // "127.0.0.1:7979", "[::1]:7979", "unix:/run/mpsa/api.sock"
    [[nodiscard]] std::string describe() const;
    friend bool operator==(const Target&, const Target&) = default;
};

// "http://HOST:PORT", "http://[IPV6]:PORT", "HOST:PORT", "unix:/PATH" or "/PATH".
[[nodiscard]] tl::expected<Target, std::string> parse_target(std::string_view text);
[[nodiscard]] Target target_from_endpoint(const ApiEndpoint& endpoint);

// Precedence: --api / --socket, then -c CONFIG (its "api" section), then the MPSA_API
// environment variable, then 127.0.0.1:7979.
struct TargetOptions {
    std::string api;                 // --api
    std::string socket;              // --socket
    std::string config_file;         // -c
    std::optional<std::string> env;  // MPSA_API
};
[[nodiscard]] tl::expected<Target, std::string> resolve_target(const TargetOptions& options);

struct HttpResponse {
    int status = 0;
    std::string content_type;
    std::string body;
};
struct FetchError {
    bool unreachable = false;  // true: no connection / no answer (exit 2); false: bad response
    std::string message;
};
// One GET with Connection: close; the whole exchange is bounded by `timeout`.
[[nodiscard]] tl::expected<HttpResponse, FetchError> http_get(const Target& target,
                                                              std::string_view path,
                                                              std::chrono::milliseconds timeout);

// Human output of one API document: `status` as aligned key/value lines, the lists as aligned
// tables with a fixed column order per command ("-" for a missing or null field; a column that
// no row has, e.g. the gateway-only ones on a CPE, is left out). Strings are printed with
// control characters replaced, so a peer-chosen identity cannot drive the terminal.
// Error: the document does not have the expected shape.
[[nodiscard]] tl::expected<std::string, std::string> render_human(Command command,
                                                                  const nlohmann::json& doc);

// The outcome of one mpsactl invocation, for main() and for tests.
struct Outcome {
    int exit_code = kExitOk;
    std::string out;  // stdout
    std::string err;  // stderr
};
// Fetches the command's resource and renders it (json: the API document, pretty-printed;
// metrics are Prometheus text either way).
[[nodiscard]] Outcome run(Command command, const Target& target, bool json,
                          std::chrono::milliseconds timeout);

// "45s", "5m07s", "3h05m", "2d03h": compact, two units at most.
[[nodiscard]] std::string format_duration(std::int64_t seconds);

}  // namespace mpsa::daemon::ctl
