#include "mpsa/ike/cipher.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <limits>

namespace mpsa::ike {
namespace {

struct OsslFree {
    void operator()(EVP_CIPHER* p) const { EVP_CIPHER_free(p); }
    void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
    void operator()(EVP_MAC* p) const { EVP_MAC_free(p); }
    void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, OsslFree>;

constexpr std::size_t kAesBlock = 16;
constexpr std::size_t kGcmSaltLength = 4;
constexpr std::size_t kGcmIvLength = 8;
constexpr std::size_t kGcmIcvLength = 16;

const char* integ_digest(IntegId id) {
    switch (id) {
        case IntegId::kHmacSha1_96:
            return "SHA1";
        case IntegId::kHmacSha2_256_128:
            return "SHA2-256";
        case IntegId::kHmacSha2_384_192:
            return "SHA2-384";
        case IntegId::kHmacSha2_512_256:
            return "SHA2-512";
        case IntegId::kNone:
            break;
    }
    return nullptr;
}

// A cipher context with the key loaded once; each message only sets the IV (cheap re-init).
Owned<EVP_CIPHER_CTX> keyed_cipher(const char* name, ByteView key, bool encrypt) {
    Owned<EVP_CIPHER> cipher(EVP_CIPHER_fetch(nullptr, name, nullptr));
    Owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
    if (!cipher || !ctx) return nullptr;
    const int ok = encrypt
                       ? EVP_EncryptInit_ex2(ctx.get(), cipher.get(), key.data(), nullptr, nullptr)
                       : EVP_DecryptInit_ex2(ctx.get(), cipher.get(), key.data(), nullptr, nullptr);
    if (ok != 1 || EVP_CIPHER_CTX_get_key_length(ctx.get()) != static_cast<int>(key.size()))
        return nullptr;
    // IKE pads itself (RFC 7296 3.14); OpenSSL's PKCS#7 padding must stay off.
    EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
    return ctx;
}

bool cipher_update(EVP_CIPHER_CTX* ctx, ByteView in, std::uint8_t* out) {
    std::size_t done = 0;
    // EVP_*Update takes int lengths; IKE messages are far below INT_MAX but stay correct anyway.
    while (done < in.size()) {
        const int chunk = static_cast<int>(std::min<std::size_t>(in.size() - done, 1U << 30));
        int written = 0;
        if (EVP_CipherUpdate(ctx, out == nullptr ? nullptr : out + done, &written, in.data() + done,
                             chunk) != 1)
            return false;
        done += static_cast<std::size_t>(chunk);
    }
    return true;
}

// AES-CBC + truncated HMAC (RFC 7296 3.14).
class CbcHmacTransform final : public SkTransform {
  public:
    CbcHmacTransform(Owned<EVP_CIPHER_CTX> encrypt, Owned<EVP_CIPHER_CTX> decrypt,
                     Owned<EVP_MAC_CTX> mac, std::size_t icv_length)
        : encrypt_(std::move(encrypt)),
          decrypt_(std::move(decrypt)),
          mac_(std::move(mac)),
          icv_length_(icv_length) {}

    std::size_t iv_length() const override { return kAesBlock; }
    std::size_t icv_length() const override { return icv_length_; }
    std::size_t block_size() const override { return kAesBlock; }

    tl::expected<Bytes, SkError> seal(ByteView aad, ByteView plaintext) override {
        if (plaintext.size() % kAesBlock != 0) return tl::unexpected(SkError::kTooShort);
        Bytes body(kAesBlock + plaintext.size() + icv_length_);
        if (RAND_bytes(body.data(), static_cast<int>(kAesBlock)) != 1)
            return tl::unexpected(SkError::kCrypto);
        if (EVP_EncryptInit_ex2(encrypt_.get(), nullptr, nullptr, body.data(), nullptr) != 1 ||
            !cipher_update(encrypt_.get(), plaintext, body.data() + kAesBlock))
            return tl::unexpected(SkError::kCrypto);
        const ByteView iv_and_ciphertext(body.data(), kAesBlock + plaintext.size());
        if (!compute_icv(aad, iv_and_ciphertext, body.data() + iv_and_ciphertext.size()))
            return tl::unexpected(SkError::kCrypto);
        return body;
    }

