// The CHILD_SA -> xfrm mapping (pure) and the installer's ordering, sharing and rollback on an
// in-memory kernel.
#include <mpsa/daemon/child_sa_installer.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <deque>

#include <mpsa/xfrm/diff.hpp>

namespace mpsa::daemon {
namespace {

using ike::ChildMode;
using ike::EncrId;
using ike::IntegId;
using ike::TrafficSelector;
using ike::TsType;

ike::IpAddress v6(std::string_view text) {
    const auto parsed = xfrm::IpAddress::from(text);
    ike::IpAddress address;
    address.v6 = true;
    address.octets = parsed.bytes;
    return address;
}

ike::Endpoint endpoint(ike::IpAddress address, std::uint16_t port = 500) {
    return ike::Endpoint{address, port};
}

TrafficSelector ts4(std::array<std::uint8_t, 4> start, std::array<std::uint8_t, 4> end,
                    std::uint8_t proto = 0, std::uint16_t start_port = 0,
                    std::uint16_t end_port = 65535) {
    TrafficSelector ts;
    ts.type = TsType::kIpv4AddrRange;
    ts.ip_protocol = proto;
    ts.start_port = start_port;
    ts.end_port = end_port;
    std::copy(start.begin(), start.end(), ts.start_address.begin());
    std::copy(end.begin(), end.end(), ts.end_address.begin());
    return ts;
}

TrafficSelector ts6(std::string_view start, std::string_view end) {
    TrafficSelector ts;
    ts.type = TsType::kIpv6AddrRange;
    ts.start_address = xfrm::IpAddress::from(start).bytes;
    ts.end_address = xfrm::IpAddress::from(end).bytes;
    return ts;
}

ike::SecretBytes key(std::size_t size, std::uint8_t fill) {
    ike::SecretBytes bytes(size);
    for (std::size_t i = 0; i < size; ++i) bytes.data()[i] = static_cast<std::uint8_t>(fill + i);
    return bytes;
}

xfrm::Prefix prefix(std::string_view text) {
    return xfrm::Prefix::from(text);
}

const ike::IpAddress kLocal4 = ike::IpAddress::v4(192, 0, 2, 1);
const ike::IpAddress kPeer4 = ike::IpAddress::v4(192, 0, 2, 2);

// A CHILD_SA between kLocal4 and kPeer4, tunnel mode, AES-GCM-128, 10.1.0.0/24 <-> 10.2.0.0/24.
ike::ChildSaInstall gcm_tunnel4(std::uint32_t in_spi = 0xc0000001,
                                std::uint32_t out_spi = 0xd0000001) {
    ike::ChildSaInstall sa;
    const auto local_ts = ts4({10, 1, 0, 0}, {10, 1, 0, 255});
    const auto remote_ts = ts4({10, 2, 0, 0}, {10, 2, 0, 255});
    for (auto* params : {&sa.inbound, &sa.outbound}) {
        params->suite = ike::EspSuite{EncrId::kAesGcm16, 128, IntegId::kNone};
        params->mode = ChildMode::kTunnel;
    }
    sa.inbound.spi = in_spi;
    sa.inbound.source = endpoint(kPeer4);
    sa.inbound.destination = endpoint(kLocal4);
    sa.inbound.encr_key = key(20, 0x10);
    sa.inbound.source_ts = {remote_ts};
    sa.inbound.destination_ts = {local_ts};
    sa.outbound.spi = out_spi;
    sa.outbound.source = endpoint(kLocal4);
    sa.outbound.destination = endpoint(kPeer4);
    sa.outbound.encr_key = key(20, 0x40);
    sa.outbound.source_ts = {local_ts};
    sa.outbound.destination_ts = {remote_ts};
    return sa;
}

// IPv6 transport mode between the two hosts, AES-CBC-256 + HMAC-SHA2-256-128.
ike::ChildSaInstall cbc_transport6() {
    ike::ChildSaInstall sa;
    const auto local = v6("2001:db8::1");
    const auto peer = v6("2001:db8::2");
    for (auto* params : {&sa.inbound, &sa.outbound}) {
        params->suite = ike::EspSuite{EncrId::kAesCbc, 256, IntegId::kHmacSha2_256_128};
        params->mode = ChildMode::kTransport;
        params->encr_key = key(32, 0x20);
        params->integ_key = key(32, 0x60);
    }
    sa.inbound.spi = 0xc0000002;
    sa.inbound.source = endpoint(peer);
    sa.inbound.destination = endpoint(local);
    sa.inbound.source_ts = {ts6("2001:db8::2", "2001:db8::2")};
    sa.inbound.destination_ts = {ts6("2001:db8::1", "2001:db8::1")};
    sa.outbound.spi = 0xd0000002;
    sa.outbound.source = endpoint(local);
    sa.outbound.destination = endpoint(peer);
    sa.outbound.source_ts = sa.inbound.destination_ts;
    sa.outbound.destination_ts = sa.inbound.source_ts;
    return sa;
}

std::vector<xfrm::Policy> of_direction(const ChildSaObjects& objects, xfrm::Direction dir) {
    std::vector<xfrm::Policy> out;
    for (const auto& policy : objects.policies) {
        if (policy.dir == dir) out.push_back(policy);
    }
    return out;
}

// ---- selectors ----

TEST(ChildSaSelectors, FullIpv4RangeIsOneDefaultPrefix) {
    const auto parts = selector_parts(ts4({0, 0, 0, 0}, {255, 255, 255, 255}));
    ASSERT_TRUE(parts) << parts.error();
    EXPECT_EQ(parts->prefixes, std::vector<xfrm::Prefix>{prefix("0.0.0.0/0")});
    EXPECT_EQ(parts->proto, 0);
    EXPECT_EQ(parts->port, 0);
}

TEST(ChildSaSelectors, UnalignedIpv4RangeIsCoveredExactly) {
    const auto parts = selector_parts(ts4({10, 0, 0, 1}, {10, 0, 0, 6}));
    ASSERT_TRUE(parts) << parts.error();
    EXPECT_EQ(parts->prefixes,
              (std::vector<xfrm::Prefix>{prefix("10.0.0.1/32"), prefix("10.0.0.2/31"),
                                         prefix("10.0.0.4/31"), prefix("10.0.0.6/32")}));
}

TEST(ChildSaSelectors, HostAndTopOfSpace) {
    auto host = selector_parts(ts4({192, 0, 2, 7}, {192, 0, 2, 7}));
    ASSERT_TRUE(host);
    EXPECT_EQ(host->prefixes, std::vector<xfrm::Prefix>{prefix("192.0.2.7/32")});
    auto top = selector_parts(ts4({255, 255, 255, 254}, {255, 255, 255, 255}));
    ASSERT_TRUE(top);
    EXPECT_EQ(top->prefixes, std::vector<xfrm::Prefix>{prefix("255.255.255.254/31")});
}

TEST(ChildSaSelectors, Ipv6Ranges) {
    auto all = selector_parts(ts6("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
    ASSERT_TRUE(all) << all.error();
    EXPECT_EQ(all->prefixes, std::vector<xfrm::Prefix>{prefix("::/0")});
    auto net = selector_parts(ts6("2001:db8:1::", "2001:db8:1:ffff:ffff:ffff:ffff:ffff"));
    ASSERT_TRUE(net) << net.error();
    EXPECT_EQ(net->prefixes, std::vector<xfrm::Prefix>{prefix("2001:db8:1::/48")});
    auto odd = selector_parts(ts6("2001:db8::1", "2001:db8::2"));
    ASSERT_TRUE(odd);
    EXPECT_EQ(odd->prefixes,
              (std::vector<xfrm::Prefix>{prefix("2001:db8::1/128"), prefix("2001:db8::2/128")}));
}

TEST(ChildSaSelectors, ProtocolAndSinglePort) {
    const auto parts = selector_parts(ts4({10, 0, 0, 1}, {10, 0, 0, 1}, 6, 179, 179));
    ASSERT_TRUE(parts);
    EXPECT_EQ(parts->proto, 6);
    EXPECT_EQ(parts->port, 179);
}

TEST(ChildSaSelectors, RejectsPortRangesAndReversedRanges) {
    const auto ports = selector_parts(ts4({10, 0, 0, 1}, {10, 0, 0, 1}, 6, 1000, 2000));
    ASSERT_FALSE(ports);
    EXPECT_NE(ports.error().find("port range 1000-2000"), std::string::npos);
    EXPECT_FALSE(selector_parts(ts4({10, 0, 0, 1}, {10, 0, 0, 1}, 6, 65535, 0)));  // OPAQUE
    EXPECT_FALSE(selector_parts(ts4({10, 0, 0, 9}, {10, 0, 0, 1})));
}

// ---- mapping ----

TEST(ChildSaMapping, Ipv4TunnelGcm) {
    const auto objects = child_sa_objects(gcm_tunnel4(), kChildSaReqidMin + 3, {});
    ASSERT_TRUE(objects) << objects.error();
    const auto& in = objects->inbound;
    EXPECT_EQ(in.src, xfrm::IpAddress::from("192.0.2.2"));
    EXPECT_EQ(in.dst, xfrm::IpAddress::from("192.0.2.1"));
    EXPECT_EQ(in.spi, 0xc0000001U);
    EXPECT_EQ(in.proto, xfrm::kProtoEsp);
    EXPECT_EQ(in.mode, xfrm::Mode::kTunnel);
    EXPECT_EQ(in.reqid, kChildSaReqidMin + 3);
    EXPECT_EQ(in.replay_window, 32U);
    EXPECT_EQ(in.if_id, 0U);
    EXPECT_FALSE(in.encap);
    EXPECT_FALSE(in.selector);  // a tunnel may carry either inner family
    ASSERT_TRUE(in.aead);
    EXPECT_FALSE(in.cipher);
    EXPECT_FALSE(in.auth);
    EXPECT_EQ(in.aead->name, "rfc4106(gcm(aes))");
    EXPECT_EQ(in.aead->icv_bits, 128U);
    EXPECT_EQ(in.aead->key, xfrm::SecretBuffer(gcm_tunnel4().inbound.encr_key.view()));
    EXPECT_EQ(in.lifetime, xfrm::Lifetime{});

    const auto& out = objects->outbound;
    EXPECT_EQ(out.src, xfrm::IpAddress::from("192.0.2.1"));
    EXPECT_EQ(out.dst, xfrm::IpAddress::from("192.0.2.2"));
    EXPECT_EQ(out.spi, 0xd0000001U);
    EXPECT_EQ(out.replay_window, 0U);
    ASSERT_TRUE(out.aead);
    EXPECT_EQ(out.aead->key, xfrm::SecretBuffer(gcm_tunnel4().outbound.encr_key.view()));

    ASSERT_EQ(objects->policies.size(), 3U);
    const auto outs = of_direction(*objects, xfrm::Direction::kOut);
    const auto ins = of_direction(*objects, xfrm::Direction::kIn);
    const auto fwds = of_direction(*objects, xfrm::Direction::kFwd);
    ASSERT_EQ(outs.size(), 1U);
    ASSERT_EQ(ins.size(), 1U);
    ASSERT_EQ(fwds.size(), 1U);
    EXPECT_EQ(outs[0].selector.src, prefix("10.1.0.0/24"));
    EXPECT_EQ(outs[0].selector.dst, prefix("10.2.0.0/24"));
    ASSERT_EQ(outs[0].templates.size(), 1U);
    EXPECT_EQ(outs[0].templates[0].src, xfrm::IpAddress::from("192.0.2.1"));
    EXPECT_EQ(outs[0].templates[0].dst, xfrm::IpAddress::from("192.0.2.2"));
    EXPECT_EQ(outs[0].templates[0].mode, xfrm::Mode::kTunnel);
    EXPECT_EQ(outs[0].templates[0].reqid, kChildSaReqidMin + 3);
    EXPECT_EQ(outs[0].templates[0].spi, 0U);
    EXPECT_EQ(ins[0].selector.src, prefix("10.2.0.0/24"));
    EXPECT_EQ(ins[0].selector.dst, prefix("10.1.0.0/24"));
    EXPECT_EQ(ins[0].templates[0].src, xfrm::IpAddress::from("192.0.2.2"));
    EXPECT_EQ(ins[0].templates[0].dst, xfrm::IpAddress::from("192.0.2.1"));
    EXPECT_EQ(fwds[0].selector, ins[0].selector);
    EXPECT_EQ(fwds[0].templates, ins[0].templates);
    for (const auto& policy : objects->policies) {
        EXPECT_EQ(policy.if_id, 0U);
        EXPECT_EQ(policy.action, xfrm::PolicyAction::kAllow);
    }
}

TEST(ChildSaMapping, Ipv6TransportCbcHmac) {
    const auto objects = child_sa_objects(cbc_transport6(), kChildSaReqidMin, {});
    ASSERT_TRUE(objects) << objects.error();
    const auto& in = objects->inbound;
    EXPECT_EQ(in.src, xfrm::IpAddress::from("2001:db8::2"));
    EXPECT_EQ(in.dst, xfrm::IpAddress::from("2001:db8::1"));
    EXPECT_EQ(in.mode, xfrm::Mode::kTransport);
    EXPECT_FALSE(in.aead);
    ASSERT_TRUE(in.cipher);
    ASSERT_TRUE(in.auth);
    EXPECT_EQ(in.cipher->name, "cbc(aes)");
    EXPECT_EQ(in.cipher->key.size(), 32U);
    EXPECT_EQ(in.auth->name, "hmac(sha256)");
    EXPECT_EQ(in.auth->key.size(), 32U);
    EXPECT_EQ(in.auth->truncation_bits, 128U);
    // Transport mode: the SA selector is the single host pair.
    ASSERT_TRUE(in.selector);
    EXPECT_EQ(in.selector->src, prefix("2001:db8::2/128"));
    EXPECT_EQ(in.selector->dst, prefix("2001:db8::1/128"));
    ASSERT_TRUE(objects->outbound.selector);
    EXPECT_EQ(objects->outbound.selector->src, prefix("2001:db8::1/128"));

    ASSERT_EQ(objects->policies.size(), 2U);  // no fwd in transport mode
    EXPECT_TRUE(of_direction(*objects, xfrm::Direction::kFwd).empty());
    for (const auto& policy : objects->policies) {
        ASSERT_EQ(policy.templates.size(), 1U);
        EXPECT_EQ(policy.templates[0].mode, xfrm::Mode::kTransport);
        EXPECT_TRUE(policy.templates[0].src.unspecified());
        EXPECT_TRUE(policy.templates[0].dst.unspecified());
    }
}

TEST(ChildSaMapping, EveryIntegrityAlgorithm) {
    struct Case {
        IntegId id;
        std::size_t key_bytes;
        const char* name;
        std::uint32_t bits;
    };
    for (const auto& c : {Case{IntegId::kHmacSha1_96, 20, "hmac(sha1)", 96},
                          Case{IntegId::kHmacSha2_256_128, 32, "hmac(sha256)", 128},
                          Case{IntegId::kHmacSha2_384_192, 48, "hmac(sha384)", 192},
                          Case{IntegId::kHmacSha2_512_256, 64, "hmac(sha512)", 256}}) {
        auto sa = cbc_transport6();
        for (auto* params : {&sa.inbound, &sa.outbound}) {
            params->suite = ike::EspSuite{EncrId::kAesCbc, 128, c.id};
            params->encr_key = key(16, 1);
            params->integ_key = key(c.key_bytes, 2);
        }
        const auto objects = child_sa_objects(sa, kChildSaReqidMin, {});
        ASSERT_TRUE(objects) << c.name << ": " << objects.error();
        EXPECT_EQ(objects->outbound.auth->name, c.name);
        EXPECT_EQ(objects->outbound.auth->truncation_bits, c.bits);
        EXPECT_EQ(objects->outbound.cipher->key.size(), 16U);
    }
}

TEST(ChildSaMapping, Gcm256KeyCarriesSalt) {
    auto sa = gcm_tunnel4();
    for (auto* params : {&sa.inbound, &sa.outbound}) {
        params->suite.encr_key_bits = 256;
        params->encr_key = key(36, 3);
    }
    const auto objects = child_sa_objects(sa, kChildSaReqidMin, {});
    ASSERT_TRUE(objects) << objects.error();
    EXPECT_EQ(objects->inbound.aead->key.size(), 36U);
}

TEST(ChildSaMapping, NatTraversalSetsEncapsulationPortsPerDirection) {
    auto sa = gcm_tunnel4();
    sa.inbound.udp_encap = sa.outbound.udp_encap = true;
    sa.inbound.source.port = 4501;  // the peer's NAT-mapped port
    sa.inbound.destination.port = 4500;
    sa.outbound.source.port = 4500;
    sa.outbound.destination.port = 4501;
    const auto objects = child_sa_objects(sa, kChildSaReqidMin, {});
    ASSERT_TRUE(objects) << objects.error();
    ASSERT_TRUE(objects->inbound.encap);
    EXPECT_EQ(objects->inbound.encap->sport, 4501);
    EXPECT_EQ(objects->inbound.encap->dport, 4500);
    ASSERT_TRUE(objects->outbound.encap);
    EXPECT_EQ(objects->outbound.encap->sport, 4500);
    EXPECT_EQ(objects->outbound.encap->dport, 4501);
}

TEST(ChildSaMapping, SeveralSelectorsMakeEveryPairOfOneFamily) {
    auto sa = gcm_tunnel4();
    const auto local_a = ts4({10, 1, 0, 0}, {10, 1, 0, 255});
    const auto local_b = ts4({10, 1, 1, 1}, {10, 1, 1, 1}, 6, 179, 179);
    const auto local_6 = ts6("2001:db8:1::", "2001:db8:1::ffff");
    const auto remote_a = ts4({10, 2, 0, 0}, {10, 2, 0, 255});
    const auto remote_b = ts4({10, 3, 0, 0}, {10, 3, 0, 3}, 17);  // UDP only
    const auto remote_6 = ts6("2001:db8:2::", "2001:db8:2::ffff");
    sa.outbound.source_ts = {local_a, local_b, local_6};
    sa.outbound.destination_ts = {remote_a, remote_b, remote_6};
    sa.inbound.source_ts = sa.outbound.destination_ts;
    sa.inbound.destination_ts = sa.outbound.source_ts;
    const auto objects = child_sa_objects(sa, kChildSaReqidMin, {});
    ASSERT_TRUE(objects) << objects.error();
    // IPv4: a->a, a->b (UDP), b->a (TCP 179); b->b has TCP vs UDP and matches nothing. IPv6: 1.
    const auto outs = of_direction(*objects, xfrm::Direction::kOut);
    ASSERT_EQ(outs.size(), 4U);
    EXPECT_EQ(outs[1].selector.dst, prefix("10.3.0.0/30"));
    EXPECT_EQ(outs[1].selector.proto, 17);
    EXPECT_EQ(outs[2].selector.src, prefix("10.1.1.1/32"));
    EXPECT_EQ(outs[2].selector.proto, 6);
    EXPECT_EQ(outs[2].selector.sport, 179);
    EXPECT_EQ(outs[2].selector.dport, 0);
    EXPECT_EQ(outs[3].selector.src, prefix("2001:db8:1::/112"));
    EXPECT_EQ(outs[3].selector.dst, prefix("2001:db8:2::/112"));
    const auto ins = of_direction(*objects, xfrm::Direction::kIn);
    ASSERT_EQ(ins.size(), 4U);
    EXPECT_EQ(ins[1].selector.dst, prefix("10.1.1.1/32"));
    EXPECT_EQ(ins[1].selector.dport, 179);
    EXPECT_EQ(of_direction(*objects, xfrm::Direction::kFwd).size(), 4U);
    // IPv6 inner traffic through the IPv4 tunnel shares its SAs.
    EXPECT_EQ(outs[3].templates[0].dst, xfrm::IpAddress::from("192.0.2.2"));
}

TEST(ChildSaMapping, OptionsReachTheObjects) {
    ChildSaOptions options;
    options.if_id = 0x1234;
    options.replay_window = 16;
    options.policy_priority = 1500;
    options.lifetime.soft_add_seconds = 3000;
    options.lifetime.hard_add_seconds = 3600;
    const auto objects = child_sa_objects(gcm_tunnel4(), kChildSaReqidMin, options);
    ASSERT_TRUE(objects) << objects.error();
    EXPECT_EQ(objects->inbound.if_id, 0x1234U);
    EXPECT_EQ(objects->outbound.if_id, 0x1234U);
    EXPECT_EQ(objects->inbound.replay_window, 16U);
    EXPECT_EQ(objects->inbound.lifetime.hard_add_seconds, 3600U);
    EXPECT_EQ(objects->outbound.lifetime.soft_add_seconds, 3000U);
    for (const auto& policy : objects->policies) {
        EXPECT_EQ(policy.if_id, 0x1234U);
        EXPECT_EQ(policy.priority, 1500U);
    }
}

void expect_rejected(const ike::ChildSaInstall& sa, std::string_view phrase) {
    const auto objects = child_sa_objects(sa, kChildSaReqidMin, {});
    ASSERT_FALSE(objects) << "expected: " << phrase;
    EXPECT_NE(objects.error().find(phrase), std::string::npos) << objects.error();
}

TEST(ChildSaMapping, RejectsWhatTheKernelMappingCannotHold) {
    auto short_gcm = gcm_tunnel4();
    short_gcm.inbound.encr_key = key(16, 0);  // salt missing
    expect_rejected(short_gcm, "AES-GCM key of 16 octets, expected 20");

    auto gcm_with_integ = gcm_tunnel4();
    gcm_with_integ.outbound.suite.integ = IntegId::kHmacSha2_256_128;
    expect_rejected(gcm_with_integ, "integrity transform");

    auto cbc_without_integ = cbc_transport6();
    cbc_without_integ.inbound.suite.integ = IntegId::kNone;
    expect_rejected(cbc_without_integ, "AES-CBC without integrity");

    auto short_integ = cbc_transport6();
    short_integ.outbound.integ_key = key(20, 0);
    expect_rejected(short_integ, "hmac(sha256) key of 20 octets, expected 32");

    auto odd_key_bits = gcm_tunnel4();
    odd_key_bits.inbound.suite.encr_key_bits = 100;
    expect_rejected(odd_key_bits, "unsupported AES key length 100");

    auto reserved_spi = gcm_tunnel4(0xff);
    expect_rejected(reserved_spi, "SPI below 256");

    auto encap_without_ports = gcm_tunnel4();
    encap_without_ports.inbound.udp_encap = true;
    encap_without_ports.inbound.source.port = 0;
    expect_rejected(encap_without_ports, "UDP encapsulation without ports");

    auto modes = gcm_tunnel4();
    modes.inbound.mode = ChildMode::kTransport;
    expect_rejected(modes, "different modes");

    auto addresses = gcm_tunnel4();
    addresses.inbound.source.address = ike::IpAddress::v4(192, 0, 2, 9);
    expect_rejected(addresses, "mismatched addresses");

    auto families = gcm_tunnel4();
    families.inbound.destination_ts = {ts6("2001:db8::", "2001:db8::ff")};
    expect_rejected(families, "no traffic selector pair of one family");

    auto transport_family = cbc_transport6();
    transport_family.outbound.source_ts = {ts4({10, 0, 0, 1}, {10, 0, 0, 1})};
    transport_family.outbound.destination_ts = {ts4({10, 0, 0, 2}, {10, 0, 0, 2})};
    expect_rejected(transport_family, "transport mode with selectors of another family");

    auto ports = gcm_tunnel4();
    ports.outbound.destination_ts = {ts4({10, 2, 0, 0}, {10, 2, 0, 255}, 6, 1, 1023)};
    expect_rejected(ports, "port range 1-1023");
}

// ---- installer ----

// A kernel in memory that records every change and fails SA or policy adds on demand.
class RecordingKernel final : public xfrm::Kernel {
  public:
    xfrm::State state;
    std::vector<xfrm::Change> log;
    int fail_sa_adds = 0;                        // errno for every SA add, 0: succeed
    std::optional<std::size_t> fail_policy_add;  // index among policy adds
    int policy_errno = EEXIST;
    std::size_t policy_adds = 0;

    tl::expected<xfrm::State, xfrm::Error> dump() override { return state; }
    std::vector<std::optional<xfrm::Error>> apply(std::span<const xfrm::Change> changes) override {
        std::vector<std::optional<xfrm::Error>> results;
        for (const auto& change : changes) {
            log.push_back(change);
            const bool add = change.op == xfrm::ChangeOp::kAdd;
            if (add && std::holds_alternative<xfrm::Sa>(change.object) && fail_sa_adds != 0) {
                results.push_back(
                    xfrm::netlink_error(fail_sa_adds, "add " + xfrm::describe(change.object) +
                                                          " (kernel: Requested type not found)"));
                continue;
            }
            if (add && std::holds_alternative<xfrm::Policy>(change.object) &&
                fail_policy_add == policy_adds++) {
                results.push_back(xfrm::netlink_error(policy_errno, "add policy"));
                continue;
            }
            if (add && exists(change.object)) {  // adds are exclusive (NLM_F_EXCL)
                results.push_back(xfrm::netlink_error(EEXIST, "add"));
                continue;
            }
            xfrm::apply_to(state, change);
            results.push_back(std::nullopt);
        }
        return results;
    }

  private:
    bool exists(const xfrm::Object& object) const {
        if (const auto* sa = std::get_if<xfrm::Sa>(&object)) return state.sas.contains(sa->key());
        if (const auto* policy = std::get_if<xfrm::Policy>(&object)) {
            return state.policies.contains(policy->key());
        }
        return false;
    }
};

TEST(XfrmChildSaInstaller, InstallsPoliciesThenSasAndRemovesEverything) {
    RecordingKernel kernel;
    XfrmChildSaInstaller installer(kernel);
    ASSERT_TRUE(installer.install(gcm_tunnel4())) << installer.last_error();
    ASSERT_EQ(kernel.log.size(), 5U);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_TRUE(std::holds_alternative<xfrm::Policy>(kernel.log[i].object)) << i;
    }
    EXPECT_TRUE(std::holds_alternative<xfrm::Sa>(kernel.log[3].object));
    EXPECT_TRUE(std::holds_alternative<xfrm::Sa>(kernel.log[4].object));
    EXPECT_EQ(kernel.state.policies.size(), 3U);
    EXPECT_EQ(kernel.state.sas.size(), 2U);
    for (const auto& [sa_key, sa] : kernel.state.sas) {
        EXPECT_GE(sa.reqid, kChildSaReqidMin);
        EXPECT_LE(sa.reqid, kChildSaReqidMax);
    }
    EXPECT_EQ(installer.installed_child_sas(), 1U);

    installer.remove(0xc0000001, 0xd0000001);
    EXPECT_TRUE(kernel.state.policies.empty());
    EXPECT_TRUE(kernel.state.sas.empty());
    EXPECT_EQ(installer.installed_child_sas(), 0U);
    EXPECT_EQ(installer.installed_policies(), 0U);
}

TEST(XfrmChildSaInstaller, SaFailureRollsBackPoliciesWithAClearError) {
    RecordingKernel kernel;
    kernel.fail_sa_adds = EPROTONOSUPPORT;
    XfrmChildSaInstaller installer(kernel);
    const auto result = installer.install(gcm_tunnel4());
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), ike::InstallError::kUnavailable);
    EXPECT_NE(installer.last_error().find("no ESP support"), std::string::npos)
        << installer.last_error();
    EXPECT_NE(installer.last_error().find("0xc0000001"), std::string::npos);
    EXPECT_NE(installer.last_error().find("192.0.2.2"), std::string::npos);
    EXPECT_TRUE(kernel.state.policies.empty());
    EXPECT_TRUE(kernel.state.sas.empty());
    EXPECT_EQ(installer.installed_policies(), 0U);
    EXPECT_EQ(installer.installed_child_sas(), 0U);
}

TEST(XfrmChildSaInstaller, OneFailedSaRemovesTheOther) {
    RecordingKernel kernel;
    XfrmChildSaInstaller installer(kernel);
    // A foreign SA already holds the outbound SPI: its add fails with EEXIST.
    auto foreign = child_sa_objects(gcm_tunnel4(), 7, {});
    ASSERT_TRUE(foreign);
    kernel.state.add(foreign->outbound);
    const auto result = installer.install(gcm_tunnel4());
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), ike::InstallError::kRejected);
    EXPECT_NE(installer.last_error().find("outbound SA"), std::string::npos);
    EXPECT_NE(installer.last_error().find("EEXIST"), std::string::npos) << installer.last_error();
    EXPECT_TRUE(kernel.state.policies.empty());
    ASSERT_EQ(kernel.state.sas.size(), 1U);  // only the foreign one
    EXPECT_EQ(kernel.state.sas.begin()->second.reqid, 7U);
}

