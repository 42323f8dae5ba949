#include "mpsa/ike/prf.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>

#include "hmac_cache.hpp"

namespace mpsa::ike {
namespace {

const char* digest_name(PrfId id) {
    switch (id) {
        case PrfId::kHmacSha1:
            return "SHA1";
        case PrfId::kHmacSha2_256:
            return "SHA2-256";
        case PrfId::kHmacSha2_384:
            return "SHA2-384";
        case PrfId::kHmacSha2_512:
            return "SHA2-512";
    }
    return "SHA2-256";
}

}  // namespace

std::optional<PrfId> prf_from_transform_id(std::uint16_t id) {
    switch (id) {
        case 2:
            return PrfId::kHmacSha1;
        case 5:
            return PrfId::kHmacSha2_256;
        case 6:
            return PrfId::kHmacSha2_384;
        case 7:
            return PrfId::kHmacSha2_512;
        default:
            return std::nullopt;
    }
}

std::string_view prf_name(PrfId id) {
    switch (id) {
        case PrfId::kHmacSha1:
            return "prfsha1";
        case PrfId::kHmacSha2_256:
            return "prfsha256";
        case PrfId::kHmacSha2_384:
            return "prfsha384";
        case PrfId::kHmacSha2_512:
            return "prfsha512";
    }
    return "unknown";
}

std::size_t prf_output_length(PrfId id) {
    switch (id) {
        case PrfId::kHmacSha1:
            return 20;
        case PrfId::kHmacSha2_256:
            return 32;
        case PrfId::kHmacSha2_384:
            return 48;
        case PrfId::kHmacSha2_512:
            return 64;
    }
    return 0;
}

tl::expected<SecretBytes, PrfError> prf(PrfId id, ByteView key, ByteView data) {
    auto ctx = detail::new_hmac(digest_name(id));
    if (!ctx) return tl::unexpected(PrfError::kCrypto);
    // HMAC with an empty key is legal (and used by some test vectors); OpenSSL wants non-null.
    static const std::uint8_t kEmpty = 0;
    const std::uint8_t* key_ptr = key.empty() ? &kEmpty : key.data();
    if (EVP_MAC_init(ctx.get(), key_ptr, key.size(), nullptr) != 1)
        return tl::unexpected(PrfError::kCrypto);
    if (!data.empty() && EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1)
        return tl::unexpected(PrfError::kCrypto);
    SecretBytes out(prf_output_length(id));
    std::size_t written = 0;
    if (EVP_MAC_final(ctx.get(), out.data(), &written, out.size()) != 1 || written != out.size())
        return tl::unexpected(PrfError::kCrypto);
    return out;
}

tl::expected<SecretBytes, PrfError> prf_plus(PrfId id, ByteView key, ByteView seed,
                                             std::size_t length) {
    const std::size_t block = prf_output_length(id);
    if (length > block * 255) return tl::unexpected(PrfError::kOutputTooLong);
    // One HMAC context keyed once; each block re-initialises it with that key (a null key to
    // EVP_MAC_init keeps the key), instead of a fresh context and key schedule per block.
    auto ctx = detail::new_hmac(digest_name(id));
    if (!ctx) return tl::unexpected(PrfError::kCrypto);
    static const std::uint8_t kEmpty = 0;
    const std::uint8_t* key_ptr = key.empty() ? &kEmpty : key.data();
    if (EVP_MAC_init(ctx.get(), key_ptr, key.size(), nullptr) != 1)
        return tl::unexpected(PrfError::kCrypto);
    SecretBytes out(length);
    SecretBytes t(block);  // T(n-1), then T(n)
    std::size_t produced = 0;
    for (unsigned n = 1; produced < length; ++n) {
        const std::uint8_t counter = static_cast<std::uint8_t>(n);
        std::size_t written = 0;
        if ((n > 1 && (EVP_MAC_init(ctx.get(), nullptr, 0, nullptr) != 1 ||
                       EVP_MAC_update(ctx.get(), t.data(), t.size()) != 1)) ||
            (!seed.empty() && EVP_MAC_update(ctx.get(), seed.data(), seed.size()) != 1) ||
            EVP_MAC_update(ctx.get(), &counter, 1) != 1 ||
            EVP_MAC_final(ctx.get(), t.data(), &written, t.size()) != 1 || written != block)
            return tl::unexpected(PrfError::kCrypto);
        const std::size_t take = std::min(block, length - produced);
        std::copy(t.data(), t.data() + take, out.data() + produced);
        produced += take;
    }
    return out;
}

}  // namespace mpsa::ike
