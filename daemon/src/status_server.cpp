#include "mpsa/daemon/status_server.hpp"

#include <httplib.h>

namespace mpsa::daemon {

namespace {
constexpr const char* kResources[] = {"status", "groups", "members", "peers", "routes", "sas"};
constexpr const char* kRequestsHelp = "Status API requests by resource and HTTP status code";
}  // namespace

void SnapshotStore::publish(Snapshot snapshot) {
    auto next = std::make_shared<const Snapshot>(std::move(snapshot));
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
}

std::shared_ptr<const Snapshot> SnapshotStore::latest() const {
    std::lock_guard lock(mutex_);
    return current_;
}

StatusServer::StatusServer(const SnapshotStore& snapshots, MetricsRegistry& metrics)
    : snapshots_(snapshots), metrics_(metrics) {}

StatusServer::~StatusServer() {
    stop();
}

tl::expected<void, std::string> StatusServer::start(const ApiEndpoint& endpoint) {
    if (!endpoint.unix_path.empty()) {
        // cpp-httplib 0.11 (Debian bookworm) cannot listen on AF_UNIX.
        return tl::unexpected(std::string("unix socket listeners are not supported yet"));
    }
    server_ = std::make_unique<httplib::Server>();
    auto& srv = *server_;
    auto count = [this](const std::string& resource, int code) {
        metrics_
            .counter("mpsa_api_requests_total", kRequestsHelp,
                     {{"resource", resource}, {"code", std::to_string(code)}})
            .inc();
    };
    for (const char* resource : kResources) {
        srv.Get(std::string("/v1/") + resource, [this, resource, count](const httplib::Request&,
                                                                        httplib::Response& res) {
            auto snap = snapshots_.latest();
            auto it = snap->find(resource);
            const nlohmann::json body = it != snap->end() ? it->second : nlohmann::json::object();
            res.set_content(body.dump(2) + "\n", "application/json");
            count(resource, 200);
        });
    }
    srv.Get("/metrics", [this, count](const httplib::Request&, httplib::Response& res) {
        res.set_content(metrics_.render(), "text/plain; version=0.0.4");
        count("metrics", 200);
    });
    // Anything else: a JSON error, counted, never a crash.
    srv.set_error_handler([count](const httplib::Request& req, httplib::Response& res) {
        const nlohmann::json body = {
            {"error", res.status == 404 ? "no such resource" : "request not supported"},
            {"status", res.status}};
        res.set_content(body.dump() + "\n", "application/json");
        count(req.method == "GET" ? "unknown" : "bad_method", res.status);
    });
    auto method_not_allowed = [](const httplib::Request&, httplib::Response& res) {
        res.status = 405;
    };
    srv.Post(".*", method_not_allowed);
    srv.Put(".*", method_not_allowed);
    srv.Delete(".*", method_not_allowed);
    srv.Patch(".*", method_not_allowed);
    srv.set_payload_max_length(4096);  // a read-only API takes no bodies
    srv.set_read_timeout(5, 0);
    srv.set_write_timeout(5, 0);

    if (endpoint.port == 0) {
        port_ = srv.bind_to_any_port(endpoint.host);
        if (port_ < 0) return tl::unexpected("cannot bind " + endpoint.host);
    } else {
        if (!srv.bind_to_port(endpoint.host, endpoint.port)) {
            return tl::unexpected("cannot bind " + endpoint.host + ":" +
                                  std::to_string(endpoint.port));
        }
        port_ = endpoint.port;
    }
    thread_ = std::thread([&srv] { srv.listen_after_bind(); });
    return {};
}

void StatusServer::stop() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
}

}  // namespace mpsa::daemon