TEST(XfrmChildSaInstaller, PolicyFailureRollsBackEarlierPolicies) {
    RecordingKernel kernel;
    kernel.fail_policy_add = 1;
    XfrmChildSaInstaller installer(kernel);
    const auto result = installer.install(gcm_tunnel4());
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), ike::InstallError::kRejected);
    EXPECT_NE(installer.last_error().find("policy"), std::string::npos);
    EXPECT_TRUE(kernel.state.policies.empty());
    EXPECT_TRUE(kernel.state.sas.empty());
    for (const auto& change : kernel.log) {
        EXPECT_FALSE(std::holds_alternative<xfrm::Sa>(change.object)) << "no SA after a failure";
    }
}

TEST(XfrmChildSaInstaller, MappingFailureTouchesNothing) {
    RecordingKernel kernel;
    XfrmChildSaInstaller installer(kernel);
    auto sa = gcm_tunnel4();
    sa.outbound.encr_key = key(3, 0);
    const auto result = installer.install(sa);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), ike::InstallError::kRejected);
    EXPECT_TRUE(kernel.log.empty());
}

TEST(XfrmChildSaInstaller, RekeySharesPoliciesAndReqidUntilTheOldSaGoes) {
    RecordingKernel kernel;
    XfrmChildSaInstaller installer(kernel);
    ASSERT_TRUE(installer.install(gcm_tunnel4(0xc0000001, 0xd0000001)));
    ASSERT_TRUE(installer.install(gcm_tunnel4(0xc0000002, 0xd0000002))) << installer.last_error();
    EXPECT_EQ(kernel.state.policies.size(), 3U);
    ASSERT_EQ(kernel.state.sas.size(), 4U);
    std::set<std::uint32_t> reqids;
    for (const auto& [sa_key, sa] : kernel.state.sas) reqids.insert(sa.reqid);
    EXPECT_EQ(reqids.size(), 1U) << "templates must find the new SAs too";
    EXPECT_EQ(kernel.log.size(), 7U) << "the rekey adds two SAs and no policy";

    installer.remove(0xc0000001, 0xd0000001);
    EXPECT_EQ(kernel.state.policies.size(), 3U);
    EXPECT_EQ(kernel.state.sas.size(), 2U);
    installer.remove(0xc0000002, 0xd0000002);
    EXPECT_TRUE(kernel.state.policies.empty());
    EXPECT_TRUE(kernel.state.sas.empty());
}

