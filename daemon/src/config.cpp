#include "mpsa/daemon/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace mpsa::daemon {
namespace {

using nlohmann::json;

// Walks a JSON object, collecting errors with their JSON pointer and remembering which keys were
// read so unknown keys (typos) are reported instead of silently ignored.
class Reader {
  public:
    Reader(const json& node, std::string path, std::vector<ConfigError>& errors)
        : node_(node), path_(std::move(path)), errors_(errors) {}

    [[nodiscard]] bool is_object() const { return node_.is_object(); }
    [[nodiscard]] std::string child_path(std::string_view key) const {
        return path_ + "/" + std::string(key);
    }
    void error(std::string_view key, std::string reason) {
        errors_.push_back({key.empty() ? path_ : child_path(key), std::move(reason)});
    }
    [[nodiscard]] bool has(std::string_view key) const {
        return node_.is_object() && node_.contains(std::string(key));
    }
    const json* get(std::string_view key) {
        known_.insert(std::string(key));
        if (!has(key)) return nullptr;
        return &node_.at(std::string(key));
    }

    void string(std::string_view key, std::string& out, bool required = false) {
        const json* v = get(key);
        if (!v) {
            if (required) error(key, "is required");
            return;
        }
        if (!v->is_string()) return error(key, "must be a string");
        out = v->get<std::string>();
        if (required && out.empty()) error(key, "must not be empty");
    }

    template <class Int>
    void integer(std::string_view key, Int& out, std::int64_t min, std::int64_t max) {
        const json* v = get(key);
        if (!v) return;
        if (!v->is_number_integer()) return error(key, "must be an integer");
        const auto value = v->get<std::int64_t>();
        if (value < min || value > max) {
            return error(key,
                         "must be between " + std::to_string(min) + " and " + std::to_string(max));
        }
        out = static_cast<Int>(value);
    }

    template <class Duration>
    void duration(std::string_view key, Duration& out, std::int64_t min, std::int64_t max) {
        std::int64_t count = out.count();
        integer(key, count, min, max);
        out = Duration(count);
    }

    void boolean(std::string_view key, bool& out) {
        const json* v = get(key);
        if (!v) return;
        if (!v->is_boolean()) return error(key, "must be true or false");
        out = v->get<bool>();
    }

    void strings(std::string_view key, std::vector<std::string>& out, bool non_empty) {
        const json* v = get(key);
        if (!v) {
            if (non_empty) error(key, "is required");
            return;
        }
        if (!v->is_array()) return error(key, "must be an array of strings");
        out.clear();
        for (std::size_t i = 0; i < v->size(); ++i) {
            if (!(*v)[i].is_string() || (*v)[i].get<std::string>().empty()) {
                errors_.push_back(
                    {child_path(key) + "/" + std::to_string(i), "must be a non-empty string"});
                continue;
            }
            out.push_back((*v)[i].get<std::string>());
        }
        if (non_empty && out.empty()) error(key, "must not be empty");
    }

    // Sub-object reader; nullopt (and an error) if present but not an object.
    std::optional<Reader> object(std::string_view key) {
        const json* v = get(key);
        if (!v) return std::nullopt;
        if (!v->is_object()) {
            error(key, "must be an object");
            return std::nullopt;
        }
        return Reader(*v, child_path(key), errors_);
    }

    void reject_unknown() {
        if (!node_.is_object()) return;
        for (const auto& [key, value] : node_.items()) {
            if (!known_.contains(key)) error(key, "unknown key");
        }
    }

