// ike_peer: our IKEv2 (SaManager over real sockets) as one peer of an interop test. Runs an
// initiator or a responder from command-line options, prints every event as one JSON line on
// stdout, takes commands on stdin (rekey-ike, rekey-child, delete-child, create-child, close,
// notify, mpsa-put, quit) and exits on --exit-on <event> (status 0), on quit/EOF, or after
// --timeout seconds (status 3).
//
// "notify" sends an empty INFORMATIONAL (a liveness check); "mpsa-put" sends an INFORMATIONAL
// carrying N(MPSA_PUT) for a freshly generated group SA, encoded by mpsa's codec, whatever Vendor
// IDs the peer sent: a test-only way to show that a plain IKEv2 peer (strongSwan) tolerates it.
// "create-child" asks for an additional CHILD_SA; --pfs makes CREATE_CHILD_SA use PFS.
//
// CHILD_SAs are "installed" in a userspace table only (this test kernel has no ESP), or with
// --install kernel into the namespace's XFRM through mpsa::daemon's XfrmChildSaInstaller.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <nlohmann/json.hpp>

#include "mpsa/daemon/child_sa_installer.hpp"
#include "mpsa/ike/auth.hpp"
#include "mpsa/ike/crypto_x509.hpp"
#include "mpsa/ike/keylog.hpp"
#include "mpsa/ike/sa_manager.hpp"
#include "mpsa/ike/suite.hpp"
#include "mpsa/ike/udp_socket.hpp"
#include "mpsa/mpsa/mpsa_put.hpp"
#include "mpsa/xfrm/netlink.hpp"

namespace ike = mpsa::ike;
using nlohmann::json;

namespace {

std::string hex64(std::uint64_t v) {
    char buffer[17];
    std::snprintf(buffer, sizeof(buffer), "%016llx", static_cast<unsigned long long>(v));
    return buffer;
}
std::string hex32(std::uint32_t v) {
    char buffer[9];
    std::snprintf(buffer, sizeof(buffer), "%08x", static_cast<unsigned>(v));
    return buffer;
}

ike::Identification make_id(const std::string& text) {
    ike::Identification id;
    if (auto ip = ike::parse_ip_address(text)) {
        id.type = ip->v6 ? ike::IdType::kIpv6Addr : ike::IdType::kIpv4Addr;
        const auto view = ip->view();
        id.data.assign(view.begin(), view.end());
    } else {
        id.type = ike::IdType::kFqdn;
        id.data.assign(text.begin(), text.end());
    }
    return id;
}

std::string id_text(const ike::Identification& id) {
    if (id.type == ike::IdType::kIpv4Addr || id.type == ike::IdType::kIpv6Addr) {
        ike::Endpoint e;
        e.address.v6 = id.type == ike::IdType::kIpv6Addr;
        std::copy(id.data.begin(), id.data.end(), e.address.octets.begin());
        auto s = ike::to_string(e);
        return s.substr(0, s.rfind(':'));  // drop the port
    }
    return {id.data.begin(), id.data.end()};
}

// "10.1.0.0/24" or "2001:db8::/64"
std::optional<ike::TrafficSelector> parse_ts(const std::string& cidr) {
    const auto slash = cidr.find('/');
    auto ip = ike::parse_ip_address(cidr.substr(0, slash));
    if (!ip) return std::nullopt;
    const unsigned length = ip->v6 ? 16 : 4;
    unsigned prefix = length * 8;
    if (slash != std::string::npos)
        prefix = static_cast<unsigned>(std::stoul(cidr.substr(slash + 1)));
    ike::TrafficSelector ts;
    ts.type = ip->v6 ? ike::TsType::kIpv6AddrRange : ike::TsType::kIpv4AddrRange;
    for (unsigned i = 0; i < length; ++i) {
        const unsigned bits = prefix > i * 8 ? std::min(8U, prefix - i * 8) : 0U;
        const auto mask = static_cast<std::uint8_t>(0xFF00U >> bits);
        ts.start_address[i] = static_cast<std::uint8_t>(ip->octets[i] & mask);
        ts.end_address[i] =
            static_cast<std::uint8_t>(ip->octets[i] | static_cast<std::uint8_t>(~mask));
    }
    return ts;
}

// CHILD_SAs kept in memory only: fresh SPIs, installs recorded and reported.
class UserspaceInstaller final : public ike::ChildSaInstaller {
  public:
    explicit UserspaceInstaller(ike::RandomSource& random) : random_(random) {}
    tl::expected<std::uint32_t, ike::InstallError> allocate_spi(const ike::Endpoint&,
                                                                const ike::Endpoint&) override {
        std::uint32_t spi = 0;
        while (spi < 256) {
            std::uint8_t b[4];
            if (!random_.fill(b)) return tl::make_unexpected(ike::InstallError::kNoSpi);
            spi = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                  (std::uint32_t{b[2]} << 8) | b[3];
        }
        return spi;
    }
    tl::expected<void, ike::InstallError> install(const ike::ChildSaInstall& sa) override {
        json j{{"event", "child_installed"},
               {"in_spi", hex32(sa.inbound.spi)},
               {"out_spi", hex32(sa.outbound.spi)},
               {"udp_encap", sa.inbound.udp_encap},
               {"src", ike::to_string(sa.outbound.source)},
               {"dst", ike::to_string(sa.outbound.destination)}};
        std::cout << j.dump() << std::endl;
        return {};
    }
    void remove(std::uint32_t, std::uint32_t) override {}

