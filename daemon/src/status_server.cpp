#include "mpsa/daemon/status_server.hpp"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>

#include <spdlog/spdlog.h>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

// Why not cpp-httplib for the server: Debian bookworm packages cpp-httplib 0.11.4 (checked with
// `apt-cache policy libcpp-httplib-dev`, no newer package), whose Server cannot listen on AF_UNIX
// and has no public way to adopt an already-bound listening fd (only the protected svr_sock_
// member, an implementation detail). It also bounds header lines but not the number of headers,
// and its read timeout is per recv(), so a client trickling one byte per second holds a worker
// thread forever. The API needs neither keep-alive nor bodies, so one small, strict HTTP/1.1
// responder on standalone Asio serves both transports with identical behaviour: GET only, request
// line + headers bounded (8 KiB), one deadline for the whole request, Connection: close, and the
// same routing function (route_api_request) whatever the transport.

namespace mpsa::daemon {

namespace {

using nlohmann::json;

constexpr std::string_view kResources[] = {"status", "groups", "members", "peers", "routes", "sas"};
constexpr std::string_view kRequestsHelp = "Status API requests by endpoint and HTTP status code";
constexpr std::size_t kMaxDrainBytes = 64 * 1024;

std::string dump(const json& doc) {
    // Strings in snapshots may come from the network (peer identities): replace invalid UTF-8
    // instead of throwing.
    return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

bool known_resource(std::string_view key) {
    for (auto r : kResources) {
        if (r == key) return true;
    }
    return false;
}

// RFC 9110 token characters (methods, header names).
bool is_tchar(unsigned char c) {
    if (std::isalnum(c) != 0) return true;
    return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

struct ParsedRequest {
    enum class State { kIncomplete, kComplete, kBad };
    State state = State::kIncomplete;
    int status = 400;  // kBad
    std::string reason;
    std::string method;
    std::string target;
};

ParsedRequest bad_request(int status, std::string reason) {
    ParsedRequest p;
    p.state = ParsedRequest::State::kBad;
    p.status = status;
    p.reason = std::move(reason);
    return p;
}

// request-line = method SP request-target SP HTTP-version; origin-form targets only.
std::optional<ParsedRequest> check_request_line(std::string_view line) {
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
        return bad_request(400, "malformed request line");
    }
    const auto method = line.substr(0, sp1);
    const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const auto version = line.substr(sp2 + 1);
    if (method.empty() || method.size() > 16) return bad_request(400, "malformed method");
    for (unsigned char c : method) {
        if (!is_tchar(c)) return bad_request(400, "malformed method");
    }
    if (target.empty() || target.front() != '/') {
        return bad_request(400, "request target must be an absolute path");
    }
    for (unsigned char c : target) {
        if (c < 0x21 || c > 0x7e) return bad_request(400, "malformed request target");
    }
    if (version != "HTTP/1.1" && version != "HTTP/1.0") {
        if (!version.starts_with("HTTP/")) return bad_request(400, "malformed HTTP version");
        return bad_request(505, "only HTTP/1.0 and HTTP/1.1 are supported");
    }
    ParsedRequest p;
    p.state = ParsedRequest::State::kComplete;
    p.method = std::string(method);
    p.target = std::string(target);
    return p;
}

// Strict and incremental: rejects as early as the bytes allow (binary garbage is answered at once
// rather than at the deadline), never reads a body (GET has none; anything else is 405 anyway).
ParsedRequest parse_request(std::string_view buf, std::size_t max_bytes) {
    const auto line_end = buf.find("\r\n");
    if (line_end == std::string_view::npos) {
        // No complete request line yet: what we have must still look like one.
        for (unsigned char c : buf) {
            if ((c < 0x20 && c != '\r') || c > 0x7e) return bad_request(400, "malformed request");
        }
        if (buf.size() >= max_bytes) return bad_request(431, "request header too large");
        return {};
    }
    auto request = check_request_line(buf.substr(0, line_end));
    if (request->state == ParsedRequest::State::kBad) return *request;

    const auto header_end = buf.find("\r\n\r\n", line_end);
    if (header_end == std::string_view::npos || header_end + 4 > max_bytes) {
        if (buf.size() >= max_bytes) return bad_request(431, "request header too large");
    }
    // Check the complete header lines received so far.
    std::size_t pos = line_end + 2;
    while (true) {
        const auto eol = buf.find("\r\n", pos);
        if (eol == std::string_view::npos) break;
        if (eol == pos) return *request;  // empty line: end of the header section
        const auto line = buf.substr(pos, eol - pos);
        if (line.front() == ' ' || line.front() == '\t') {
            return bad_request(400, "obsolete header line folding");
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            return bad_request(400, "malformed header line");
        }
        for (unsigned char c : line.substr(0, colon)) {
            if (!is_tchar(c)) return bad_request(400, "malformed header name");
        }
        for (unsigned char c : line.substr(colon + 1)) {
            if ((c < 0x20 && c != '\t') || c == 0x7f) return bad_request(400, "malformed header");
        }
        pos = eol + 2;
    }
    // A header line in progress may not contain control characters either.
    for (unsigned char c : buf.substr(pos)) {
        if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
            return bad_request(400, "malformed header");
        }
    }
    return {};
}

std::string serialize(const ApiResponse& r) {
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " ";
    out += http_reason_phrase(r.status);
    out += "\r\nContent-Type: " + r.content_type;
    out += "\r\nContent-Length: " + std::to_string(r.body.size());
    out += "\r\nCache-Control: no-store\r\nConnection: close\r\n";
    if (r.status == 405) out += "Allow: GET\r\n";
    out += "\r\n";
    out += r.body;
    return out;
}

std::string errno_text(int err) {
    return std::error_code(err, std::generic_category()).message();
}

}  // namespace

std::string_view http_reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 400:
            return "Bad Request";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 503:
            return "Service Unavailable";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Unknown";
    }
}

