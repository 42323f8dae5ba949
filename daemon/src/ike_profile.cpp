#include "mpsa/daemon/ike_profile.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <openssl/crypto.h>

#include "mpsa/ike/suite.hpp"
#include "mpsa/ike/udp_socket.hpp"
#include "mpsa/mpsa/vendor_id.hpp"

namespace mpsa::daemon {
namespace {

// Wraps the real authenticator: the peer's AUTH must verify and its identity be admitted.
class AdmittingAuthenticator final : public ike::Authenticator {
  public:
    AdmittingAuthenticator(std::unique_ptr<ike::Authenticator> inner, PeerAdmission admit)
        : inner_(std::move(inner)), admit_(std::move(admit)) {}
    std::vector<ike::Payload> certificate_requests() override {
        return inner_->certificate_requests();
    }
    std::vector<ike::Payload> credentials_payloads() override {
        return inner_->credentials_payloads();
    }
    tl::expected<ike::AuthPayload, ike::AuthFailure> sign(const ike::AuthInput& own) override {
        return inner_->sign(own);
    }
    tl::expected<void, ike::AuthFailure> verify(
        const ike::AuthInput& peer, const ike::AuthPayload& auth,
        std::span<const ike::Payload> peer_payloads) override {
        auto verified = inner_->verify(peer, auth, peer_payloads);
        if (!verified) return verified;
        if (admit_ && (peer.id == nullptr || !admit_(*peer.id))) {
            return tl::make_unexpected(ike::AuthFailure::kMismatch);
        }
        return {};
    }

