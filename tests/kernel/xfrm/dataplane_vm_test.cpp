// Runs INSIDE the VM guest (tests/vm/vmrun; the host kernel has no ESP nor xfrm interfaces):
// the library alone programs the shared-SA dataplane -- xfrm interface, one group SA per
// direction/peer, if_id-bound policies, overlay routes in their own table with an ip rule --
// and ping crosses it. `ip` is used only to build the namespaces, links and addresses, and to
// install foreign state as strongSwan would.
#include <fcntl.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include <mpsa/xfrm/netlink.hpp>
#include <mpsa/xfrm/ownership.hpp>
#include <mpsa/xfrm/reconciler.hpp>

#include "../../unit/xfrm/fixtures.hpp"

namespace mpsa::xfrm {
namespace {

constexpr std::uint32_t kSpi = 0x4d505341;
const std::uint32_t kIfId = ownership::group_if_id(1);
constexpr std::uint32_t kTable = 100;

int sh(const std::string& command) {
    return std::system(command.c_str());
}

void enter(const std::string& netns) {
    const int fd = open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << netns;
    ASSERT_EQ(setns(fd, CLONE_NEWNET), 0) << netns;
    close(fd);
}

enum class Suite { kCbcSha256, kGcm };

void set_algorithms(Sa& sa, Suite suite) {
    if (suite == Suite::kGcm) {
        sa.aead = AeadAlgorithm{"rfc4106(gcm(aes))", test::key_of(20, 0x40), 128};
    } else {
        sa.cipher = CipherAlgorithm{"cbc(aes)", test::key_of(16, 0x10)};
        sa.auth = AuthAlgorithm{"hmac(sha256)", test::key_of(32, 0x20), 128};
    }
}

Sa group_sa(const std::string& src, const std::string& dst, Suite suite) {
    Sa sa;
    sa.src = IpAddress::from(src);
    sa.dst = IpAddress::from(dst);
    sa.spi = kSpi;
    sa.mode = Mode::kTunnel;
    sa.reqid = 7;
    sa.replay_window = 0;  // many senders share the SA
    sa.if_id = kIfId;
    set_algorithms(sa, suite);
    return sa;
}

Policy tunnel_policy(Direction dir, const std::string& src, const std::string& dst,
                     const std::string& outer_src, const std::string& outer_dst) {
    Policy p;
    p.dir = dir;
    p.selector.src = Prefix::from(src);
    p.selector.dst = Prefix::from(dst);
    p.if_id = kIfId;
    p.priority = 1000;
    Template t;
    t.src = IpAddress::from(outer_src);
    t.dst = IpAddress::from(outer_dst);
    t.reqid = 7;
    p.templates.push_back(t);
    return p;
}

struct Site {
    std::string outer;  // ESP address
    std::string lan4;   // inner prefixes and the node's address in each
    std::string addr4;
    std::string lan6;
    std::string addr6;
};

// One node's desired state: itself plus the peers it sends to, each with its own prefixes.
State node_state(const Site& me, const std::vector<Site>& peers, Suite suite,
                 const std::string& underlay) {
    State s;
    s.add(XfrmInterface{"mpsa1", kIfId, underlay, 1400});
    for (const auto& peer : peers) {
        s.add(group_sa(peer.outer, me.outer, suite));  // inbound: daddr = own ESP address
        s.add(group_sa(me.outer, peer.outer, suite));  // outbound: one per peer
        for (const auto& [mine, theirs] :
             {std::pair{me.lan4, peer.lan4}, std::pair{me.lan6, peer.lan6}}) {
            s.add(tunnel_policy(Direction::kOut, mine, theirs, me.outer, peer.outer));
            s.add(tunnel_policy(Direction::kIn, theirs, mine, peer.outer, me.outer));
            s.add(tunnel_policy(Direction::kFwd, theirs, mine, peer.outer, me.outer));
        }
        Route r4;
        r4.dst = Prefix::from(peer.lan4);
        r4.dev = "mpsa1";
        r4.table = kTable;
        r4.source = IpAddress::from(me.addr4);
        s.add(r4);
        Route r6 = r4;
        r6.dst = Prefix::from(peer.lan6);
        r6.source = IpAddress::from(me.addr6);
        s.add(r6);
    }
    for (auto family : {Family::kIpv4, Family::kIpv6}) {
        Rule rule;
        rule.family = family;
        rule.priority = ownership::kRulePriorityMin;
        rule.table = kTable;
        s.add(rule);
    }
    return s;
}

std::uint64_t packets(NetlinkKernel& kernel, const std::string& dst) {
    auto counters = kernel.sa_counters();
    EXPECT_TRUE(counters);
    if (!counters) return 0;
    for (const auto& c : *counters) {
        if (c.key.dst == IpAddress::from(dst)) return c.packets;
    }
    return 0;
}

class XfrmVm : public ::testing::Test {
  protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root";
        prefix_ = "xvm" + std::to_string(getpid()) + "-" + std::to_string(++counter_) + "-";
    }
    void TearDown() override {
        for (const auto& name : namespaces_) sh("ip netns del " + name + " 2>/dev/null");
    }
    std::string add_node(const std::string& name) {
        const auto netns = prefix_ + name;
        EXPECT_EQ(sh("ip netns add " + netns), 0);
        namespaces_.push_back(netns);
        EXPECT_EQ(sh("ip -n " + netns + " link set lo up"), 0);
        EXPECT_EQ(
            sh("ip netns exec " + netns +
               " sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0"),
            0);
        EXPECT_EQ(sh("ip -n " + netns + " link add lan type dummy && ip -n " + netns +
                     " link set lan up"),
                  0);
        return netns;
    }
    static void link(const std::string& a, const std::string& a_dev, const std::string& b,
                     const std::string& b_dev) {
        EXPECT_EQ(sh("ip link add " + a_dev + " netns " + a + " type veth peer name " + b_dev +
                     " netns " + b),
                  0);
        EXPECT_EQ(sh("ip -n " + a + " link set " + a_dev + " up && ip -n " + b + " link set " +
                     b_dev + " up"),
                  0);
    }
    static void address(const std::string& netns, const std::string& cidr, const std::string& dev) {
        const bool ipv6 = cidr.find(':') != std::string::npos;
        EXPECT_EQ(
            sh("ip -n " + netns + " addr add " + cidr + " dev " + dev + (ipv6 ? " nodad" : "")), 0);
    }
    // Opens a netlink session inside `netns` (sockets keep their namespace afterwards).
    static std::unique_ptr<NetlinkKernel> kernel_in(const std::string& netns) {
        enter(netns);
        auto kernel = NetlinkKernel::open();
        EXPECT_TRUE(kernel) << kernel.error().message;
        return kernel ? std::move(*kernel) : nullptr;
    }
    static void program(NetlinkKernel& kernel, const State& desired) {
        test::ManualTimer timer;
        Reconciler reconciler(kernel, timer);
        auto report = reconciler.apply(desired);
        ASSERT_TRUE(report) << report.error().message;
        for (const auto& failure : report->failures) ADD_FAILURE() << failure.error.message;
    }
    static int ping(const std::string& netns, const std::string& from, const std::string& to) {
        return sh("ip netns exec " + netns + " ping -q -c 2 -i 0.2 -W 2 -I " + from + " " + to +
                  " >/dev/null");
    }

