#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <asio/local/stream_protocol.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "mpsa/daemon/metrics.hpp"
#include "mpsa/daemon/status_server.hpp"

namespace mpsa::daemon {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

TEST(Metrics, RendersPrometheusText) {
    MetricsRegistry m;
    m.counter("mpsa_put_sent_total", "MPSA_PUT sent", {{"group", "corp"}}).inc(3);
    m.gauge("mpsa_peers", "Peers").set(2);
    m.counter("mpsa_put_sent_total", "MPSA_PUT sent", {{"group", "a\"b"}}).inc();
    EXPECT_EQ(m.render(),
              "# HELP mpsa_peers Peers\n"
              "# TYPE mpsa_peers gauge\n"
              "mpsa_peers 2\n"
              "# HELP mpsa_put_sent_total MPSA_PUT sent\n"
              "# TYPE mpsa_put_sent_total counter\n"
              "mpsa_put_sent_total{group=\"a\\\"b\"} 1\n"
              "mpsa_put_sent_total{group=\"corp\"} 3\n");
    EXPECT_EQ(m.value("mpsa_put_sent_total", {{"group", "corp"}}), 3);
    EXPECT_EQ(m.value("nope"), 0);
}

TEST(Metrics, SameNameDifferentTypeIsAProgrammingError) {
    MetricsRegistry m;
    m.counter("x", "help");
    EXPECT_THROW(m.gauge("x", "help"), std::logic_error);
}

Snapshot cpe_snapshot() {
    return {{"status", {{"role", "cpe"}, {"identity", "cpe1"}}},
            {"groups", {{"groups", json::array()}}},
            {"peers", {{"peers", json::array()}}},
            {"routes", {{"routes", json::array()}}},
            {"sas", {{"sas", json::array()}}}};
}

std::int64_t requests(const MetricsRegistry& m, const std::string& endpoint, int code) {
    return m.value("mpsa_api_requests_total",
                   {{"endpoint", endpoint}, {"code", std::to_string(code)}});
}

TEST(StatusRouting, ContractStatusCodesAndJsonErrors) {
    MetricsRegistry metrics;
    const Snapshot snap = cpe_snapshot();
    auto r = route_api_request("GET", "/v1/status", snap, metrics);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(json::parse(r.body)["role"], "cpe");
    EXPECT_EQ(r.endpoint, "/v1/status");
    // A query string does not change the resource.
    EXPECT_EQ(route_api_request("GET", "/v1/status?x=1", snap, metrics).status, 200);

    r = route_api_request("GET", "/v1/members", snap, metrics);  // the CPE omits "members"
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(json::parse(r.body), json({{"error", "members: gateway role only"}}));
    EXPECT_EQ(r.endpoint, "/v1/members");

    r = route_api_request("GET", "/v1/nothing", snap, metrics);
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.endpoint, "other");  // unknown paths never become label values
    EXPECT_TRUE(json::parse(r.body)["error"].is_string());
    EXPECT_EQ(route_api_request("GET", "/v1/status/", snap, metrics).status, 404);

    r = route_api_request("POST", "/v1/status", snap, metrics);
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(json::parse(r.body)["error"], "only GET is supported");
    EXPECT_EQ(route_api_request("HEAD", "/metrics", snap, metrics).status, 405);

    // Nothing published yet: the daemon is starting.
    EXPECT_EQ(route_api_request("GET", "/v1/groups", Snapshot{}, metrics).status, 503);
    // /metrics works regardless of snapshots.
    r = route_api_request("GET", "/metrics", Snapshot{}, metrics);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
}

TEST(StatusRouting, InvalidUtf8FromThePeerIsReplacedNotThrown) {
    MetricsRegistry metrics;
    Snapshot snap{{"peers", {{"peers", {{{"identity", std::string("bad\xff\xfe")}}}}}}};
    const auto r = route_api_request("GET", "/v1/peers", snap, metrics);
    EXPECT_EQ(r.status, 200);
    EXPECT_FALSE(json::parse(r.body, nullptr, false).is_discarded());
}

