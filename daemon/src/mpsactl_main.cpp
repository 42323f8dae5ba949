// mpsactl: command-line client of mpsad's status API. At this stage only the command line exists.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "mpsa/daemon/version.hpp"

int main(int argc, char** argv) {
    CLI::App app{"mpsactl: show the state of a running mpsad", "mpsactl"};
    app.set_version_flag("-V,--version", std::string("mpsactl ") + mpsa::daemon::kVersion);
    std::string api = "http://127.0.0.1:7979";
    app.add_option("--api", api, "mpsad status API (http://HOST:PORT or unix:PATH)");
    bool json = false;
    app.add_flag("--json", json, "print the raw JSON of the API");
    app.require_subcommand(1);
    for (const char* cmd : {"status", "groups", "peers", "routes", "sas"}) {
        app.add_subcommand(cmd, std::string("show ") + cmd);
    }
    CLI11_PARSE(app, argc, argv);
    std::fprintf(stderr, "mpsactl: the status API is not implemented yet\n");
    return 1;
}
