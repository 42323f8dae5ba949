#include "mpsa/ike/keys.hpp"

#include <algorithm>

namespace mpsa::ike {
namespace {

constexpr std::size_t kSpiLength = 8;

// Concatenation into a wiped buffer: seeds that contain g^ir are secrets too.
SecretBytes concat(std::initializer_list<ByteView> parts) {
    std::size_t total = 0;
    for (auto p : parts) total += p.size();
    SecretBytes out(total);
    std::size_t at = 0;
    for (auto p : parts) {
        std::copy(p.begin(), p.end(), out.data() + at);
        at += p.size();
    }
    return out;
}

// Takes consecutive keys out of one prf+ stream.
class KeyStream {
  public:
    explicit KeyStream(const SecretBytes& material) : material_(material) {}
    SecretBytes take(std::size_t length) {
        SecretBytes key = material_.slice(offset_, length);
        offset_ += length;
        return key;
    }

  private:
    const SecretBytes& material_;
    std::size_t offset_ = 0;
};

tl::unexpected<KeyDerivationError> from_prf_error(PrfError) {
    // kOutputTooLong cannot be reached with our suites' key lengths; both are library failures.
    return tl::unexpected(KeyDerivationError::kCrypto);
}

}  // namespace

tl::expected<SecretBytes, KeyDerivationError> compute_skeyseed(PrfId prf_id, ByteView nonce_i,
                                                               ByteView nonce_r,
                                                               const SecretBytes& shared_secret) {
    if (nonce_i.empty() || nonce_r.empty() || shared_secret.empty())
        return tl::unexpected(KeyDerivationError::kBadInput);
    const SecretBytes nonces = concat({nonce_i, nonce_r});
    auto seed = prf(prf_id, nonces.view(), shared_secret.view());
    if (!seed) return from_prf_error(seed.error());
    return std::move(*seed);
}

tl::expected<SecretBytes, KeyDerivationError> compute_rekey_skeyseed(
    PrfId old_prf, const SecretBytes& old_sk_d, const SecretBytes& shared_secret, ByteView nonce_i,
    ByteView nonce_r) {
    if (old_sk_d.empty() || shared_secret.empty() || nonce_i.empty() || nonce_r.empty())
        return tl::unexpected(KeyDerivationError::kBadInput);
    const SecretBytes data = concat({shared_secret.view(), nonce_i, nonce_r});
    auto seed = prf(old_prf, old_sk_d.view(), data.view());
    if (!seed) return from_prf_error(seed.error());
    return std::move(*seed);
}

tl::expected<IkeSaKeys, KeyDerivationError> derive_ike_sa_keys(const Suite& suite,
                                                               const SecretBytes& skeyseed,
                                                               ByteView nonce_i, ByteView nonce_r,
                                                               ByteView spi_i, ByteView spi_r) {
    if (skeyseed.empty() || nonce_i.empty() || nonce_r.empty() || spi_i.size() != kSpiLength ||
        spi_r.size() != kSpiLength)
        return tl::unexpected(KeyDerivationError::kBadInput);
    const std::size_t prf_key = suite.prf_key_length();
    const std::size_t integ_key = suite.integ_key_length();
    const std::size_t encr_key = suite.encr_key_material_length();
    if (encr_key == 0) return tl::unexpected(KeyDerivationError::kBadInput);
    const SecretBytes seed = concat({nonce_i, nonce_r, spi_i, spi_r});
    auto material = prf_plus(suite.prf, skeyseed.view(), seed.view(),
                             3 * prf_key + 2 * integ_key + 2 * encr_key);
    if (!material) return from_prf_error(material.error());
    KeyStream stream(*material);
    IkeSaKeys keys;
    keys.sk_d = stream.take(prf_key);
    keys.sk_ai = stream.take(integ_key);
    keys.sk_ar = stream.take(integ_key);
    keys.sk_ei = stream.take(encr_key);
    keys.sk_er = stream.take(encr_key);
    keys.sk_pi = stream.take(prf_key);
    keys.sk_pr = stream.take(prf_key);
    return keys;
}

tl::expected<ChildSaKeys, KeyDerivationError> derive_child_sa_keys(
    PrfId prf_id, const SecretBytes& sk_d, ChildSaKeyLengths lengths, ByteView nonce_i,
    ByteView nonce_r, const SecretBytes* pfs_shared_secret) {
    if (sk_d.empty() || nonce_i.empty() || nonce_r.empty() || lengths.encr == 0 ||
        (pfs_shared_secret != nullptr && pfs_shared_secret->empty()))
        return tl::unexpected(KeyDerivationError::kBadInput);
    const SecretBytes seed = pfs_shared_secret != nullptr
                                 ? concat({pfs_shared_secret->view(), nonce_i, nonce_r})
                                 : concat({nonce_i, nonce_r});
    auto material = prf_plus(prf_id, sk_d.view(), seed.view(), 2 * (lengths.encr + lengths.integ));
    if (!material) return from_prf_error(material.error());
    KeyStream stream(*material);
    ChildSaKeys keys;
    keys.encr_i = stream.take(lengths.encr);
    keys.integ_i = stream.take(lengths.integ);
    keys.encr_r = stream.take(lengths.encr);
    keys.integ_r = stream.take(lengths.integ);
    return keys;
}

}  // namespace mpsa::ike