TEST(XfrmChildSaInstaller, DistinctChildSasGetDistinctReqids) {
    RecordingKernel kernel;
    XfrmChildSaInstaller installer(kernel);
    ASSERT_TRUE(installer.install(gcm_tunnel4()));
    ASSERT_TRUE(installer.install(cbc_transport6())) << installer.last_error();
    std::set<std::uint32_t> reqids;
    for (const auto& [sa_key, sa] : kernel.state.sas) reqids.insert(sa.reqid);
    EXPECT_EQ(reqids, (std::set<std::uint32_t>{kChildSaReqidMin, kChildSaReqidMin + 1}));
}

TEST(XfrmChildSaInstaller, PartlyOverlappingSelectorsAreRejected) {
    RecordingKernel kernel;
    XfrmChildSaInstaller installer(kernel);
    ASSERT_TRUE(installer.install(gcm_tunnel4()));
    auto wider = gcm_tunnel4(0xc0000005, 0xd0000005);
    wider.outbound.destination_ts.push_back(ts4({10, 9, 0, 0}, {10, 9, 0, 255}));
    const auto result = installer.install(wider);
    ASSERT_FALSE(result);
    EXPECT_NE(installer.last_error().find("partly overlap"), std::string::npos);
    EXPECT_EQ(kernel.state.policies.size(), 3U);
    EXPECT_EQ(kernel.state.sas.size(), 2U);
}

