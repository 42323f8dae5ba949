// IKE setup shared by both roles: what mpsad's Config means for ike::IkeSaConfig, proposals,
// identities, credentials and sockets. The gateway (responder) and the CPE (initiator) build
// their IKE SAs from these so that both ends agree on proposals and the MPSA Vendor ID.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "mpsa/daemon/config.hpp"
#include "mpsa/ike/auth.hpp"
#include "mpsa/ike/child_sa.hpp"
#include "mpsa/ike/exchange_auth.hpp"
#include "mpsa/ike/payloads.hpp"
#include "mpsa/ike/sa_config.hpp"
#include "mpsa/ike/transport.hpp"

namespace mpsa::daemon {

// IKE identity from its configured text: an IP address -> ID_IPV4_ADDR/ID_IPV6_ADDR, text with
// '@' -> ID_RFC822_ADDR, anything else -> ID_FQDN. For FQDN, e-mail and IPv4 identities,
// identity_text() of mpsa/peer_identity.hpp gives the same text back (IPv6: eight hex groups).
[[nodiscard]] ike::Identification make_identification(std::string_view text);

// IKE SA proposals, preference order (AEAD first, then CBC+HMAC; x25519, ecp256, modp2048), so
// strongSwan's default proposal list finds a match.
[[nodiscard]] std::vector<ike::Suite> default_ike_proposals();
// ESP proposals of the pairwise CHILD_SA (GCM is fine here: one sender per direction).
[[nodiscard]] std::vector<ike::EspSuite> default_child_esp_proposals();

// Everything of an IkeSaConfig that follows from Config alone: proposals, our identity, the
// "multi-point SA" Vendor ID, liveness check and NAT-T keepalive intervals. No CHILD_SA; the
// CPE adds remote_id (the gateway's identity) and its CHILD_SA itself.
[[nodiscard]] ike::IkeSaConfig base_ike_sa_config(const Config& config);

// A selector for exactly one address (and optionally one IP protocol, 0 = any).
[[nodiscard]] ike::TrafficSelector host_selector(const ike::IpAddress& address,
                                                 std::uint8_t ip_protocol = 0);
inline constexpr std::uint8_t kIpProtoTcp = 6;

// The CHILD_SA carrying the CPE-gateway iBGP session (draft 4.1): transport mode, selectors
// narrowed to local <-> remote, TCP. Both roles use it (the CPE as initiator proposes it, the
// gateway as responder narrows to it).
[[nodiscard]] ike::ChildSaConfig bgp_child_sa_config(const ike::IpAddress& local,
                                                     const ike::IpAddress& remote);

// Decides, after the peer's AUTH verified, whether this authenticated identity may have an IKE
// SA at all (gateway: matches a group; CPE: is the configured gateway identity).
using PeerAdmission = std::function<bool(const ike::Identification& peer)>;

struct AuthenticatorSetup {
    std::unique_ptr<ike::Authenticator> authenticator;
    std::string method;  // "psk" or "x509", for logs
};

// Loads the credentials of Config (PSK file or certificate, key and CA files) into an
// Authenticator. The PSK is read once and the read buffer wiped; its file may hold the key as
// text (a trailing newline is not part of it) or as hex with a "0x" prefix. A peer whose
// identity `admit` refuses fails authentication (the responder answers AUTHENTICATION_FAILED).
// Errors name the file and the problem, never key bytes.
[[nodiscard]] tl::expected<AuthenticatorSetup, std::string> load_authenticator(
    const Credentials& credentials, PeerAdmission admit);

// The PSK file's key (see load_authenticator), or why not.
[[nodiscard]] tl::expected<ike::SecretBytes, std::string> read_psk_file(const std::string& path);

// The addresses to bind IKE sockets to: ike_listen with each wildcard ("0.0.0.0", "::") replaced
// by this host's addresses of that family (getifaddrs; IPv6 link-local addresses are skipped,
// they need a scope). Duplicates removed, order kept.
[[nodiscard]] tl::expected<std::vector<ike::IpAddress>, std::string> resolve_listen_addresses(
    const std::vector<std::string>& listen);
// The same with the host's addresses given (for tests).
[[nodiscard]] std::vector<ike::IpAddress> expand_listen_addresses(
    const std::vector<std::string>& listen, const std::vector<ike::IpAddress>& host_addresses);

// "192.0.2.1" / "2001:db8::1" without port.
[[nodiscard]] std::string address_text(const ike::IpAddress& address);

}  // namespace mpsa::daemon
