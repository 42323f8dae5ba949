#include "mpsa/ike/cookie.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "mpsa/ike/notify_types.hpp"

namespace mpsa::ike {

namespace {
constexpr std::size_t kSecretLength = 32;
constexpr std::size_t kVersionLength = 4;
}  // namespace

void CookieGuard::rotate_if_due() {
    const TimePoint now = clock_.now();
    if (current_ && now - current_since_ < policy_.secret_lifetime) return;
    Secret next;
    next.version = current_ ? current_->version + 1 : 0;
    next.value = SecretBytes(kSecretLength);
    if (!random_.fill({next.value.data(), next.value.size()})) return;  // keep the old secret
    previous_ = std::move(current_);
    current_ = std::move(next);
    current_since_ = now;
}

Bytes CookieGuard::compute(const Secret& secret, const Message& request,
                           const Endpoint& remote) const {
    const auto* nonce = find_payload<NoncePayload>(request.payloads);
    Bytes input;
    if (nonce != nullptr) input = nonce->data;
    const ByteView address = remote.address.view();
    input.insert(input.end(), address.begin(), address.end());
    for (int shift = 56; shift >= 0; shift -= 8) {
        input.push_back(static_cast<std::uint8_t>(request.header.initiator_spi >> shift));
    }
    input.insert(input.end(), secret.value.data(), secret.value.data() + secret.value.size());
    Bytes cookie(kVersionLength + 32);
    for (std::size_t i = 0; i < kVersionLength; ++i) {
        cookie[i] = static_cast<std::uint8_t>(secret.version >> (8 * (kVersionLength - 1 - i)));
    }
    unsigned int length = 0;
    const bool ok = EVP_Digest(input.data(), input.size(), cookie.data() + kVersionLength, &length,
                               EVP_sha256(), nullptr) == 1;
    OPENSSL_cleanse(input.data(), input.size());  // it holds the secret
    if (!ok) return {};
    return cookie;
}

Bytes CookieGuard::cookie_for(const Message& request, const Endpoint& remote) {
    rotate_if_due();
    if (!current_) return {};
    return compute(*current_, request, remote);
}

std::optional<Bytes> CookieGuard::check(const Message& request, const Endpoint& remote,
                                        std::size_t half_open_count) {
    if (half_open_count < policy_.half_open_threshold) return std::nullopt;
    rotate_if_due();
    if (!current_) return std::nullopt;  // no randomness: better to serve than to refuse all
    const auto cookie_type = static_cast<std::uint16_t>(NotifyType::kCookie);
    // RFC 7296 2.6: the COOKIE must be the first payload.
    const NotifyPayload* received = nullptr;
    if (!request.payloads.empty()) received = std::get_if<NotifyPayload>(&request.payloads[0]);
    if (received != nullptr && received->type == cookie_type &&
        received->data.size() >= kVersionLength) {
        for (const auto* secret : {&*current_, previous_ ? &*previous_ : nullptr}) {
            if (secret == nullptr) continue;
            const Bytes expected = compute(*secret, request, remote);
            if (!expected.empty() && constant_time_equal(expected, received->data)) {
                return std::nullopt;
            }
        }
    }
    Message reply;
    reply.header = request.header;
    reply.header.responder_spi = 0;
    reply.header.response = true;
    reply.header.initiator = false;
    reply.header.version = false;
    NotifyPayload notify;
    notify.type = cookie_type;
    notify.data = compute(*current_, request, remote);
    reply.payloads.emplace_back(std::move(notify));
    auto encoded = encode(reply);
    if (!encoded) return std::nullopt;
    return std::move(*encoded);
}

}  // namespace mpsa::ike
