// Which FRR release zebra is: from configuration, or detected with `vtysh -c 'show version'`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "mpsa/bgp_glue/zapi_protocol.hpp"

namespace mpsa::bgp_glue {

// Reads the release from `show version` output ("FRRouting 8.4.4 (host) on Linux(6.1.0).").
// An unsupported or unreadable release is an error that quotes the output's first line.
[[nodiscard]] tl::expected<FrrRelease, std::string> parse_show_version(std::string_view output);

struct VtyshCommand {
    std::string vtysh = "vtysh";
    std::optional<std::string> vty_socket_dir;  // vtysh --vty_socket DIR (namespaced FRR)
};

// Runs vtysh and parses its answer; a failure to run it is an error naming the command.
[[nodiscard]] tl::expected<FrrRelease, std::string> detect_frr_release(
    const VtyshCommand& command = {});

// The configured release if there is one, otherwise the detected one.
[[nodiscard]] tl::expected<FrrRelease, std::string> resolve_frr_release(
    const std::optional<std::string>& configured, const VtyshCommand& command = {});

}  // namespace mpsa::bgp_glue
