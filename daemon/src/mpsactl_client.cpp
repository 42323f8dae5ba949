// mpsactl: target resolution and the HTTP/1.1 GET over TCP or a unix socket. cpp-httplib 0.11's
// client cannot connect to AF_UNIX, so one small Asio client serves both transports.
#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <optional>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "mpsa/daemon/mpsactl.hpp"
#include "mpsa/daemon/status_server.hpp"

namespace mpsa::daemon::ctl {

namespace {

constexpr std::size_t kMaxResponseBytes = 64 * 1024 * 1024;

bool is_ipv6(const std::string& host) {
    in6_addr a{};
    return inet_pton(AF_INET6, host.c_str(), &a) == 1;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string hint(const std::error_code& ec, const Target& target) {
    if (ec == asio::error::connection_refused || ec == asio::error::not_found ||
        ec.value() == ENOENT) {
        return " (is mpsad running? `systemctl status mpsad`)";
    }
    if (ec == asio::error::access_denied || ec == asio::error::no_permission) {
        return target.unix_path.empty()
                   ? ""
                   : " (the socket is mode 0660: run as root or as a member of its group)";
    }
    return "";
}

// Parses "HTTP/1.x NNN reason\r\nheaders\r\n\r\nbody".
tl::expected<HttpResponse, FetchError> parse_response(const std::string& raw,
                                                      const std::string& where) {
    const auto bad = [&](const std::string& why) {
        return tl::unexpected(
            FetchError{false, "invalid HTTP response from " + where + ": " + why});
    };
    const auto head_end = raw.find("\r\n\r\n");
    if (head_end == std::string::npos) return bad(raw.empty() ? "empty" : "truncated header");
    const auto line_end = raw.find("\r\n");
    const std::string_view status_line(raw.data(), line_end);
    if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ') {
        return bad("malformed status line");
    }
    HttpResponse response;
    const auto code = status_line.substr(9, 3);
    const auto [ptr, ec] = std::from_chars(code.data(), code.data() + code.size(), response.status);
    if (ec != std::errc() || ptr != code.data() + code.size() || response.status < 100) {
        return bad("malformed status code");
    }
    std::optional<std::size_t> content_length;
    std::size_t pos = line_end + 2;
    while (pos < head_end) {
        const auto eol = raw.find("\r\n", pos);
        const std::string_view line(raw.data() + pos, eol - pos);
        pos = eol + 2;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) return bad("malformed header");
        const auto name = lower(line.substr(0, colon));
        auto value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
            value.remove_prefix(1);
        }
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
            value.remove_suffix(1);
        }
        if (name == "content-type") response.content_type = std::string(value);
        if (name == "transfer-encoding") return bad("unsupported transfer encoding");
        if (name == "content-length") {
            std::size_t n = 0;
            const auto r = std::from_chars(value.data(), value.data() + value.size(), n);
            if (r.ec != std::errc() || r.ptr != value.data() + value.size()) {
                return bad("malformed Content-Length");
            }
            content_length = n;
        }
    }
    response.body = raw.substr(head_end + 4);
    if (content_length) {
        if (response.body.size() < *content_length) return bad("truncated body");
        response.body.resize(*content_length);
    }
    return response;
}

