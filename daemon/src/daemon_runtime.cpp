#include "mpsa/daemon/daemon_runtime.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include "mpsa/daemon/metrics.hpp"
#include "mpsa/daemon/role.hpp"
#include "mpsa/daemon/version.hpp"

namespace mpsa::daemon {

using nlohmann::json;

void merge_runtime_status(Snapshot& snapshot, const RuntimeStatusInfo& info) {
    json& status = snapshot["status"];
    if (!status.is_object()) status = json::object();
    status["role"] = std::string(role_name(info.role));
    status["identity"] = info.identity;
    status["version"] = info.version;
    status["pid"] = info.pid;
    status["uptime_seconds"] = info.uptime_seconds;
    json last = nullptr;
    if (info.last_reload) {
        last = {{"ok", info.last_reload->ok},
                {"at", info.last_reload->at},
                {"errors", info.last_reload->errors}};
    }
    status["config"] = {
        {"file", info.config_file}, {"generation", info.generation}, {"last_reload", last}};
}

std::vector<std::string> error_lines(const std::vector<ConfigError>& errors) {
    std::vector<std::string> out;
    out.reserve(errors.size());
    for (const auto& e : errors) out.push_back(e.to_string());
    return out;
}

std::vector<std::string> check_config_file(const std::string& path) {
    auto config = load_config_file(path);
    if (config) return {};
    return error_lines(config.error());
}

tl::expected<Config, std::vector<std::string>> reload_candidate(const std::string& path,
                                                                const Config& running) {
    auto config = load_config_file(path);
    if (!config) return tl::make_unexpected(error_lines(config.error()));
    if (config->role != running.role) {
        return tl::make_unexpected(std::vector<std::string>{
            "/role: cannot change from " + std::string(role_name(running.role)) + " to " +
            std::string(role_name(config->role)) + " on reload (restart mpsad)"});
    }
    return std::move(*config);
}

namespace {

spdlog::level::level_enum level_of(const std::string& name) {
    if (name == "trace") return spdlog::level::trace;
    if (name == "debug") return spdlog::level::debug;
    if (name == "warn") return spdlog::level::warn;
    if (name == "error") return spdlog::level::err;
    return spdlog::level::info;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class Runtime {
  public:
    Runtime(RuntimeOptions options, Config config)
        : options_(std::move(options)),
          config_(std::move(config)),
          signals_(io_, SIGHUP, SIGTERM, SIGINT),
          publish_timer_(io_),
          server_(snapshots_, metrics_) {
        info_.role = config_.role;
        info_.identity = config_.identity;
        info_.version = kVersion;
        info_.pid = ::getpid();
        std::error_code ec;
        const auto absolute = std::filesystem::absolute(options_.config_file, ec);
        info_.config_file = ec ? options_.config_file : absolute.lexically_normal().string();
    }

    int run() {
        RoleContext context{io_, metrics_, clock_, random_, [this] { request_publish(); }};
        role_ = config_.role == Role::kGateway ? make_gateway_role(context, config_)
                                               : make_cpe_role(context, config_);
        if (auto started = role_->start(); !started) {
            spdlog::critical("start failed: {}", started.error());
            role_->shutdown();
            return 1;
        }
        publish();  // /v1/status answers with the role's state from the first request on
        if (auto listening = server_.start(config_.api); !listening) {
            spdlog::critical("status API: {}", listening.error());
            role_->shutdown();
            return 1;
        }
        spdlog::info("status API on {}", server_.listening_on());
        wait_signal();
        arm_publish_timer();
        spdlog::info("mpsad ready: role {}, identity {}, config {}", role_name(config_.role),
                     config_.identity, options_.config_file);
        io_.run();
        server_.stop();
        return exit_code_;
    }

  private:
    void wait_signal() {
        signals_.async_wait([this](const std::error_code& error, int signal) {
            if (error) return;
            if (signal == SIGHUP) {
                reload();
                wait_signal();
                return;
            }
            spdlog::info("signal {}: shutting down (dataplane left in place)", signal);
            publish_timer_.cancel();
            role_->shutdown();
            exit_code_ = 0;
            io_.stop();
        });
    }

    void reload() {
        spdlog::info("SIGHUP: reloading {}", options_.config_file);
        auto candidate = reload_candidate(options_.config_file, config_);
        ReloadRecord record;
        record.at = unix_now();
        if (candidate) {
            if (auto applied = role_->reload(*candidate); !applied) {
                record.errors.push_back("(role): " + applied.error());
            }
        } else {
            record.errors = candidate.error();
        }
        record.ok = record.errors.empty();
        if (record.ok) {
            config_ = std::move(*candidate);
            ++info_.generation;
            if (options_.log_level.empty()) spdlog::set_level(level_of(config_.log_level));
            spdlog::info("reload ok: configuration generation {}", info_.generation);
        } else {
            for (const auto& e : record.errors) spdlog::error("reload refused: {}", e);
            spdlog::error("reload refused: the previous configuration stays in effect");
        }
        metrics_
            .counter("mpsa_config_reloads_total", "SIGHUP reloads by result",
                     {{"result", record.ok ? "ok" : "error"}})
            .inc();
        info_.last_reload = std::move(record);
        publish();
    }

    void request_publish() {
        if (publish_posted_) return;
        publish_posted_ = true;
        asio::post(io_, [this] {
            publish_posted_ = false;
            publish();
        });
    }

    void publish() {
        if (!role_) return;
        Snapshot snapshot = role_->snapshot();
        info_.uptime_seconds =
            std::chrono::duration_cast<std::chrono::seconds>(clock_.now() - started_).count();
        merge_runtime_status(snapshot, info_);
        snapshots_.publish(std::move(snapshot));
    }

    void arm_publish_timer() {
        publish_timer_.expires_after(std::chrono::seconds(1));
        publish_timer_.async_wait([this](const std::error_code& error) {
            if (error) return;
            publish();
            arm_publish_timer();
        });
    }

    RuntimeOptions options_;
    Config config_;
    asio::io_context io_;
    ike::SteadyClock clock_;
    ike::OpenSslRandom random_;
    MetricsRegistry metrics_;
    SnapshotStore snapshots_;
    asio::signal_set signals_;
    asio::steady_timer publish_timer_;
    StatusServer server_;
    std::unique_ptr<NodeRole> role_;
    RuntimeStatusInfo info_;
    ike::TimePoint started_ = clock_.now();
    bool publish_posted_ = false;
    int exit_code_ = 0;
};

}  // namespace

int run_daemon(const RuntimeOptions& options) {
    auto logger = spdlog::stderr_color_mt("mpsad");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    spdlog::set_default_logger(logger);
    auto config = load_config_file(options.config_file);
    if (!config) {
        for (const auto& line : error_lines(config.error())) spdlog::critical("config: {}", line);
        return 1;
    }
    spdlog::set_level(level_of(options.log_level.empty() ? config->log_level : options.log_level));
    // A peer closing the API connection must not kill the daemon.
    std::signal(SIGPIPE, SIG_IGN);
    Runtime runtime(options, std::move(*config));
    return runtime.run();
}

}  // namespace mpsa::daemon
