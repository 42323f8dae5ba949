// XfrmChildSaInstaller on the running kernel. On a kernel with XFRM but no ESP (the CI machine)
// the policies go in, the SA add fails, and the installer must say why and leave no policy
// behind. On a kernel with ESP (a stock Debian kernel) the same CHILD_SA installs and remove()
// leaves nothing behind. ESP traffic across it is tested in the VM.
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>

#include <mpsa/daemon/child_sa_installer.hpp>
#include <mpsa/xfrm/netlink.hpp>

namespace mpsa::daemon {
namespace {

int sh(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str());
}

// Passes changes to the real kernel and keeps each change with its result, so the test can
// show what the kernel accepted before the rollback.
class RecordingKernel final : public xfrm::Kernel {
  public:
    explicit RecordingKernel(xfrm::Kernel& kernel) : kernel_(kernel) {}
    struct Entry {
        xfrm::Change change;
        std::optional<xfrm::Error> result;
    };
    std::vector<Entry> log;

    tl::expected<xfrm::State, xfrm::Error> dump() override { return kernel_.dump(); }
    std::vector<std::optional<xfrm::Error>> apply(std::span<const xfrm::Change> changes) override {
        auto results = kernel_.apply(changes);
        for (std::size_t i = 0; i < changes.size(); ++i) log.push_back({changes[i], results[i]});
        return results;
    }

  private:
    xfrm::Kernel& kernel_;
};

ike::TrafficSelector ts4(std::array<std::uint8_t, 4> start, std::array<std::uint8_t, 4> end) {
    ike::TrafficSelector ts;
    std::copy(start.begin(), start.end(), ts.start_address.begin());
    std::copy(end.begin(), end.end(), ts.end_address.begin());
    return ts;
}

ike::ChildSaInstall child_sa(ike::EspSuite suite, std::size_t encr_bytes, std::size_t integ_bytes) {
    ike::ChildSaInstall sa;
    const auto local = ike::IpAddress::v4(192, 0, 2, 1);
    const auto peer = ike::IpAddress::v4(192, 0, 2, 2);
    const auto local_ts = ts4({10, 1, 0, 0}, {10, 1, 0, 255});
    const auto remote_ts = ts4({10, 2, 0, 0}, {10, 2, 0, 255});
    for (auto* params : {&sa.inbound, &sa.outbound}) {
        params->suite = suite;
        params->mode = ike::ChildMode::kTunnel;
        params->encr_key = ike::SecretBytes(encr_bytes);
        params->integ_key = ike::SecretBytes(integ_bytes);
    }
    sa.inbound.spi = 0xc0000001;
    sa.inbound.source = {peer, 500};
    sa.inbound.destination = {local, 500};
    sa.inbound.source_ts = {remote_ts};
    sa.inbound.destination_ts = {local_ts};
    sa.outbound.spi = 0xd0000001;
    sa.outbound.source = {local, 500};
    sa.outbound.destination = {peer, 500};
    sa.outbound.source_ts = {local_ts};
    sa.outbound.destination_ts = {remote_ts};
    return sa;
}

// Whether this network namespace's kernel accepts an ESP state (probed with a throw-away SA).
bool kernel_has_esp() {
    const int added =
        sh("ip xfrm state add src 192.0.2.1 dst 192.0.2.9 proto esp spi 0x1ff mode tunnel "
           "enc 'cbc(aes)' 0x000102030405060708090a0b0c0d0e0f "
           "auth-trunc 'hmac(sha256)' "
           "0x000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f 128");
    if (added != 0) return false;
    sh("ip xfrm state delete src 192.0.2.1 dst 192.0.2.9 proto esp spi 0x1ff");
    return true;
}

class DaemonChildSaKernel : public ::testing::Test {
  protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
        ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET) failed";
        ASSERT_EQ(sh("ip link set lo up"), 0);
        ASSERT_EQ(sh("ip link add veth0 type veth peer name veth1"), 0);
        ASSERT_EQ(sh("ip link set veth0 up && ip link set veth1 up"), 0);
        ASSERT_EQ(sh("ip addr add 192.0.2.1/24 dev veth0"), 0);
        auto kernel = xfrm::NetlinkKernel::open();
        ASSERT_TRUE(kernel) << kernel.error().message;
        kernel_ = std::move(*kernel);
    }

    void expect_no_xfrm_state() {
        const auto state = kernel_->dump();
        ASSERT_TRUE(state) << state.error().message;
        EXPECT_TRUE(state->policies.empty()) << state->policies.size() << " policies left";
        EXPECT_TRUE(state->sas.empty()) << state->sas.size() << " SAs left";
    }

    std::unique_ptr<xfrm::NetlinkKernel> kernel_;
};

