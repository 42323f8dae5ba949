#include "hmac_cache.hpp"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include <cstring>

namespace mpsa::ike::detail {
namespace {

EVP_MAC_CTX* make_prototype(const char* digest) {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) return nullptr;
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);  // the context holds its own reference
    if (ctx == nullptr) return nullptr;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
        OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(ctx, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return nullptr;
    }
    return ctx;
}

}  // namespace

MacCtx new_hmac(const char* digest) {
    static EVP_MAC_CTX* const kSha1 = make_prototype("SHA1");
    static EVP_MAC_CTX* const kSha256 = make_prototype("SHA2-256");
    static EVP_MAC_CTX* const kSha384 = make_prototype("SHA2-384");
    static EVP_MAC_CTX* const kSha512 = make_prototype("SHA2-512");
    const EVP_MAC_CTX* prototype = nullptr;
    if (std::strcmp(digest, "SHA1") == 0) {
        prototype = kSha1;
    } else if (std::strcmp(digest, "SHA2-256") == 0) {
        prototype = kSha256;
    } else if (std::strcmp(digest, "SHA2-384") == 0) {
        prototype = kSha384;
    } else if (std::strcmp(digest, "SHA2-512") == 0) {
        prototype = kSha512;
    }
    if (prototype == nullptr) return nullptr;
    return MacCtx(EVP_MAC_CTX_dup(prototype));
}

}  // namespace mpsa::ike::detail