    tl::expected<Bytes, SkError> open(ByteView aad, ByteView body) override {
        if (body.size() < kAesBlock + kAesBlock + icv_length_)
            return tl::unexpected(SkError::kTooShort);
        const std::size_t ciphertext_length = body.size() - kAesBlock - icv_length_;
        if (ciphertext_length % kAesBlock != 0) return tl::unexpected(SkError::kTooShort);
        const ByteView iv_and_ciphertext = body.first(kAesBlock + ciphertext_length);
        std::array<std::uint8_t, EVP_MAX_MD_SIZE> icv{};
        if (!compute_icv(aad, iv_and_ciphertext, icv.data()))
            return tl::unexpected(SkError::kCrypto);
        // Verify before decrypting: no padding oracle, no work on forged input.
        if (!constant_time_equal(ByteView(icv.data(), icv_length_), body.last(icv_length_)))
            return tl::unexpected(SkError::kIntegrityFailed);
        Bytes plaintext(ciphertext_length);
        if (EVP_DecryptInit_ex2(decrypt_.get(), nullptr, nullptr, body.data(), nullptr) != 1 ||
            !cipher_update(decrypt_.get(), body.subspan(kAesBlock, ciphertext_length),
                           plaintext.data()))
            return tl::unexpected(SkError::kCrypto);
        return plaintext;
    }

  private:
    // Truncated HMAC over aad | IV | ciphertext, written to out (icv_length_ octets).
    bool compute_icv(ByteView aad, ByteView iv_and_ciphertext, std::uint8_t* out) {
        std::array<std::uint8_t, EVP_MAX_MD_SIZE> full{};
        std::size_t full_length = 0;
        // A null key re-initialises HMAC with the key given at construction.
        if (EVP_MAC_init(mac_.get(), nullptr, 0, nullptr) != 1 ||
            (!aad.empty() && EVP_MAC_update(mac_.get(), aad.data(), aad.size()) != 1) ||
            EVP_MAC_update(mac_.get(), iv_and_ciphertext.data(), iv_and_ciphertext.size()) != 1 ||
            EVP_MAC_final(mac_.get(), full.data(), &full_length, full.size()) != 1 ||
            full_length < icv_length_)
            return false;
        std::copy_n(full.data(), icv_length_, out);
        return true;
    }

    Owned<EVP_CIPHER_CTX> encrypt_;
    Owned<EVP_CIPHER_CTX> decrypt_;
    Owned<EVP_MAC_CTX> mac_;
    std::size_t icv_length_;
};

// AES-GCM with a 16-octet ICV in IKEv2 (RFC 5282).
class GcmTransform final : public SkTransform {
  public:
    GcmTransform(Owned<EVP_CIPHER_CTX> encrypt, Owned<EVP_CIPHER_CTX> decrypt, SecretBytes salt,
                 std::uint64_t iv_mask)
        : encrypt_(std::move(encrypt)),
          decrypt_(std::move(decrypt)),
          salt_(std::move(salt)),
          iv_mask_(iv_mask) {}

    std::size_t iv_length() const override { return kGcmIvLength; }
    std::size_t icv_length() const override { return kGcmIcvLength; }
    std::size_t block_size() const override { return 1; }

    tl::expected<Bytes, SkError> seal(ByteView aad, ByteView plaintext) override {
        if (next_counter_ == std::numeric_limits<std::uint64_t>::max())
            return tl::unexpected(SkError::kCrypto);
        const std::uint64_t iv = next_counter_++ ^ iv_mask_;
        Bytes body(kGcmIvLength + plaintext.size() + kGcmIcvLength);
        for (std::size_t i = 0; i < kGcmIvLength; ++i)
            body[i] = static_cast<std::uint8_t>(iv >> (8 * (kGcmIvLength - 1 - i)));
        const auto nonce = make_nonce(ByteView(body.data(), kGcmIvLength));
        int final_length = 0;
        if (EVP_EncryptInit_ex2(encrypt_.get(), nullptr, nullptr, nonce.data(), nullptr) != 1 ||
            !cipher_update(encrypt_.get(), aad, nullptr) ||
            !cipher_update(encrypt_.get(), plaintext, body.data() + kGcmIvLength) ||
            EVP_EncryptFinal_ex(encrypt_.get(), body.data() + kGcmIvLength + plaintext.size(),
                                &final_length) != 1 ||
            EVP_CIPHER_CTX_ctrl(encrypt_.get(), EVP_CTRL_AEAD_GET_TAG,
                                static_cast<int>(kGcmIcvLength),
                                body.data() + kGcmIvLength + plaintext.size()) != 1)
            return tl::unexpected(SkError::kCrypto);
        return body;
    }

