#include "mpsa/ike/cipher.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <limits>

#include "hmac_cache.hpp"

namespace mpsa::ike {
namespace {

struct OsslFree {
    void operator()(EVP_CIPHER* p) const { EVP_CIPHER_free(p); }
    void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
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

// Algorithms are fetched from OpenSSL's default library context once and kept (fetching
// takes locks and a name lookup each time); they are immutable and shared by all transforms.
const EVP_CIPHER* fetched_cipher(EncrId encr, unsigned key_bits) {
    static EVP_CIPHER* const kAes128Gcm = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
    static EVP_CIPHER* const kAes256Gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    static EVP_CIPHER* const kAes128Cbc = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
    static EVP_CIPHER* const kAes256Cbc = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
    if (encr == EncrId::kAesGcm16) return key_bits == 128 ? kAes128Gcm : kAes256Gcm;
    return key_bits == 128 ? kAes128Cbc : kAes256Cbc;
}

// A cipher context keyed for one message. Transforms keep only their keys, not keyed OpenSSL
// contexts: a keyed AES-GCM context costs about 1.1 KB, IKE SAs number in the thousands and
// exchange a message every few seconds at most, so per-message key setup is the better trade.
Owned<EVP_CIPHER_CTX> keyed_cipher(const EVP_CIPHER* cipher, ByteView key, ByteView iv,
                                   bool encrypt) {
    Owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
    if (cipher == nullptr || !ctx) return nullptr;
    const int ok = encrypt ? EVP_EncryptInit_ex2(ctx.get(), cipher, key.data(), iv.data(), nullptr)
                           : EVP_DecryptInit_ex2(ctx.get(), cipher, key.data(), iv.data(), nullptr);
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
    CbcHmacTransform(const EVP_CIPHER* cipher, SecretBytes encr_key, SecretBytes integ_key,
                     const char* digest, std::size_t icv_length)
        : cipher_(cipher),
          encr_key_(std::move(encr_key)),
          integ_key_(std::move(integ_key)),
          digest_(digest),
          icv_length_(icv_length) {}

    std::size_t iv_length() const override { return kAesBlock; }
    std::size_t icv_length() const override { return icv_length_; }
    std::size_t block_size() const override { return kAesBlock; }

    tl::expected<Bytes, SkError> seal(ByteView aad, ByteView plaintext) override {
        if (plaintext.size() % kAesBlock != 0) return tl::unexpected(SkError::kTooShort);
        Bytes body(kAesBlock + plaintext.size() + icv_length_);
        if (RAND_bytes(body.data(), static_cast<int>(kAesBlock)) != 1)
            return tl::unexpected(SkError::kCrypto);
        auto ctx = keyed_cipher(cipher_, encr_key_.view(), ByteView(body.data(), kAesBlock), true);
        if (!ctx || !cipher_update(ctx.get(), plaintext, body.data() + kAesBlock))
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
        auto ctx = keyed_cipher(cipher_, encr_key_.view(), body.first(kAesBlock), false);
        if (!ctx ||
            !cipher_update(ctx.get(), body.subspan(kAesBlock, ciphertext_length), plaintext.data()))
            return tl::unexpected(SkError::kCrypto);
        return plaintext;
    }

  private:
    // Truncated HMAC over aad | IV | ciphertext, written to out (icv_length_ octets).
    bool compute_icv(ByteView aad, ByteView iv_and_ciphertext, std::uint8_t* out) {
        std::array<std::uint8_t, EVP_MAX_MD_SIZE> full{};
        std::size_t full_length = 0;
        auto ctx = detail::new_hmac(digest_);
        if (!ctx || EVP_MAC_init(ctx.get(), integ_key_.data(), integ_key_.size(), nullptr) != 1 ||
            (!aad.empty() && EVP_MAC_update(ctx.get(), aad.data(), aad.size()) != 1) ||
            EVP_MAC_update(ctx.get(), iv_and_ciphertext.data(), iv_and_ciphertext.size()) != 1 ||
            EVP_MAC_final(ctx.get(), full.data(), &full_length, full.size()) != 1 ||
            full_length < icv_length_)
            return false;
        std::copy_n(full.data(), icv_length_, out);
        OPENSSL_cleanse(full.data(), full.size());
        return true;
    }

    const EVP_CIPHER* cipher_;
    SecretBytes encr_key_;
    SecretBytes integ_key_;
    const char* digest_;
    std::size_t icv_length_;
};

// AES-GCM with a 16-octet ICV in IKEv2 (RFC 5282).
class GcmTransform final : public SkTransform {
  public:
    GcmTransform(const EVP_CIPHER* cipher, SecretBytes key, SecretBytes salt, std::uint64_t iv_mask)
        : cipher_(cipher), key_(std::move(key)), salt_(std::move(salt)), iv_mask_(iv_mask) {}

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
        auto ctx = keyed_cipher(cipher_, key_.view(), nonce, true);
        if (!ctx || !cipher_update(ctx.get(), aad, nullptr) ||
            !cipher_update(ctx.get(), plaintext, body.data() + kGcmIvLength) ||
            EVP_EncryptFinal_ex(ctx.get(), body.data() + kGcmIvLength + plaintext.size(),
                                &final_length) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kGcmIcvLength),
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
        auto ctx = keyed_cipher(cipher_, key_.view(), nonce, false);
        if (!ctx || !cipher_update(ctx.get(), aad, nullptr) ||
            !cipher_update(ctx.get(), body.subspan(kGcmIvLength, ciphertext_length),
                           plaintext.data()) ||
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kGcmIcvLength),
                                tag.data()) != 1)
            return tl::unexpected(SkError::kCrypto);
        int final_length = 0;
        if (EVP_DecryptFinal_ex(ctx.get(), plaintext.data() + ciphertext_length, &final_length) !=
            1) {
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

    const EVP_CIPHER* cipher_;
    SecretBytes key_;
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
    const EVP_CIPHER* cipher = fetched_cipher(encr, key_bits);
    if (cipher == nullptr) return tl::unexpected(CipherSetupError::kCrypto);
    // Check the key once here, so that a per-message failure means an OpenSSL failure only.
    if (!keyed_cipher(cipher, ByteView(encr_key.data(), key_bits / 8), {}, true))
        return tl::unexpected(CipherSetupError::kCrypto);

    if (encr == EncrId::kAesGcm16) {
        std::uint64_t mask = 0;
        if (RAND_bytes(reinterpret_cast<unsigned char*>(&mask), sizeof mask) != 1)
            return tl::unexpected(CipherSetupError::kCrypto);
        return std::make_unique<GcmTransform>(cipher, encr_key.slice(0, key_bits / 8),
                                              encr_key.slice(key_bits / 8, kGcmSaltLength), mask);
    }
    if (!detail::new_hmac(integ_digest(integ))) return tl::unexpected(CipherSetupError::kCrypto);
    return std::make_unique<CbcHmacTransform>(cipher, encr_key.slice(0, key_bits / 8), integ_key,
                                              integ_digest(integ), integ_icv_length(integ));
}

}  // namespace mpsa::ike
