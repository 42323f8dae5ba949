#include "mpsa/mpsa/esp_suite.hpp"

namespace mpsa::mpsa {

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
        case 0:
            return IntegId::kNone;
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

bool is_aead(EncrId id) {
    return id == EncrId::kAesGcm16;
}

bool valid_encr_key_bits(EncrId /*id*/, std::uint16_t bits) {
    // Both AES-CBC and AES-GCM take 128, 192 or 256-bit keys.
    return bits == 128 || bits == 192 || bits == 256;
}

std::size_t encr_keymat_length(const EspSuite& suite) {
    const std::size_t key = suite.encr_key_bits / 8U;
    return is_aead(suite.encr) ? key + 4U : key;
}

std::size_t integ_key_length(IntegId id) {
    switch (id) {
        case IntegId::kNone:
            return 0;
        case IntegId::kHmacSha1_96:
            return 20;
        case IntegId::kHmacSha2_256_128:
            return 32;
        case IntegId::kHmacSha2_384_192:
            return 48;
        case IntegId::kHmacSha2_512_256:
            return 64;
    }
    return 0;
}

std::size_t integ_icv_bits(IntegId id) {
    switch (id) {
        case IntegId::kNone:
            return 0;
        case IntegId::kHmacSha1_96:
            return 96;
        case IntegId::kHmacSha2_256_128:
            return 128;
        case IntegId::kHmacSha2_384_192:
            return 192;
        case IntegId::kHmacSha2_512_256:
            return 256;
    }
    return 0;
}

std::string_view kernel_encr_name(EncrId id) {
    switch (id) {
        case EncrId::kAesCbc:
            return "cbc(aes)";
        case EncrId::kAesGcm16:
            return "rfc4106(gcm(aes))";
    }
    return "";
}

std::string_view kernel_integ_name(IntegId id) {
    switch (id) {
        case IntegId::kNone:
            return "";
        case IntegId::kHmacSha1_96:
            return "hmac(sha1)";
        case IntegId::kHmacSha2_256_128:
            return "hmac(sha256)";
        case IntegId::kHmacSha2_384_192:
            return "hmac(sha384)";
        case IntegId::kHmacSha2_512_256:
            return "hmac(sha512)";
    }
    return "";
}

tl::expected<void, SuiteError> validate_suite(const EspSuite& suite, SuitePolicy policy) {
    if (!valid_encr_key_bits(suite.encr, suite.encr_key_bits))
        return tl::unexpected(SuiteError::kBadKeyLength);
    if (is_aead(suite.encr)) {
        if (!policy.allow_aead) return tl::unexpected(SuiteError::kAeadNotAllowed);
        if (suite.integ != IntegId::kNone) return tl::unexpected(SuiteError::kIntegWithAead);
    } else if (suite.integ == IntegId::kNone) {
        return tl::unexpected(SuiteError::kMissingInteg);
    }
    return {};
}

std::string_view to_string(SuiteError error) {
    switch (error) {
        case SuiteError::kAeadNotAllowed:
            return "AEAD cipher not enabled for this group";
        case SuiteError::kBadKeyLength:
            return "bad encryption key length";
        case SuiteError::kMissingInteg:
            return "non-AEAD cipher without integrity algorithm";
        case SuiteError::kIntegWithAead:
            return "integrity algorithm given with an AEAD cipher";
    }
    return "unknown suite error";
}

}  // namespace mpsa::mpsa