ApiResponse api_error(int status, std::string_view reason, std::string endpoint) {
    const json body = {{"error", reason}};
    return {status, "application/json", dump(body), std::move(endpoint)};
}

ApiResponse route_api_request(std::string_view method, std::string_view target,
                              const Snapshot& snapshot, const MetricsRegistry& metrics) {
    try {
        const auto path = target.substr(0, target.find('?'));
        const bool is_resource = path.starts_with("/v1/") && known_resource(path.substr(4));
        const std::string endpoint =
            is_resource || path == "/metrics" ? std::string(path) : std::string("other");
        if (method != "GET") return api_error(405, "only GET is supported", endpoint);
        if (path == "/metrics") {
            return {200, "text/plain; version=0.0.4; charset=utf-8", metrics.render(), endpoint};
        }
        if (!is_resource) {
            constexpr std::size_t kEcho = 128;
            std::string shown(path.substr(0, kEcho));
            if (path.size() > kEcho) shown += "...";
            return api_error(404, "no such resource: " + shown, endpoint);
        }
        const std::string key(path.substr(4));
        const auto it = snapshot.find(key);
        if (it == snapshot.end()) {
            if (snapshot.empty())
                return api_error(503, "mpsad is starting: no state yet", endpoint);
            if (key == "members") return api_error(404, "members: gateway role only", endpoint);
            return api_error(404, key + ": not provided by this role", endpoint);
        }
        return {200, "application/json", dump(it->second), endpoint};
    } catch (const std::exception& e) {
        return api_error(500, std::string("internal error: ") + e.what());
    }
}

void SnapshotStore::publish(Snapshot snapshot) {
    auto next = std::make_shared<const Snapshot>(std::move(snapshot));
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
}

std::shared_ptr<const Snapshot> SnapshotStore::latest() const {
    std::lock_guard lock(mutex_);
    return current_;
}

// Everything that lives on the server thread. Member order matters: connections still queued in
// io's handlers are destroyed with io and decrement `active`.
class StatusServer::Core {
  public:
    Core(const SnapshotStore& snapshots, MetricsRegistry& metrics, StatusServerLimits limits)
        : snapshots_(snapshots), metrics_(metrics), limits_(limits) {}

    void count(const std::string& endpoint, int code) {
        metrics_
            .counter("mpsa_api_requests_total", kRequestsHelp,
                     {{"endpoint", endpoint}, {"code", std::to_string(code)}})
            .inc();
    }
    ApiResponse route(std::string_view method, std::string_view target) {
        const auto snapshot = snapshots_.latest();
        return route_api_request(method, target, *snapshot, metrics_);
    }
    [[nodiscard]] const StatusServerLimits& limits() const { return limits_; }

    template <class Acceptor>
    void accept(Acceptor& acceptor);

    std::size_t active = 0;  // open connections (server thread only)
    asio::io_context io;
    asio::steady_timer retry_timer{io};
    std::optional<asio::ip::tcp::acceptor> tcp;
    std::optional<asio::local::stream_protocol::acceptor> local;
    std::string unix_path;
    ::dev_t unix_dev = 0;
    ::ino_t unix_ino = 0;

  private:
    const SnapshotStore& snapshots_;
    MetricsRegistry& metrics_;
    StatusServerLimits limits_;
};