    tl::expected<Bytes, SkError> open(ByteView aad, ByteView body) override {
        if (body.size() < kGcmIvLength + kGcmIcvLength) return tl::unexpected(SkError::kTooShort);
        const std::size_t ciphertext_length = body.size() - kGcmIvLength - kGcmIcvLength;
        const auto nonce = make_nonce(body.first(kGcmIvLength));
        // OpenSSL takes the expected tag through a non-const pointer; copy it.
        std::array<std::uint8_t, kGcmIcvLength> tag{};
        std::copy_n(body.data() + kGcmIvLength + ciphertext_length, kGcmIcvLength, tag.data());
        Bytes plaintext(ciphertext_length);
        if (EVP_DecryptInit_ex2(decrypt_.get(), nullptr, nullptr, nonce.data(), nullptr) != 1 ||
            !cipher_update(decrypt_.get(), aad, nullptr) ||
            !cipher_update(decrypt_.get(), body.subspan(kGcmIvLength, ciphertext_length),
                           plaintext.data()) ||
            EVP_CIPHER_CTX_ctrl(decrypt_.get(), EVP_CTRL_AEAD_SET_TAG,
                                static_cast<int>(kGcmIcvLength), tag.data()) != 1)
            return tl::unexpected(SkError::kCrypto);
        int final_length = 0;
        if (EVP_DecryptFinal_ex(decrypt_.get(), plaintext.data() + ciphertext_length,
                                &final_length) != 1) {
            // Never hand out unauthenticated plaintext.
            OPENSSL_cleanse(plaintext.data(), plaintext.size());
            return tl::unexpected(SkError::kIntegrityFailed);
        }
        return plaintext;
    }

  private:
    // RFC 5282 4: nonce = salt | IV.
    std::array<std::uint8_t, kGcmSaltLength + kGcmIvLength> make_nonce(ByteView iv) const {
        std::array<std::uint8_t, kGcmSaltLength + kGcmIvLength> nonce{};
        std::copy_n(salt_.data(), kGcmSaltLength, nonce.data());
        std::copy_n(iv.data(), kGcmIvLength, nonce.data() + kGcmSaltLength);
        return nonce;
    }

