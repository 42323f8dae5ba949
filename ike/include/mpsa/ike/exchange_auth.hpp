// How an IKE SA proves its identity in IKE_AUTH and checks the peer's (RFC 7296 2.15). PSK now;
// X.509 signatures (RFC 7427) slot in as another Authenticator.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/ike/crypto_x509.hpp"
#include "mpsa/ike/payloads.hpp"
#include "mpsa/ike/prf.hpp"

namespace mpsa::ike {

// What the AUTH value of one side covers:
//   octets = real_message | peer_nonce | prf(sk_p, ID payload body of `id`)
struct AuthInput {
    PrfId prf = PrfId::kHmacSha2_256;
    ByteView real_message;              // the signer's IKE_SA_INIT message as sent
    ByteView peer_nonce;                // the nonce of the other side
    const SecretBytes* sk_p = nullptr;  // SK_pi for the initiator's AUTH, SK_pr for the responder's
    const Identification* id = nullptr;  // the signer's identification
};

enum class AuthFailure : std::uint8_t { kNoCredential, kMismatch, kUnsupportedMethod, kCrypto };

class Authenticator {
  public:
    virtual ~Authenticator() = default;
    // CERTREQ payloads: in the responder's IKE_SA_INIT response and the initiator's IKE_AUTH.
    [[nodiscard]] virtual std::vector<Payload> certificate_requests() { return {}; }
    // Payloads to add before AUTH (e.g. CERT), then the AUTH payload itself.
    [[nodiscard]] virtual std::vector<Payload> credentials_payloads() { return {}; }
    [[nodiscard]] virtual tl::expected<AuthPayload, AuthFailure> sign(const AuthInput& own) = 0;
    // `peer_payloads`: everything the peer sent in its IKE_AUTH message (CERT etc.).
    [[nodiscard]] virtual tl::expected<void, AuthFailure> verify(
        const AuthInput& peer, const AuthPayload& auth, std::span<const Payload> peer_payloads) = 0;
};

// Shared keys: one for our own AUTH, and one per peer identity (the same key usually).
class PskAuthenticator final : public Authenticator {
  public:
    using PeerKeyLookup = std::function<std::optional<SecretBytes>(const Identification&)>;
    PskAuthenticator(SecretBytes own_key, PeerKeyLookup peer_key)
        : own_key_(std::move(own_key)), peer_key_(std::move(peer_key)) {}
    // The same key both ways, whoever the peer is.
    explicit PskAuthenticator(const SecretBytes& key);

    [[nodiscard]] tl::expected<AuthPayload, AuthFailure> sign(const AuthInput& own) override;
    [[nodiscard]] tl::expected<void, AuthFailure> verify(
        const AuthInput& peer, const AuthPayload& auth,
        std::span<const Payload> peer_payloads) override;

  private:
    SecretBytes own_key_;
    PeerKeyLookup peer_key_;
};

// RFC 7427 digital signatures (Auth Method 14) with X.509 certificates. Ours go in CERT
// payloads (end entity first); the peer's end-entity certificate must chain to a trusted CA and
// vouch for the identity it claims (RFC 4945). CERTREQ lists the SHA-1 hashes of the trusted CAs'
// public keys (RFC 7296 3.7), which makes strongSwan (send_cert = ifasked) send its certificate.
class CertificateAuthenticator final : public Authenticator {
  public:
    CertificateAuthenticator(PrivateKey key, Certificate certificate,
                             std::vector<Certificate> intermediates,
                             std::shared_ptr<const TrustStore> trust,
                             std::vector<Certificate> trusted_cas);

    [[nodiscard]] std::vector<Payload> certificate_requests() override;
    [[nodiscard]] std::vector<Payload> credentials_payloads() override;
    [[nodiscard]] tl::expected<AuthPayload, AuthFailure> sign(const AuthInput& own) override;
    [[nodiscard]] tl::expected<void, AuthFailure> verify(
        const AuthInput& peer, const AuthPayload& auth,
        std::span<const Payload> peer_payloads) override;

  private:
    PrivateKey key_;
    Certificate certificate_;
    std::vector<Certificate> intermediates_;
    std::shared_ptr<const TrustStore> trust_;
    Bytes ca_key_hashes_;  // concatenated 20-octet SHA-1 hashes
};

}  // namespace mpsa::ike
