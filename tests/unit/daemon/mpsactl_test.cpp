#include "mpsa/daemon/mpsactl.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include "mpsa/daemon/status_server.hpp"

namespace mpsa::daemon::ctl {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const json kGatewayStatus = json::parse(R"({
  "role": "gateway", "identity": "gw.example.net", "version": "0.1.0", "pid": 4242,
  "uptime_seconds": 93784,
  "config": {"file": "/etc/mpsa/mpsad.json", "generation": 3,
             "last_reload": {"ok": false, "at": 1700000000,
                             "errors": ["/groups/0/id: must be between 1 and 65535"]}},
  "counts": {"ike_sas": 3, "groups": 1, "members": 3, "peers": 3, "routes": 0, "sas": 5}
})");

const json kCpeStatus = json::parse(R"({
  "role": "cpe", "identity": "cpe1.example.net", "version": "0.1.0", "pid": 7,
  "uptime_seconds": 42,
  "config": {"file": "/etc/mpsa/mpsad.json", "generation": 1, "last_reload": null},
  "counts": {"ike_sas": 1, "groups": 1, "peers": 2, "routes": 4, "sas": 3},
  "kernel": {"in_sync": true, "changes": 12, "errors": 0, "last_error": null},
  "gateway": {"address": "192.0.2.1", "ike_sa": "established"}
})");

const json kGroups = json::parse(R"({"groups": [
  {"name": "corp", "id": 1,
   "suite": {"encryption": "aes-cbc-256", "integrity": "hmac-sha2-256-128", "prf": "prf-hmac-sha2-256"},
   "lifetime_seconds": 3600, "roll1_seconds": 10, "roll2_seconds": 30,
   "outbound_spi": "0x4d505341", "interface": "mpsa1", "table": 27001,
   "sas": [{"spi": "0x4d505341", "role": "current", "inbound": true, "outbound": true,
            "expires_in_seconds": 3000},
           {"spi": "0x4d505342", "role": "next", "inbound": true, "outbound": false,
            "expires_in_seconds": 3630}]}]})");

const json kGatewayPeers = json::parse(R"({"peers": [
  {"identity": "cpe1.example.net", "address": "198.51.100.1", "port": 500,
   "ike_spi_initiator": "0x0102030405060708", "ike_spi_responder": "0x1112131415161718",
   "state": "established", "established_seconds": 7260}]})");

const json kCpePeers = json::parse(R"({"peers": [
  {"group": "corp", "address": "198.51.100.2", "state": "encrypted", "reason": null,
   "outbound_spi": "0x4d505341", "destinations": 2},
  {"group": "corp", "address": "198.51.100.3", "state": "blocked",
   "reason": "no outbound SA", "outbound_spi": null, "destinations": 1}]})");

const json kRoutes = json::parse(R"({"routes": [
  {"group": "corp", "destination": "10.2.0.0/24", "peer": "198.51.100.2", "state": "encrypted",
   "interface": "mpsa1", "table": 27001},
  {"group": "corp", "destination": "2001:db8:2::/48", "peer": null,
   "state": "blocked-peer-unresolved", "interface": "mpsa1", "table": 27001}]})");

const json kMembers = json::parse(R"({"members": [
  {"identity": "cpe1.example.net", "address": "198.51.100.1", "port": 4500, "group": "corp",
   "mpsa": true, "state": "established", "acked_spi": "0x4d505341", "pending_puts": 0,
   "established_seconds": 65}]})");

const json kSas = json::parse(R"({"sas": [
  {"type": "ike", "spi": "0x0102030405060708", "group": null, "direction": "in+out",
   "local": "198.51.100.1", "remote": "192.0.2.1", "encryption": "aes-cbc-256",
   "integrity": "hmac-sha2-256-128", "prf": "prf-hmac-sha2-256", "lifetime_seconds": 86400,
   "expires_in_seconds": 80000, "bytes": null, "packets": null},
  {"type": "group", "spi": "0x4d505341", "group": "corp", "direction": "in+out",
   "local": "198.51.100.1", "remote": "*", "encryption": "aes-cbc-256",
   "integrity": "hmac-sha2-256-128", "prf": null, "lifetime_seconds": 3600,
   "expires_in_seconds": 3000, "bytes": 123456, "packets": 789}]})");

