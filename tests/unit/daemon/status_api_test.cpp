#include <gtest/gtest.h>
#include <httplib.h>

#include "mpsa/daemon/metrics.hpp"
#include "mpsa/daemon/status_server.hpp"

namespace mpsa::daemon {
namespace {

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

class StatusApi : public ::testing::Test {
  protected:
    void SetUp() override {
        ApiEndpoint ep;
        ep.port = 0;
        auto r = server.start(ep);
        ASSERT_TRUE(r) << r.error();
        client = std::make_unique<httplib::Client>("127.0.0.1", server.port());
    }
    SnapshotStore store;
    MetricsRegistry metrics;
    StatusServer server{store, metrics};
    std::unique_ptr<httplib::Client> client;
};

TEST_F(StatusApi, ServesLatestSnapshot) {
    store.publish({{"groups", {{"groups", {{{"name", "corp"}, {"spi", "0x4d505341"}}}}}}});
    auto res = client->Get("/v1/groups");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    auto body = nlohmann::json::parse(res->body);
    EXPECT_EQ(body["groups"][0]["name"], "corp");
    store.publish({{"groups", {{"groups", nlohmann::json::array()}}}});
    body = nlohmann::json::parse(client->Get("/v1/groups")->body);
    EXPECT_TRUE(body["groups"].empty());
    // A resource with nothing published yet is an empty object, not an error.
    res = client->Get("/v1/peers");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "{}\n");
}

TEST_F(StatusApi, MetricsEndpoint) {
    metrics.gauge("mpsa_peers", "Peers").set(5);
    auto res = client->Get("/metrics");
    ASSERT_TRUE(res);
    EXPECT_NE(res->body.find("mpsa_peers 5\n"), std::string::npos);
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4");
}

TEST_F(StatusApi, BadRequestsAreCountedJsonErrors) {
    auto res = client->Get("/v1/nothing");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404);
    EXPECT_EQ(nlohmann::json::parse(res->body)["status"], 404);
    res = client->Post("/v1/status", "{}", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 405);
    EXPECT_EQ(metrics.value("mpsa_api_requests_total", {{"resource", "unknown"}, {"code", "404"}}),
              1);
    EXPECT_EQ(
        metrics.value("mpsa_api_requests_total", {{"resource", "bad_method"}, {"code", "405"}}), 1);
    // The server keeps serving after bad input.
    EXPECT_EQ(client->Get("/v1/status")->status, 200);
}

}  // namespace
}  // namespace mpsa::daemon