  private:
    ike::RandomSource& random_;
};

// CHILD_SAs installed into the kernel (policies and both ESP SAs) by the daemon's installer;
// reports each install like UserspaceInstaller, with "kernel": true, or its failure.
class KernelInstaller final : public ike::ChildSaInstaller {
  public:
    explicit KernelInstaller(std::unique_ptr<mpsa::xfrm::NetlinkKernel> kernel)
        : kernel_(std::move(kernel)), installer_(*kernel_) {}
    tl::expected<std::uint32_t, ike::InstallError> allocate_spi(
        const ike::Endpoint& local, const ike::Endpoint& remote) override {
        return installer_.allocate_spi(local, remote);
    }
    tl::expected<void, ike::InstallError> install(const ike::ChildSaInstall& sa) override {
        auto result = installer_.install(sa);
        if (!result) {
            std::cout
                << json{{"event", "child_install_failed"}, {"what", installer_.last_error()}}.dump()
                << std::endl;
            return result;
        }
        json j{{"event", "child_installed"},
               {"kernel", true},
               {"in_spi", hex32(sa.inbound.spi)},
               {"out_spi", hex32(sa.outbound.spi)},
               {"udp_encap", sa.inbound.udp_encap},
               {"src", ike::to_string(sa.outbound.source)},
               {"dst", ike::to_string(sa.outbound.destination)},
               {"policies", installer_.installed_policies()}};
        std::cout << j.dump() << std::endl;
        return {};
    }
    void remove(std::uint32_t inbound_spi, std::uint32_t outbound_spi) override {
        installer_.remove(inbound_spi, outbound_spi);
    }

