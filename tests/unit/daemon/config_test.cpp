#include "mpsa/daemon/config.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mpsa::daemon {
namespace {

constexpr const char* kCpe = R"({
  "role": "cpe",
  "identity": "cpe1.example.net",
  "credentials": {"psk_file": "/etc/mpsa/psk"},
  "gateway": {"address": "100.64.0.2", "identity": "gw.example.net"},
  "underlay": {"interface": "eth1", "esp_address": "100.64.1.2"},
  "frr": {"release": "8.4", "zserv_path": "/run/frr/zserv.api"},
  "api": {"listen": "127.0.0.1:7979"}
})";

constexpr const char* kGateway = R"({
  "role": "gateway",
  "identity": "gw.example.net",
  "credentials": {"psk_file": "/etc/mpsa/psk"},
  "groups": [
    {"name": "corp", "id": 1, "members": ["cpe*.example.net"], "lifetime_s": 3600,
     "roll1_s": 10, "roll2_s": 20, "rekey_margin_s": 300}
  ]
})";

std::string errors_of(std::string_view json) {
    auto r = parse_config(json);
    if (r) return "";
    std::string out;
    for (const auto& e : r.error()) out += e.to_string() + "\n";
    return out;
}

TEST(Config, ParsesCpe) {
    auto cfg = parse_config(kCpe);
    ASSERT_TRUE(cfg) << errors_of(kCpe);
    EXPECT_EQ(cfg->role, Role::kCpe);
    EXPECT_EQ(cfg->identity, "cpe1.example.net");
    EXPECT_EQ(cfg->gateway_address, "100.64.0.2");
    EXPECT_EQ(cfg->esp_address, "100.64.1.2");
    EXPECT_EQ(cfg->frr.release, "8.4");
    EXPECT_EQ(cfg->api.port, 7979);
    EXPECT_EQ(cfg->ike_port, 500);  // defaults kept
    EXPECT_EQ(cfg->timers.debounce.count(), 50);
}

TEST(Config, ParsesGateway) {
    auto cfg = parse_config(kGateway);
    ASSERT_TRUE(cfg) << errors_of(kGateway);
    ASSERT_EQ(cfg->groups.size(), 1u);
    EXPECT_EQ(cfg->groups[0].name, "corp");
    EXPECT_EQ(cfg->groups[0].roll1.count(), 10);
    EXPECT_EQ(cfg->groups[0].suite, "default");
}

struct BadCase {
    const char* name;
    std::string json;
    const char* expected;  // "path: reason" fragment
};

std::string patch(std::string base, const std::string& from, const std::string& to) {
    const auto pos = base.find(from);
    if (pos == std::string::npos) return "<patch target missing: " + from + ">";
    return base.replace(pos, from.size(), to);
}

class ConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigErrors, NamesPathAndReason) {
    const auto& c = GetParam();
    auto r = parse_config(c.json);
    ASSERT_FALSE(r) << c.name << " was accepted";
    EXPECT_NE(errors_of(c.json).find(c.expected), std::string::npos) << c.name << ": got\n"
                                                                     << errors_of(c.json);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConfigErrors,
    ::testing::Values(
        BadCase{"not json", "{", "(document): not valid JSON"},
        BadCase{"array", "[]", "(document): must be a JSON object"},
        BadCase{"bad role", patch(kCpe, "\"cpe\",", "\"router\","), "/role: must be"},
        BadCase{"missing identity", patch(kCpe, "\"identity\": \"cpe1.example.net\",", ""),
                "/identity: is required"},
        BadCase{"typo key", patch(kCpe, "\"frr\"", "\"ffr\""), "/ffr: unknown key"},
        BadCase{"both credentials",
                patch(kCpe, "{\"psk_file\": \"/etc/mpsa/psk\"}",
                      "{\"psk_file\": \"/p\", \"cert_file\": \"/c\", \"key_file\": \"/k\"}"),
                "/credentials: configure either"},
        BadCase{"cert without ca",
                patch(kCpe, "{\"psk_file\": \"/etc/mpsa/psk\"}",
                      "{\"cert_file\": \"/c\", \"key_file\": \"/k\"}"),
                "/credentials: certificate authentication needs"},
        BadCase{"gateway address", patch(kCpe, "\"100.64.0.2\"", "\"gw.example\""),
                "/gateway/address: must be an IP address"},
        BadCase{"api port", patch(kCpe, "127.0.0.1:7979", "127.0.0.1:99999"),
                "/api/listen: port must be 1-65535"},
        BadCase{"api host", patch(kCpe, "127.0.0.1:7979", "localhost:7979"),
                "/api/listen: host must be an IP address"},
        BadCase{"api unix relative", patch(kCpe, "127.0.0.1:7979", "unix:run/api.sock"),
                "/api/listen: unix socket path must be absolute"},
        BadCase{"cpe with groups", patch(kCpe, "\"api\"", "\"groups\": [], \"api\""),
                "/groups: is gateway configuration"},
        BadCase{"cpe without gateway",
                patch(kCpe,
                      "\"gateway\": {\"address\": \"100.64.0.2\", \"identity\": "
                      "\"gw.example.net\"},",
                      ""),
                "/gateway: is required for role cpe"},
        BadCase{"group id range", patch(kGateway, "\"id\": 1", "\"id\": 0"),
                "/groups/0/id: must be between 1 and 65535"},
        BadCase{"group members empty", patch(kGateway, "[\"cpe*.example.net\"]", "[]"),
                "/groups/0/members: must not be empty"},
        BadCase{"two wildcards", patch(kGateway, "cpe*.example.net", "*cpe*.net"),
                "/groups/0/members: pattern '*cpe*.net' has more than one '*'"},
        BadCase{"roll1 above roll2", patch(kGateway, "\"roll1_s\": 10", "\"roll1_s\": 25"),
                "/groups/0/roll1_s: must be below roll2_s"},
        BadCase{"roll2 above margin", patch(kGateway, "\"roll2_s\": 20", "\"roll2_s\": 400"),
                "/groups/0/roll2_s: must be below rekey_margin_s"},
        BadCase{"margin above lifetime",
                patch(kGateway, "\"rekey_margin_s\": 300", "\"rekey_margin_s\": 4000"),
                "/groups/0/rekey_margin_s: must be below lifetime_s"},
        BadCase{"gcm without opt-in",
                patch(kGateway, "\"lifetime_s\"", "\"suite\": \"aes-gcm-256\", \"lifetime_s\""),
                "/groups/0/suite: aes-gcm-256 needs"},
        BadCase{"unknown suite",
                patch(kGateway, "\"lifetime_s\"", "\"suite\": \"des\", \"lifetime_s\""),
                "/groups/0/suite: must be one of"},
        BadCase{"duplicate group",
                patch(kGateway, "\n  ]",
                      ",{\"name\": \"corp\", \"id\": 1, \"members\": [\"x\"], \"roll1_s\": 1, "
                      "\"roll2_s\": 2}\n  ]"),
                "/groups/1/name: duplicate group name 'corp'"},
        BadCase{"string for integer",
                patch(kGateway, "\"lifetime_s\": 3600", "\"lifetime_s\": \"1h\""),
                "/groups/0/lifetime_s: must be an integer"},
        BadCase{"esp v6 not v6",
                patch(kCpe, "\"esp_address\": \"100.64.1.2\"",
                      "\"esp_address\": \"100.64.1.2\", \"esp_address_v6\": \"100.64.1.3\""),
                "/underlay/esp_address_v6: must be an IPv6 address"},
        BadCase{"cpe group id", patch(kCpe, "\"api\"", "\"group\": {\"id\": 70000}, \"api\""),
                "/group/id: must be between 1 and 65535"},
        BadCase{"cpe group typo", patch(kCpe, "\"api\"", "\"group\": {\"nmae\": \"x\"}, \"api\""),
                "/group/nmae: unknown key"},
        BadCase{"overlay source family",
                patch(kCpe, "\"api\"", "\"overlay_source_v4\": \"2001:db8::1\", \"api\""),
                "/overlay_source_v4: must be an IPv4 address"},
        BadCase{"overlay source v6 family",
                patch(kCpe, "\"api\"", "\"overlay_source_v6\": \"10.0.0.1\", \"api\""),
                "/overlay_source_v6: must be an IPv6 address"},
        BadCase{"static route prefix",
                patch(kCpe, "\"api\"",
                      "\"static_routes\": [{\"prefix\": \"10.1.0.0\", \"peer\": \"100.64.1.3\"}], "
                      "\"api\""),
                "/static_routes/0/prefix: must be ADDRESS/LENGTH"},
        BadCase{
            "static route host bits",
            patch(kCpe, "\"api\"",
                  "\"static_routes\": [{\"prefix\": \"10.1.0.1/16\", \"peer\": \"100.64.1.3\"}], "
                  "\"api\""),
            "/static_routes/0/prefix: host bits set"},
        BadCase{
            "static route length",
            patch(kCpe, "\"api\"",
                  "\"static_routes\": [{\"prefix\": \"10.1.0.0/33\", \"peer\": \"100.64.1.3\"}], "
                  "\"api\""),
            "/static_routes/0/prefix: prefix length must be 0-32"},
        BadCase{"static route peer",
                patch(kCpe, "\"api\"",
                      "\"static_routes\": [{\"prefix\": \"10.1.0.0/16\"}, {\"prefix\": "
                      "\"10.2.0.0/16\", \"peer\": \"cpe2\"}], \"api\""),
                "/static_routes/1/peer: must be an IP address"},
        BadCase{
            "static route missing peer",
            patch(kCpe, "\"api\"", "\"static_routes\": [{\"prefix\": \"10.1.0.0/16\"}], \"api\""),
            "/static_routes/0/peer: is required"},
        BadCase{"protected prefix not cidr",
                patch(kCpe, "\"api\"",
                      "\"protected_prefixes\": [\"10.0.0.0/8\", \"10.0.0.0\"], \"api\""),
                "/protected_prefixes/1: not a CIDR prefix"},
        BadCase{"protected prefix host bits",
                patch(kCpe, "\"api\"", "\"protected_prefixes\": [\"fd00::1/8\"], \"api\""),
                "/protected_prefixes/0: not a CIDR prefix: host bits set"},
        BadCase{"protected prefix length",
                patch(kCpe, "\"api\"", "\"protected_prefixes\": [\"10.0.0.0/40\"], \"api\""),
                "/protected_prefixes/0: not a CIDR prefix: prefix length must be 0-32"},
        BadCase{"protected prefix type",
                patch(kCpe, "\"api\"", "\"protected_prefixes\": [8], \"api\""),
                "/protected_prefixes/0: not a CIDR prefix"},
        BadCase{"protected prefixes not array",
                patch(kCpe, "\"api\"", "\"protected_prefixes\": \"10.0.0.0/8\", \"api\""),
                "/protected_prefixes: must be an array of CIDR prefixes"},
        BadCase{"protected prefixes on gateway",
                patch(kGateway, "\"groups\"", "\"protected_prefixes\": [], \"groups\""),
                "/protected_prefixes: is CPE configuration"},
        BadCase{"frr enabled type", patch(kCpe, "\"release\": \"8.4\"", "\"enabled\": 1"),
                "/frr/enabled: must be true or false"},
        BadCase{"bgp child sa on cpe",
                patch(kCpe, "\"api\"", "\"bgp_child_sa\": {\"enabled\": true}, \"api\""),
                "/bgp_child_sa: is gateway configuration"},
        BadCase{
            "bgp child sa protocol",
            patch(kGateway, "\"groups\"", "\"bgp_child_sa\": {\"protocol\": \"udp\"}, \"groups\""),
            "/bgp_child_sa/protocol: must be \"tcp\""},
        BadCase{"group on gateway",
                patch(kGateway, "\"groups\"", "\"group\": {\"id\": 2}, \"groups\""),
                "/group: is CPE configuration"},
        BadCase{"static routes on gateway",
                patch(kGateway, "\"groups\"", "\"static_routes\": [], \"groups\""),
                "/static_routes: is CPE configuration"}),
    [](const auto& param_info) {
        std::string n = param_info.param.name;
        for (auto& ch : n) {
            if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
        }
        return n;
    });