namespace {

// One request, one response, then close. Reads and writes are bounded in size and time.
template <class Socket, class Core>
class Connection : public std::enable_shared_from_this<Connection<Socket, Core>> {
  public:
    Connection(Socket socket, Core& core)
        : socket_(std::move(socket)), timer_(socket_.get_executor()), core_(core) {
        ++core_.active;
    }
    ~Connection() { --core_.active; }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void start() {
        arm_timer(core_.limits().request_timeout);
        read();
    }

  private:
    enum class Phase { kReading, kWriting, kDraining, kClosed };

    void arm_timer(std::chrono::milliseconds after) {
        timer_.expires_after(after);
        timer_.async_wait([self = this->shared_from_this()](std::error_code ec) {
            if (!ec) self->on_deadline();
        });
    }

    void read() {
        if (read_pending_) return;
        std::size_t room = chunk_.size();
        if (phase_ == Phase::kReading) {
            // Never hold more than the limit (plus the terminating CRLF check).
            room = std::min(room, core_.limits().max_request_bytes - request_.size());
        }
        read_pending_ = true;
        socket_.async_read_some(
            asio::buffer(chunk_.data(), room),
            [self = this->shared_from_this()](std::error_code ec, std::size_t n) {
                self->read_pending_ = false;
                self->on_read(ec, n);
            });
    }

    void on_read(std::error_code ec, std::size_t n) {
        if (phase_ == Phase::kDraining) {
            drained_ += n;
            if (ec || drained_ > kMaxDrainBytes) return close();
            return read();
        }
        if (phase_ != Phase::kReading) return;
        if (ec) return close();  // the client left before sending a whole request
        request_.append(chunk_.data(), n);
        const auto parsed = parse_request(request_, core_.limits().max_request_bytes);
        switch (parsed.state) {
            case ParsedRequest::State::kIncomplete:
                return read();
            case ParsedRequest::State::kBad:
                return respond(api_error(parsed.status, parsed.reason));
            case ParsedRequest::State::kComplete:
                return respond(core_.route(parsed.method, parsed.target));
        }
    }

    void on_deadline() {
        if (phase_ == Phase::kReading) {
            return respond(
                api_error(408, "request not complete within " +
                                   std::to_string(core_.limits().request_timeout.count()) + " ms"));
        }
        close();
    }

    void respond(const ApiResponse& response) {
        core_.count(response.endpoint, response.status);
        phase_ = Phase::kWriting;
        arm_timer(core_.limits().write_timeout);
        out_ = serialize(response);
        asio::async_write(socket_, asio::buffer(out_),
                          [self = this->shared_from_this()](std::error_code ec, std::size_t) {
                              self->on_written(ec);
                          });
    }

    void on_written(std::error_code ec) {
        if (phase_ == Phase::kClosed) return;
        if (ec) return close();
        std::error_code ignored;
        socket_.shutdown(Socket::shutdown_send, ignored);
        // Read (and discard) what the client still sends until it closes, bounded by the write
        // deadline: closing with unread input would reset the connection and could destroy the
        // answer before the client read it.
        phase_ = Phase::kDraining;
        read();
    }

    void close() {
        phase_ = Phase::kClosed;
        timer_.cancel();
        std::error_code ignored;
        socket_.close(ignored);
    }

    Socket socket_;
    asio::steady_timer timer_;
    Core& core_;
    Phase phase_ = Phase::kReading;
    bool read_pending_ = false;
    std::array<char, 2048> chunk_{};
    std::string request_;
    std::string out_;
    std::size_t drained_ = 0;
};

}  // namespace

template <class Acceptor>
void StatusServer::Core::accept(Acceptor& acceptor) {
    using Socket = typename Acceptor::protocol_type::socket;
    acceptor.async_accept([this, &acceptor](std::error_code ec, Socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
        if (ec) {
            // Out of descriptors or similar: pause instead of spinning on the error.
            spdlog::warn("status API: accept failed: {}", ec.message());
            retry_timer.expires_after(std::chrono::milliseconds(100));
            retry_timer.async_wait([this, &acceptor](std::error_code wait_ec) {
                if (!wait_ec) accept(acceptor);
            });
            return;
        }
        if (active >= limits_.max_connections) {
            count("other", 503);
            std::error_code ignored;
            socket.close(ignored);
        } else {
            std::make_shared<Connection<Socket, Core>>(std::move(socket), *this)->start();
        }
        accept(acceptor);
    });
}

StatusServer::StatusServer(const SnapshotStore& snapshots, MetricsRegistry& metrics)
    : StatusServer(snapshots, metrics, StatusServerLimits{}) {}

StatusServer::StatusServer(const SnapshotStore& snapshots, MetricsRegistry& metrics,
                           StatusServerLimits limits)
    : snapshots_(snapshots), metrics_(metrics), limits_(limits) {}

StatusServer::~StatusServer() {
    stop();
}