  private:
    std::unique_ptr<ike::Authenticator> inner_;
    PeerAdmission admit_;
};

bool is_wildcard(const std::string& text, bool& v6) {
    if (text == "0.0.0.0") {
        v6 = false;
        return true;
    }
    if (text == "::") {
        v6 = true;
        return true;
    }
    return false;
}

}  // namespace

ike::Identification make_identification(std::string_view text) {
    ike::Identification id;
    if (auto ip = ike::parse_ip_address(std::string(text))) {
        id.type = ip->v6 ? ike::IdType::kIpv6Addr : ike::IdType::kIpv4Addr;
        const auto view = ip->view();
        id.data.assign(view.begin(), view.end());
        return id;
    }
    id.type =
        text.find('@') != std::string_view::npos ? ike::IdType::kRfc822Addr : ike::IdType::kFqdn;
    id.data.assign(text.begin(), text.end());
    return id;
}

std::vector<ike::Suite> default_ike_proposals() {
    std::vector<ike::Suite> out;
    for (const char* p :
         {"aes256gcm16-prfsha256-x25519", "aes256-sha256-x25519", "aes256gcm16-prfsha384-ecp384",
          "aes256-sha256-ecp256", "aes256-sha256-modp2048", "aes128gcm16-prfsha256-x25519",
          "aes128-sha256-modp2048"}) {
        auto suite = ike::parse_suite(p);
        if (!suite) throw std::logic_error(std::string("bad built-in IKE proposal ") + p);
        out.push_back(*suite);
    }
    return out;
}

std::vector<ike::EspSuite> default_child_esp_proposals() {
    return {{ike::EncrId::kAesGcm16, 256, ike::IntegId::kNone},
            {ike::EncrId::kAesGcm16, 128, ike::IntegId::kNone},
            {ike::EncrId::kAesCbc, 256, ike::IntegId::kHmacSha2_256_128},
            {ike::EncrId::kAesCbc, 128, ike::IntegId::kHmacSha2_256_128}};
}

ike::IkeSaConfig base_ike_sa_config(const Config& config) {
    ike::IkeSaConfig ike_config;
    ike_config.proposals = default_ike_proposals();
    ike_config.local_id = make_identification(config.identity);
    ike_config.vendor_ids.push_back(mpsa::mpsa_vendor_id());
    ike_config.dpd_interval = config.timers.dpd;
    ike_config.nat_keepalive_interval = config.timers.natt_keepalive;
    return ike_config;
}

ike::TrafficSelector host_selector(const ike::IpAddress& address, std::uint8_t ip_protocol) {
    ike::TrafficSelector ts;
    ts.type = address.v6 ? ike::TsType::kIpv6AddrRange : ike::TsType::kIpv4AddrRange;
    ts.ip_protocol = ip_protocol;
    ts.start_address = address.octets;
    ts.end_address = address.octets;
    if (!address.v6) {
        std::fill(ts.start_address.begin() + 4, ts.start_address.end(), 0);
        std::fill(ts.end_address.begin() + 4, ts.end_address.end(), 0);
    }
    return ts;
}

ike::ChildSaConfig bgp_child_sa_config(const ike::IpAddress& local, const ike::IpAddress& remote) {
    ike::ChildSaConfig child;
    child.proposals = default_child_esp_proposals();
    child.local_ts = {host_selector(local, kIpProtoTcp)};
    child.remote_ts = {host_selector(remote, kIpProtoTcp)};
    child.mode = ike::ChildMode::kTransport;
    return child;
}

tl::expected<ike::SecretBytes, std::string> read_psk_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return tl::make_unexpected("cannot read PSK file " + path + ": " + std::strerror(errno));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto wipe = [&] { OPENSSL_cleanse(text.data(), text.size()); };
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    ike::SecretBytes key;
    if (text.rfind("0x", 0) == 0) {
        const std::string_view hex(text.data() + 2, text.size() - 2);
        const bool valid =
            !hex.empty() && hex.size() % 2 == 0 && std::all_of(hex.begin(), hex.end(), [](char c) {
                return std::isxdigit(static_cast<unsigned char>(c));
            });
        if (!valid) {
            wipe();
            return tl::make_unexpected("PSK file " + path +
                                       ": \"0x\" must be followed by hex octets");
        }
        ike::Bytes bytes = ike::from_hex(hex);
        key = ike::SecretBytes(ike::ByteView(bytes.data(), bytes.size()));
        OPENSSL_cleanse(bytes.data(), bytes.size());
    } else {
        key = ike::SecretBytes(
            ike::ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    }
    wipe();
    if (key.empty()) return tl::make_unexpected("PSK file " + path + " is empty");
    return key;
}

tl::expected<AuthenticatorSetup, std::string> load_authenticator(const Credentials& credentials,
                                                                 PeerAdmission admit) {
    AuthenticatorSetup setup;
    std::unique_ptr<ike::Authenticator> inner;
    if (!credentials.psk_file.empty()) {
        auto key = read_psk_file(credentials.psk_file);
        if (!key) return tl::make_unexpected(key.error());
        inner = std::make_unique<ike::PskAuthenticator>(*key);
        setup.method = "psk";
    } else {
        auto key = ike::PrivateKey::load_pem_file(credentials.key_file);
        if (!key) return tl::make_unexpected("cannot load private key " + credentials.key_file);
        auto cert = ike::Certificate::load_pem_file(credentials.cert_file);
        if (!cert) return tl::make_unexpected("cannot load certificate " + credentials.cert_file);
        auto ca = ike::Certificate::load_pem_file(credentials.ca_file);
        if (!ca) return tl::make_unexpected("cannot load CA certificate " + credentials.ca_file);
        auto trust = std::make_shared<ike::TrustStore>();
        if (!trust->add_ca(*ca)) {
            return tl::make_unexpected("CA certificate " + credentials.ca_file + " not usable");
        }
        std::vector<ike::Certificate> cas;
        cas.push_back(std::move(*ca));
        inner = std::make_unique<ike::CertificateAuthenticator>(std::move(*key), std::move(*cert),
                                                                std::vector<ike::Certificate>{},
                                                                std::move(trust), std::move(cas));
        setup.method = "x509";
    }
    setup.authenticator =
        std::make_unique<AdmittingAuthenticator>(std::move(inner), std::move(admit));
    return setup;
}

std::vector<ike::IpAddress> expand_listen_addresses(
    const std::vector<std::string>& listen, const std::vector<ike::IpAddress>& host_addresses) {
    std::vector<ike::IpAddress> out;
    const auto add = [&out](const ike::IpAddress& a) {
        if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    };
    for (const auto& text : listen) {
        bool v6 = false;
        if (is_wildcard(text, v6)) {
            for (const auto& a : host_addresses) {
                if (a.v6 == v6) add(a);
            }
        } else if (auto ip = ike::parse_ip_address(text)) {
            add(*ip);
        }
    }
    return out;
}

tl::expected<std::vector<ike::IpAddress>, std::string> resolve_listen_addresses(
    const std::vector<std::string>& listen) {
    std::vector<ike::IpAddress> host;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) {
        return tl::make_unexpected(std::string("getifaddrs: ") + std::strerror(errno));
    }
    for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr) continue;
        ike::IpAddress a;
        if (i->ifa_addr->sa_family == AF_INET) {
            sockaddr_in sin{};
            std::memcpy(&sin, i->ifa_addr, sizeof(sin));
            std::memcpy(a.octets.data(), &sin.sin_addr, 4);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            sockaddr_in6 sin6{};
            std::memcpy(&sin6, i->ifa_addr, sizeof(sin6));
            if (IN6_IS_ADDR_LINKLOCAL(&sin6.sin6_addr)) continue;
            a.v6 = true;
            std::memcpy(a.octets.data(), &sin6.sin6_addr, 16);
        } else {
            continue;
        }
        host.push_back(a);
    }
    freeifaddrs(list);
    auto out = expand_listen_addresses(listen, host);
    if (out.empty()) return tl::make_unexpected(std::string("no address to listen on for IKE"));
    return out;
}

std::string address_text(const ike::IpAddress& address) {
    char buffer[INET6_ADDRSTRLEN] = {};
    inet_ntop(address.v6 ? AF_INET6 : AF_INET, address.octets.data(), buffer, sizeof(buffer));
    return buffer;
}

}  // namespace mpsa::daemon
