#include "mpsa/ike/exchange_auth.hpp"

#include <string_view>

#include "mpsa/ike/exchange.hpp"

namespace mpsa::ike {

namespace {

// Internal stand-in for auth.hpp's psk_auth_value()/auth_signed_octets() (RFC 7296 2.15) until
// the crypto library ships them; to be replaced by those calls.
tl::expected<SecretBytes, AuthFailure> psk_auth_internal(const AuthInput& input, ByteView psk) {
    if (input.sk_p == nullptr || input.id == nullptr) return tl::unexpected(AuthFailure::kCrypto);
    const Bytes id_body = id_payload_body(*input.id);
    auto maced_id = prf(input.prf, input.sk_p->view(), id_body);
    if (!maced_id) return tl::unexpected(AuthFailure::kCrypto);
    Bytes octets(input.real_message.begin(), input.real_message.end());
    octets.insert(octets.end(), input.peer_nonce.begin(), input.peer_nonce.end());
    octets.insert(octets.end(), maced_id->data(), maced_id->data() + maced_id->size());
    constexpr std::string_view kKeyPad = "Key Pad for IKEv2";
    const ByteView pad{reinterpret_cast<const std::uint8_t*>(kKeyPad.data()), kKeyPad.size()};
    auto padded_key = prf(input.prf, psk, pad);
    if (!padded_key) return tl::unexpected(AuthFailure::kCrypto);
    auto auth = prf(input.prf, padded_key->view(), octets);
    if (!auth) return tl::unexpected(AuthFailure::kCrypto);
    return std::move(*auth);
}

}  // namespace

PskAuthenticator::PskAuthenticator(const SecretBytes& key)
    : own_key_(key), peer_key_([key](const Identification&) { return key; }) {}

tl::expected<AuthPayload, AuthFailure> PskAuthenticator::sign(const AuthInput& own) {
    if (own_key_.empty()) return tl::unexpected(AuthFailure::kNoCredential);
    auto value = psk_auth_internal(own, own_key_.view());
    if (!value) return tl::unexpected(value.error());
    AuthPayload auth;
    auth.method = static_cast<std::uint8_t>(AuthMethod::kSharedKeyMic);
    auth.data.assign(value->data(), value->data() + value->size());
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
    auto expected = psk_auth_internal(peer, key->view());
    if (!expected) return tl::unexpected(expected.error());
    if (!constant_time_equal(expected->view(), auth.data)) {
        return tl::unexpected(AuthFailure::kMismatch);
    }
    return {};
}

}  // namespace mpsa::ike