namespace {

// A socket file nobody listens on is left over from a crash: replace it. A live socket or any
// other kind of file is not ours to delete.
tl::expected<void, std::string> clear_stale_socket(asio::io_context& io, const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return tl::unexpected(path + ": " + errno_text(errno));
    }
    if (!S_ISSOCK(st.st_mode)) {
        return tl::unexpected(path + " exists and is not a socket; not replacing it");
    }
    asio::local::stream_protocol::socket probe(io);
    std::error_code ec;
    probe.connect(asio::local::stream_protocol::endpoint(path), ec);
    if (!ec) return tl::unexpected(path + ": another process is serving this socket");
    if (ec != asio::error::connection_refused) {
        return tl::unexpected(path + ": cannot check the existing socket: " + ec.message());
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return tl::unexpected(path + ": cannot remove the stale socket: " + errno_text(errno));
    }
    return {};
}

}  // namespace

tl::expected<void, std::string> StatusServer::start(const ApiEndpoint& endpoint) {
    stop();
    auto core = std::make_unique<Core>(snapshots_, metrics_, limits_);
    std::error_code ec;
    if (!endpoint.unix_path.empty()) {
        const auto& path = endpoint.unix_path;
        if (path.size() >= sizeof(sockaddr_un::sun_path)) {
            return tl::unexpected("unix socket path too long (max " +
                                  std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                                  " bytes): " + path);
        }
        if (auto cleared = clear_stale_socket(core->io, path); !cleared) return cleared;
        const asio::local::stream_protocol::endpoint ep(path);
        auto& acceptor = core->local.emplace(core->io);
        const auto fail = [&](const std::string& what) {
            return tl::unexpected("cannot listen on unix:" + path + ": " + what + ": " +
                                  ec.message());
        };
        acceptor.open(ep.protocol(), ec);
        if (ec) return fail("socket");
        acceptor.bind(ep, ec);
        if (ec) return fail("bind");
        // Mode before listen(): until then nobody can connect, whatever the umask allowed.
        struct stat st {};
        if (::chmod(path.c_str(), 0660) != 0 || ::lstat(path.c_str(), &st) != 0) {
            const std::string reason = errno_text(errno);
            ::unlink(path.c_str());
            return tl::unexpected("cannot set the mode of " + path + ": " + reason);
        }
        acceptor.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            ::unlink(path.c_str());
            return fail("listen");
        }
        core->unix_path = path;
        core->unix_dev = st.st_dev;
        core->unix_ino = st.st_ino;
        listening_on_ = "unix:" + path;
        port_ = 0;
        core->accept(acceptor);
    } else {
        const auto address = asio::ip::make_address(endpoint.host, ec);
        if (ec) return tl::unexpected("api host '" + endpoint.host + "' is not an IP address");
        const asio::ip::tcp::endpoint ep(address, endpoint.port);
        const std::string where =
            address.is_v6() ? "[" + endpoint.host + "]:" : endpoint.host + ":";
        auto& acceptor = core->tcp.emplace(core->io);
        const auto fail = [&](const std::string& what) {
            return tl::unexpected("cannot listen on " + where + std::to_string(endpoint.port) +
                                  ": " + what + ": " + ec.message());
        };
        acceptor.open(ep.protocol(), ec);
        if (ec) return fail("socket");
        acceptor.set_option(asio::socket_base::reuse_address(true), ec);
        if (ec) return fail("option");
        acceptor.bind(ep, ec);
        if (ec) return fail("bind");
        acceptor.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) return fail("listen");
        port_ = acceptor.local_endpoint(ec).port();
        listening_on_ = where + std::to_string(port_);
        core->accept(acceptor);
    }
    core_ = std::move(core);
    thread_ = std::thread([core = core_.get()] {
        // A handler throwing (allocation failure) must not take the daemon down with it.
        while (true) {
            try {
                core->io.run();
                return;
            } catch (const std::exception& e) {
                spdlog::error("status API: {}", e.what());
            }
        }
    });
    return {};
}

void StatusServer::stop() {
    if (!core_) return;
    core_->io.stop();
    if (thread_.joinable()) thread_.join();
    std::error_code ignored;
    if (core_->tcp) core_->tcp->close(ignored);
    if (core_->local) core_->local->close(ignored);
    if (!core_->unix_path.empty()) {
        // Only remove the file if it is still ours (not replaced by another instance).
        struct stat st {};
        if (::lstat(core_->unix_path.c_str(), &st) == 0 && st.st_dev == core_->unix_dev &&
            st.st_ino == core_->unix_ino) {
            ::unlink(core_->unix_path.c_str());
        }
    }
    core_.reset();
    port_ = 0;
    listening_on_.clear();
}

}  // namespace mpsa::daemon