std::string human(Command c, const json& doc) {
    auto r = render_human(c, doc);
    EXPECT_TRUE(r) << r.error();
    return r ? *r : "";
}

TEST(MpsactlRender, StatusGatewayIsAlignedKeyValueLines) {
    EXPECT_EQ(human(Command::kStatus, kGatewayStatus),
              "role:         gateway\n"
              "identity:     gw.example.net\n"
              "version:      0.1.0\n"
              "pid:          4242\n"
              "uptime:       1d02h\n"
              "config:       /etc/mpsa/mpsad.json, generation 3\n"
              "last reload:  FAILED at 2023-11-14 22:13:20 UTC\n"
              "  error:      /groups/0/id: must be between 1 and 65535\n"
              "ike sas:      3\n"
              "groups:       1\n"
              "members:      3\n"
              "peers:        3\n"
              "routes:       0\n"
              "sas:          5\n");
}

TEST(MpsactlRender, StatusCpeShowsKernelAndGateway) {
    const auto out = human(Command::kStatus, kCpeStatus);
    EXPECT_NE(out.find("last reload:  never\n"), std::string::npos) << out;
    EXPECT_NE(out.find("kernel:       in sync, 12 changes, 0 errors\n"), std::string::npos) << out;
    EXPECT_NE(out.find("gateway:      192.0.2.1, IKE SA established\n"), std::string::npos);
    EXPECT_EQ(out.find("members:"), std::string::npos);  // gateway-only count absent
}

TEST(MpsactlRender, GroupsTableThenGroupSaTable) {
    EXPECT_EQ(human(Command::kGroups, kGroups),
              "NAME  ID  SUITE                          LIFETIME  ROLL1  ROLL2  OUT-SPI     "
              "INTERFACE  TABLE\n"
              "corp  1   aes-cbc-256/hmac-sha2-256-128  1h        10s    30s    0x4d505341  "
              "mpsa1      27001\n"
              "\n"
              "GROUP  SPI         ROLE     IN   OUT  EXPIRES\n"
              "corp   0x4d505341  current  yes  yes  50m\n"
              "corp   0x4d505342  next     yes  no   1h\n");
}

TEST(MpsactlRender, PeersOfBothRolesKeepOneColumnOrder) {
    const auto cpe = human(Command::kPeers, kCpePeers);
    EXPECT_TRUE(
        cpe.starts_with("GROUP  ADDRESS       STATE      REASON          OUT-SPI     "
                        "DESTINATIONS\n"))
        << cpe;
    EXPECT_NE(cpe.find("corp   198.51.100.3  blocked    no outbound SA  -           1\n"),
              std::string::npos)
        << cpe;
    const auto gw = human(Command::kPeers, kGatewayPeers);
    EXPECT_EQ(gw,
              "IDENTITY          ADDRESS       PORT  STATE        IKE-SPI-I           "
              "IKE-SPI-R           UP\n"
              "cpe1.example.net  198.51.100.1  500   established  0x0102030405060708  "
              "0x1112131415161718  2h01m\n");
}

TEST(MpsactlRender, RoutesMembersSas) {
    EXPECT_EQ(human(Command::kRoutes, kRoutes),
              "GROUP  DESTINATION      PEER          STATE                    INTERFACE  TABLE\n"
              "corp   10.2.0.0/24      198.51.100.2  encrypted                mpsa1      27001\n"
              "corp   2001:db8:2::/48  -             blocked-peer-unresolved  mpsa1      27001\n");
    EXPECT_EQ(human(Command::kMembers, kMembers),
              "IDENTITY          ADDRESS       PORT  GROUP  MPSA  STATE        ACKED-SPI   "
              "PENDING  UP\n"
              "cpe1.example.net  198.51.100.1  4500  corp   yes   established  0x4d505341  0"
              "        1m05s\n");
    const auto sas = human(Command::kSas, kSas);
    EXPECT_TRUE(
        sas.starts_with("TYPE   SPI                 GROUP  DIR     LOCAL         REMOTE "
                        "    ENCRYPTION   INTEGRITY          PRF                "
                        "LIFETIME  EXPIRES  BYTES   PACKETS\n"))
        << sas;
    EXPECT_NE(sas.find("group  0x4d505341          corp   in+out  198.51.100.1  *          "
                       "aes-cbc-256  hmac-sha2-256-128  -                  1h        50m      "
                       "123456  789\n"),
              std::string::npos)
        << sas;
}

