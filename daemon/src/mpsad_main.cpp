// mpsad: the MPSA controller (roles gateway and cpe). At this stage only the command line exists.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "mpsa/daemon/version.hpp"

int main(int argc, char** argv) {
    CLI::App app{"mpsad: IPsec Multi-point SA controller (gateway and CPE roles)", "mpsad"};
    app.set_version_flag("-V,--version", std::string("mpsad ") + mpsa::daemon::kVersion);
    std::string config = "/etc/mpsa/mpsad.json";
    app.add_option("-c,--config", config, "configuration file (JSON)");
    bool check_only = false;
    app.add_flag("--check", check_only, "validate the configuration and exit");
    CLI11_PARSE(app, argc, argv);
    std::fprintf(stderr, "mpsad: the controller is not implemented yet (config %s)\n",
                 config.c_str());
    return 1;
}
