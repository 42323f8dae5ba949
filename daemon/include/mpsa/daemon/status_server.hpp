// The status API: read-only HTTP/JSON (schema: docs/api.md) on 127.0.0.1:7979 by default, or on a
// unix socket.
//   GET /v1/status /v1/groups /v1/members /v1/peers /v1/routes /v1/sas  -> JSON documents
//   GET /metrics                                                        -> Prometheus text
// Threading: the controller's event loop publishes an immutable Snapshot (SnapshotStore::publish);
// the HTTP server runs on its own thread and only ever reads the latest snapshot, so a slow
// client never blocks the controller. Snapshots are built from state that holds no key bytes.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "mpsa/daemon/config.hpp"
#include "mpsa/daemon/metrics.hpp"

namespace mpsa::daemon {

// One JSON document per API resource ("status", "groups", "members", "peers", "routes", "sas").
// A role omits a key it does not have (the CPE's "members"); the API answers 404 for it.
using Snapshot = std::map<std::string, nlohmann::json>;

class SnapshotStore {
  public:
    void publish(Snapshot snapshot);
    [[nodiscard]] std::shared_ptr<const Snapshot> latest() const;

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<const Snapshot> current_ = std::make_shared<const Snapshot>();
};

// One answer of the API, independent of the transport.
struct ApiResponse {
    int status = 200;
    std::string content_type;
    std::string body;
    // Label value of mpsa_api_requests_total: the route ("/v1/status", "/metrics") or "other"
    // (unknown paths, unparsable requests), so a client cannot create unbounded label sets.
    std::string endpoint;
};

// The routing of the API (method, request target with optional query) -> response. Pure and
// shared by every transport; never throws.
[[nodiscard]] ApiResponse route_api_request(std::string_view method, std::string_view target,
                                            const Snapshot& snapshot,
                                            const MetricsRegistry& metrics);

// A JSON error document {"error": reason} with the given status.
[[nodiscard]] ApiResponse api_error(int status, std::string_view reason,
                                    std::string endpoint = "other");

// Reason phrase of the status codes the API uses ("OK", "Not Found", ...).
[[nodiscard]] std::string_view http_reason_phrase(int status);

// Limits of the HTTP responder (both transports).
struct StatusServerLimits {
    std::size_t max_request_bytes = 8 * 1024;  // request line + headers; bodies are never read
    std::chrono::milliseconds request_timeout{5000};  // whole request, not per read (slowloris)
    std::chrono::milliseconds write_timeout{5000};
    std::size_t max_connections = 32;  // beyond: accepted and closed at once, counted as 503
};

class StatusServer {
  public:
    StatusServer(const SnapshotStore& snapshots, MetricsRegistry& metrics);
    StatusServer(const SnapshotStore& snapshots, MetricsRegistry& metrics,
                 StatusServerLimits limits);
    ~StatusServer();
    StatusServer(const StatusServer&) = delete;
    StatusServer& operator=(const StatusServer&) = delete;

    // Binds and serves on a background thread. TCP: endpoint.host must be an IP address; port 0
    // picks a free port (see port()). Unix socket (endpoint.unix_path non-empty): the socket file
    // is created with mode 0660, a stale one (nobody listening) is replaced, a live one or a
    // non-socket file is an error; the file is removed by stop().
    tl::expected<void, std::string> start(const ApiEndpoint& endpoint);
    // Idempotent; closes open connections.
    void stop();
    // The bound TCP port; 0 when serving a unix socket or not started.
    [[nodiscard]] int port() const { return port_; }
    // "127.0.0.1:7979", "[::1]:7979" or "unix:/run/mpsa/api.sock", for logs; "" if not started.
    [[nodiscard]] std::string listening_on() const { return listening_on_; }

  private:
    class Core;
    const SnapshotStore& snapshots_;
    MetricsRegistry& metrics_;
    StatusServerLimits limits_;
    std::unique_ptr<Core> core_;
    std::thread thread_;
    int port_ = 0;
    std::string listening_on_;
};

}  // namespace mpsa::daemon
