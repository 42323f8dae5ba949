// mpsactl: command-line client of mpsad's status API. The logic lives in mpsactl_*.cpp
// (mpsa/daemon/mpsactl.hpp); this file only parses the command line.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "mpsa/daemon/mpsactl.hpp"
#include "mpsa/daemon/version.hpp"

int main(int argc, char** argv) {
    namespace ctl = mpsa::daemon::ctl;
    CLI::App app{
        "mpsactl: show the state of a running mpsad through its status API.\n"
        "Target: --api or --socket, else the api section of -c CONFIG, else $MPSA_API, else "
        "127.0.0.1:7979.\nExit codes: 0 ok, 1 error answer or bad response, 2 mpsad not "
        "reachable, 64 usage.",
        "mpsactl"};
    app.set_version_flag("-V,--version", std::string("mpsactl ") + mpsa::daemon::kVersion);
    ctl::TargetOptions target_options;
    auto* api = app.add_option("--api", target_options.api,
                               "status API address: http://HOST:PORT, http://[IPV6]:PORT or "
                               "unix:/PATH");
    app.add_option("--socket", target_options.socket, "status API unix socket (absolute path)")
        ->excludes(api);
    app.add_option("-c,--config", target_options.config_file,
                   "read the API address from this mpsad configuration file");
    bool json = false;
    app.add_flag("--json", json, "print the API's JSON document instead of a table");
    double timeout_s = 5.0;
    app.add_option("--timeout", timeout_s, "seconds to wait for mpsad (default 5)")
        ->check(CLI::Range(0.1, 3600.0));
    app.require_subcommand(1, 1);
    // Options are accepted after the command too (`mpsactl routes --json`), as operators type
    // them; subcommands created below inherit this.
    app.fallthrough();
    const char* const descriptions[] = {
        "daemon summary: role, identity, uptime, configuration, counts",
        "groups, their suites, timers and group SAs",
        "group members and their MPSA_PUT state (gateway)",
        "peers: ESP peers (CPE) or IKE peers (gateway)",
        "overlay routes and whether they are encrypted or blocked",
        "IKE, CHILD and group SAs: SPIs, algorithms, lifetimes, counters",
        "Prometheus metrics (text)"};
    std::size_t i = 0;
    for (auto command : ctl::kCommands) {
        app.add_subcommand(std::string(ctl::command_name(command)), descriptions[i++]);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : ctl::kExitUsage;
    }
    if (const char* env = std::getenv("MPSA_API")) target_options.env = env;
    const auto target = ctl::resolve_target(target_options);
    if (!target) {
        std::fprintf(stderr, "mpsactl: %s\n", target.error().c_str());
        return ctl::kExitUsage;
    }
    const auto command = ctl::parse_command(app.get_subcommands().front()->get_name());
    const auto timeout = std::chrono::milliseconds(static_cast<long>(timeout_s * 1000.0));
    const auto outcome = ctl::run(*command, *target, json, timeout);
    std::fputs(outcome.out.c_str(), stdout);
    std::fputs(outcome.err.c_str(), stderr);
    return outcome.exit_code;
}
