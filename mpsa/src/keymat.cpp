#include "mpsa/mpsa/keymat.hpp"

namespace mpsa::mpsa {

tl::expected<GroupSaKeys, KeymatError> derive_group_sa_keys(const EspSuite& suite,
                                                            ike::ByteView sk_d,
                                                            ike::ByteView nonce) {
    if (sk_d.size() != ike::prf_key_length(suite.prf))
        return tl::unexpected(KeymatError::kBadSkdSize);
    if (nonce.size() < kMinNonceSize || nonce.size() > kMaxNonceSize)
        return tl::unexpected(KeymatError::kBadNonceSize);
    const std::size_t encr_length = encr_keymat_length(suite);
    auto keymat = ike::prf_plus(suite.prf, sk_d, nonce, keymat_length(suite));
    if (!keymat) return tl::unexpected(KeymatError::kPrfFailed);
    GroupSaKeys keys;
    keys.encryption_key = keymat->slice(0, encr_length);
    keys.integrity_key = keymat->slice(encr_length, keymat->size() - encr_length);
    return keys;
}

tl::expected<GroupSaKeys, KeymatError> derive_group_sa_keys(const MpsaPut& put) {
    return derive_group_sa_keys(put.suite, put.sk_d.view(), put.nonce);
}

std::string_view to_string(KeymatError error) {
    switch (error) {
        case KeymatError::kBadSkdSize:
            return "SK_d size differs from the PRF key length";
        case KeymatError::kBadNonceSize:
            return "nonce size outside 16..256";
        case KeymatError::kPrfFailed:
            return "prf+ failed";
    }
    return "unknown KEYMAT error";
}

}  // namespace mpsa::mpsa