  private:
    std::unique_ptr<mpsa::xfrm::NetlinkKernel> kernel_;
    mpsa::daemon::XfrmChildSaInstaller installer_;
};

std::uint32_t load32(const std::uint8_t* b) {
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
           b[3];
}

// A fresh group SA (default suite, OpenSSL RNG) as the N(MPSA_PUT) a gateway would push, or a
// message saying why not. The SA itself is never installed: only the peer's reaction matters.
tl::expected<ike::NotifyPayload, std::string> fresh_mpsa_put(ike::RandomSource& random,
                                                             std::uint32_t& spi_out) {
    mpsa::mpsa::MpsaPut put;
    put.suite = mpsa::mpsa::suites::default_suite();
    while (put.spi < 256) {
        std::uint8_t b[4];
        if (!random.fill(b)) return tl::make_unexpected(std::string("RNG failed"));
        put.spi = load32(b);
    }
    put.nonce.resize(32);
    put.sk_d = ike::SecretBytes(ike::prf_key_length(put.suite.prf));
    if (!random.fill(put.nonce) || !random.fill({put.sk_d.data(), put.sk_d.size()}))
        return tl::make_unexpected(std::string("RNG failed"));
    put.lifetime_s = 3600;
    put.roll1_s = 30;
    put.roll2_s = 60;
    if (auto valid = mpsa::mpsa::validate(put); !valid)
        return tl::make_unexpected(std::string(mpsa::mpsa::to_string(valid.error())));
    auto data = mpsa::mpsa::encode_mpsa_put_data(put);
    if (!data) return tl::make_unexpected(std::string(mpsa::mpsa::to_string(data.error())));
    ike::NotifyPayload notify;
    notify.protocol = ike::ProtocolId::kEsp;
    notify.spi = {static_cast<std::uint8_t>(put.spi >> 24),
                  static_cast<std::uint8_t>(put.spi >> 16), static_cast<std::uint8_t>(put.spi >> 8),
                  static_cast<std::uint8_t>(put.spi)};
    notify.type = mpsa::mpsa::kMpsaPutNotifyType;
    notify.data.assign(data->data(), data->data() + data->size());
    spi_out = put.spi;
    return notify;
}

json event_json(const ike::SessionEvent& se, ike::SaManager& manager) {
    json j{{"session", se.session}};
    std::visit(
        [&](const auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, ike::IkeSaUp>) {
                j["event"] = "ike_up";
                j["spi_i"] = hex64(e.spis.initiator);
                j["spi_r"] = hex64(e.spis.responder);
                j["peer_id"] = id_text(e.peer_id);
                j["peer"] = ike::to_string(e.peer);
                if (auto* sa = manager.find(se.session)) {
                    if (auto suite = sa->suite()) j["suite"] = suite->to_string();
                    j["local"] = ike::to_string(sa->local_endpoint());
                    j["peer_behind_nat"] = sa->peer_behind_nat();
                    j["local_behind_nat"] = sa->local_behind_nat();
                }
            } else if constexpr (std::is_same_v<T, ike::IkeSaRekeyed>) {
                j["event"] = "ike_rekeyed";
                j["old_spi_i"] = hex64(e.old_spis.initiator);
                j["old_spi_r"] = hex64(e.old_spis.responder);
                j["spi_i"] = hex64(e.new_spis.initiator);
                j["spi_r"] = hex64(e.new_spis.responder);
            } else if constexpr (std::is_same_v<T, ike::IkeSaDown>) {
                j["event"] = "ike_down";
                j["reason"] = std::string(ike::down_reason_name(e.reason));
            } else if constexpr (std::is_same_v<T, ike::ChildSaUp>) {
                j["event"] = "child_up";
                j["in_spi"] = hex32(e.inbound_spi);
                j["out_spi"] = hex32(e.outbound_spi);
            } else if constexpr (std::is_same_v<T, ike::ChildSaRekeyed>) {
                j["event"] = "child_rekeyed";
                j["old_in_spi"] = hex32(e.old_inbound_spi);
                j["in_spi"] = hex32(e.new_inbound_spi);
            } else if constexpr (std::is_same_v<T, ike::ChildSaDown>) {
                j["event"] = "child_down";
                j["in_spi"] = hex32(e.inbound_spi);
            } else if constexpr (std::is_same_v<T, ike::ChildSaFailed>) {
                j["event"] = "child_failed";
                j["notify"] = e.notify_type;
            } else if constexpr (std::is_same_v<T, ike::NotifiesReceived>) {
                j["event"] = "notifies";
                j["count"] = e.notifies.size();
                json types = json::array();
                for (const auto& n : e.notifies) types.push_back(n.type);
                j["types"] = types;
            } else if constexpr (std::is_same_v<T, ike::NotifyRequestDone>) {
                j["event"] = "notify_done";
                j["id"] = e.id;
                j["outcome"] = std::string(ike::notify_outcome_name(e.outcome));
                json types = json::array();  // error or status notifies in the peer's answer
                for (const auto& n : e.response) types.push_back(n.type);
                j["response_types"] = types;
            }
        },
        se.event);
    return j;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ike_peer: mpsa's IKEv2 as an interop test peer"};
    std::string role = "initiator";
    std::string local_text;
    std::string remote_text;
    std::vector<std::string> proposals{"aes128gcm16-prfsha256-x25519"};
    std::string psk;
    std::string local_id_text;
    std::string remote_id_text;
    std::string cert_path, key_path, ca_path;
    std::vector<std::string> local_ts_text, remote_ts_text;
    std::string esp_proposal = "aes128gcm16";
    std::vector<std::string> pfs_text;
    double dpd_s = 0;
    std::string keylog_ike, keylog_esp;
    std::string exit_on;
    std::string install = "userspace";
    double timeout_s = 60;
    double retransmit_timeout_s = 1.0;
    app.add_option("--role", role)->check(CLI::IsMember({"initiator", "responder"}));
    app.add_option("--local", local_text, "local address")->required();
    app.add_option("--remote", remote_text, "peer address (initiator)");
    app.add_option("--proposal", proposals, "IKE proposal(s), strongSwan keywords");
    app.add_option("--psk", psk, "pre-shared key (0x... hex or text)");
    app.add_option("--id", local_id_text, "our identity (IP or FQDN; default: local address)");
    app.add_option("--remote-id", remote_id_text, "identity the peer must prove");
    app.add_option("--cert", cert_path, "our certificate (PEM)");
    app.add_option("--key", key_path, "our private key (PEM)");
    app.add_option("--ca", ca_path, "trusted CA certificate (PEM)");
    app.add_option("--local-ts", local_ts_text, "CHILD_SA local traffic selector (CIDR)");
    app.add_option("--remote-ts", remote_ts_text, "CHILD_SA remote traffic selector (CIDR)");
    app.add_option("--esp-proposal", esp_proposal);
    app.add_option("--pfs", pfs_text,
                   "PFS group(s) for CREATE_CHILD_SA (x25519, ecp256, ecp384, modp2048)");
    app.add_option("--dpd", dpd_s, "liveness check interval in seconds (0: none)");
    app.add_option("--retransmit-timeout", retransmit_timeout_s);
    app.add_option("--keylog-ike", keylog_ike,
                   "append IKE SA keys (tshark ikev2_decryption_table)");
    app.add_option("--keylog-esp", keylog_esp, "append CHILD_SA keys (tshark esp_sa)");
    app.add_option("--install", install, "where CHILD_SAs go: userspace table or kernel XFRM")
        ->check(CLI::IsMember({"userspace", "kernel"}));
    app.add_option("--exit-on", exit_on, "exit 0 after printing this event (e.g. ike_down)");
    app.add_option("--timeout", timeout_s, "exit 3 after this many seconds");
    CLI11_PARSE(app, argc, argv);

