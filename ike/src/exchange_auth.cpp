#include "mpsa/ike/exchange_auth.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mpsa/ike/auth.hpp"
#include "mpsa/ike/exchange.hpp"

namespace mpsa::ike {

namespace {

tl::expected<Bytes, AuthFailure> signed_octets(const AuthInput& input) {
    if (input.sk_p == nullptr || input.id == nullptr) return tl::unexpected(AuthFailure::kCrypto);
    auto octets = auth_signed_octets(input.prf, *input.sk_p, input.real_message, input.peer_nonce,
                                     id_payload_body(*input.id));
    if (!octets) return tl::unexpected(AuthFailure::kCrypto);
    return std::move(*octets);
}

// SHA-1 of the subjectPublicKey BIT STRING contents (RFC 7296 3.7 CERTREQ for X.509).
Bytes public_key_hash(const Certificate& cert) {
    const ASN1_BIT_STRING* key = X509_get0_pubkey_bitstr(cert.get());
    if (key == nullptr) return {};
    Bytes digest(20);
    unsigned int length = 0;
    if (EVP_Digest(ASN1_STRING_get0_data(key), static_cast<std::size_t>(ASN1_STRING_length(key)),
                   digest.data(), &length, EVP_sha1(), nullptr) != 1 ||
        length != digest.size()) {
        return {};
    }
    return digest;
}

}  // namespace

PskAuthenticator::PskAuthenticator(const SecretBytes& key)
    : own_key_(key), peer_key_([key](const Identification&) { return key; }) {}

tl::expected<AuthPayload, AuthFailure> PskAuthenticator::sign(const AuthInput& own) {
    if (own_key_.empty()) return tl::unexpected(AuthFailure::kNoCredential);
    auto octets = signed_octets(own);
    if (!octets) return tl::unexpected(octets.error());
    auto value = psk_auth_value(own.prf, own_key_.view(), *octets);
    if (!value) return tl::unexpected(AuthFailure::kCrypto);
    AuthPayload auth;
    auth.method = static_cast<std::uint8_t>(AuthMethod::kSharedKeyMic);
    auth.data = std::move(*value);
    return auth;
}

tl::expected<void, AuthFailure> PskAuthenticator::verify(const AuthInput& peer,
                                                         const AuthPayload& auth,
                                                         std::span<const Payload>) {
    if (auth.method != static_cast<std::uint8_t>(AuthMethod::kSharedKeyMic)) {
        return tl::unexpected(AuthFailure::kUnsupportedMethod);
    }
    if (peer.id == nullptr) return tl::unexpected(AuthFailure::kNoCredential);
    const auto key = peer_key_ ? peer_key_(*peer.id) : std::nullopt;
    if (!key || key->empty()) return tl::unexpected(AuthFailure::kNoCredential);
    auto octets = signed_octets(peer);
    if (!octets) return tl::unexpected(octets.error());
    auto verified = verify_psk_auth(peer.prf, key->view(), *octets, auth.data);
    if (!verified) {
        return tl::unexpected(verified.error() == AuthError::kMismatch ? AuthFailure::kMismatch
                                                                       : AuthFailure::kCrypto);
    }
    return {};
}

CertificateAuthenticator::CertificateAuthenticator(PrivateKey key, Certificate certificate,
                                                   std::vector<Certificate> intermediates,
                                                   std::shared_ptr<const TrustStore> trust,
                                                   std::vector<Certificate> trusted_cas)
    : key_(std::move(key)),
      certificate_(std::move(certificate)),
      intermediates_(std::move(intermediates)),
      trust_(std::move(trust)) {
    for (const auto& ca : trusted_cas) {
        const Bytes hash = public_key_hash(ca);
        ca_key_hashes_.insert(ca_key_hashes_.end(), hash.begin(), hash.end());
    }
}

std::vector<Payload> CertificateAuthenticator::certificate_requests() {
    std::vector<Payload> out;
    CertReqPayload request;
    request.data = ca_key_hashes_;
    out.emplace_back(std::move(request));
    return out;
}

std::vector<Payload> CertificateAuthenticator::credentials_payloads() {
    std::vector<Payload> out;
    out.emplace_back(
        CertPayload{static_cast<std::uint8_t>(CertEncoding::kX509Signature), certificate_.der()});
    for (const auto& c : intermediates_) {
        out.emplace_back(
            CertPayload{static_cast<std::uint8_t>(CertEncoding::kX509Signature), c.der()});
    }
    return out;
}

tl::expected<AuthPayload, AuthFailure> CertificateAuthenticator::sign(const AuthInput& own) {
    const auto scheme = default_signature_scheme(key_);
    if (!scheme) return tl::unexpected(AuthFailure::kUnsupportedMethod);
    auto octets = signed_octets(own);
    if (!octets) return tl::unexpected(octets.error());
    auto signature = sign_auth_rfc7427(key_, *scheme, *octets);
    if (!signature) return tl::unexpected(AuthFailure::kCrypto);
    AuthPayload auth;
    auth.method = static_cast<std::uint8_t>(AuthMethod::kDigitalSignature);
    auth.data = std::move(*signature);
    return auth;
}

tl::expected<void, AuthFailure> CertificateAuthenticator::verify(
    const AuthInput& peer, const AuthPayload& auth, std::span<const Payload> peer_payloads) {
    if (auth.method != static_cast<std::uint8_t>(AuthMethod::kDigitalSignature)) {
        return tl::unexpected(AuthFailure::kUnsupportedMethod);
    }
    if (peer.id == nullptr || trust_ == nullptr) return tl::unexpected(AuthFailure::kNoCredential);
    std::optional<Certificate> leaf;
    std::vector<Certificate> chain;
    for (const auto& payload : peer_payloads) {
        const auto* cert = std::get_if<CertPayload>(&payload);
        if (cert == nullptr ||
            cert->encoding != static_cast<std::uint8_t>(CertEncoding::kX509Signature)) {
            continue;
        }
        auto parsed = Certificate::from_der(cert->data);
        if (!parsed) return tl::unexpected(AuthFailure::kMismatch);
        if (!leaf) {
            leaf = std::move(*parsed);
        } else {
            chain.push_back(std::move(*parsed));
        }
    }
    if (!leaf) return tl::unexpected(AuthFailure::kNoCredential);
    if (!trust_->verify(*leaf, chain) ||
        !certificate_matches_identity(*leaf, static_cast<std::uint8_t>(peer.id->type),
                                      peer.id->data)) {
        return tl::unexpected(AuthFailure::kMismatch);
    }
    auto octets = signed_octets(peer);
    if (!octets) return tl::unexpected(octets.error());
    if (!verify_auth_rfc7427(*leaf, auth.data, *octets)) {
        return tl::unexpected(AuthFailure::kMismatch);
    }
    return {};
}

}  // namespace mpsa::ike