    std::string prefix_;
    std::vector<std::string> namespaces_;
    static inline int counter_ = 0;
};

const Site kSiteA4{"192.0.2.1", "10.1.0.0/24", "10.1.0.1", "fd00:1::/64", "fd00:1::1"};
const Site kSiteB4{"192.0.2.2", "10.2.0.0/24", "10.2.0.1", "fd00:2::/64", "fd00:2::1"};

class XfrmVmTwoNodes : public XfrmVm,
                       public ::testing::WithParamInterface<std::tuple<Suite, int, bool>> {};

// The receiving side of ESP-in-UDP: a UDP socket on 4500 marked UDP_ENCAP_ESPINUDP, opened in
// the current namespace (the IKE daemon's NAT-T socket in production).
int open_encap_socket(int family) {
    const int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_storage address{};
    socklen_t length = 0;
    if (family == AF_INET) {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
        v4->sin_family = AF_INET;
        v4->sin_port = htons(4500);
        length = sizeof(sockaddr_in);
    } else {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(4500);
        length = sizeof(sockaddr_in6);
    }
    const int encap = UDP_ENCAP_ESPINUDP;
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &encap, sizeof(encap)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

TEST_P(XfrmVmTwoNodes, SharedGroupSaCarriesPingForBothInnerFamilies) {
    const auto [suite, outer, udp_encap] = GetParam();
    const auto a = add_node("a");
    const auto b = add_node("b");
    link(a, "ul", b, "ul");
    Site site_a = kSiteA4;
    Site site_b = kSiteB4;
    if (outer == 6) {
        site_a.outer = "2001:db8:ff::1";
        site_b.outer = "2001:db8:ff::2";
    }
    address(a, site_a.outer + (outer == 6 ? "/64" : "/24"), "ul");
    address(b, site_b.outer + (outer == 6 ? "/64" : "/24"), "ul");
    address(a, site_a.addr4 + "/24", "lan");
    address(b, site_b.addr4 + "/24", "lan");
    address(a, site_a.addr6 + "/64", "lan");
    address(b, site_b.addr6 + "/64", "lan");

    auto kernel_a = kernel_in(a);
    auto kernel_b = kernel_in(b);
    ASSERT_TRUE(kernel_a && kernel_b);
    auto state_a = node_state(site_a, {site_b}, suite, "ul");
    auto state_b = node_state(site_b, {site_a}, suite, "ul");
    std::vector<int> encap_sockets;
    if (udp_encap) {
        for (auto* state : {&state_a, &state_b}) {
            for (auto& [key, sa] : state->sas) sa.encap = UdpEncap{4500, 4500};
        }
        for (const auto& ns : {a, b}) {
            enter(ns);
            encap_sockets.push_back(open_encap_socket(outer == 6 ? AF_INET6 : AF_INET));
            ASSERT_GE(encap_sockets.back(), 0) << "UDP_ENCAP socket in " << ns;
        }
    }
    program(*kernel_a, state_a);
    program(*kernel_b, state_b);

    EXPECT_EQ(ping(a, site_a.addr4, site_b.addr4), 0) << "IPv4 inside, IPv" << outer << " outside";
    EXPECT_EQ(ping(a, site_a.addr6, site_b.addr6), 0) << "IPv6 inside, IPv" << outer << " outside";
    EXPECT_GE(packets(*kernel_a, site_b.outer), 4U) << "A's outbound SA carried the pings";
    EXPECT_GE(packets(*kernel_b, site_b.outer), 4U) << "B's inbound SA decrypted them";

    // A restarted controller with the same state: the dump matches, nothing is sent, and a
    // monitor in A sees no XFRM or route event.
    enter(a);
    auto monitor = NetlinkMonitor::open();
    ASSERT_TRUE(monitor);
    auto restarted = NetlinkKernel::open();
    ASSERT_TRUE(restarted);
    test::ManualTimer timer;
    Reconciler second(**restarted, timer);
    auto report = second.apply(state_a);
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(report->changes, 0U);
    EXPECT_EQ((*restarted)->counters().requests, 0U);
    const auto seen = (*monitor)->drain();
    EXPECT_EQ(seen.xfrm_messages + seen.route_messages, 0U);
    if (udp_encap) {
        auto sas = kernel_a->dump();
        ASSERT_TRUE(sas);
        for (const auto& [key, sa] : sas->sas) EXPECT_TRUE(sa.encap) << "SA without encap";
    }
    for (const int fd : encap_sockets) close(fd);
}

std::string two_node_name(const ::testing::TestParamInfo<std::tuple<Suite, int, bool>>& param) {
    return std::string(std::get<0>(param.param) == Suite::kGcm ? "AesGcm" : "AesCbcSha256") +
           "_Outer" + std::to_string(std::get<1>(param.param)) +
           (std::get<2>(param.param) ? "_EspInUdp" : "");
}

INSTANTIATE_TEST_SUITE_P(SuitesAndOuterFamilies, XfrmVmTwoNodes,
                         ::testing::Combine(::testing::Values(Suite::kCbcSha256, Suite::kGcm),
                                            ::testing::Values(4, 6), ::testing::Values(false)),
                         two_node_name);
INSTANTIATE_TEST_SUITE_P(EspInUdp, XfrmVmTwoNodes,
                         ::testing::Combine(::testing::Values(Suite::kCbcSha256),
                                            ::testing::Values(4, 6), ::testing::Values(true)),
                         two_node_name);

// A reaches B and C through ONE xfrm interface, choosing the peer per destination.
TEST_F(XfrmVm, ThreeNodesPerDestinationPoliciesThroughOneInterface) {
    const auto a = add_node("a");
    const auto b = add_node("b");
    const auto c = add_node("c");
    link(a, "ulb", b, "ul");
    link(a, "ulc", c, "ul");
    const Site site_a{"192.0.2.1", "10.1.0.0/24", "10.1.0.1", "fd00:1::/64", "fd00:1::1"};
    const Site site_b{"192.0.2.2", "10.2.0.0/24", "10.2.0.1", "fd00:2::/64", "fd00:2::1"};
    const Site site_c{"198.51.100.3", "10.3.0.0/24", "10.3.0.1", "fd00:3::/64", "fd00:3::1"};
    address(a, "192.0.2.1/24", "ulb");
    address(a, "198.51.100.1/24", "ulc");
    // A's ESP address towards C is 198.51.100.1: give it its own site view for C.
    Site site_a_for_c = site_a;
    site_a_for_c.outer = "198.51.100.1";
    address(b, "192.0.2.2/24", "ul");
    address(c, "198.51.100.3/24", "ul");
    for (const auto& [ns, site] :
         {std::pair{a, site_a}, std::pair{b, site_b}, std::pair{c, site_c}}) {
        address(ns, site.addr4 + "/24", "lan");
        address(ns, site.addr6 + "/64", "lan");
    }
    // Foreign state in A, as strongSwan would leave it: must survive everything below.
    ASSERT_EQ(sh("ip -n " + a +
                 " xfrm state add src 192.0.2.1 dst 192.0.2.99 proto esp spi 0x99 mode tunnel "
                 "enc 'cbc(aes)' 0x000102030405060708090a0b0c0d0e0f auth-trunc 'hmac(sha256)' "
                 "0x000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f 128"),
              0);

    auto kernel_a = kernel_in(a);
    auto kernel_b = kernel_in(b);
    auto kernel_c = kernel_in(c);
    ASSERT_TRUE(kernel_a && kernel_b && kernel_c);
    // A: per-destination policies and SAs to B (via ulb) and C (via ulc).
    State state_a = node_state(site_a, {site_b}, Suite::kCbcSha256, "ulb");
    const State towards_c = node_state(site_a_for_c, {site_c}, Suite::kCbcSha256, "ulb");
    for (const auto& [k, v] : towards_c.sas) state_a.add(v);
    for (const auto& [k, v] : towards_c.policies) state_a.add(v);
    for (const auto& [k, v] : towards_c.routes) state_a.add(v);
    program(*kernel_a, state_a);
    program(*kernel_b, node_state(site_b, {site_a}, Suite::kCbcSha256, "ul"));
    program(*kernel_c, node_state(site_c, {site_a_for_c}, Suite::kCbcSha256, "ul"));

    EXPECT_EQ(ping(a, site_a.addr4, site_b.addr4), 0);
    EXPECT_EQ(ping(a, site_a.addr4, site_c.addr4), 0);
    EXPECT_EQ(ping(a, site_a.addr6, site_c.addr6), 0);
    EXPECT_GE(packets(*kernel_a, site_b.outer), 2U);
    EXPECT_GE(packets(*kernel_a, site_c.outer), 4U);

    auto before = kernel_a->dump();
    ASSERT_TRUE(before);
    EXPECT_EQ(before->sas.size(), state_a.sas.size() + 1);  // ours + strongSwan's
    test::ManualTimer timer;
    Reconciler reconciler(*kernel_a, timer);
    ASSERT_TRUE(reconciler.apply(state_a));
    // The interface is updated in place (MTU), and a resync leaves everything as it is.
    XfrmInterface smaller{"mpsa1", kIfId, "ulb", 1380};
    auto resized = reconciler.change({smaller}, {});
    ASSERT_TRUE(resized);
    EXPECT_EQ(resized->changes, 1U);
    EXPECT_TRUE(resized->ok());
    reconciler.request_resync();
    ASSERT_TRUE(timer.fire());
    auto resynced = kernel_a->dump();
    ASSERT_TRUE(resynced);
    ASSERT_TRUE(resynced->interfaces.contains("mpsa1"));
    EXPECT_EQ(resynced->interfaces.at("mpsa1").mtu, 1380U);
    EXPECT_EQ(resynced->sas.size(), state_a.sas.size() + 1);
    EXPECT_EQ(ping(a, site_a.addr4, site_c.addr4), 0);
    // Shutdown that withdraws ours leaves the foreign SA.
    ASSERT_TRUE(reconciler.apply(State{}));
    auto after = kernel_a->dump();
    ASSERT_TRUE(after);
    ASSERT_EQ(after->sas.size(), 1U);
    EXPECT_EQ(after->sas.begin()->second.spi, 0x99U);
    EXPECT_TRUE(after->interfaces.empty());
    EXPECT_NE(ping(a, site_a.addr4, site_b.addr4), 0) << "nothing of ours is left";
}

}  // namespace
}  // namespace mpsa::xfrm