TEST(MpsactlRender, MissingAndExtraFieldsAreTolerated) {
    // Missing fields print "-", unknown fields are ignored, a non-object row is all "-".
    const json doc = {{"routes", {{{"destination", "10.9.0.0/16"}, {"surprise", {1, 2}}}, 42}},
                      {"extra", true}};
    EXPECT_EQ(human(Command::kRoutes, doc),
              "GROUP  DESTINATION  PEER  STATE  INTERFACE  TABLE\n"
              "-      10.9.0.0/16  -     -      -          -\n"
              "-      -            -     -      -          -\n");
    EXPECT_EQ(human(Command::kSas, json{{"sas", json::array()}}), "no sas\n");
    // Status with almost nothing, and an unknown key shown at the end.
    EXPECT_EQ(human(Command::kStatus, json{{"role", "cpe"}, {"new_thing", 1}}),
              "role:       cpe\n"
              "identity:   -\n"
              "version:    -\n"
              "pid:        -\n"
              "uptime:     -\n"
              "config:     -\n"
              "new_thing:  1\n");
    // Wrong shapes are errors, not crashes.
    EXPECT_FALSE(render_human(Command::kGroups, json{{"groups", "nope"}}));
    EXPECT_FALSE(render_human(Command::kPeers, json::array()));
    EXPECT_FALSE(render_human(Command::kStatus, json("text")));
}

TEST(MpsactlRender, ControlCharactersFromPeersAreNotPrinted) {
    const json doc = {{"peers", {{{"identity", "evil\x1b]0;pwned\x07"}, {"address", "x"}}}}};
    const auto out = human(Command::kPeers, doc);
    EXPECT_EQ(out.find('\x1b'), std::string::npos);
    EXPECT_NE(out.find("evil?]0;pwned?"), std::string::npos) << out;
}

TEST(MpsactlRender, Durations) {
    EXPECT_EQ(format_duration(0), "0s");
    EXPECT_EQ(format_duration(59), "59s");
    EXPECT_EQ(format_duration(60), "1m");
    EXPECT_EQ(format_duration(307), "5m07s");
    EXPECT_EQ(format_duration(3600), "1h");
    EXPECT_EQ(format_duration(11100), "3h05m");
    EXPECT_EQ(format_duration(183600), "2d03h");
    EXPECT_EQ(format_duration(-5), "-5s");
}

TEST(MpsactlTarget, ParsingAndPrecedence) {
    EXPECT_EQ(parse_target("http://127.0.0.1:7979")->describe(), "127.0.0.1:7979");
    EXPECT_EQ(parse_target("http://[::1]:8080/")->describe(), "[::1]:8080");
    EXPECT_EQ(parse_target("10.0.0.1:1")->port, 1);
    EXPECT_EQ(parse_target("http://localhost")->port, 7979);
    EXPECT_EQ(parse_target("unix:/run/mpsa/api.sock")->unix_path, "/run/mpsa/api.sock");
    EXPECT_EQ(parse_target("/run/mpsa/api.sock")->unix_path, "/run/mpsa/api.sock");
    EXPECT_FALSE(parse_target("http://h:0"));
    EXPECT_FALSE(parse_target("http://h:99999"));
    EXPECT_FALSE(parse_target("http://[::1"));
    EXPECT_FALSE(parse_target(""));

    EXPECT_EQ(resolve_target({})->describe(), "127.0.0.1:7979");
    TargetOptions o;
    o.env = "unix:/env.sock";
    EXPECT_EQ(resolve_target(o)->describe(), "unix:/env.sock");
    o.config_file = "/nonexistent/mpsad.json";
    EXPECT_FALSE(resolve_target(o));  // -c beats the environment, and its errors are reported
    o.socket = "/flag.sock";
    EXPECT_EQ(resolve_target(o)->describe(), "unix:/flag.sock");
    o.socket.clear();
    o.api = "http://127.0.0.2:1234";
    EXPECT_EQ(resolve_target(o)->describe(), "127.0.0.2:1234");
    o = {};
    o.socket = "relative.sock";
    EXPECT_FALSE(resolve_target(o));
    o = {};
    o.env = "garbage:x";
    EXPECT_FALSE(resolve_target(o));
}