    auto fail = [](const std::string& what) {
        std::cout << json{{"event", "error"}, {"what", what}}.dump() << std::endl;
        return 2;
    };
    auto local_ip = ike::parse_ip_address(local_text);
    if (!local_ip) return fail("bad --local");

    ike::IkeSaConfig config;
    for (const auto& p : proposals) {
        auto suite = ike::parse_suite(p);
        if (!suite) return fail("bad proposal " + p);
        config.proposals.push_back(*suite);
    }
    config.local_id = make_id(local_id_text.empty() ? local_text : local_id_text);
    if (!remote_id_text.empty()) config.remote_id = make_id(remote_id_text);
    config.dpd_interval =
        std::chrono::duration_cast<ike::Duration>(std::chrono::duration<double>(dpd_s));
    config.retransmit.timeout = std::chrono::duration_cast<ike::Duration>(
        std::chrono::duration<double>(retransmit_timeout_s));
    config.retransmit.tries = 3;
    config.ike_rekey_interval = ike::Duration::zero();
    config.child_rekey_interval = ike::Duration::zero();
    if (!local_ts_text.empty()) {
        ike::ChildSaConfig child;
        ike::EspSuite esp;
        if (esp_proposal == "aes128gcm16") {
            esp = {ike::EncrId::kAesGcm16, 128, ike::IntegId::kNone};
        } else if (esp_proposal == "aes256gcm16") {
            esp = {ike::EncrId::kAesGcm16, 256, ike::IntegId::kNone};
        } else if (esp_proposal == "aes128-sha256") {
            esp = {ike::EncrId::kAesCbc, 128, ike::IntegId::kHmacSha2_256_128};
        } else {
            return fail("unsupported --esp-proposal");
        }
        child.proposals.push_back(esp);
        for (const auto& name : pfs_text) {
            std::optional<ike::DhGroup> group;
            for (const auto g : {ike::DhGroup::kCurve25519, ike::DhGroup::kEcp256,
                                 ike::DhGroup::kEcp384, ike::DhGroup::kModp2048}) {
                if (ike::dh_group_name(g) == name) group = g;
            }
            if (!group) return fail("bad --pfs " + name);
            child.pfs_groups.push_back(*group);
        }
        for (const auto& t : local_ts_text) {
            auto ts = parse_ts(t);
            if (!ts) return fail("bad --local-ts " + t);
            child.local_ts.push_back(*ts);
        }
        for (const auto& t : remote_ts_text) {
            auto ts = parse_ts(t);
            if (!ts) return fail("bad --remote-ts " + t);
            child.remote_ts.push_back(*ts);
        }
        config.child = std::move(child);
    }

