// SaManager over real sockets on 127.0.0.1 (ephemeral ports, no NAT-T socket): driving an SA
// through with_sa() keeps the session table and the timer honest.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include "mpsa/ike/sa_manager.hpp"
#include "sa_test_harness.hpp"

namespace mpsa::ike {
namespace {

using testing::FakeInstaller;
using testing::fqdn;
using testing::psk;
using testing::ScriptedRandom;

TEST(SaManager, SaClosedBeforeIkeAuthThroughWithSaIsForgotten) {
    asio::io_context io;
    ManualClock clock;
    clock.set(TimePoint{} + std::chrono::hours(1));
    ScriptedRandom random(7);
    FakeInstaller installer(0xd0000000);
    PskAuthenticator auth(psk("secret"));
    SaManagerConfig config;
    config.endpoint.addresses = {IpAddress::v4(127, 0, 0, 1)};
    config.endpoint.ike_port = 0;  // ephemeral: no clash with anything on 500
    config.endpoint.natt_port = 0;
    auto manager = SaManager::open(
        io, clock, random, config, [](const Endpoint&, const Endpoint&) { return std::nullopt; },
        nullptr);
    ASSERT_TRUE(manager.has_value()) << manager.error().message();
    IkeSaConfig sa_config;
    sa_config.proposals = {testing::suite("aes128gcm16-prfsha256-x25519")};
    sa_config.local_id = fqdn("cpe.example");
    const Endpoint local{IpAddress::v4(127, 0, 0, 1), 0};
    const Endpoint nobody{IpAddress::v4(127, 0, 0, 1), 9};
    auto id = (*manager)->initiate(sa_config, IkeSaDeps{&clock, &random, &auth, &installer}, local,
                                   nobody);
    ASSERT_TRUE(id.has_value());
    EXPECT_EQ((*manager)->sessions().size(), 1U);
    ASSERT_TRUE((*manager)->sessions().next_timer().has_value()) << "IKE_SA_INIT retransmission";
    EXPECT_TRUE((*manager)->with_sa(*id, [](IkeSa& sa) { sa.close(); }));
    EXPECT_EQ((*manager)->sessions().size(), 0U);
    EXPECT_FALSE((*manager)->sessions().next_timer().has_value());
    EXPECT_FALSE((*manager)->with_sa(*id, [](IkeSa&) {}));
}

}  // namespace
}  // namespace mpsa::ike
