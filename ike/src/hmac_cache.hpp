// HMAC contexts for one digest, made from a prototype that OpenSSL fetched and configured once:
// fetching the MAC and its digest by name takes locks and string lookups on every call, which
// showed up in the handshake profile. The prototypes are created on first use (thread-safe
// static initialisation) and never modified afterwards, only duplicated.
#pragma once

#include <openssl/evp.h>

#include <memory>

namespace mpsa::ike::detail {

struct MacCtxFree {
    void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

// A fresh, unkeyed HMAC context for `digest` ("SHA1", "SHA2-256", "SHA2-384", "SHA2-512");
// null on OpenSSL failure or an unknown digest. Key it with EVP_MAC_init(ctx, key, n, nullptr).
MacCtx new_hmac(const char* digest);

}  // namespace mpsa::ike::detail