TEST(Config, CpeDefaultsForNewFields) {
    auto cfg = parse_config(kCpe);
    ASSERT_TRUE(cfg) << errors_of(kCpe);
    EXPECT_EQ(cfg->group.name, "default");
    EXPECT_EQ(cfg->group.id, 1u);
    EXPECT_TRUE(cfg->frr.enabled);
    EXPECT_TRUE(cfg->esp_address_v6.empty());
    EXPECT_TRUE(cfg->static_routes.empty());
    EXPECT_TRUE(cfg->protected_prefixes.empty());
}

TEST(Config, CpeProtectedPrefixes) {
    const std::string json =
        patch(kCpe, "\"api\"", R"("protected_prefixes": ["10.0.0.0/8", "fd00::/8"], "api")");
    auto cfg = parse_config(json);
    ASSERT_TRUE(cfg) << errors_of(json);
    EXPECT_EQ(cfg->protected_prefixes, (std::vector<std::string>{"10.0.0.0/8", "fd00::/8"}));
}

TEST(Config, CpeOptionalFields) {
    const std::string json =
        patch(patch(kCpe, "\"esp_address\": \"100.64.1.2\"",
                    "\"esp_address\": \"100.64.1.2\", \"esp_address_v6\": \"2001:db8:1::2\""),
              "\"api\"",
              R"("group": {"name": "corp", "id": 7}, "overlay_source_v4": "10.1.0.1",
           "overlay_source_v6": "2001:db8:a::1",
           "static_routes": [{"prefix": "10.2.0.0/16", "peer": "100.64.1.3"},
                             {"prefix": "2001:db8:b::/48", "peer": "100.64.1.3"}],
           "api")");
    auto cfg = parse_config(patch(json, "\"release\": \"8.4\"", "\"enabled\": false"));
    ASSERT_TRUE(cfg) << errors_of(json);
    EXPECT_EQ(cfg->esp_address_v6, "2001:db8:1::2");
    EXPECT_EQ(cfg->group.name, "corp");
    EXPECT_EQ(cfg->group.id, 7u);
    EXPECT_EQ(cfg->overlay_source_v4, "10.1.0.1");
    EXPECT_EQ(cfg->overlay_source_v6, "2001:db8:a::1");
    ASSERT_EQ(cfg->static_routes.size(), 2u);
    EXPECT_EQ(cfg->static_routes[1].prefix, "2001:db8:b::/48");
    EXPECT_EQ(cfg->static_routes[1].peer, "100.64.1.3");
    EXPECT_FALSE(cfg->frr.enabled);
}