// Connects, sends, reads to EOF; the whole exchange within `timeout`.
template <class Socket, class Endpoints>
tl::expected<std::string, FetchError> exchange(asio::io_context& io, Socket& socket,
                                               const Endpoints& endpoints,
                                               const std::string& request, const Target& target,
                                               std::chrono::milliseconds timeout) {
    std::error_code result = asio::error::would_block;
    bool connected = false;
    std::string raw;
    asio::async_connect(socket, endpoints, [&](std::error_code ec, const auto&) {
        if (ec) {
            result = ec;
            return;
        }
        connected = true;
        asio::async_write(socket, asio::buffer(request), [&](std::error_code wec, std::size_t) {
            if (wec) {
                result = wec;
                return;
            }
            asio::async_read(socket, asio::dynamic_buffer(raw, kMaxResponseBytes),
                             [&](std::error_code rec, std::size_t) { result = rec; });
        });
    });
    io.run_for(timeout);
    const std::string where = target.describe();
    if (result == asio::error::would_block) {
        std::error_code ignored;
        socket.close(ignored);
        io.run();  // let the aborted handlers finish before the captured locals go away
        const std::string after = " after " + std::to_string(timeout.count()) + " ms";
        return tl::unexpected(
            FetchError{true, connected ? "no answer from mpsad at " + where + after
                                       : "cannot reach mpsad at " + where + ": timed out" + after});
    }
    if (result == asio::error::eof) return raw;
    if (!connected) {
        return tl::unexpected(FetchError{true, "cannot reach mpsad at " + where + ": " +
                                                   result.message() + hint(result, target)});
    }
    if (result == asio::error::connection_reset && !raw.empty()) return raw;
    return tl::unexpected(
        FetchError{false, "connection to mpsad at " + where + " failed: " + result.message()});
}

}  // namespace

std::string_view command_name(Command command) {
    switch (command) {
        case Command::kStatus:
            return "status";
        case Command::kGroups:
            return "groups";
        case Command::kMembers:
            return "members";
        case Command::kPeers:
            return "peers";
        case Command::kRoutes:
            return "routes";
        case Command::kSas:
            return "sas";
        case Command::kMetrics:
            return "metrics";
    }
    return "?";
}

std::optional<Command> parse_command(std::string_view name) {
    for (auto c : kCommands) {
        if (command_name(c) == name) return c;
    }
    return std::nullopt;
}

std::string_view api_path(Command command) {
    switch (command) {
        case Command::kStatus:
            return "/v1/status";
        case Command::kGroups:
            return "/v1/groups";
        case Command::kMembers:
            return "/v1/members";
        case Command::kPeers:
            return "/v1/peers";
        case Command::kRoutes:
            return "/v1/routes";
        case Command::kSas:
            return "/v1/sas";
        case Command::kMetrics:
            return "/metrics";
    }
    return "/";
}

std::string Target::describe() const {
    if (!unix_path.empty()) return "unix:" + unix_path;
    if (is_ipv6(host)) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

tl::expected<Target, std::string> parse_target(std::string_view text) {
    const auto bad = [&] {
        return tl::unexpected("bad API address '" + std::string(text) +
                              "': expected http://HOST:PORT, http://[IPV6]:PORT or unix:/PATH");
    };
    Target t;
    if (text.starts_with("unix:")) text.remove_prefix(5);
    if (text.starts_with("/")) {
        t.unix_path = std::string(text);
        return t;
    }
    if (text.starts_with("http://")) text.remove_prefix(7);
    if (text.ends_with("/")) text.remove_suffix(1);
    std::string_view host;
    std::string_view port;
    if (text.starts_with("[")) {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return bad();
        host = text.substr(1, close - 1);
        const auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (!rest.starts_with(":")) return bad();
            port = rest.substr(1);
        }
    } else {
        const auto colon = text.rfind(':');
        host = text.substr(0, colon);
        if (colon != std::string_view::npos) port = text.substr(colon + 1);
    }
    if (host.empty() || host.find_first_of("/?# ") != std::string_view::npos) return bad();
    t.host = std::string(host);
    if (!port.empty()) {
        unsigned value = 0;
        const auto r = std::from_chars(port.data(), port.data() + port.size(), value);
        if (r.ec != std::errc() || r.ptr != port.data() + port.size() || value == 0 ||
            value > 65535) {
            return bad();
        }
        t.port = static_cast<std::uint16_t>(value);
    }
    return t;
}

Target target_from_endpoint(const ApiEndpoint& endpoint) {
    Target t;
    t.host = endpoint.host;
    t.port = endpoint.port;
    t.unix_path = endpoint.unix_path;
    // A daemon listening on a wildcard address is reached on loopback.
    if (t.host == "0.0.0.0") t.host = "127.0.0.1";
    if (t.host == "::") t.host = "::1";
    return t;
}