TEST(XfrmChildSaInstaller, UnknownAndRepeatedRemovesAreIgnored) {
    RecordingKernel kernel;
    XfrmChildSaInstaller installer(kernel);
    ASSERT_TRUE(installer.install(gcm_tunnel4()));
    const auto changes = kernel.log.size();
    installer.remove(0x12345678, 0x9abcdef0);
    installer.remove(0xc0000001, 0x9abcdef0);  // right inbound, wrong outbound
    EXPECT_EQ(kernel.log.size(), changes);
    installer.remove(0xc0000001, 0xd0000001);
    installer.remove(0xc0000001, 0xd0000001);
    EXPECT_TRUE(kernel.state.sas.empty());
    EXPECT_EQ(installer.installed_child_sas(), 0U);
}

TEST(XfrmChildSaInstaller, InstallingTheSameSpisTwiceIsRejected) {
    RecordingKernel kernel;
    XfrmChildSaInstaller installer(kernel);
    ASSERT_TRUE(installer.install(gcm_tunnel4()));
    const auto again = installer.install(gcm_tunnel4());
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), ike::InstallError::kRejected);
    EXPECT_NE(installer.last_error().find("already installed"), std::string::npos);
}

TEST(XfrmChildSaInstaller, AllocatedSpisSkipReservedAndUsedValues) {
    RecordingKernel kernel;
    std::deque<std::uint32_t> script{0x0, 0xff, 0xc0000001, 0xc0000001, 0xc0000777};
    XfrmChildSaInstaller installer(kernel, {}, [&script] {
        const auto value = script.front();
        script.pop_front();
        return value;
    });
    const auto local = endpoint(kLocal4);
    const auto remote = endpoint(kPeer4);
    const auto first = installer.allocate_spi(local, remote);
    ASSERT_TRUE(first);
    EXPECT_EQ(*first, 0xc0000001U);
    const auto second = installer.allocate_spi(local, remote);  // skips the handed-out one
    ASSERT_TRUE(second);
    EXPECT_EQ(*second, 0xc0000777U);
}

