// ike_handshake: IKE_SA_INIT + IKE_AUTH load generator on our initiator (SaManager, real UDP
// sockets), PSK, aes128gcm16-prfsha256-x25519, and the matching responder of ours.
//   ike_handshake --serve ADDR               our responder; "rss" on stdin prints {"rss_kib":..}
//   ike_handshake --local A --target B -n N -c W   opens N IKE SAs, W handshakes in flight
// run.py drives both against our responder and against charon in namespaces. Not a test.
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>

#include "mpsa/ike/auth.hpp"
#include "mpsa/ike/sa_manager.hpp"
#include "mpsa/ike/suite.hpp"
#include "mpsa/ike/udp_socket.hpp"

namespace ike = mpsa::ike;

namespace {

long rss_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return -1;
}

class NoChildren final : public ike::ChildSaInstaller {
  public:
    tl::expected<std::uint32_t, ike::InstallError> allocate_spi(const ike::Endpoint&,
                                                                const ike::Endpoint&) override {
        return tl::make_unexpected(ike::InstallError::kUnavailable);
    }
    tl::expected<void, ike::InstallError> install(const ike::ChildSaInstall&) override {
        return tl::make_unexpected(ike::InstallError::kUnavailable);
    }
    void remove(std::uint32_t, std::uint32_t) override {}
};

ike::Identification ip_id(const ike::IpAddress& ip) {
    const auto v = ip.view();
    return {ip.v6 ? ike::IdType::kIpv6Addr : ike::IdType::kIpv4Addr,
            ike::Bytes(v.begin(), v.end())};
}

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ike_handshake: IKE SA setup rate and memory"};
    std::string serve, local_text, target_text;
    std::string psk = "mpsa-bench-pre-shared-key";
    std::size_t count = 1000;
    std::size_t window = 64;
    app.add_option("--serve", serve, "run our responder on this address");
    app.add_option("--local", local_text);
    app.add_option("--target", target_text);
    app.add_option("-n", count);
    app.add_option("-c", window);
    app.add_option("--psk", psk);
    CLI11_PARSE(app, argc, argv);

    auto suite = ike::parse_suite("aes128gcm16-prfsha256-x25519");
    ike::IkeSaConfig config;
    config.proposals = {*suite};
    config.dpd_interval = ike::Duration::zero();
    config.ike_rekey_interval = ike::Duration::zero();
    config.child_rekey_interval = ike::Duration::zero();
    config.send_initial_contact = false;  // many IKE SAs of one identity must coexist
    config.retransmit.timeout = std::chrono::seconds(2);
    ike::SecretBytes key(
        ike::ByteView(reinterpret_cast<const std::uint8_t*>(psk.data()), psk.size()));
    ike::PskAuthenticator authenticator(key);
    ike::SteadyClock clock;
    ike::OpenSslRandom random;
    NoChildren installer;
    ike::IkeSaDeps deps{&clock, &random, &authenticator, &installer, nullptr};
    asio::io_context io;
    ike::SaManagerConfig manager_config;
    manager_config.cookies.half_open_threshold = 1000000;
    manager_config.endpoint.options.receive_buffer_bytes = 4 << 20;

    if (!serve.empty()) {
        auto ip = ike::parse_ip_address(serve);
        if (!ip) return 2;
        config.local_id = ip_id(*ip);
        manager_config.endpoint.addresses = {*ip};
        std::size_t up = 0;
        auto manager = ike::SaManager::open(
            io, clock, random, manager_config,
            [&](const ike::Endpoint&, const ike::Endpoint&) {
                return std::optional<ike::ResponderSetup>(ike::ResponderSetup{config, deps});
            },
            [&](const ike::SessionEvent& e) {
                if (std::holds_alternative<ike::IkeSaUp>(e.event)) ++up;
            });
        if (!manager) {
            std::cerr << "sockets: " << manager.error().message() << "\n";
            return 2;
        }
        std::cout << "{\"ready\":true,\"rss_kib\":" << rss_kib() << ",\"cpu_s\":" << cpu_seconds()
                  << ",\"heap_bytes\":" << mallinfo2().uordblks << "}" << std::endl;
        asio::posix::stream_descriptor input(io, ::dup(STDIN_FILENO));
        asio::streambuf buffer;
        std::function<void()> next = [&] {
            asio::async_read_until(input, buffer, '\n', [&](std::error_code error, std::size_t) {
                if (error) {
                    io.stop();
                    return;
                }
                std::istream s(&buffer);
                std::string line;
                std::getline(s, line);
                // Heap in use as malloc sees it (without allocator slack), next to the RSS.
                std::cout << "{\"rss_kib\":" << rss_kib() << ",\"cpu_s\":" << cpu_seconds()
                          << ",\"heap_bytes\":" << mallinfo2().uordblks
                          << ",\"ike_sas\":" << (*manager)->sessions().size() << ",\"up\":" << up
                          << "}" << std::endl;
                next();
            });
        };
        next();
        io.run();
        return 0;
    }

    auto local = ike::parse_ip_address(local_text);
    auto target = ike::parse_ip_address(target_text);
    if (!local || !target) return 2;
    config.local_id = ip_id(*local);
    manager_config.endpoint.addresses = {*local};
    std::size_t started = 0, up = 0, failed = 0, in_flight = 0;
    std::unique_ptr<ike::SaManager>* manager_slot = nullptr;
    auto start_more = [&] {
        while (in_flight < window && started < count) {
            auto id = (*manager_slot)
                          ->initiate(config, deps, ike::Endpoint{*local, ike::kIkePort},
                                     ike::Endpoint{*target, ike::kIkePort});
            ++started;
            if (id) {
                ++in_flight;
            } else {
                ++failed;
            }
        }
        if (up + failed == count) io.stop();
    };
    auto manager = ike::SaManager::open(
        io, clock, random, manager_config,
        [](const ike::Endpoint&, const ike::Endpoint&) { return std::nullopt; },
        [&](const ike::SessionEvent& e) {
            if (std::holds_alternative<ike::IkeSaUp>(e.event)) {
                ++up;
                --in_flight;
            } else if (std::holds_alternative<ike::IkeSaDown>(e.event)) {
                ++failed;
                --in_flight;
            } else {
                return;
            }
            start_more();
        });
    if (!manager) {
        std::cerr << "sockets: " << manager.error().message() << "\n";
        return 2;
    }
    manager_slot = &*manager;
    const long rss_before = rss_kib();
    const auto t0 = std::chrono::steady_clock::now();
    start_more();
    io.run();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf(
        "{\"ike_sas\":%zu,\"failed\":%zu,\"seconds\":%.3f,\"handshakes_per_s\":%.1f,"
        "\"initiator_rss_kib_per_1000\":%.1f,\"initiator_cpu_s\":%.2f}\n",
        up, failed, seconds, static_cast<double>(up) / seconds,
        static_cast<double>(rss_kib() - rss_before) * 1000.0 / static_cast<double>(up ? up : 1),
        cpu_seconds());
    return failed == 0 ? 0 : 1;
}