    std::unique_ptr<ike::Authenticator> authenticator;
    if (!cert_path.empty()) {
        auto key = ike::PrivateKey::load_pem_file(key_path);
        auto cert = ike::Certificate::load_pem_file(cert_path);
        auto ca = ike::Certificate::load_pem_file(ca_path);
        if (!key || !cert || !ca) return fail("cannot load --cert/--key/--ca");
        auto trust = std::make_shared<ike::TrustStore>();
        if (!trust->add_ca(*ca)) return fail("bad CA");
        std::vector<ike::Certificate> cas;
        cas.push_back(std::move(*ca));
        authenticator = std::make_unique<ike::CertificateAuthenticator>(
            std::move(*key), std::move(*cert), std::vector<ike::Certificate>{}, trust,
            std::move(cas));
    } else {
        ike::Bytes key_bytes;
        if (psk.rfind("0x", 0) == 0) {
            key_bytes = ike::from_hex(psk.substr(2));
        } else {
            key_bytes.assign(psk.begin(), psk.end());
        }
        if (key_bytes.empty()) return fail("no --psk and no --cert");
        authenticator = std::make_unique<ike::PskAuthenticator>(ike::SecretBytes(key_bytes));
    }

    ike::SteadyClock clock;
    ike::OpenSslRandom random;
    std::unique_ptr<ike::ChildSaInstaller> installer;
    if (install == "kernel") {
        auto kernel = mpsa::xfrm::NetlinkKernel::open();
        if (!kernel) return fail("xfrm netlink: " + kernel.error().message);
        installer = std::make_unique<KernelInstaller>(std::move(*kernel));
    } else {
        installer = std::make_unique<UserspaceInstaller>(random);
    }
    std::unique_ptr<ike::FileKeyLog> keylog;
    if (!keylog_ike.empty() || !keylog_esp.empty()) {
        auto opened = ike::FileKeyLog::open({keylog_ike, keylog_esp});
        if (!opened) return fail("keylog: " + opened.error().message());
        keylog = std::move(*opened);
    }
    ike::IkeSaDeps deps{&clock, &random, authenticator.get(), installer.get(), keylog.get()};

    asio::io_context io;
    int exit_code = 0;
    ike::SaManager* manager_ptr = nullptr;
    ike::SaManagerConfig manager_config;
    manager_config.endpoint.addresses.push_back(*local_ip);
    // Kernel CHILD_SAs with UDP encapsulation need the kernel to take ESP-in-UDP off the NAT-T
    // socket (UDP_ENCAP_ESPINUDP); without it, our inbound SA never sees a packet.
    manager_config.endpoint.options.esp_in_udp = install == "kernel";
    auto manager = ike::SaManager::open(
        io, clock, random, manager_config,
        [&](const ike::Endpoint&, const ike::Endpoint&) {
            return std::optional<ike::ResponderSetup>(ike::ResponderSetup{config, deps});
        },
        [&](const ike::SessionEvent& event) {
            const auto j = event_json(event, *manager_ptr);
            std::cout << j.dump() << std::endl;
            if (!exit_on.empty() && j.value("event", "") == exit_on) io.stop();
        });
    if (!manager) return fail("sockets: " + manager.error().message());
    manager_ptr = manager->get();