TEST(MpsactlTarget, FromConfigFile) {
    std::string dir_template = "/tmp/mpsactl-test-XXXXXX";
    const std::string dir = ::mkdtemp(dir_template.data());
    const std::string file = dir + "/mpsad.json";
    std::ofstream(file) << R"({"role": "gateway", "identity": "gw",
      "credentials": {"psk_file": "psk"},
      "groups": [{"name": "g", "id": 1, "members": ["*"]}],
      "api": {"listen": "unix:/run/mpsa/api.sock"}})";
    TargetOptions o;
    o.config_file = file;
    o.env = "http://10.0.0.1:1";
    auto t = resolve_target(o);
    ASSERT_TRUE(t) << t.error();
    EXPECT_EQ(t->describe(), "unix:/run/mpsa/api.sock");
    std::ofstream(file) << R"({"role": "gateway", "identity": "gw",
      "credentials": {"psk_file": "psk"},
      "groups": [{"name": "g", "id": 1, "members": ["*"]}],
      "api": {"listen": "0.0.0.0:9000"}})";
    t = resolve_target(o);
    ASSERT_TRUE(t) << t.error();
    EXPECT_EQ(t->describe(), "127.0.0.1:9000");  // a wildcard listener is reached on loopback
    std::filesystem::remove_all(dir);
}

// ---- end to end against a real StatusServer ----

Snapshot gateway_snapshot() {
    return {{"status", kGatewayStatus},
            {"groups", kGroups},
            {"members", kMembers},
            {"peers", kGatewayPeers},
            {"routes", {{"routes", json::array()}}},
            {"sas", kSas}};
}

Snapshot cpe_snapshot() {
    return {{"status", kCpeStatus},
            {"groups", kGroups},
            {"peers", kCpePeers},
            {"routes", kRoutes},
            {"sas", kSas}};
}

class MpsactlEndToEnd : public ::testing::TestWithParam<bool> {
  protected:
    void SetUp() override {
        ApiEndpoint ep;
        if (GetParam()) {
            std::string tmpl = "/tmp/mpsactl-e2e-XXXXXX";
            dir_ = ::mkdtemp(tmpl.data());
            ep.unix_path = dir_ + "/api.sock";
            target.unix_path = ep.unix_path;
        } else {
            ep.port = 0;
        }
        auto r = server.start(ep);
        ASSERT_TRUE(r) << r.error();
        if (!GetParam()) target.port = static_cast<std::uint16_t>(server.port());
    }
    void TearDown() override {
        server.stop();
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }
    std::string dir_;
    SnapshotStore store;
    MetricsRegistry metrics;
    StatusServer server{store, metrics};
    Target target;
};

TEST_P(MpsactlEndToEnd, EveryCommandRendersWhatTheServerServes) {
    store.publish(gateway_snapshot());
    for (auto c : {Command::kStatus, Command::kGroups, Command::kMembers, Command::kPeers,
                   Command::kRoutes, Command::kSas}) {
        const auto outcome = run(c, target, false, 5s);
        EXPECT_EQ(outcome.exit_code, kExitOk) << outcome.err;
        EXPECT_EQ(outcome.out, *render_human(c, gateway_snapshot()[std::string(command_name(c))]));
        EXPECT_EQ(outcome.err, "");
    }
    const auto metrics_out = run(Command::kMetrics, target, false, 5s);
    EXPECT_EQ(metrics_out.exit_code, kExitOk);
    EXPECT_NE(metrics_out.out.find("mpsa_api_requests_total{endpoint=\"/v1/sas\",code=\"200\"} 1"),
              std::string::npos)
        << metrics_out.out;
}

