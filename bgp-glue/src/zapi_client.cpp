#include "mpsa/bgp_glue/zapi_client.hpp"

#include <algorithm>
#include <asio/read.hpp>
#include <asio/write.hpp>

namespace mpsa::bgp_glue {
namespace {

// Registrations per NEXTHOP_REGISTER message: 23 bytes per IPv6 entry stays well under zebra's
// 16 KiB message limit.
constexpr std::size_t kRegistrationsPerMessage = 400;
constexpr std::size_t kReadBufferSize = 64 * 1024;

}  // namespace

ZapiClient::ZapiClient(asio::io_context& io, ZapiClientConfig config)
    : io_(io),
      config_(std::move(config)),
      encoder_(config_.release),
      decoder_(config_.release),
      socket_(io),
      reconnect_timer_(io),
      backoff_(config_.initial_backoff),
      read_buffer_(kReadBufferSize) {}

ZapiClient::~ZapiClient() {
    *alive_ = false;
    std::error_code ignored;
    socket_.close(ignored);
    reconnect_timer_.cancel();
}

void ZapiClient::set_handler(Command command, Handler handler) {
    handlers_[command] = std::move(handler);
}

void ZapiClient::start() {
    if (running_) return;
    running_ = true;
    connect();
}

void ZapiClient::stop() {
    running_ = false;
    reconnect_timer_.cancel();
    if (connected_) {
        connected_ = false;
        ++generation_;
        std::error_code ignored;
        socket_.close(ignored);
    }
    write_queue_.clear();
    writing_ = false;
}

void ZapiClient::connect() {
    if (!running_) return;
    std::error_code ignored;
    socket_.close(ignored);
    socket_ = asio::local::stream_protocol::socket(io_);
    const std::uint64_t generation = ++generation_;
    socket_.async_connect(asio::local::stream_protocol::endpoint(config_.socket_path),
                          [this, alive = alive_, generation](const std::error_code& error) {
                              if (!*alive || generation != generation_ || !running_) return;
                              if (error) {
                                  ++stats_.connect_failures;
                                  schedule_reconnect();
                                  return;
                              }
                              handle_connected();
                          });
}

void ZapiClient::schedule_reconnect() {
    if (!running_) return;
    reconnect_timer_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, config_.max_backoff);
    reconnect_timer_.async_wait([this, alive = alive_](const std::error_code& error) {
        if (!*alive || error) return;
        connect();
    });
}

void ZapiClient::handle_connected() {
    connected_ = true;
    ++stats_.connects;
    framer_.reset();
    write_queue_.clear();
    writing_ = false;
    awaiting_barrier_ = true;
    if (on_connected_) on_connected_();
    if (!connected_) return;  // the callback stopped us

    send(encoder_.hello(config_.hello));
    for (const auto& [afi, type] : redistributions_) send(encoder_.redistribute_add(afi, type));
    send_nexthop_registrations(std::vector<IpAddress>(nexthops_.begin(), nexthops_.end()), true);
    for (const auto& [prefix, route] : routes_) send(encoder_.route_add(route));
    // The barrier: answered only after everything above has been processed.
    send(encoder_.router_id_add(kAfiIp));
    read();
}

void ZapiClient::read() {
    const std::uint64_t generation = generation_;
    socket_.async_read_some(
        asio::buffer(read_buffer_),
        [this, alive = alive_, generation](const std::error_code& error, std::size_t size) {
            if (!*alive || generation != generation_ || !connected_) return;
            if (error) {
                disconnect(error == asio::error::eof ? "zebra closed the connection"
                                                     : "read failed: " + error.message());
                return;
            }
            handle_bytes(size);
            if (connected_ && generation == generation_) read();
        });
}

void ZapiClient::handle_bytes(std::size_t size) {
    const std::uint64_t generation = generation_;
    framer_.feed(ByteView(read_buffer_.data(), size));
    while (auto framed = framer_.next()) {
        if (!*framed) {
            ++stats_.framing_errors;
            disconnect("framing error: " + framed->error().to_string());
            return;
        }
        ++stats_.messages_received;
        // A message that does not decode is counted by the decoder and skipped: its
        // boundaries are known, so the stream stays in sync.
        const auto message = decoder_.decode(**framed);
        if (message) dispatch(*message);
        // A handler may have stopped or restarted the client.
        if (!connected_ || generation != generation_) return;
    }
}

void ZapiClient::dispatch(const ZapiMessage& message) {
    if (auto it = handlers_.find(message.command); it != handlers_.end() && it->second) {
        it->second(message);
    }
    if (awaiting_barrier_ && message.command == Command::RouterIdUpdate && connected_) {
        awaiting_barrier_ = false;
        backoff_ = config_.initial_backoff;  // a full session: the next failure starts afresh
        ++stats_.synchronizations;
        if (on_synchronized_) on_synchronized_();
    }
}

void ZapiClient::disconnect(const std::string& reason) {
    if (!connected_) return;
    connected_ = false;
    awaiting_barrier_ = false;
    ++stats_.disconnects;
    ++generation_;
    std::error_code ignored;
    socket_.close(ignored);
    write_queue_.clear();
    writing_ = false;
    if (on_disconnected_) on_disconnected_(reason);
    schedule_reconnect();
}

void ZapiClient::send(tl::expected<Bytes, EncodeErrc> message) {
    // Encoding only fails for inputs this client never builds (checked by the unit tests).
    if (!message || !connected_) return;
    write_queue_.push_back(std::move(*message));
    if (!writing_) write_next();
}

void ZapiClient::write_next() {
    if (write_queue_.empty() || !connected_) {
        writing_ = false;
        return;
    }
    writing_ = true;
    const std::uint64_t generation = generation_;
    asio::async_write(
        socket_, asio::buffer(write_queue_.front()),
        [this, alive = alive_, generation](const std::error_code& error, std::size_t) {
            if (!*alive || generation != generation_ || !connected_) return;
            if (error) {
                disconnect("write failed: " + error.message());
                return;
            }
            ++stats_.messages_sent;
            write_queue_.pop_front();
            write_next();
        });
}

void ZapiClient::send_nexthop_registrations(const std::vector<IpAddress>& addresses, bool add) {
    std::vector<NexthopRegistration> batch;
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        batch.push_back(NexthopRegistration{addresses[i]});
        if (batch.size() == kRegistrationsPerMessage || i + 1 == addresses.size()) {
            send(add ? encoder_.nexthop_register(batch) : encoder_.nexthop_unregister(batch));
            batch.clear();
        }
    }
}

void ZapiClient::redistribute(std::uint8_t afi, RouteType type) {
    if (redistributions_.emplace(afi, type).second) send(encoder_.redistribute_add(afi, type));
}

void ZapiClient::stop_redistribute(std::uint8_t afi, RouteType type) {
    if (redistributions_.erase({afi, type}) > 0) send(encoder_.redistribute_delete(afi, type));
}

void ZapiClient::register_nexthop(const IpAddress& address) {
    if (nexthops_.insert(address).second) send_nexthop_registrations({address}, true);
}

void ZapiClient::unregister_nexthop(const IpAddress& address) {
    if (nexthops_.erase(address) > 0) send_nexthop_registrations({address}, false);
}

void ZapiClient::install_route(const ZapiRoute& route) {
    routes_[route.prefix] = route;
    send(encoder_.route_add(route));
}

void ZapiClient::withdraw_route(const Prefix& prefix) {
    auto it = routes_.find(prefix);
    if (it == routes_.end()) return;
    send(encoder_.route_delete(it->second));
    routes_.erase(it);
}

}  // namespace mpsa::bgp_glue
