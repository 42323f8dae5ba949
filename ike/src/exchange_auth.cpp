#include "mpsa/ike/exchange_auth.hpp"

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

}  // namespace mpsa::ike
