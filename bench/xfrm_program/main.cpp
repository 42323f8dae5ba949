// xfrm_program: how fast the reconciler programs a large overlay from empty, how long a
// single-change update takes, and the same objects through `ip -batch` as the anchor.
// Usage: xfrm_program [--peers N] [--prefixes-per-peer N] [--samples N] [--sas] [--no-ip]
//                     [--withdraw]
// Runs as root in fresh network namespaces (one per phase), so the host is never touched.
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <mpsa/xfrm/netlink.hpp>
#include <mpsa/xfrm/ownership.hpp>
#include <mpsa/xfrm/reconciler.hpp>

namespace {

using namespace mpsa::xfrm;
using Clock = std::chrono::steady_clock;

struct Options {
    int peers = 1000;
    int prefixes_per_peer = 100;
    int samples = 200;
    bool sas = false;  // 1 SA per peer: needs ESP, i.e. the VM kernel
    bool ip_batch = true;
    bool withdraw = false;  // also time deleting everything through the reconciler
};

class NoTimer final : public Timer {
  public:
    void start(std::chrono::milliseconds, std::function<void()>) override {}
    void cancel() override {}
};

constexpr const char* kLocal = "100.64.255.1";
const std::uint32_t kIfId = ownership::group_if_id(1);

std::string peer_address(int peer) {
    return "100.64." + std::to_string(peer / 250) + "." + std::to_string(peer % 250 + 1);
}

std::string destination(std::uint32_t index, std::uint32_t base = 10U << 24) {
    const std::uint32_t a = base + index;
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
           std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

Policy out_policy(const std::string& dst, const std::string& peer) {
    Policy p;
    p.dir = Direction::kOut;
    p.selector.src = Prefix::from("0.0.0.0/0");
    p.selector.dst = Prefix::from(dst + "/32");
    p.if_id = kIfId;
    p.priority = 1000;
    Template t;
    t.src = IpAddress::from(kLocal);
    t.dst = IpAddress::from(peer);
    t.reqid = 7;
    p.templates.push_back(t);
    return p;
}

Route overlay_route(const std::string& dst) {
    Route r;
    r.dst = Prefix::from(dst + "/32");
    r.dev = "veth0";
    r.table = 100;
    return r;
}

State build(const Options& options) {
    State s;
    std::uint32_t index = 0;
    for (int peer = 0; peer < options.peers; ++peer) {
        const auto address = peer_address(peer);
        if (options.sas) {
            Sa sa;
            sa.src = IpAddress::from(kLocal);
            sa.dst = IpAddress::from(address);
            sa.spi = 0x1000;
            sa.cipher = CipherAlgorithm{"cbc(aes)", SecretBuffer(16)};
            sa.auth = AuthAlgorithm{"hmac(sha256)", SecretBuffer(32), 128};
            sa.if_id = kIfId;
            s.add(sa);
        }
        for (int i = 0; i < options.prefixes_per_peer; ++i, ++index) {
            const auto dst = destination(index);
            s.add(out_policy(dst, address));
            s.add(overlay_route(dst));
        }
    }
    return s;
}

bool fresh_namespace() {
    if (unshare(CLONE_NEWNET) != 0) {
        std::perror("unshare(CLONE_NEWNET)");
        return false;
    }
    return std::system(
               "ip link set lo up && ip link add veth0 type veth peer name veth1 && "
               "ip link set veth0 up && ip link set veth1 up && "
               "ip addr add 100.64.255.1/16 dev veth0") == 0;
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds (user + system, so kernel work done in our syscalls counts) of this process or of
// its waited-for children: on a loaded shared machine wall-clock time mostly measures the load.
double cpu_seconds(int who) {
    rusage usage{};
    getrusage(who, &usage);
    auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double percentile(std::vector<double> values, double fraction) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1));
    return values[rank];
}

int run(const Options& options) {
    const State desired = build(options);
    std::printf("objects: %zu policies, %zu routes, %zu SAs (%d peers x %d prefixes)\n",
                desired.policies.size(), desired.routes.size(), desired.sas.size(), options.peers,
                options.prefixes_per_peer);

    if (!fresh_namespace()) return 1;
    auto kernel = NetlinkKernel::open();
    if (!kernel) {
        std::fprintf(stderr, "%s\n", kernel.error().message.c_str());
        return 1;
    }
    NoTimer timer;
    Reconciler reconciler(**kernel, timer);
    auto start = Clock::now();
    const double cpu_before = cpu_seconds(RUSAGE_SELF);
    auto report = reconciler.apply(desired);
    const double install = seconds_since(start);
    const double install_cpu = cpu_seconds(RUSAGE_SELF) - cpu_before;
    if (!report || !report->ok()) {
        std::fprintf(stderr, "install failed: %s\n",
                     report ? report->failures.front().error.message.c_str()
                            : report.error().message.c_str());
        return 1;
    }
    std::printf(
        "mpsa reconciler: install from empty  %.3f s wall, %.3f s CPU (%zu changes, %.0f/s)\n",
        install, install_cpu, report->changes, static_cast<double>(report->changes) / install);

    start = Clock::now();
    auto second_kernel = NetlinkKernel::open();
    Reconciler restarted(**second_kernel, timer);
    auto again = restarted.apply(desired);
    const double noop = seconds_since(start);
    std::printf("mpsa reconciler: restart, same state %.3f s (dump + diff, %zu changes)\n", noop,
                again ? again->changes : 0);

    // Single change = one new destination (policy + route), as the controller does when zebra
    // reports a new prefix.
    std::vector<double> latencies;
    for (int i = 0; i < options.samples; ++i) {
        const auto dst = destination(static_cast<std::uint32_t>(i), 11U << 24);
        const std::vector<Object> upserts{out_policy(dst, peer_address(i % options.peers)),
                                          overlay_route(dst)};
        start = Clock::now();
        auto update = reconciler.change(upserts, {});
        latencies.push_back(seconds_since(start) * 1e3);
        if (!update || !update->ok() || update->changes != 2) {
            std::fprintf(stderr, "single change failed\n");
            return 1;
        }
    }
    std::printf(
        "mpsa reconciler: single change (policy + route) p50 %.3f ms  p99 %.3f ms  "
        "(%d samples)\n",
        percentile(latencies, 0.5), percentile(latencies, 0.99), options.samples);

    if (options.withdraw) {
        // Slow in the kernel itself (each inexact-policy delete costs ~0.2 ms, with `ip` too).
        start = Clock::now();
        auto removal = reconciler.apply(State{});
        std::printf("mpsa reconciler: withdraw everything %.3f s (%zu changes)\n",
                    seconds_since(start), removal ? removal->changes : 0);
    }
    const auto& counters = (*kernel)->counters();
    std::printf("netlink: %llu requests, %llu acks, %llu errors\n",
                static_cast<unsigned long long>(counters.requests),
                static_cast<unsigned long long>(counters.acks),
                static_cast<unsigned long long>(counters.errors));

    // Flush (fast) so the next namespace does not compete with this one's cleanup.
    if (std::system("ip xfrm policy flush; ip xfrm state flush; ip route flush table 100") != 0) {
        std::fprintf(stderr, "flush failed\n");
    }
    if (!options.ip_batch) return 0;
    if (!fresh_namespace()) return 1;
    char path[] = "/tmp/xfrm_program_batch_XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) return 1;
    close(fd);
    {
        std::ofstream batch(path);
        char if_id[16];
        std::snprintf(if_id, sizeof(if_id), "0x%x", kIfId);
        for (const auto& [key, sa] : desired.sas) {
            batch << "xfrm state add src " << kLocal << " dst " << sa.dst.to_string()
                  << " proto esp spi 0x1000 mode tunnel if_id " << if_id
                  << " enc 'cbc(aes)' 0x00000000000000000000000000000000 auth-trunc "
                     "'hmac(sha256)' 0x"
                  << std::string(64, '0') << " 128\n";
        }
        for (const auto& [key, policy] : desired.policies) {
            batch << "xfrm policy add src 0.0.0.0/0 dst " << policy.selector.dst.to_string()
                  << " dir out priority 1000 if_id " << if_id << " tmpl src " << kLocal << " dst "
                  << policy.templates[0].dst.to_string() << " proto esp reqid 7 mode tunnel\n";
        }
        for (const auto& [key, route] : desired.routes) {
            batch << "route add " << route.dst.to_string() << " dev veth0 table 100 proto 165\n";
        }
    }
    start = Clock::now();
    const double children_before = cpu_seconds(RUSAGE_CHILDREN);
    const int status = std::system((std::string("ip -batch ") + path).c_str());
    const double ip_install = seconds_since(start);
    const double ip_cpu = cpu_seconds(RUSAGE_CHILDREN) - children_before;
    std::remove(path);
    if (status != 0) {
        std::fprintf(stderr, "ip -batch failed\n");
        return 1;
    }
    std::printf("ip -batch:       install from empty  %.3f s wall, %.3f s CPU\n", ip_install,
                ip_cpu);
    std::printf("ratio mpsa/ip-batch: %.2f wall, %.2f CPU\n", install / ip_install,
                install_cpu / ip_cpu);
    if (std::system("ip xfrm policy flush; ip xfrm state flush; ip route flush table 100") != 0) {
        std::fprintf(stderr, "flush after ip -batch failed\n");
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress survives a timeout
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto number = [&](int& out) {
            if (i + 1 < argc) out = std::atoi(argv[++i]);
        };
        if (arg == "--peers") {
            number(options.peers);
        } else if (arg == "--prefixes-per-peer") {
            number(options.prefixes_per_peer);
        } else if (arg == "--samples") {
            number(options.samples);
        } else if (arg == "--sas") {
            options.sas = true;
        } else if (arg == "--withdraw") {
            options.withdraw = true;
        } else if (arg == "--no-ip") {
            options.ip_batch = false;
        } else {
            std::fprintf(stderr,
                         "usage: %s [--peers N] [--prefixes-per-peer N] [--samples N] [--sas] "
                         "[--no-ip] [--withdraw]\n",
                         argv[0]);
            return 2;
        }
    }
    if (options.peers <= 0 || options.prefixes_per_peer <= 0 || options.samples < 0) return 2;
    return run(options);
}
