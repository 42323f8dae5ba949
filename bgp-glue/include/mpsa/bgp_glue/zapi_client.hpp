// ZAPI client on standalone Asio: connects to zebra's unix socket, says HELLO, sends every
// registration it holds, dispatches decoded messages through a handler table (one handler per
// command, like FRR's zclient), and reconnects with exponential backoff. After a reconnect it
// re-sends every registration and then a ROUTER_ID_ADD: zebra handles a client's messages in
// order and answers registrations synchronously (redistribution dump, NHT answers), so the
// ROUTER_ID_UPDATE that follows marks the end of the replay ("synchronized").
#pragma once

#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "mpsa/bgp_glue/zapi_codec.hpp"
#include "mpsa/bgp_glue/zapi_framer.hpp"

namespace mpsa::bgp_glue {

struct ZapiClientConfig {
    std::string socket_path = "/run/frr/zserv.api";
    FrrRelease release = FrrRelease::v8_4;
    HelloParams hello;
    std::chrono::milliseconds initial_backoff{100};
    std::chrono::milliseconds max_backoff{5000};
};

struct ZapiClientStats {
    std::uint64_t connects = 0;
    std::uint64_t connect_failures = 0;
    std::uint64_t disconnects = 0;
    std::uint64_t framing_errors = 0;
    std::uint64_t messages_received = 0;
    std::uint64_t messages_sent = 0;
    std::uint64_t synchronizations = 0;
};

class ZapiClient {
  public:
    using Handler = std::function<void(const ZapiMessage&)>;

    ZapiClient(asio::io_context& io, ZapiClientConfig config);
    ~ZapiClient();
    ZapiClient(const ZapiClient&) = delete;
    ZapiClient& operator=(const ZapiClient&) = delete;

    // Handler table: at most one handler per command; messages without one are dropped.
    void set_handler(Command command, Handler handler);
    // Called on every (re)connection, before anything is sent on it.
    void on_connected(std::function<void()> callback) { on_connected_ = std::move(callback); }
    // Called when zebra has answered everything sent at connection time.
    void on_synchronized(std::function<void()> callback) { on_synchronized_ = std::move(callback); }
    void on_disconnected(std::function<void(const std::string& reason)> callback) {
        on_disconnected_ = std::move(callback);
    }

    // Registrations are remembered and re-sent after every reconnect; while disconnected they
    // are only remembered.
    void redistribute(std::uint8_t afi, RouteType type);
    void stop_redistribute(std::uint8_t afi, RouteType type);
    void register_nexthop(const IpAddress& address);
    void unregister_nexthop(const IpAddress& address);
    void install_route(const ZapiRoute& route);
    void withdraw_route(const Prefix& prefix);

    void start();
    // Closes the connection and stops reconnecting; handlers are not called any more.
    void stop();

    [[nodiscard]] bool connected() const { return connected_; }
    [[nodiscard]] bool synchronized() const { return connected_ && !awaiting_barrier_; }
    [[nodiscard]] const ZapiClientStats& stats() const { return stats_; }
    [[nodiscard]] const DecodeCounters& decode_counters() const { return decoder_.counters(); }
    [[nodiscard]] const ZapiClientConfig& config() const { return config_; }

  private:
    void connect();
    void schedule_reconnect();
    void handle_connected();
    void read();
    void handle_bytes(std::size_t size);
    void dispatch(const ZapiMessage& message);
    void disconnect(const std::string& reason);
    void send(tl::expected<Bytes, EncodeErrc> message);
    void write_next();
    void send_nexthop_registrations(const std::vector<IpAddress>& addresses, bool add);

    asio::io_context& io_;
    ZapiClientConfig config_;
    ZapiEncoder encoder_;
    ZapiDecoder decoder_;
    ZapiFramer framer_;
    asio::local::stream_protocol::socket socket_;
    asio::steady_timer reconnect_timer_;
    std::chrono::milliseconds backoff_;
    std::vector<std::uint8_t> read_buffer_;
    std::deque<Bytes> write_queue_;
    bool writing_ = false;
    bool connected_ = false;
    bool running_ = false;
    bool awaiting_barrier_ = false;
    // Bumped on every new socket so completions of an old connection are ignored.
    std::uint64_t generation_ = 0;

    std::map<Command, Handler> handlers_;
    std::function<void()> on_connected_;
    std::function<void()> on_synchronized_;
    std::function<void(const std::string&)> on_disconnected_;

    std::set<std::pair<std::uint8_t, RouteType>> redistributions_;
    std::set<IpAddress> nexthops_;
    std::map<Prefix, ZapiRoute> routes_;
    ZapiClientStats stats_;
    // Lets completion handlers detect that the client was destroyed.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mpsa::bgp_glue
