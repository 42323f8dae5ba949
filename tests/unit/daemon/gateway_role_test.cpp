// Pure pieces of the gateway role and the runtime: the group SA state file, the status API
// documents, the runtime's /v1/status fields and reload decisions.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "mpsa/daemon/daemon_runtime.hpp"
#include "mpsa/daemon/gateway_snapshot.hpp"
#include "mpsa/daemon/gateway_state.hpp"
#include "mpsa/ike/udp_socket.hpp"

namespace mpsa::daemon {
namespace {

using std::chrono::seconds;

mpsa::GroupSaRecord record(std::uint32_t spi, mpsa::TimePoint created) {
    mpsa::GroupSaRecord r;
    r.spi = spi;
    r.suite = mpsa::suites::default_suite();
    r.nonce = ike::Bytes(32, 0x11);
    r.sk_d = ike::SecretBytes(ike::Bytes(32, 0x5a));
    r.created_at = created;
    r.expires_at = created + seconds(3600);
    r.roll1 = seconds(10);
    r.roll2 = seconds(20);
    return r;
}

TEST(GatewayState, RoundTripMapsTimesThroughWallClock) {
    const mpsa::TimePoint steady{seconds(1000)};
    const WallTime wall{seconds(1'800'000'000)};
    std::vector<mpsa::GroupSaState> groups(2);
    groups[0].name = "corp";
    groups[0].current = record(0x1234, steady - seconds(100));
    groups[0].next = record(0x5678, steady - seconds(5));
    groups[1].name = "lab";
    groups[1].current = record(0x9abc, steady);
    const auto encoded = encode_gateway_state(groups, steady, wall);
    // Decoded in another process whose steady clock started elsewhere, 30 s later.
    const mpsa::TimePoint steady2{seconds(50)};
    const auto decoded = decode_gateway_state(encoded.view(), steady2, wall + seconds(30));
    ASSERT_TRUE(decoded) << decoded.error();
    ASSERT_EQ(decoded->size(), 2u);
    EXPECT_EQ((*decoded)[0].name, "corp");
    EXPECT_EQ((*decoded)[0].current->spi, 0x1234u);
    EXPECT_EQ((*decoded)[0].next->spi, 0x5678u);
    EXPECT_EQ((*decoded)[0].current->created_at, steady2 - seconds(130));
    EXPECT_EQ((*decoded)[0].next->expires_at, steady2 - seconds(35) + seconds(3600));
    EXPECT_EQ((*decoded)[0].current->sk_d.view()[0], 0x5a);
    EXPECT_EQ((*decoded)[0].current->roll2, seconds(20));
    EXPECT_FALSE((*decoded)[1].next);
    EXPECT_EQ((*decoded)[1].current->suite, mpsa::suites::default_suite());
}

TEST(GatewayState, CorruptionTruncationAndTrailingDataRejected) {
    const mpsa::TimePoint steady{seconds(1000)};
    const WallTime wall{seconds(1'800'000'000)};
    std::vector<mpsa::GroupSaState> groups(1);
    groups[0].name = "corp";
    groups[0].current = record(0x1234, steady);
    const auto encoded = encode_gateway_state(groups, steady, wall);
    ike::Bytes bytes(encoded.view().begin(), encoded.view().end());
    for (std::size_t i : {std::size_t{0}, std::size_t{12}, bytes.size() / 2, bytes.size() - 1}) {
        auto flipped = bytes;
        flipped[i] ^= 0x01;
        EXPECT_FALSE(decode_gateway_state(flipped, steady, wall)) << "flipped octet " << i;
    }
    EXPECT_FALSE(decode_gateway_state(ike::ByteView(bytes.data(), 10), steady, wall));
    auto longer = bytes;
    longer.push_back(0);
    EXPECT_FALSE(decode_gateway_state(longer, steady, wall));
}

class GatewayStateFile : public ::testing::Test {
  protected:
    std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                                ("mpsa_gw_state_" + std::to_string(::getpid()));
    void SetUp() override { std::filesystem::create_directories(dir); }
    void TearDown() override { std::filesystem::remove_all(dir); }
};

TEST_F(GatewayStateFile, SavedWithMode0600AndLoadedBack) {
    const mpsa::TimePoint steady{seconds(1000)};
    const WallTime wall{seconds(1'800'000'000)};
    auto missing = load_gateway_state(dir, steady, wall);
    ASSERT_TRUE(missing);
    EXPECT_FALSE(missing->found);
    std::vector<mpsa::GroupSaState> groups(1);
    groups[0].name = "corp";
    groups[0].current = record(0x4242, steady);
    ASSERT_TRUE(save_gateway_state(dir, groups, steady, wall));
    struct stat st {};
    ASSERT_EQ(::stat((dir / kGatewayStateFileName).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto loaded = load_gateway_state(dir, steady, wall);
    ASSERT_TRUE(loaded) << loaded.error();
    ASSERT_TRUE(loaded->found);
    EXPECT_EQ(loaded->groups[0].current->spi, 0x4242u);
    // A file others can read is refused, not trusted.
    ::chmod((dir / kGatewayStateFileName).c_str(), 0644);
    auto refused = load_gateway_state(dir, steady, wall);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("0600"), std::string::npos);
}

GroupConfig corp() {
    GroupConfig g;
    g.name = "corp";
    g.id = 7;
    g.members = {"cpe*.example.net"};
    g.roll1 = seconds(10);
    g.roll2 = seconds(20);
    return g;
}

TEST(GatewaySnapshot, DocumentsFollowTheContractWithoutKeys) {
    const mpsa::TimePoint now{seconds(5000)};
    GatewayGroupView group;
    group.config = corp();
    group.status.name = "corp";
    group.status.current_spi = 0x11112222;
    group.status.current_expires_at = now + seconds(100);
    group.status.next_spi = 0x33334444;
    group.status.next_expires_at = now + seconds(3700);
    group.status.next_outbound_at = now - seconds(1);  // members already send with next
    group.status.members = 1;
    group.status.acked_next = 1;
    group.status.roll1_in_use = seconds(10);
    group.members.push_back({42, "cpe1.example.net", 0x33334444, 0});

    GatewayPeerView member;
    member.identity = "cpe1.example.net";
    member.peer = {*ike::parse_ip_address("192.0.2.2"), 4500};
    member.local = {*ike::parse_ip_address("192.0.2.1"), 4500};
    member.spis = {0x0102030405060708, 0x1112131415161718};
    member.state = "established";
    member.mpsa = true;
    member.generation = 42;
    GatewayPeerView stranger = member;  // plain IKE peer matching no group
    stranger.identity = "other.example.org";
    stranger.generation = 43;
    const std::vector<GatewayGroupView> groups{group};
    const std::vector<GatewayPeerView> peers{member, stranger};

    const auto g = gateway_groups_document(groups, now)["groups"][0];
    EXPECT_EQ(g["name"], "corp");
    EXPECT_EQ(g["id"], 7);
    EXPECT_EQ(g["outbound_spi"], "0x33334444");
    EXPECT_EQ(g["members_acked"], 1);
    EXPECT_EQ(g["suite"]["prf"], "prfsha256");
    ASSERT_EQ(g["sas"].size(), 2u);
    EXPECT_EQ(g["sas"][0]["role"], "current");
    EXPECT_EQ(g["sas"][0]["outbound"], false);
    EXPECT_EQ(g["sas"][0]["expires_in_seconds"], 100);
    EXPECT_EQ(g["sas"][1]["outbound"], true);

    const auto members = gateway_members_document(groups, peers)["members"];
    ASSERT_EQ(members.size(), 1u);  // the stranger matches no group
    EXPECT_EQ(members[0]["address"], "192.0.2.2");
    EXPECT_EQ(members[0]["port"], 4500);
    EXPECT_EQ(members[0]["mpsa"], true);
    EXPECT_EQ(members[0]["acked_spi"], "0x33334444");

    const auto p = gateway_peers_document(peers)["peers"];
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0]["ike_spi_initiator"], "0x0102030405060708");

    const auto sas = gateway_sas_document(groups, peers, now)["sas"];
    std::size_t group_rows = 0;
    for (const auto& row : sas) group_rows += row["type"] == "group" ? 1 : 0;
    EXPECT_EQ(group_rows, 2u);
    const auto status = gateway_status_document(groups, peers)["counts"];
    EXPECT_EQ(status["ike_sas"], 2);
    EXPECT_EQ(status["members"], 1);
    EXPECT_EQ(status["routes"], 0);

    // Nothing that looks like key material: no field named like one.
    const std::string all = gateway_sas_document(groups, peers, now).dump() +
                            gateway_groups_document(groups, now).dump();
    for (const char* word : {"sk_d", "nonce", "secret", "\"key", "_key"}) {
        EXPECT_EQ(all.find(word), std::string::npos) << word;
    }
}

TEST(GatewaySnapshot, ManagerConfigFromGroupConfig) {
    auto g = corp();
    g.suite = "draft-example";
    g.leave_rekey_damping = seconds(90);
    const auto m = manager_group_config(g);
    EXPECT_EQ(m.suite, mpsa::suites::draft_example());
    EXPECT_EQ(m.min_rekey_interval, seconds(90));
    EXPECT_EQ(m.member_patterns, g.members);
    EXPECT_TRUE(mpsa::validate(m));
}

TEST(Runtime, StatusFieldsMergedOverTheRoles) {
    Snapshot snapshot;
    snapshot["status"] = {{"counts", {{"ike_sas", 3}}}};
    RuntimeStatusInfo info;
    info.role = Role::kGateway;
    info.identity = "gw";
    info.version = "1.2.3";
    info.pid = 99;
    info.uptime_seconds = 12;
    info.config_file = "/etc/mpsa/mpsad.json";
    info.generation = 2;
    info.last_reload = ReloadRecord{false, 1700000000, {"/groups/0/id: is required"}};
    merge_runtime_status(snapshot, info);
    const auto& s = snapshot["status"];
    EXPECT_EQ(s["counts"]["ike_sas"], 3);  // the role's part kept
    EXPECT_EQ(s["role"], "gateway");
    EXPECT_EQ(s["pid"], 99);
    EXPECT_EQ(s["config"]["generation"], 2);
    EXPECT_EQ(s["config"]["last_reload"]["ok"], false);
    EXPECT_EQ(s["config"]["last_reload"]["errors"][0], "/groups/0/id: is required");
    Snapshot empty;
    info.last_reload.reset();
    merge_runtime_status(empty, info);
    EXPECT_TRUE(empty["status"]["config"]["last_reload"].is_null());
}

class RuntimeConfigFile : public ::testing::Test {
  protected:
    std::string path = ::testing::TempDir() + "/mpsad_rt_" + std::to_string(::getpid()) + ".json";
    void write(const std::string& s) { std::ofstream(path) << s; }
    void TearDown() override { std::remove(path.c_str()); }
    static constexpr const char* kGateway = R"({"role": "gateway", "identity": "gw",
        "credentials": {"psk_file": "psk"},
        "groups": [{"name": "corp", "id": 1, "members": ["*"], "roll1_s": 1, "roll2_s": 2}]})";
};

TEST_F(RuntimeConfigFile, CheckListsEveryErrorWithItsPointer) {
    write(kGateway);
    EXPECT_TRUE(check_config_file(path).empty());
    write(R"({"role": "gateway", "identity": 5, "groups": [{"name": "x"}]})");
    const auto errors = check_config_file(path);
    ASSERT_GE(errors.size(), 3u);
    bool identity = false;
    for (const auto& e : errors) identity |= e.rfind("/identity: ", 0) == 0;
    EXPECT_TRUE(identity);
    EXPECT_FALSE(check_config_file(path + ".missing").empty());
}

TEST_F(RuntimeConfigFile, ReloadRefusesARoleChange) {
    write(kGateway);
    auto running = load_config_file(path);
    ASSERT_TRUE(running);
    auto same = reload_candidate(path, *running);
    ASSERT_TRUE(same);
    running->role = Role::kCpe;
    auto changed = reload_candidate(path, *running);
    ASSERT_FALSE(changed);
    EXPECT_EQ(changed.error()[0].rfind("/role: cannot change from cpe to gateway", 0), 0u);
}

}  // namespace
}  // namespace mpsa::daemon