  private:
    const json& node_;
    std::string path_;
    std::vector<ConfigError>& errors_;
    std::set<std::string> known_;
};

bool is_ip_address(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool is_ipv4(const std::string& s) {
    unsigned char buf[4];
    return inet_pton(AF_INET, s.c_str(), buf) == 1;
}

bool is_ipv6(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// "ADDR/LEN" with the host bits zero; returns the reason on failure.
std::optional<std::string> cidr_problem(const std::string& s) {
    const auto slash = s.find('/');
    if (slash == std::string::npos) return "must be ADDRESS/LENGTH";
    const std::string addr = s.substr(0, slash);
    const std::string len_text = s.substr(slash + 1);
    unsigned char bytes[16] = {};
    int max_len = 0;
    if (inet_pton(AF_INET, addr.c_str(), bytes) == 1) {
        max_len = 32;
    } else if (inet_pton(AF_INET6, addr.c_str(), bytes) == 1) {
        max_len = 128;
    } else {
        return "'" + addr + "' is not an IP address";
    }
    if (len_text.empty() || len_text.size() > 3 ||
        !std::all_of(len_text.begin(), len_text.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
        return "prefix length must be a number";
    }
    const int len = std::stoi(len_text);
    if (len > max_len) return "prefix length must be 0-" + std::to_string(max_len);
    for (int bit = len; bit < max_len; ++bit) {
        if (bytes[bit / 8] & (0x80 >> (bit % 8))) return "host bits set (did you mean a network?)";
    }
    return std::nullopt;
}

void read_static_routes(Reader& r, std::vector<StaticRoute>& out,
                        std::vector<ConfigError>& errors) {
    const json* v = r.get("static_routes");
    if (!v) return;
    if (!v->is_array()) return r.error("static_routes", "must be an array");
    for (std::size_t i = 0; i < v->size(); ++i) {
        const std::string path = "/static_routes/" + std::to_string(i);
        if (!(*v)[i].is_object()) {
            errors.push_back({path, "must be an object"});
            continue;
        }
        Reader e((*v)[i], path, errors);
        StaticRoute route;
        e.string("prefix", route.prefix, true);
        e.string("peer", route.peer, true);
        if (!route.prefix.empty()) {
            if (auto problem = cidr_problem(route.prefix)) e.error("prefix", *problem);
        }
        if (!route.peer.empty() && !is_ip_address(route.peer)) {
            e.error("peer", "must be an IP address");
        }
        e.reject_unknown();
        out.push_back(std::move(route));
    }
}

void read_protected_prefixes(Reader& r, std::vector<std::string>& out,
                             std::vector<ConfigError>& errors) {
    const json* v = r.get("protected_prefixes");
    if (!v) return;
    if (!v->is_array()) return r.error("protected_prefixes", "must be an array of CIDR prefixes");
    for (std::size_t i = 0; i < v->size(); ++i) {
        const std::string path = "/protected_prefixes/" + std::to_string(i);
        if (!(*v)[i].is_string()) {
            errors.push_back({path, "not a CIDR prefix (must be a string)"});
            continue;
        }
        auto prefix = (*v)[i].get<std::string>();
        if (auto problem = cidr_problem(prefix)) {
            errors.push_back({path, "not a CIDR prefix: " + *problem});
            continue;
        }
        out.push_back(std::move(prefix));
    }
}

// "HOST:PORT", "[IPV6]:PORT" or "unix:/PATH".
void read_api(Reader& r, ApiEndpoint& api) {
    auto a = r.object("api");
    if (!a) return;
    std::string listen;
    a->string("listen", listen, true);
    a->reject_unknown();
    if (listen.empty()) return;
    if (listen.rfind("unix:", 0) == 0) {
        if (listen.size() < 7 || listen[5] != '/') {
            return a->error("listen", "unix socket path must be absolute");
        }
        api.unix_path = listen.substr(5);
        return;
    }
    std::string host;
    std::string port;
    const auto bad = [&] { a->error("listen", "must be HOST:PORT, [IPV6]:PORT or unix:/PATH"); };
    if (listen[0] == '[') {
        const auto close = listen.find(']');
        if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
            return bad();
        }
        host = listen.substr(1, close - 1);
        port = listen.substr(close + 2);
    } else {
        const auto colon = listen.rfind(':');
        if (colon == std::string::npos) return bad();
        host = listen.substr(0, colon);
        port = listen.substr(colon + 1);
    }
    if (!is_ip_address(host)) {
        return a->error("listen", "host must be an IP address (got '" + host + "')");
    }
    char* end = nullptr;
    const long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p < 1 || p > 65535) {
        return a->error("listen", "port must be 1-65535 (got '" + port + "')");
    }
    api.host = host;
    api.port = static_cast<std::uint16_t>(p);
}

void read_group(Reader g, GroupConfig& out) {
    g.string("name", out.name, true);
    g.integer("id", out.id, 1, 65535);
    if (!g.has("id")) g.error("id", "is required");
    g.strings("members", out.members, true);
    for (std::size_t i = 0; i < out.members.size(); ++i) {
        const auto& m = out.members[i];
        if (std::count(m.begin(), m.end(), '*') > 1) {
            g.error("members", "pattern '" + m + "' has more than one '*'");
        }
    }
    g.string("suite", out.suite);
    if (out.suite != "default" && out.suite != "draft-example" && out.suite != "aes-gcm-256") {
        g.error("suite", "must be one of default, draft-example, aes-gcm-256");
    }
    g.boolean("allow_aead", out.allow_aead);
    if (out.suite == "aes-gcm-256" && !out.allow_aead) {
        g.error("suite",
                "aes-gcm-256 needs \"allow_aead\": true (one key for many senders risks GCM "
                "nonce reuse; see docs)");
    }
    g.duration("lifetime_s", out.lifetime, 60, 7 * 24 * 3600);
    g.duration("roll1_s", out.roll1, 0, 3600);
    g.duration("roll2_s", out.roll2, 1, 3600);
    g.duration("rekey_margin_s", out.rekey_margin, 1, 24 * 3600);
    g.duration("leave_rekey_damping_s", out.leave_rekey_damping, 0, 24 * 3600);
    // The next SA must be distributed and rolled over before the current one ends.
    if (out.rekey_margin >= out.lifetime) g.error("rekey_margin_s", "must be below lifetime_s");
    if (out.roll1 >= out.roll2) {
        if (out.roll1.count() != 0) g.error("roll1_s", "must be below roll2_s");
    }
    if (out.roll2 >= out.rekey_margin) {
        g.error("roll2_s", "must be below rekey_margin_s (the old SA must outlive its rollover)");
    }
    g.reject_unknown();
}

}  // namespace

std::string ConfigError::to_string() const {
    return (path.empty() ? std::string("(document)") : path) + ": " + reason;
}

std::string_view role_name(Role role) {
    return role == Role::kGateway ? "gateway" : "cpe";
}

bool identity_matches(std::string_view pattern, std::string_view identity) {
    const auto star = pattern.find('*');
    if (star == std::string_view::npos) return pattern == identity;
    const auto prefix = pattern.substr(0, star);
    const auto suffix = pattern.substr(star + 1);
    return identity.size() >= prefix.size() + suffix.size() && identity.starts_with(prefix) &&
           identity.ends_with(suffix);
}

tl::expected<Config, std::vector<ConfigError>> parse_config(std::string_view text,
                                                            const std::string& base_dir) {
    std::vector<ConfigError> errors;
    json doc = json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
    if (doc.is_discarded()) {
        return tl::unexpected(std::vector<ConfigError>{{"", "not valid JSON"}});
    }
    if (!doc.is_object()) {
        return tl::unexpected(std::vector<ConfigError>{{"", "must be a JSON object"}});
    }
    Config cfg;
    Reader r(doc, "", errors);

    std::string role;
    r.string("role", role, true);
    if (role == "gateway") {
        cfg.role = Role::kGateway;
    } else if (role == "cpe") {
        cfg.role = Role::kCpe;
    } else if (!role.empty()) {
        r.error("role", "must be \"gateway\" or \"cpe\"");
    }
    r.string("identity", cfg.identity, true);

    if (auto c = r.object("credentials")) {
        c->string("psk_file", cfg.credentials.psk_file);
        c->string("cert_file", cfg.credentials.cert_file);
        c->string("key_file", cfg.credentials.key_file);
        c->string("ca_file", cfg.credentials.ca_file);
        const bool psk = !cfg.credentials.psk_file.empty();
        const bool cert = !cfg.credentials.cert_file.empty() || !cfg.credentials.key_file.empty();
        if (psk == cert) {
            r.error("credentials", "configure either psk_file or cert_file + key_file + ca_file");
        } else if (cert && (cfg.credentials.cert_file.empty() || cfg.credentials.key_file.empty() ||
                            cfg.credentials.ca_file.empty())) {
            r.error("credentials",
                    "certificate authentication needs cert_file, key_file and "
                    "ca_file");
        }
        c->reject_unknown();
    } else if (!r.has("credentials")) {
        r.error("credentials", "is required");
    }

    if (auto ike = r.object("ike")) {
        ike->strings("listen", cfg.ike_listen, true);
        for (const auto& a : cfg.ike_listen) {
            if (!is_ip_address(a)) ike->error("listen", "'" + a + "' is not an IP address");
        }
        ike->integer("port", cfg.ike_port, 1, 65535);
        ike->integer("natt_port", cfg.natt_port, 1, 65535);
        ike->string("keylog_file", cfg.keylog_file);
        ike->reject_unknown();
    }

    if (auto gw = r.object("gateway")) {
        gw->string("address", cfg.gateway_address, true);
        if (!cfg.gateway_address.empty() && !is_ip_address(cfg.gateway_address)) {
            gw->error("address", "must be an IP address");
        }
        gw->string("identity", cfg.gateway_identity, true);
        gw->reject_unknown();
    }
    if (auto ul = r.object("underlay")) {
        ul->string("interface", cfg.underlay_interface, true);
        ul->string("esp_address", cfg.esp_address, true);
        if (!cfg.esp_address.empty() && !is_ip_address(cfg.esp_address)) {
            ul->error("esp_address", "must be an IP address");
        }
        ul->string("esp_address_v6", cfg.esp_address_v6);
        if (!cfg.esp_address_v6.empty() && !is_ipv6(cfg.esp_address_v6)) {
            ul->error("esp_address_v6", "must be an IPv6 address");
        }
        ul->reject_unknown();
    }

    if (const json* groups = r.get("groups")) {
        if (!groups->is_array()) {
            r.error("groups", "must be an array");
        } else {
            std::set<std::string> names;
            std::set<std::uint32_t> ids;
            for (std::size_t i = 0; i < groups->size(); ++i) {
                const std::string path = "/groups/" + std::to_string(i);
                if (!(*groups)[i].is_object()) {
                    errors.push_back({path, "must be an object"});
                    continue;
                }
                GroupConfig g;
                read_group(Reader((*groups)[i], path, errors), g);
                if (!g.name.empty() && !names.insert(g.name).second) {
                    errors.push_back({path + "/name", "duplicate group name '" + g.name + "'"});
                }
                if (g.id != 0 && !ids.insert(g.id).second) {
                    errors.push_back({path + "/id", "duplicate group id " + std::to_string(g.id)});
                }
                cfg.groups.push_back(std::move(g));
            }
        }
    }

    if (auto g = r.object("group")) {
        g->string("name", cfg.group.name);
        if (g->has("name") && cfg.group.name.empty()) g->error("name", "must not be empty");
        g->integer("id", cfg.group.id, 1, 65535);
        g->reject_unknown();
    }
    r.string("overlay_source_v4", cfg.overlay_source_v4);
    if (!cfg.overlay_source_v4.empty() && !is_ipv4(cfg.overlay_source_v4)) {
        r.error("overlay_source_v4", "must be an IPv4 address");
    }
    r.string("overlay_source_v6", cfg.overlay_source_v6);
    if (!cfg.overlay_source_v6.empty() && !is_ipv6(cfg.overlay_source_v6)) {
        r.error("overlay_source_v6", "must be an IPv6 address");
    }
    read_static_routes(r, cfg.static_routes, errors);
    read_protected_prefixes(r, cfg.protected_prefixes, errors);
    if (auto b = r.object("bgp_child_sa")) {
        b->boolean("enabled", cfg.bgp_child_sa.enabled);
        b->string("protocol", cfg.bgp_child_sa.protocol);
        if (cfg.bgp_child_sa.protocol != "tcp") b->error("protocol", "must be \"tcp\"");
        b->reject_unknown();
    }

    if (auto frr = r.object("frr")) {
        frr->boolean("enabled", cfg.frr.enabled);
        frr->string("release", cfg.frr.release);
        frr->string("zserv_path", cfg.frr.zserv_path);
        frr->string("vtysh_path", cfg.frr.vtysh_path);
        frr->reject_unknown();
    }
    read_api(r, cfg.api);
    if (auto t = r.object("timers")) {
        t->duration("debounce_ms", cfg.timers.debounce, 0, 10'000);
        t->duration("resync_s", cfg.timers.resync, 10, 24 * 3600);
        t->duration("dpd_s", cfg.timers.dpd, 1, 3600);
        t->duration("natt_keepalive_s", cfg.timers.natt_keepalive, 1, 3600);
        t->reject_unknown();
    }
    r.string("state_dir", cfg.state_dir);
    r.string("log_level", cfg.log_level);
    static const std::set<std::string> kLevels{"trace", "debug", "info", "warn", "error"};
    if (!kLevels.contains(cfg.log_level)) {
        r.error("log_level", "must be one of trace, debug, info, warn, error");
    }
    r.reject_unknown();

    // Role-specific requirements.
    if (cfg.role == Role::kCpe && !role.empty()) {
        if (!r.has("gateway")) r.error("gateway", "is required for role cpe");
        if (!r.has("underlay")) r.error("underlay", "is required for role cpe");
        if (r.has("groups")) r.error("groups", "is gateway configuration (CPEs learn groups)");
        if (r.has("bgp_child_sa")) r.error("bgp_child_sa", "is gateway configuration");
    }
    if (cfg.role == Role::kGateway) {
        if (cfg.groups.empty() && !r.has("groups"))
            r.error("groups", "is required for role gateway");
        if (r.has("gateway")) r.error("gateway", "is CPE configuration");
        if (r.has("underlay")) r.error("underlay", "is CPE configuration");
        for (const char* key : {"group", "overlay_source_v4", "overlay_source_v6", "static_routes",
                                "protected_prefixes"}) {
            if (r.has(key)) r.error(key, "is CPE configuration");
        }
    }
    if (!base_dir.empty()) {
        const auto anchor = [&](std::string& file) {
            if (!file.empty() && file.front() != '/') {
                file = (std::filesystem::path(base_dir) / file).lexically_normal().string();
            }
        };
        anchor(cfg.credentials.psk_file);
        anchor(cfg.credentials.cert_file);
        anchor(cfg.credentials.key_file);
        anchor(cfg.credentials.ca_file);
        anchor(cfg.keylog_file);
        anchor(cfg.state_dir);
    }
    if (!errors.empty()) return tl::unexpected(std::move(errors));
    return cfg;
}

tl::expected<Config, std::vector<ConfigError>> load_config_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return tl::unexpected(std::vector<ConfigError>{{"", "cannot read " + path}});
    std::stringstream ss;
    ss << in.rdbuf();
    auto dir = std::filesystem::path(path).parent_path();
    if (dir.empty()) dir = ".";
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(dir, ec);
    return parse_config(ss.str(), ec ? dir.string() : absolute.string());
}

}  // namespace mpsa::daemon
