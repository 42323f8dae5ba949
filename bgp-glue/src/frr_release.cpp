#include "mpsa/bgp_glue/frr_release.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <memory>

namespace mpsa::bgp_glue {
namespace {

// Single-quotes an argument for /bin/sh.
std::string shell_quote(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    return out + "'";
}

}  // namespace

tl::expected<FrrRelease, std::string> parse_show_version(std::string_view output) {
    const std::string_view first_line = output.substr(0, output.find('\n'));
    constexpr std::string_view kProduct = "FRRouting ";
    const std::size_t at = output.find(kProduct);
    if (at == std::string_view::npos) {
        return tl::unexpected("no FRRouting version in vtysh output: '" + std::string(first_line) +
                              "'");
    }
    std::string_view version = output.substr(at + kProduct.size());
    version = version.substr(0, version.find_first_of(" \n"));
    auto release = parse_frr_release(version);
    if (!release) return tl::unexpected(release.error());
    return release;
}

tl::expected<FrrRelease, std::string> detect_frr_release(const VtyshCommand& command) {
    std::string line = shell_quote(command.vtysh);
    if (command.vty_socket_dir) line += " --vty_socket " + shell_quote(*command.vty_socket_dir);
    line += " -c 'show version' 2>&1";
    struct PipeCloser {
        void operator()(FILE* pipe) const { pclose(pipe); }
    };
    FILE* raw = popen(line.c_str(), "r");
    if (raw == nullptr) return tl::unexpected("cannot run " + line);
    std::unique_ptr<FILE, PipeCloser> pipe(raw);
    std::string output;
    std::array<char, 4096> buffer{};
    while (std::size_t size = std::fread(buffer.data(), 1, buffer.size(), pipe.get())) {
        output.append(buffer.data(), size);
    }
    const int status = pclose(pipe.release());
    if (status != 0) {
        return tl::unexpected("'" + line + "' failed (status " + std::to_string(status) +
                              "): " + output.substr(0, output.find('\n')));
    }
    return parse_show_version(output);
}

tl::expected<FrrRelease, std::string> resolve_frr_release(
    const std::optional<std::string>& configured, const VtyshCommand& command) {
    if (configured) return parse_frr_release(*configured);
    return detect_frr_release(command);
}

}  // namespace mpsa::bgp_glue
