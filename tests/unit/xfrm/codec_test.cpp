#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/xfrm.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include <mpsa/xfrm/codec.hpp>

#include "fixtures.hpp"

namespace mpsa::xfrm {
namespace {

using test::group_sa;
using test::policy;
using test::route;
using test::rule;

codec::LinkNames links() {
    codec::LinkNames names;
    names.add(1, "lo");
    names.add(2, "eth0");
    names.add(7, "mpsa1");
    return names;
}

nlmsghdr header_of(const codec::WireMessage& message) {
    nlmsghdr header{};
    std::memcpy(&header, message.data(), sizeof(header));
    return header;
}

std::vector<codec::WireMessage> encode_ok(const Change& change) {
    auto messages = codec::encode(change, links());
    EXPECT_TRUE(messages) << (messages ? "" : messages.error().message);
    return messages ? std::move(*messages) : std::vector<codec::WireMessage>{};
}

// Encodes an add and decodes the request as if the kernel had echoed it in a dump: the add
// request and the dump entry share their layout.
template <class T>
T round_trip_xfrm(const T& value) {
    auto messages = encode_ok(Change{ChangeOp::kAdd, value});
    EXPECT_EQ(messages.size(), 1U);
    auto event = codec::decode_xfrm(messages.at(0).view());
    EXPECT_TRUE(event);
    EXPECT_EQ(event->kind, KernelEvent::Kind::kNew);
    return std::get<T>(event->object);
}

template <class T>
T round_trip_route(const T& value) {
    auto messages = encode_ok(Change{ChangeOp::kAdd, value});
    EXPECT_EQ(messages.size(), 1U);
    auto event = codec::decode_route(messages.at(0).view(), links());
    EXPECT_TRUE(event);
    return std::get<T>(event->object);
}

TEST(XfrmCodec, CipherAuthSaRoundTripsWithIfIdAndMarks) {
    auto sa = group_sa("192.0.2.1", "192.0.2.2", 0xdeadbeef);
    sa.mode = Mode::kTunnel;
    sa.replay_window = 0;
    sa.mark = Mark{5, 0xff};
    sa.output_mark = Mark{0x100, 0xf00};
    sa.lifetime.hard_add_seconds = 3600;
    sa.lifetime.soft_add_seconds = 3000;
    sa.encap = UdpEncap{4500, 4501};
    const auto back = round_trip_xfrm(sa);
    EXPECT_TRUE(back == sa);
    EXPECT_EQ(back.if_id, test::kGroupIfId);
    EXPECT_EQ(back.spi, 0xdeadbeefU);
    EXPECT_FALSE(back.selector);  // any inner family
}

TEST(XfrmCodec, AeadSaOverIpv6WithSelectorRoundTrips) {
    auto sa = group_sa("2001:db8::1", "2001:db8::2");
    sa.cipher.reset();
    sa.auth.reset();
    sa.aead = AeadAlgorithm{"rfc4106(gcm(aes))", test::key_of(20, 9), 128};
    sa.mode = Mode::kTransport;
    sa.selector =
        Selector{Prefix::from("2001:db8:1::/48"), Prefix::from("2001:db8:2::/48"), 6, 0, 443};
    const auto back = round_trip_xfrm(sa);
    EXPECT_TRUE(back == sa);
    ASSERT_TRUE(back.aead);
    EXPECT_EQ(back.aead->key.size(), 20U);
}

TEST(XfrmCodec, SaEqualityNoticesKeyAndAlgorithmChanges) {
    const auto sa = group_sa("192.0.2.1", "192.0.2.2");
    auto other = sa;
    other.cipher->key.data()[0] ^= 1;
    EXPECT_FALSE(other == sa);
    other = sa;
    other.auth->truncation_bits = 96;
    EXPECT_FALSE(other == sa);
    other = sa;
    other.auth.reset();
    EXPECT_FALSE(other == sa);
}

TEST(XfrmCodec, SaUpdateIsDeleteThenAddAndDeleteCarriesNoKeys) {
    const auto sa = group_sa("192.0.2.1", "192.0.2.2");
    auto messages = encode_ok(Change{ChangeOp::kUpdate, sa});
    ASSERT_EQ(messages.size(), 2U);
    EXPECT_EQ(header_of(messages[0]).nlmsg_type, XFRM_MSG_DELSA);
    EXPECT_EQ(header_of(messages[1]).nlmsg_type, XFRM_MSG_NEWSA);
    const auto& del = messages[0];
    const auto key = sa.cipher->key.view();
    EXPECT_EQ(std::search(del.view().begin(), del.view().end(), key.begin(), key.end()),
              del.view().end());
    const auto& add = messages[1];
    EXPECT_NE(std::search(add.view().begin(), add.view().end(), key.begin(), key.end()),
              add.view().end());
}

TEST(XfrmCodec, PolicyRoundTripsBothFamiliesAllDirections) {
    for (auto dir : {Direction::kOut, Direction::kIn, Direction::kFwd}) {
        auto v4 = policy(dir, "10.1.0.0/24", "10.2.0.0/16", "192.0.2.1", "192.0.2.2");
        v4.mark = Mark{1, 0xffffffff};
        v4.selector.proto = 17;
        v4.selector.dport = 53;
        EXPECT_EQ(round_trip_xfrm(v4), v4);
        auto v6 = policy(dir, "2001:db8:1::/48", "2001:db8:2::/48", "2001:db8::1", "2001:db8::2");
        EXPECT_EQ(round_trip_xfrm(v6), v6);
        // IPv4 inside, IPv6 outside
        auto mixed = policy(dir, "10.1.0.0/24", "10.2.0.0/24", "2001:db8::1", "2001:db8::2");
        EXPECT_EQ(round_trip_xfrm(mixed), mixed);
    }
}

TEST(XfrmCodec, BlockPolicyAndMultipleTemplatesRoundTrip) {
    auto block = policy(Direction::kOut, "10.1.0.0/24", "10.2.0.0/24", "192.0.2.1", "192.0.2.2");
    block.templates.clear();
    block.action = PolicyAction::kBlock;
    EXPECT_EQ(round_trip_xfrm(block), block);
    auto two = policy(Direction::kOut, "10.1.0.0/24", "10.2.0.0/24", "192.0.2.1", "192.0.2.2");
    Template transport;
    transport.mode = Mode::kTransport;
    transport.optional = true;
    transport.spi = 0x42;
    two.templates.push_back(transport);
    EXPECT_EQ(round_trip_xfrm(two), two);
}

TEST(XfrmCodec, PolicyAddIsExclusiveAndUpdateReplaces) {
    const auto p = policy(Direction::kOut, "10.1.0.0/24", "10.2.0.0/24", "192.0.2.1", "192.0.2.2");
    EXPECT_EQ(header_of(encode_ok({ChangeOp::kAdd, p}).at(0)).nlmsg_type, XFRM_MSG_NEWPOLICY);
    EXPECT_EQ(header_of(encode_ok({ChangeOp::kUpdate, p}).at(0)).nlmsg_type, XFRM_MSG_UPDPOLICY);
    EXPECT_EQ(header_of(encode_ok({ChangeOp::kDelete, p}).at(0)).nlmsg_type, XFRM_MSG_DELPOLICY);
}

TEST(XfrmCodec, RouteRoundTripsAndResolvesDevices) {
    auto r = route("10.2.0.0/24", "mpsa1", 1000);
    r.metric = 20;
    r.source = IpAddress::from("10.1.0.1");
    EXPECT_EQ(round_trip_route(r), r);
    auto v6 = route("2001:db8:2::/48", "mpsa1", 100);
    v6.metric = 1024;
    v6.gateway = IpAddress::from("fe80::1");
    EXPECT_EQ(round_trip_route(v6), v6);
    auto missing = route("10.2.0.0/24", "nosuchdev");
    auto encoded = codec::encode({ChangeOp::kAdd, missing}, links());
    ASSERT_FALSE(encoded);
    EXPECT_EQ(encoded.error().code, ENODEV);
}

TEST(XfrmCodec, RouteAddIsExclusiveUpdateReplaces) {
    const auto r = route("10.2.0.0/24");
    const auto add = header_of(encode_ok({ChangeOp::kAdd, r}).at(0));
    EXPECT_EQ(add.nlmsg_type, RTM_NEWROUTE);
    EXPECT_TRUE(add.nlmsg_flags & NLM_F_EXCL);
    EXPECT_TRUE(add.nlmsg_flags & NLM_F_ACK);
    const auto update = header_of(encode_ok({ChangeOp::kUpdate, r}).at(0));
    EXPECT_TRUE(update.nlmsg_flags & NLM_F_REPLACE);
    EXPECT_FALSE(update.nlmsg_flags & NLM_F_EXCL);
    EXPECT_EQ(header_of(encode_ok({ChangeOp::kDelete, r}).at(0)).nlmsg_type, RTM_DELROUTE);
}

TEST(XfrmCodec, RuleRoundTrips) {
    auto r = rule(18000, 1234);
    r.fwmark = 0x10;
    r.fwmask = 0xff;
    r.src = Prefix::from("10.1.0.0/24");
    r.iif = "eth0";
    EXPECT_EQ(round_trip_route(r), r);
    auto v6 = rule(18001, 100, Family::kIpv6);
    v6.dst = Prefix::from("2001:db8::/32");
    EXPECT_EQ(round_trip_route(v6), v6);
}

TEST(XfrmCodec, XfrmInterfaceRoundTrips) {
    XfrmInterface interface { "mpsa1", test::kGroupIfId, "eth0", 1400 };
    EXPECT_EQ(round_trip_route(interface), interface);
}

TEST(XfrmCodec, DumpRequestsAskForDumps) {
    for (auto kind : {codec::DumpKind::kSas, codec::DumpKind::kPolicies, codec::DumpKind::kLinks,
                      codec::DumpKind::kRoutes4, codec::DumpKind::kRoutes6,
                      codec::DumpKind::kRules4, codec::DumpKind::kRules6}) {
        const auto request = codec::encode_dump_request(kind);
        const auto header = header_of(request);
        EXPECT_TRUE(header.nlmsg_flags & NLM_F_DUMP);
        EXPECT_LE(header.nlmsg_len, request.size());
    }
}

// Every truncation of a valid message must decode to nothing or to something, never crash.
TEST(XfrmCodec, TruncatedMessagesNeverCrashTheDecoders) {
    auto sa = group_sa("192.0.2.1", "192.0.2.2");
    sa.encap = UdpEncap{};
    std::vector<codec::WireMessage> messages;
    for (const auto& change :
         {Change{ChangeOp::kAdd, sa},
          Change{ChangeOp::kAdd,
                 policy(Direction::kOut, "10.1.0.0/24", "10.2.0.0/24", "192.0.2.1", "192.0.2.2")},
          Change{ChangeOp::kAdd, route("10.2.0.0/24")}, Change{ChangeOp::kAdd, rule()},
          Change{ChangeOp::kAdd, XfrmInterface{"mpsa1", test::kGroupIfId, "eth0", 1400}}}) {
        for (auto& message : encode_ok(change)) messages.push_back(std::move(message));
    }
    std::size_t decoded = 0;
    for (const auto& message : messages) {
        for (std::size_t cut = 0; cut <= message.size(); ++cut) {
            std::vector<std::uint8_t> bytes(message.data(), message.data() + cut);
            if (bytes.size() >= sizeof(nlmsghdr)) {
                // keep the header's length consistent with the cut, as a short read would not
                auto length = static_cast<std::uint32_t>(cut);
                std::memcpy(bytes.data(), &length, sizeof(length));
            }
            decoded += codec::decode_xfrm(bytes).has_value();
            decoded += codec::decode_route(bytes, links()).has_value();
        }
    }
    EXPECT_GE(decoded, messages.size());  // at least the complete messages decode
}

}  // namespace
}  // namespace mpsa::xfrm
