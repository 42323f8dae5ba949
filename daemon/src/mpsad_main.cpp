// mpsad: the MPSA controller (roles gateway and cpe). Runs in the foreground, logs to stderr.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "mpsa/daemon/daemon_runtime.hpp"
#include "mpsa/daemon/version.hpp"

int main(int argc, char** argv) {
    CLI::App app{"mpsad: IPsec Multi-point SA controller (gateway and CPE roles)", "mpsad"};
    app.set_version_flag("-V,--version", std::string("mpsad ") + mpsa::daemon::kVersion);
    mpsa::daemon::RuntimeOptions options;
    options.config_file = "/etc/mpsa/mpsad.json";
    app.add_option("-c,--config", options.config_file, "configuration file (JSON)");
    bool check_only = false;
    app.add_flag("--check", check_only,
                 "validate the configuration, print every error as <json-pointer>: <reason>");
    app.add_option("--log-level", options.log_level, "trace, debug, info, warn or error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    CLI11_PARSE(app, argc, argv);
    if (check_only) {
        const auto errors = mpsa::daemon::check_config_file(options.config_file);
        for (const auto& e : errors) std::printf("%s\n", e.c_str());
        if (errors.empty()) std::printf("%s: ok\n", options.config_file.c_str());
        return errors.empty() ? 0 : 1;
    }
    return mpsa::daemon::run_daemon(options);
}