TEST(Config, GatewayBgpChildSa) {
    auto cfg = parse_config(kGateway);
    ASSERT_TRUE(cfg);
    EXPECT_TRUE(cfg->bgp_child_sa.enabled);
    EXPECT_EQ(cfg->bgp_child_sa.protocol, "tcp");
    const std::string off =
        patch(kGateway, "\"groups\"", "\"bgp_child_sa\": {\"enabled\": false}, \"groups\"");
    cfg = parse_config(off);
    ASSERT_TRUE(cfg) << errors_of(off);
    EXPECT_FALSE(cfg->bgp_child_sa.enabled);
}

TEST(Config, RelativePathsAnchoredAtBaseDir) {
    const std::string json = patch(patch(kGateway, "/etc/mpsa/psk", "psk"), "\"groups\"",
                                   "\"state_dir\": \"state\", \"groups\"");
    auto cfg = parse_config(json, "/etc/mpsa/../mpsa");
    ASSERT_TRUE(cfg) << errors_of(json);
    EXPECT_EQ(cfg->credentials.psk_file, "/etc/mpsa/psk");
    EXPECT_EQ(cfg->state_dir, "/etc/mpsa/state");
    // absolute paths stay as written
    cfg = parse_config(kGateway, "/somewhere");
    ASSERT_TRUE(cfg);
    EXPECT_EQ(cfg->credentials.psk_file, "/etc/mpsa/psk");
    EXPECT_EQ(cfg->state_dir, "/var/lib/mpsa");
    // without a base dir nothing is rewritten
    cfg = parse_config(json);
    ASSERT_TRUE(cfg);
    EXPECT_EQ(cfg->credentials.psk_file, "psk");
}

TEST(Config, ReportsEveryErrorAtOnce) {
    auto r = parse_config(R"({"role": "gateway", "identity": 5, "bogus": 1})");
    ASSERT_FALSE(r);
    EXPECT_GE(r.error().size(), 4u)
        << errors_of(R"({"role": "gateway", "identity": 5, "bogus": 1})");
}

TEST(IdentityMatch, Patterns) {
    EXPECT_TRUE(identity_matches("cpe1.example.net", "cpe1.example.net"));
    EXPECT_FALSE(identity_matches("cpe1.example.net", "cpe2.example.net"));
    EXPECT_TRUE(identity_matches("cpe*.example.net", "cpe42.example.net"));
    EXPECT_TRUE(identity_matches("cpe*.example.net", "cpe.example.net"));
    EXPECT_FALSE(identity_matches("cpe*.example.net", "cpe42.example.org"));
    EXPECT_FALSE(identity_matches("cpe*.example.net", "pe.example.net"));
    EXPECT_TRUE(identity_matches("*", "anything"));
    // prefix and suffix must not overlap: "ab*ba" does not match "aba"
    EXPECT_FALSE(identity_matches("ab*ba", "aba"));
}

}  // namespace
}  // namespace mpsa::daemon