TEST_P(MpsactlEndToEnd, JsonIsTheApiDocumentPretty) {
    store.publish(gateway_snapshot());
    const auto outcome = run(Command::kGroups, target, true, 5s);
    EXPECT_EQ(outcome.exit_code, kExitOk);
    EXPECT_EQ(outcome.out, kGroups.dump(2) + "\n");
    EXPECT_EQ(json::parse(outcome.out), kGroups);
}

TEST_P(MpsactlEndToEnd, ApiErrorsExitOneWithTheApiText) {
    store.publish(cpe_snapshot());
    auto outcome = run(Command::kMembers, target, false, 5s);
    EXPECT_EQ(outcome.exit_code, kExitError);
    EXPECT_EQ(outcome.out, "");
    EXPECT_EQ(outcome.err, "mpsactl: mpsad answered 404: members: gateway role only\n");
    store.publish({});
    outcome = run(Command::kStatus, target, true, 5s);
    EXPECT_EQ(outcome.exit_code, kExitError);
    EXPECT_NE(outcome.err.find("503: mpsad is starting"), std::string::npos) << outcome.err;
}

TEST_P(MpsactlEndToEnd, UnreachableExitsTwoNamingTheEndpoint) {
    const std::string where = target.describe();
    server.stop();
    const auto outcome = run(Command::kStatus, target, false, 2s);
    EXPECT_EQ(outcome.exit_code, kExitUnreachable);
    EXPECT_NE(outcome.err.find("cannot reach mpsad at " + where), std::string::npos) << outcome.err;
}

INSTANTIATE_TEST_SUITE_P(Transports, MpsactlEndToEnd, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                             return p.param ? "Unix" : "Tcp";
                         });

// A fake server answering one connection with canned bytes (or never answering).
class FakeServer {
  public:
    explicit FakeServer(std::string answer, bool answer_at_all = true)
        : acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        thread_ = std::thread([this, answer = std::move(answer), answer_at_all] {
            std::error_code ec;
            auto s = acceptor_.accept(ec);
            if (ec) return;
            char buf[4096];
            s.read_some(asio::buffer(buf), ec);
            if (answer_at_all) {
                asio::write(s, asio::buffer(answer), ec);
                s.shutdown(asio::socket_base::shutdown_send, ec);
            }
            // Hold the connection until the client is done.
            while (!done_ && !ec) s.read_some(asio::buffer(buf), ec);
        });
    }
    ~FakeServer() {
        done_ = true;
        std::error_code ec;
        acceptor_.close(ec);
        thread_.join();
    }
    [[nodiscard]] Target target() const {
        Target t;
        t.port = acceptor_.local_endpoint().port();
        return t;
    }

  private:
    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

TEST(MpsactlClient, BadJsonExitsOne) {
    FakeServer fake(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n"
        "Connection: close\r\n\r\n{nope");
    const auto outcome = run(Command::kStatus, fake.target(), false, 5s);
    EXPECT_EQ(outcome.exit_code, kExitError);
    EXPECT_NE(outcome.err.find("invalid JSON"), std::string::npos) << outcome.err;
}

TEST(MpsactlClient, GarbageAndTruncatedResponsesExitOne) {
    for (const char* answer :
         {"SSH-2.0-OpenSSH_9.2\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{}",
          "HTTP/1.1 2xx OK\r\n\r\n"}) {
        FakeServer fake(answer);
        const auto outcome = run(Command::kStatus, fake.target(), false, 5s);
        EXPECT_EQ(outcome.exit_code, kExitError) << answer;
        EXPECT_NE(outcome.err.find("invalid HTTP response"), std::string::npos) << outcome.err;
    }
}

TEST(MpsactlClient, SilentServerTimesOutWithExitTwo) {
    FakeServer fake("", false);
    const auto start = std::chrono::steady_clock::now();
    const auto outcome = run(Command::kStatus, fake.target(), false, 300ms);
    EXPECT_EQ(outcome.exit_code, kExitUnreachable);
    EXPECT_NE(outcome.err.find("no answer from mpsad at 127.0.0.1:"), std::string::npos)
        << outcome.err;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

}  // namespace
}  // namespace mpsa::daemon::ctl