    std::optional<ike::SessionId> session;
    auto current = [&]() -> std::optional<ike::SessionId> {
        if (session) return session;
        return std::nullopt;
    };

    if (role == "initiator") {
        auto remote_ip = ike::parse_ip_address(remote_text);
        if (!remote_ip) return fail("bad --remote");
        auto id = (*manager)->initiate(config, deps, ike::Endpoint{*local_ip, ike::kIkePort},
                                       ike::Endpoint{*remote_ip, ike::kIkePort});
        if (!id) return fail("initiate failed");
        session = *id;
    }
    std::cout << json{{"event", "ready"}}.dump() << std::endl;

    asio::posix::stream_descriptor input(io, ::dup(STDIN_FILENO));
    asio::streambuf input_buffer;
    std::function<void()> read_command = [&] {
        asio::async_read_until(input, input_buffer, '\n', [&](std::error_code error, std::size_t) {
            if (error) {  // EOF: keep running until exit-on / timeout
                return;
            }
            std::istream stream(&input_buffer);
            std::string line;
            std::getline(stream, line);
            // The session to act on: ours (initiator) or the highest id alive (responder).
            std::optional<ike::SessionId> target = current();
            if (!target) {
                for (ike::SessionId id = 1; id < 1000; ++id) {
                    if ((*manager)->find(id) != nullptr) target = id;
                }
            }
            json reply{{"event", "command"}, {"command", line}, {"ok", false}};
            if (line == "quit") {
                io.stop();
                return;
            }
            if (target) {
                const bool ok = (*manager)->with_sa(*target, [&](ike::IkeSa& sa) {
                    if (line == "rekey-ike") {
                        sa.rekey_ike_sa();
                    } else if (line == "rekey-child" || line == "delete-child") {
                        auto children = sa.child_sas();
                        if (children.empty()) return;
                        if (line == "rekey-child") {
                            sa.rekey_child_sa(children.front().inbound_spi);
                        } else {
                            sa.delete_child_sa(children.front().inbound_spi);
                        }
                    } else if (line == "create-child") {
                        sa.create_child_sa();
                    } else if (line == "close") {
                        sa.close();
                    } else if (line == "notify") {
                        reply["request"] = sa.send_notifies({});
                    } else if (line == "mpsa-put") {
                        std::uint32_t spi = 0;
                        auto notify = fresh_mpsa_put(random, spi);
                        if (!notify) {
                            reply["error"] = notify.error();
                            return;
                        }
                        std::vector<ike::NotifyPayload> notifies;
                        notifies.push_back(std::move(*notify));
                        reply["request"] = sa.send_notifies(std::move(notifies));
                        reply["group_spi"] = hex32(spi);
                    }
                });
                reply["ok"] = ok && !reply.contains("error");
                reply["session"] = *target;
            }
            std::cout << reply.dump() << std::endl;
            read_command();
        });
    };
    read_command();

    asio::steady_timer deadline(io);
    deadline.expires_after(
        std::chrono::duration_cast<ike::Duration>(std::chrono::duration<double>(timeout_s)));
    deadline.async_wait([&](std::error_code error) {
        if (error) return;
        std::cout << json{{"event", "timeout"}}.dump() << std::endl;
        exit_code = 3;
        io.stop();
    });
    io.run();
    const auto c = (*manager)->endpoint().counters();
    std::cout << json{{"event", "exit"},
                      {"sent", c.sent},
                      {"received", c.received},
                      {"send_errors", c.send_errors},
                      {"esp_dropped", c.esp_dropped},
                      {"unknown_spi", (*manager)->sessions().counters().unknown_spi}}
                     .dump()
              << std::endl;
    return exit_code;
}