TEST(XfrmChildSaInstaller, SpiAllocationGivesUpOnAStuckSource) {
    RecordingKernel kernel;
    XfrmChildSaInstaller installer(kernel, {}, [] { return 7U; });
    const auto spi = installer.allocate_spi(endpoint(kLocal4), endpoint(kPeer4));
    ASSERT_FALSE(spi);
    EXPECT_EQ(spi.error(), ike::InstallError::kNoSpi);
}

TEST(XfrmChildSaInstaller, DefaultRandomSpisAreUsable) {
    RecordingKernel kernel;
    XfrmChildSaInstaller installer(kernel);
    std::set<std::uint32_t> spis;
    for (int i = 0; i < 100; ++i) {
        const auto spi = installer.allocate_spi(endpoint(kLocal4), endpoint(kPeer4));
        ASSERT_TRUE(spi);
        EXPECT_GE(*spi, kMinSpi);
        spis.insert(*spi);
    }
    EXPECT_EQ(spis.size(), 100U);
}

TEST(XfrmChildSaInstaller, ErrorMapping) {
    EXPECT_EQ(map_install_error({EPROTONOSUPPORT, "x"}, true).category,
              ike::InstallError::kUnavailable);
    EXPECT_NE(map_install_error({EPROTONOSUPPORT, "x"}, true).message.find("ESP"),
              std::string::npos);
    EXPECT_EQ(map_install_error({ENOSYS, "x"}, true).category, ike::InstallError::kUnavailable);
    EXPECT_NE(map_install_error({ENOSYS, "x"}, true).message.find("algorithm"), std::string::npos);
    EXPECT_EQ(map_install_error({ENOMEM, "x"}, false).category, ike::InstallError::kUnavailable);
    EXPECT_EQ(map_install_error({EPERM, "x"}, false).category, ike::InstallError::kUnavailable);
    EXPECT_EQ(map_install_error({EEXIST, "x"}, false).category, ike::InstallError::kRejected);
    EXPECT_EQ(map_install_error({EINVAL, "x"}, true).category, ike::InstallError::kRejected);
}

}  // namespace
}  // namespace mpsa::daemon
