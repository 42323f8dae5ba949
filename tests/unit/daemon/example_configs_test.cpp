// The shipped example configurations (etc/*.json) load, and the systemd unit passes
// `systemd-analyze verify`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mpsa/daemon/config.hpp"

namespace mpsa::daemon {
namespace {

namespace fs = std::filesystem;

const fs::path kEtc = fs::path(MPSA_SOURCE_DIR) / "etc";

TEST(DaemonExampleConfigs, EveryEtcJsonLoads) {
    std::size_t loaded = 0;
    bool gateway = false;
    bool cpe = false;
    for (const auto& entry : fs::directory_iterator(kEtc)) {
        if (entry.path().extension() != ".json") continue;
        const auto config = load_config_file(entry.path().string());
        std::string errors;
        if (!config) {
            for (const auto& e : config.error()) errors += "\n  " + e.to_string();
        }
        ASSERT_TRUE(config) << entry.path() << errors;
        gateway = gateway || config->role == Role::kGateway;
        cpe = cpe || config->role == Role::kCpe;
        ++loaded;
    }
    EXPECT_GE(loaded, 2u);
    EXPECT_TRUE(gateway);
    EXPECT_TRUE(cpe);
}

// The README documents every key the examples use (a renamed key shows up here).
TEST(DaemonExampleConfigs, ReadmeExplainsEveryKey) {
    std::ifstream readme(kEtc / "README.md");
    ASSERT_TRUE(readme);
    std::stringstream text;
    text << readme.rdbuf();
    for (const char* key : {"role",
                            "identity",
                            "credentials",
                            "psk_file",
                            "cert_file",
                            "ike",
                            "listen",
                            "natt_port",
                            "keylog_file",
                            "groups",
                            "members",
                            "suite",
                            "allow_aead",
                            "lifetime_s",
                            "roll1_s",
                            "roll2_s",
                            "rekey_margin_s",
                            "leave_rekey_damping_s",
                            "bgp_child_sa",
                            "gateway",
                            "underlay",
                            "esp_address",
                            "esp_address_v6",
                            "group",
                            "overlay_source_v4",
                            "overlay_source_v6",
                            "static_routes",
                            "frr",
                            "enabled",
                            "release",
                            "zserv_path",
                            "vtysh_path",
                            "api",
                            "timers",
                            "debounce_ms",
                            "resync_s",
                            "dpd_s",
                            "natt_keepalive_s",
                            "state_dir",
                            "log_level"}) {
        // `key` or `groups[].key`
        EXPECT_NE(text.str().find(std::string(key) + "`"), std::string::npos) << key;
    }
}

TEST(DaemonSystemdUnit, VerifiesWithSystemdAnalyze) {
    if (::access("/usr/bin/systemd-analyze", X_OK) != 0 &&
        ::access("/bin/systemd-analyze", X_OK) != 0) {
        GTEST_SKIP() << "systemd-analyze is not installed";
    }
    // verify insists that ExecStart exists: check a copy pointing at the built mpsad.
    std::ifstream unit(kEtc / "systemd" / "mpsad.service");
    ASSERT_TRUE(unit);
    std::stringstream text;
    text << unit.rdbuf();
    std::string content = text.str();
    const std::string installed = "/usr/sbin/mpsad";
    const auto at = content.find("ExecStart=" + installed);
    ASSERT_NE(at, std::string::npos);
    content.replace(at + 10, installed.size(), MPSA_MPSAD_PATH);

    std::string dir_template = "/tmp/mpsa-unit-XXXXXX";
    const fs::path dir = ::mkdtemp(dir_template.data());
    std::ofstream(dir / "mpsad.service") << content;
    const std::string command =
        "systemd-analyze verify --man=no '" + (dir / "mpsad.service").string() + "' 2>&1";
    std::string output;
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::array<char, 512> buf{};
    while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) output += buf.data();
    const int status = ::pclose(pipe);
    fs::remove_all(dir);
    if (output.find("Failed to connect to bus") != std::string::npos ||
        output.find("System has not been booted with systemd") != std::string::npos) {
        GTEST_SKIP() << "systemd-analyze cannot run here: " << output;
    }
    EXPECT_EQ(status, 0) << output;
    // Parse problems are only warnings (exit 0): any output is a failure.
    EXPECT_EQ(output, "");
}

}  // namespace
}  // namespace mpsa::daemon