    Owned<EVP_CIPHER_CTX> encrypt_;
    Owned<EVP_CIPHER_CTX> decrypt_;
    SecretBytes salt_;
    std::uint64_t iv_mask_;
    std::uint64_t next_counter_ = 0;
};

}  // namespace

std::optional<EncrId> encr_from_transform_id(std::uint16_t id) {
    switch (id) {
        case 12:
            return EncrId::kAesCbc;
        case 20:
            return EncrId::kAesGcm16;
        default:
            return std::nullopt;
    }
}

std::optional<IntegId> integ_from_transform_id(std::uint16_t id) {
    switch (id) {
        case 2:
            return IntegId::kHmacSha1_96;
        case 12:
            return IntegId::kHmacSha2_256_128;
        case 13:
            return IntegId::kHmacSha2_384_192;
        case 14:
            return IntegId::kHmacSha2_512_256;
        default:
            return std::nullopt;
    }
}

bool encr_is_aead(EncrId id) {
    return id == EncrId::kAesGcm16;
}

bool encr_key_bits_supported(EncrId, unsigned key_bits) {
    return key_bits == 128 || key_bits == 256;
}

std::size_t encr_key_material_length(EncrId id, unsigned key_bits) {
    if (!encr_key_bits_supported(id, key_bits)) return 0;
    return key_bits / 8 + (id == EncrId::kAesGcm16 ? kGcmSaltLength : 0);
}

std::string_view encr_name(EncrId id, unsigned key_bits) {
    const bool gcm = id == EncrId::kAesGcm16;
    if (key_bits == 128) return gcm ? "aes128gcm16" : "aes128";
    if (key_bits == 256) return gcm ? "aes256gcm16" : "aes256";
    return "unknown";
}

std::size_t integ_key_length(IntegId id) {
    switch (id) {
        case IntegId::kHmacSha1_96:
            return 20;
        case IntegId::kHmacSha2_256_128:
            return 32;
        case IntegId::kHmacSha2_384_192:
            return 48;
        case IntegId::kHmacSha2_512_256:
            return 64;
        case IntegId::kNone:
            break;
    }
    return 0;
}

std::size_t integ_icv_length(IntegId id) {
    switch (id) {
        case IntegId::kHmacSha1_96:
            return 12;
        case IntegId::kHmacSha2_256_128:
            return 16;
        case IntegId::kHmacSha2_384_192:
            return 24;
        case IntegId::kHmacSha2_512_256:
            return 32;
        case IntegId::kNone:
            break;
    }
    return 0;
}

std::string_view integ_name(IntegId id) {
    switch (id) {
        case IntegId::kHmacSha1_96:
            return "sha1";
        case IntegId::kHmacSha2_256_128:
            return "sha256";
        case IntegId::kHmacSha2_384_192:
            return "sha384";
        case IntegId::kHmacSha2_512_256:
            return "sha512";
        case IntegId::kNone:
            break;
    }
    return "none";
}

tl::expected<std::unique_ptr<SkTransform>, CipherSetupError> make_sk_transform(
    EncrId encr, unsigned key_bits, IntegId integ, const SecretBytes& encr_key,
    const SecretBytes& integ_key) {
    if (!encr_key_bits_supported(encr, key_bits))
        return tl::unexpected(CipherSetupError::kUnsupported);
    if (encr_is_aead(encr) != (integ == IntegId::kNone))
        return tl::unexpected(CipherSetupError::kUnsupported);
    if (encr_key.size() != encr_key_material_length(encr, key_bits) ||
        integ_key.size() != integ_key_length(integ))
        return tl::unexpected(CipherSetupError::kBadKeyLength);
    const ByteView aes_key(encr_key.data(), key_bits / 8);

    if (encr == EncrId::kAesGcm16) {
        const char* name = key_bits == 128 ? "AES-128-GCM" : "AES-256-GCM";
        auto encrypt = keyed_cipher(name, aes_key, true);
        auto decrypt = keyed_cipher(name, aes_key, false);
        std::uint64_t mask = 0;
        if (!encrypt || !decrypt ||
            RAND_bytes(reinterpret_cast<unsigned char*>(&mask), sizeof mask) != 1)
            return tl::unexpected(CipherSetupError::kCrypto);
        return std::make_unique<GcmTransform>(std::move(encrypt), std::move(decrypt),
                                              encr_key.slice(key_bits / 8, kGcmSaltLength), mask);
    }

    const char* name = key_bits == 128 ? "AES-128-CBC" : "AES-256-CBC";
    auto encrypt = keyed_cipher(name, aes_key, true);
    auto decrypt = keyed_cipher(name, aes_key, false);
    Owned<EVP_MAC> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    if (!encrypt || !decrypt || !mac) return tl::unexpected(CipherSetupError::kCrypto);
    Owned<EVP_MAC_CTX> mac_ctx(EVP_MAC_CTX_new(mac.get()));
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(
                               OSSL_MAC_PARAM_DIGEST, const_cast<char*>(integ_digest(integ)), 0),
                           OSSL_PARAM_construct_end()};
    if (!mac_ctx || EVP_MAC_init(mac_ctx.get(), integ_key.data(), integ_key.size(), params) != 1)
        return tl::unexpected(CipherSetupError::kCrypto);
    return std::make_unique<CbcHmacTransform>(std::move(encrypt), std::move(decrypt),
                                              std::move(mac_ctx), integ_icv_length(integ));
}

}  // namespace mpsa::ike
