// The status API: read-only HTTP/JSON on 127.0.0.1 by default.
//   GET /v1/status /v1/groups /v1/members /v1/peers /v1/routes /v1/sas  -> JSON documents
//   GET /metrics                                                        -> Prometheus text
// Threading: the controller's event loop publishes an immutable Snapshot (SnapshotStore::publish);
// the HTTP server runs on its own thread and only ever reads the latest snapshot, so a slow
// client never blocks the controller. Snapshots are built from state that holds no key bytes.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "mpsa/daemon/config.hpp"
#include "mpsa/daemon/metrics.hpp"

namespace httplib {
class Server;
}

namespace mpsa::daemon {

// One JSON document per API resource ("status", "groups", "members", "peers", "routes", "sas").
using Snapshot = std::map<std::string, nlohmann::json>;

class SnapshotStore {
  public:
    void publish(Snapshot snapshot);
    [[nodiscard]] std::shared_ptr<const Snapshot> latest() const;

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<const Snapshot> current_ = std::make_shared<const Snapshot>();
};

class StatusServer {
  public:
    StatusServer(const SnapshotStore& snapshots, MetricsRegistry& metrics);
    ~StatusServer();
    StatusServer(const StatusServer&) = delete;
    StatusServer& operator=(const StatusServer&) = delete;

    // Binds (port 0 picks a free port) and serves on a background thread.
    tl::expected<void, std::string> start(const ApiEndpoint& endpoint);
    void stop();
    [[nodiscard]] int port() const { return port_; }

  private:
    const SnapshotStore& snapshots_;
    MetricsRegistry& metrics_;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    int port_ = 0;
};

}  // namespace mpsa::daemon