TEST_F(DaemonChildSaKernel, InstallsWithEspOrFailsCleanlyWithout) {
    RecordingKernel recording(*kernel_);
    XfrmChildSaInstaller installer(recording);
    const bool has_esp = kernel_has_esp();
    const auto result = installer.install(
        child_sa({ike::EncrId::kAesCbc, 128, ike::IntegId::kHmacSha2_256_128}, 16, 32));
    if (has_esp) {
        // A kernel with ESP: both SAs and the three policies are in; remove() takes them out.
        ASSERT_TRUE(result) << installer.last_error();
        const auto state = kernel_->dump();
        ASSERT_TRUE(state) << state.error().message;
        EXPECT_EQ(state->sas.size(), 2U);
        EXPECT_EQ(state->policies.size(), 3U);
        installer.remove(0xc0000001, 0xd0000001);
        expect_no_xfrm_state();
        return;
    }
    ASSERT_FALSE(result) << "the ESP probe failed, yet the SA add succeeded";
    EXPECT_EQ(result.error(), ike::InstallError::kUnavailable);
    EXPECT_NE(installer.last_error().find("no ESP support"), std::string::npos)
        << installer.last_error();
    EXPECT_NE(installer.last_error().find("EPROTONOSUPPORT"), std::string::npos)
        << installer.last_error();
    EXPECT_NE(installer.last_error().find("0xc0000001"), std::string::npos);

    // The kernel accepted all three policies (out, in, fwd) before the SA failed ...
    std::size_t policies_added = 0;
    std::size_t policies_deleted = 0;
    for (const auto& entry : recording.log) {
        if (!std::holds_alternative<xfrm::Policy>(entry.change.object)) continue;
        EXPECT_FALSE(entry.result) << xfrm::describe(entry.change) << ": " << entry.result->message;
        if (entry.change.op == xfrm::ChangeOp::kAdd) ++policies_added;
        if (entry.change.op == xfrm::ChangeOp::kDelete) ++policies_deleted;
    }
    EXPECT_EQ(policies_added, 3U);
    // ... and the rollback removed them again: nothing is left in the kernel.
    EXPECT_EQ(policies_deleted, 3U);
    expect_no_xfrm_state();
    EXPECT_EQ(installer.installed_policies(), 0U);
    EXPECT_EQ(installer.installed_child_sas(), 0U);
}

TEST_F(DaemonChildSaKernel, AeadSuiteFailsWithAClearErrorAndNoState) {
    if (kernel_has_esp()) {
        GTEST_SKIP()
            << "this kernel has ESP: the missing-ESP error path cannot happen here (the "
               "success path is covered by InstallsWithEspOrFailsCleanlyWithout and the VM tests)";
    }
    XfrmChildSaInstaller installer(*kernel_);
    const auto result =
        installer.install(child_sa({ike::EncrId::kAesGcm16, 128, ike::IntegId::kNone}, 20, 0));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), ike::InstallError::kUnavailable);
    // Without ESP the kernel may refuse the algorithm first (no gcm) or the ESP type.
    const auto& text = installer.last_error();
    EXPECT_TRUE(text.find("no ESP support") != std::string::npos ||
                text.find("lacks the negotiated ESP algorithm") != std::string::npos)
        << text;
    expect_no_xfrm_state();
}

TEST_F(DaemonChildSaKernel, ForeignPolicyIsNeitherReplacedNorRemoved) {
    // Someone else (strongSwan, an operator) already protects the same traffic.
    ASSERT_EQ(sh("ip xfrm policy add dir out src 10.1.0.0/24 dst 10.2.0.0/24 tmpl src 192.0.2.1 "
                 "dst 192.0.2.2 proto esp mode tunnel reqid 1"),
              0);
    XfrmChildSaInstaller installer(*kernel_);
    const auto result = installer.install(
        child_sa({ike::EncrId::kAesCbc, 128, ike::IntegId::kHmacSha2_256_128}, 16, 32));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), ike::InstallError::kRejected);
    EXPECT_NE(installer.last_error().find("EEXIST"), std::string::npos) << installer.last_error();
    const auto state = kernel_->dump();
    ASSERT_TRUE(state) << state.error().message;
    ASSERT_EQ(state->policies.size(), 1U) << "only the foreign policy remains";
    const auto& foreign = state->policies.begin()->second;
    EXPECT_EQ(foreign.dir, xfrm::Direction::kOut);
    ASSERT_EQ(foreign.templates.size(), 1U);
    EXPECT_EQ(foreign.templates[0].reqid, 1U);
}

}  // namespace
}  // namespace mpsa::daemon