class StatusApi : public ::testing::Test {
  protected:
    void SetUp() override {
        ApiEndpoint ep;
        ep.port = 0;
        auto r = server.start(ep);
        ASSERT_TRUE(r) << r.error();
        ASSERT_GT(server.port(), 0);
        EXPECT_EQ(server.listening_on(), "127.0.0.1:" + std::to_string(server.port()));
        client = std::make_unique<httplib::Client>("127.0.0.1", server.port());
    }
    SnapshotStore store;
    MetricsRegistry metrics;
    StatusServer server{store, metrics};
    std::unique_ptr<httplib::Client> client;
};

TEST_F(StatusApi, ServesLatestSnapshotToAThirdPartyClient) {
    store.publish({{"groups", {{"groups", {{{"name", "corp"}, {"spi", "0x4d505341"}}}}}}});
    auto res = client->Get("/v1/groups");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    EXPECT_EQ(res->get_header_value("Connection"), "close");
    auto body = json::parse(res->body);
    EXPECT_EQ(body["groups"][0]["name"], "corp");
    store.publish({{"groups", {{"groups", json::array()}}}});
    body = json::parse(client->Get("/v1/groups")->body);
    EXPECT_TRUE(body["groups"].empty());
    // A key the role does not publish is 404 with a JSON error.
    res = client->Get("/v1/peers");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404);
    EXPECT_TRUE(json::parse(res->body)["error"].is_string());
}

TEST_F(StatusApi, MetricsEndpointCountsRequests) {
    metrics.gauge("mpsa_peers", "Peers").set(5);
    store.publish(cpe_snapshot());
    ASSERT_TRUE(client->Get("/v1/status"));
    auto res = client->Get("/metrics");
    ASSERT_TRUE(res);
    EXPECT_NE(res->body.find("mpsa_peers 5\n"), std::string::npos);
    EXPECT_NE(res->body.find("mpsa_api_requests_total{endpoint=\"/v1/status\",code=\"200\"} 1\n"),
              std::string::npos)
        << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
}

TEST_F(StatusApi, BadRequestsAreCountedJsonErrors) {
    store.publish(cpe_snapshot());
    auto res = client->Get("/v1/nothing");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404);
    EXPECT_TRUE(json::parse(res->body)["error"].is_string());
    res = client->Post("/v1/status", "{}", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 405);
    EXPECT_EQ(res->get_header_value("Allow"), "GET");
    res = client->Get("/v1/members");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404);
    EXPECT_EQ(json::parse(res->body)["error"], "members: gateway role only");
    EXPECT_EQ(requests(metrics, "other", 404), 1);
    EXPECT_EQ(requests(metrics, "/v1/status", 405), 1);
    EXPECT_EQ(requests(metrics, "/v1/members", 404), 1);
    // The server keeps serving after bad input.
    EXPECT_EQ(client->Get("/v1/status")->status, 200);
}

TEST(StatusServerTcp, BindErrorsAreReportedAndStopIsIdempotent) {
    SnapshotStore store;
    MetricsRegistry metrics;
    StatusServer a{store, metrics};
    ApiEndpoint ep;
    ep.port = 0;
    ASSERT_TRUE(a.start(ep));
    StatusServer b{store, metrics};
    ep.port = static_cast<std::uint16_t>(a.port());
    auto r = b.start(ep);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("127.0.0.1:" + std::to_string(a.port())), std::string::npos)
        << r.error();
    ep.host = "localhost";
    r = b.start(ep);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("not an IP address"), std::string::npos);
    a.stop();
    a.stop();
    EXPECT_EQ(a.port(), 0);
    // IPv6 loopback, if the host has it.
    ep.host = "::1";
    ep.port = 0;
    if (a.start(ep)) {
        EXPECT_EQ(a.listening_on(), "[::1]:" + std::to_string(a.port()));
        httplib::Client c("::1", a.port());
        store.publish(cpe_snapshot());
        auto res = c.Get("/v1/status");
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, 200);
    }
}