tl::expected<Target, std::string> resolve_target(const TargetOptions& options) {
    if (!options.api.empty()) return parse_target(options.api);
    if (!options.socket.empty()) {
        if (options.socket.front() != '/') {
            return tl::unexpected("--socket needs an absolute path (got '" + options.socket + "')");
        }
        Target t;
        t.unix_path = options.socket;
        return t;
    }
    if (!options.config_file.empty()) {
        auto config = load_config_file(options.config_file);
        if (!config) {
            std::string msg = options.config_file + ": invalid configuration:";
            for (const auto& e : config.error()) msg += "\n  " + e.to_string();
            return tl::unexpected(msg);
        }
        return target_from_endpoint(config->api);
    }
    if (options.env && !options.env->empty()) {
        auto t = parse_target(*options.env);
        if (!t) return tl::unexpected("MPSA_API: " + t.error());
        return t;
    }
    return Target{};
}

tl::expected<HttpResponse, FetchError> http_get(const Target& target, std::string_view path,
                                                std::chrono::milliseconds timeout) {
    asio::io_context io;
    std::string request = "GET " + std::string(path) + " HTTP/1.1\r\nHost: ";
    request += target.unix_path.empty() ? target.describe() : std::string("localhost");
    request += "\r\nUser-Agent: mpsactl\r\nAccept: */*\r\nConnection: close\r\n\r\n";
    tl::expected<std::string, FetchError> raw;
    if (!target.unix_path.empty()) {
        asio::local::stream_protocol::socket socket(io);
        const std::array endpoints{asio::local::stream_protocol::endpoint(target.unix_path)};
        raw = exchange(io, socket, endpoints, request, target, timeout);
    } else {
        asio::ip::tcp::resolver resolver(io);
        std::error_code ec;
        const auto endpoints = resolver.resolve(target.host, std::to_string(target.port), ec);
        if (ec) {
            return tl::unexpected(FetchError{
                true, "cannot reach mpsad at " + target.describe() + ": " + ec.message()});
        }
        asio::ip::tcp::socket socket(io);
        raw = exchange(io, socket, endpoints, request, target, timeout);
    }
    if (!raw) return tl::unexpected(raw.error());
    return parse_response(*raw, target.describe());
}

Outcome run(Command command, const Target& target, bool json, std::chrono::milliseconds timeout) {
    Outcome outcome;
    const auto fail = [&](int code, std::string message) {
        outcome.exit_code = code;
        outcome.err = "mpsactl: " + message + "\n";
        return outcome;
    };
    const auto response = http_get(target, api_path(command), timeout);
    if (!response) {
        return fail(response.error().unreachable ? kExitUnreachable : kExitError,
                    response.error().message);
    }
    if (response->status >= 400) {
        std::string reason;
        const auto doc = nlohmann::json::parse(response->body, nullptr, false);
        if (doc.is_object() && doc.contains("error") && doc["error"].is_string()) {
            reason = doc["error"].get<std::string>();
        } else {
            reason = std::string(http_reason_phrase(response->status));
        }
        return fail(kExitError,
                    "mpsad answered " + std::to_string(response->status) + ": " + reason);
    }
    if (command == Command::kMetrics) {
        outcome.out = response->body;
        return outcome;
    }
    const auto doc = nlohmann::json::parse(response->body, nullptr, false);
    if (doc.is_discarded()) {
        return fail(kExitError, "mpsad at " + target.describe() + " sent invalid JSON for " +
                                    std::string(api_path(command)));
    }
    if (json) {
        outcome.out = doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        return outcome;
    }
    auto text = render_human(command, doc);
    if (!text) return fail(kExitError, text.error());
    outcome.out = std::move(*text);
    return outcome;
}

}  // namespace mpsa::daemon::ctl