// ---- unix socket ----

class TempDir {
  public:
    TempDir() {
        std::string tmpl = "/tmp/mpsa-status-XXXXXX";
        path_ = ::mkdtemp(tmpl.data());
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    [[nodiscard]] const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// Sends bytes over the unix socket (optionally half-closing), returns everything the server sent
// until it closed. The receive timeout only guards the test against a hung server.
std::string unix_exchange(const std::string& path, std::string_view bytes, bool half_close) {
    asio::io_context io;
    asio::local::stream_protocol::socket s(io);
    s.connect(asio::local::stream_protocol::endpoint(path));
    timeval tv{10, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::error_code ec;
    asio::write(s, asio::buffer(bytes.data(), bytes.size()), ec);
    if (half_close) s.shutdown(asio::socket_base::shutdown_send, ec);
    std::string out;
    asio::read(s, asio::dynamic_buffer(out), ec);
    return out;
}

int status_of(const std::string& response) {
    if (!response.starts_with("HTTP/1.1 ") || response.size() < 12) return -1;
    return std::stoi(response.substr(9, 3));
}

std::string body_of(const std::string& response) {
    const auto p = response.find("\r\n\r\n");
    return p == std::string::npos ? "" : response.substr(p + 4);
}

class UnixStatusApi : public ::testing::Test {
  protected:
    void SetUp() override {
        ep.unix_path = dir.path() + "/api.sock";
        auto r = server.start(ep);
        ASSERT_TRUE(r) << r.error();
        store.publish(cpe_snapshot());
    }
    std::string get(std::string_view target) {
        return unix_exchange(ep.unix_path,
                             "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n\r\n", false);
    }
    TempDir dir;
    ApiEndpoint ep;
    SnapshotStore store;
    MetricsRegistry metrics;
    StatusServerLimits limits{8 * 1024, 300ms, 1000ms, 8};
    StatusServer server{store, metrics, limits};
};

TEST_F(UnixStatusApi, ServesTheSameRoutesWithMode0660AndRemovesTheSocketOnStop) {
    EXPECT_EQ(server.port(), 0);
    EXPECT_EQ(server.listening_on(), "unix:" + ep.unix_path);
    struct stat st {};
    ASSERT_EQ(::lstat(ep.unix_path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0660u);

    auto res = get("/v1/status");
    EXPECT_EQ(status_of(res), 200) << res;
    EXPECT_NE(res.find("\r\nConnection: close\r\n"), std::string::npos);
    EXPECT_EQ(json::parse(body_of(res))["identity"], "cpe1");
    res = get("/v1/members");
    EXPECT_EQ(status_of(res), 404);
    EXPECT_EQ(json::parse(body_of(res))["error"], "members: gateway role only");
    EXPECT_EQ(status_of(get("/metrics")), 200);
    EXPECT_EQ(status_of(unix_exchange(ep.unix_path, "DELETE /v1/sas HTTP/1.1\r\n\r\n", false)),
              405);
    // HTTP/1.0 is fine, other versions are not.
    EXPECT_EQ(status_of(unix_exchange(ep.unix_path, "GET /v1/sas HTTP/1.0\r\n\r\n", false)), 200);
    EXPECT_EQ(status_of(unix_exchange(ep.unix_path, "GET /v1/sas HTTP/2.0\r\n\r\n", false)), 505);
    EXPECT_EQ(requests(metrics, "/v1/status", 200), 1);
    EXPECT_EQ(requests(metrics, "/v1/members", 404), 1);

    server.stop();
    EXPECT_FALSE(std::filesystem::exists(ep.unix_path));
}

TEST_F(UnixStatusApi, StaleSocketIsReplacedLiveSocketAndOtherFilesAreNot) {
    // Live: our own server holds the path.
    StatusServer second{store, metrics};
    auto r = second.start(ep);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("another process"), std::string::npos) << r.error();
    EXPECT_EQ(status_of(get("/v1/status")), 200);  // the running server is untouched

    // Stale: a socket file nobody listens on (left by a crash).
    server.stop();
    {
        asio::io_context io;
        asio::local::stream_protocol::acceptor a(io);
        a.open();
        a.bind(asio::local::stream_protocol::endpoint(ep.unix_path));
    }  // closed without unlink
    ASSERT_TRUE(std::filesystem::is_socket(ep.unix_path));
    r = server.start(ep);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(status_of(get("/v1/status")), 200);
    server.stop();

    // A regular file is never deleted.
    std::ofstream(ep.unix_path) << "not a socket";
    r = server.start(ep);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("not a socket"), std::string::npos);
    EXPECT_TRUE(std::filesystem::is_regular_file(ep.unix_path));

    ep.unix_path = dir.path() + "/" + std::string(120, 'x');
    r = server.start(ep);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("too long"), std::string::npos);
}

TEST_F(UnixStatusApi, TruncatedRequestsGetNoAnswerAndDoNotHurt) {
    for (const char* partial : {"", "G", "GET /v1/sta", "GET /v1/status HTTP/1.1\r\n",
                                "GET /v1/status HTTP/1.1\r\nHost: x\r\n"}) {
        EXPECT_EQ(unix_exchange(ep.unix_path, partial, true), "") << partial;
    }
    EXPECT_EQ(status_of(get("/v1/status")), 200);
}

TEST_F(UnixStatusApi, OversizedRequestsAre431) {
    const std::string long_target = "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n";
    auto res = unix_exchange(ep.unix_path, long_target, false);
    EXPECT_EQ(status_of(res), 431) << res.substr(0, 100);
    EXPECT_TRUE(json::parse(body_of(res))["error"].is_string());
    std::string many_headers = "GET /v1/status HTTP/1.1\r\n";
    while (many_headers.size() < 9000) many_headers += "X-Filler: 0123456789abcdef\r\n";
    many_headers += "\r\n";
    EXPECT_EQ(status_of(unix_exchange(ep.unix_path, many_headers, false)), 431);
    EXPECT_EQ(requests(metrics, "other", 431), 2);
    EXPECT_EQ(status_of(get("/v1/status")), 200);
}

TEST_F(UnixStatusApi, BinaryAndMalformedRequestsAre400AtOnce) {
    const std::string cases[] = {
        std::string("\x00\x01\x02\xff\xfe", 5),
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  // a TLS ClientHello
        "GET\r\n\r\n",
        "GET  /v1/status HTTP/1.1\r\n\r\n",
        "GET v1/status HTTP/1.1\r\n\r\n",
        "G@T /v1/status HTTP/1.1\r\n\r\n",
        "GET /v1/status HTTP/1.1\r\n folded: header\r\n\r\n",
        "GET /v1/status HTTP/1.1\r\nno-colon\r\n\r\n",
        std::string("GET /v1/status HTTP/1.1\r\nX: a\x01b\r\n\r\n"),
        "GET /v1/st\x7f"
        "atus HTTP/1.1\r\n\r\n",
    };
    for (const auto& c : cases) {
        const auto start = std::chrono::steady_clock::now();
        const auto res = unix_exchange(ep.unix_path, c, false);
        EXPECT_EQ(status_of(res), 400)
            << json(c).dump(-1, ' ', true, json::error_handler_t::replace);
        // Rejected on sight, not at the request deadline.
        EXPECT_LT(std::chrono::steady_clock::now() - start, limits.request_timeout);
    }
    EXPECT_EQ(status_of(get("/v1/status")), 200);
}

TEST_F(UnixStatusApi, SlowlorisIsCutOffAtTheRequestDeadline) {
    asio::io_context io;
    asio::local::stream_protocol::socket s(io);
    s.connect(asio::local::stream_protocol::endpoint(ep.unix_path));
    const auto start = std::chrono::steady_clock::now();
    asio::write(s, asio::buffer(std::string_view("GET /v1/status HTTP/1.1\r\n")));
    // One header byte every 20 ms, for far longer than the 300 ms request deadline.
    std::error_code ec;
    for (int i = 0; i < 100 && !ec; ++i) {
        asio::write(s, asio::buffer("X", 1), ec);
        if (s.available(ec) > 0) break;
        std::this_thread::sleep_for(20ms);  // pacing the attacker, not synchronisation
    }
    std::string out;
    timeval tv{5, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    asio::read(s, asio::dynamic_buffer(out), ec);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(status_of(out), 408) << out;
    EXPECT_GE(elapsed, limits.request_timeout);
    EXPECT_LT(elapsed, limits.request_timeout + 1500ms);
    EXPECT_EQ(requests(metrics, "other", 408), 1);
    EXPECT_EQ(status_of(get("/v1/status")), 200);
}

TEST_F(UnixStatusApi, ConnectionsBeyondTheLimitAreClosedAndCounted) {
    asio::io_context io;
    std::vector<asio::local::stream_protocol::socket> idle;
    for (std::size_t i = 0; i < limits.max_connections; ++i) {
        idle.emplace_back(io).connect(asio::local::stream_protocol::endpoint(ep.unix_path));
    }
    // Poll until the server has refused one (it accepts asynchronously).
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (requests(metrics, "other", 503) == 0 && std::chrono::steady_clock::now() < deadline) {
        EXPECT_EQ(unix_exchange(ep.unix_path, "GET /v1/status HTTP/1.1\r\n\r\n", false), "");
    }
    EXPECT_GE(requests(metrics, "other", 503), 1);
    idle.clear();
    // Capacity comes back once the idle connections are gone.
    std::string res;
    while (status_of(res) != 200 && std::chrono::steady_clock::now() < deadline + 5s) {
        res = get("/v1/status");
    }
    EXPECT_EQ(status_of(res), 200);
}

// Random garbage, mutated valid requests and random lengths: every answer is a well-formed HTTP
// response with a JSON error or nothing at all (truncated input), and the server keeps serving.
TEST_F(UnixStatusApi, FuzzishGarbageNeverCrashesTheServer) {
    std::mt19937 rng(0x4d505341);
    const std::string valid = "GET /v1/status HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n";
    int answered = 0;
    for (int i = 0; i < 300; ++i) {
        std::string input;
        switch (i % 3) {
            case 0: {  // random bytes
                input.resize(std::uniform_int_distribution<std::size_t>(0, 12000)(rng));
                for (auto& c : input) c = static_cast<char>(rng());
                break;
            }
            case 1: {  // a valid request with a few bytes flipped
                input = valid;
                for (int k = 0; k < 3; ++k) {
                    input[rng() % input.size()] = static_cast<char>(rng());
                }
                break;
            }
            default:  // a truncated valid request
                input = valid.substr(0, rng() % valid.size());
        }
        const auto res = unix_exchange(ep.unix_path, input, true);
        if (res.empty()) continue;
        ++answered;
        const int status = status_of(res);
        ASSERT_TRUE(status == 200 || status == 400 || status == 404 || status == 405 ||
                    status == 431 || status == 505)
            << res.substr(0, 200);
        if (status != 200) {
            const auto body = json::parse(body_of(res), nullptr, false);
            ASSERT_TRUE(body.is_object() && body["error"].is_string()) << res.substr(0, 200);
        }
    }
    EXPECT_GT(answered, 100);
    EXPECT_EQ(status_of(get("/v1/status")), 200);
}

}  // namespace
}  // namespace mpsa::daemon
