#include "mpsa/ike/dh.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include <memory>

namespace mpsa::ike {
namespace {

struct OsslFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
    void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
    void operator()(BIGNUM* p) const { BN_clear_free(p); }
    void operator()(BN_CTX* p) const { BN_CTX_free(p); }
    void operator()(EC_GROUP* p) const { EC_GROUP_free(p); }
    void operator()(EC_POINT* p) const { EC_POINT_free(p); }
    void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
    void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, OsslFree>;

// A parameter array holding a copy of a private key: wiped before it is freed (OpenSSL 3.0 has
// no OSSL_PARAM_clear_free).
struct WipeParams {
    void operator()(OSSL_PARAM* params) const {
        for (OSSL_PARAM* p = params; p->key != nullptr; ++p)
            if (p->data != nullptr) OPENSSL_cleanse(p->data, p->data_size);
        OSSL_PARAM_free(params);
    }
};

constexpr std::size_t kModpLength = 256;
constexpr const char* kModpGroupName = "modp_2048";  // RFC 3526 group 14, OpenSSL built-in

bool is_ecp(DhGroup group) {
    return group == DhGroup::kEcp256 || group == DhGroup::kEcp384;
}

const char* ec_curve_name(DhGroup group) {
    return group == DhGroup::kEcp256 ? "prime256v1" : "secp384r1";
}

int ec_curve_nid(DhGroup group) {
    return group == DhGroup::kEcp256 ? NID_X9_62_prime256v1 : NID_secp384r1;
}

std::size_t ec_coordinate_length(DhGroup group) {
    return group == DhGroup::kEcp256 ? 32 : 48;
}

Owned<BIGNUM> modp_prime() {
    return Owned<BIGNUM>(BN_get_rfc3526_prime_2048(nullptr));
}

// Builds an EVP_PKEY of `type` from parameters; selection says public or key pair.
Owned<EVP_PKEY> pkey_from_params(const char* type, OSSL_PARAM* params, int selection) {
    Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
    EVP_PKEY* key = nullptr;
    if (EVP_PKEY_fromdata(ctx.get(), &key, selection, params) != 1) return nullptr;
    return Owned<EVP_PKEY>(key);
}

// Wire-format public value of one of our keys.
tl::expected<Bytes, DhError> encode_public(DhGroup group, EVP_PKEY* key) {
    if (group == DhGroup::kModp2048) {
        BIGNUM* raw = nullptr;
        if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PUB_KEY, &raw) != 1)
            return tl::unexpected(DhError::kCrypto);
        Owned<BIGNUM> pub(raw);
        Bytes out(kModpLength);
        if (BN_bn2binpad(pub.get(), out.data(), static_cast<int>(out.size())) < 0)
            return tl::unexpected(DhError::kCrypto);
        return out;
    }
    if (is_ecp(group)) {
        // Uncompressed SEC1 point 0x04 | x | y; RFC 5903 drops the format octet.
        Bytes point(1 + 2 * ec_coordinate_length(group));
        std::size_t written = 0;
        if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                            point.size(), &written) != 1 ||
            written != point.size() || point[0] != 0x04)
            return tl::unexpected(DhError::kCrypto);
        return Bytes(point.begin() + 1, point.end());
    }
    Bytes out(32);
    std::size_t length = out.size();
    if (EVP_PKEY_get_raw_public_key(key, out.data(), &length) != 1 || length != out.size())
        return tl::unexpected(DhError::kCrypto);
    return out;
}

// Peer public value as an EVP_PKEY; built by checked_peer_key after its checks.
Owned<EVP_PKEY> peer_key(DhGroup group, ByteView peer) {
    if (group == DhGroup::kCurve25519)
        return Owned<EVP_PKEY>(
            EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer.data(), peer.size()));
    Owned<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
    if (!bld) return nullptr;
    Owned<BIGNUM> y;
    Bytes point;
    if (group == DhGroup::kModp2048) {
        y.reset(BN_bin2bn(peer.data(), static_cast<int>(peer.size()), nullptr));
        if (!y ||
            OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, kModpGroupName,
                                            0) != 1 ||
            OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, y.get()) != 1)
            return nullptr;
    } else {
        point.reserve(peer.size() + 1);
        point.push_back(0x04);
        point.insert(point.end(), peer.begin(), peer.end());
        if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                            ec_curve_name(group), 0) != 1 ||
            OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                             point.size()) != 1)
            return nullptr;
    }
    Owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld.get()));
    if (!params) return nullptr;
    return pkey_from_params(group == DhGroup::kModp2048 ? "DH" : "EC", params.get(),
                            EVP_PKEY_PUBLIC_KEY);
}

// Peer KE data checked as RFC 6989 asks (length; MODP: 1 < y < p-1, sufficient for a safe
// prime; ECP: point on the curve; X25519: any u) and imported, so each check runs once.
tl::expected<Owned<EVP_PKEY>, DhError> checked_peer_key(DhGroup group, ByteView peer) {
    if (peer.size() != dh_public_length(group)) return tl::unexpected(DhError::kBadPublicLength);
    if (group == DhGroup::kModp2048) {
        Owned<BIGNUM> y(BN_bin2bn(peer.data(), static_cast<int>(peer.size()), nullptr));
        Owned<BIGNUM> p_minus_1 = modp_prime();
        if (!y || !p_minus_1 || BN_sub_word(p_minus_1.get(), 1) != 1)
            return tl::unexpected(DhError::kCrypto);
        if (BN_cmp(y.get(), BN_value_one()) <= 0 || BN_cmp(y.get(), p_minus_1.get()) >= 0)
            return tl::unexpected(DhError::kBadPublicValue);
    }
    auto key = peer_key(group, peer);
    if (!key) return tl::unexpected(DhError::kBadPublicValue);
    if (is_ecp(group)) {
        // Importing decodes the point; the quick check confirms it is on the curve, which suffices
        // for these cofactor-1 curves (RFC 6989 2.3) without the costly order multiplication.
        Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
        if (!ctx) return tl::unexpected(DhError::kCrypto);
        if (EVP_PKEY_public_check_quick(ctx.get()) != 1)
            return tl::unexpected(DhError::kBadPublicValue);
    }
    return key;
}

bool all_zero(ByteView bytes) {
    std::uint8_t acc = 0;
    for (auto b : bytes) acc = static_cast<std::uint8_t>(acc | b);  // no early exit
    return acc == 0;
}

}  // namespace

void DhKeyPair::PkeyFree::operator()(EVP_PKEY* key) const {
    EVP_PKEY_free(key);
}

std::optional<DhGroup> dh_group_from_transform_id(std::uint16_t id) {
    switch (id) {
        case 14:
            return DhGroup::kModp2048;
        case 19:
            return DhGroup::kEcp256;
        case 20:
            return DhGroup::kEcp384;
        case 31:
            return DhGroup::kCurve25519;
        default:
            return std::nullopt;
    }
}

std::string_view dh_group_name(DhGroup group) {
    switch (group) {
        case DhGroup::kModp2048:
            return "modp2048";
        case DhGroup::kEcp256:
            return "ecp256";
        case DhGroup::kEcp384:
            return "ecp384";
        case DhGroup::kCurve25519:
            return "x25519";
    }
    return "unknown";
}

std::size_t dh_public_length(DhGroup group) {
    switch (group) {
        case DhGroup::kModp2048:
            return kModpLength;
        case DhGroup::kEcp256:
            return 64;
        case DhGroup::kEcp384:
            return 96;
        case DhGroup::kCurve25519:
            return 32;
    }
    return 0;
}

std::size_t dh_shared_secret_length(DhGroup group) {
    switch (group) {
        case DhGroup::kModp2048:
            return kModpLength;
        case DhGroup::kEcp256:
            return 32;
        case DhGroup::kEcp384:
            return 48;
        case DhGroup::kCurve25519:
            return 32;
    }
    return 0;
}

std::string_view dh_error_name(DhError error) {
    switch (error) {
        case DhError::kBadPublicLength:
            return "bad public value length";
        case DhError::kBadPublicValue:
            return "bad public value";
        case DhError::kBadPrivateKey:
            return "bad private key";
        case DhError::kZeroSharedSecret:
            return "all-zero shared secret";
        case DhError::kCrypto:
            return "crypto library failure";
    }
    return "unknown";
}

tl::expected<void, DhError> check_dh_public_value(DhGroup group, ByteView peer) {
    auto key = checked_peer_key(group, peer);
    if (!key) return tl::unexpected(key.error());
    return {};
}

tl::expected<DhKeyPair, DhError> DhKeyPair::generate(DhGroup group) {
    Owned<EVP_PKEY_CTX> ctx;
    if (group == DhGroup::kCurve25519) {
        ctx.reset(EVP_PKEY_CTX_new_from_name(nullptr, "X25519", nullptr));
        if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1) return tl::unexpected(DhError::kCrypto);
    } else {
        const bool modp = group == DhGroup::kModp2048;
        ctx.reset(EVP_PKEY_CTX_new_from_name(nullptr, modp ? "DH" : "EC", nullptr));
        if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1) return tl::unexpected(DhError::kCrypto);
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(
                OSSL_PKEY_PARAM_GROUP_NAME,
                const_cast<char*>(modp ? kModpGroupName : ec_curve_name(group)), 0),
            OSSL_PARAM_construct_end()};
        if (EVP_PKEY_CTX_set_params(ctx.get(), params) != 1)
            return tl::unexpected(DhError::kCrypto);
    }
    EVP_PKEY* raw = nullptr;
    if (EVP_PKEY_generate(ctx.get(), &raw) != 1) return tl::unexpected(DhError::kCrypto);
    std::unique_ptr<EVP_PKEY, PkeyFree> key(raw);
    auto pub = encode_public(group, key.get());
    if (!pub) return tl::unexpected(pub.error());
    return DhKeyPair(group, std::move(key), std::move(*pub));
}

tl::expected<DhKeyPair, DhError> DhKeyPair::from_private_key(DhGroup group, ByteView private_key) {
    std::unique_ptr<EVP_PKEY, PkeyFree> key;
    if (group == DhGroup::kCurve25519) {
        if (private_key.size() != 32) return tl::unexpected(DhError::kBadPrivateKey);
        key.reset(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(),
                                               private_key.size()));
        if (!key) return tl::unexpected(DhError::kCrypto);
    } else {
        Owned<BN_CTX> bn_ctx(BN_CTX_new());
        Owned<BIGNUM> priv(
            BN_bin2bn(private_key.data(), static_cast<int>(private_key.size()), nullptr));
        Owned<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
        if (!bn_ctx || !priv || !bld) return tl::unexpected(DhError::kCrypto);
        BN_set_flags(priv.get(), BN_FLG_CONSTTIME);
        Owned<BIGNUM> pub_bn;
        Bytes pub_point;
        const bool modp = group == DhGroup::kModp2048;
        if (modp) {
            Owned<BIGNUM> p = modp_prime();
            Owned<BIGNUM> g(BN_new());
            pub_bn.reset(BN_new());
            if (!p || !g || !pub_bn || BN_set_word(g.get(), 2) != 1)
                return tl::unexpected(DhError::kCrypto);
            if (private_key.size() > kModpLength || BN_cmp(priv.get(), BN_value_one()) <= 0 ||
                BN_cmp(priv.get(), p.get()) >= 0)
                return tl::unexpected(DhError::kBadPrivateKey);
            if (BN_mod_exp(pub_bn.get(), g.get(), priv.get(), p.get(), bn_ctx.get()) != 1)
                return tl::unexpected(DhError::kCrypto);
        } else {
            if (private_key.size() != ec_coordinate_length(group))
                return tl::unexpected(DhError::kBadPrivateKey);
            Owned<EC_GROUP> ec(EC_GROUP_new_by_curve_name(ec_curve_nid(group)));
            if (!ec) return tl::unexpected(DhError::kCrypto);
            Owned<EC_POINT> point(EC_POINT_new(ec.get()));
            if (!point) return tl::unexpected(DhError::kCrypto);
            if (BN_is_zero(priv.get()) || BN_cmp(priv.get(), EC_GROUP_get0_order(ec.get())) >= 0)
                return tl::unexpected(DhError::kBadPrivateKey);
            if (EC_POINT_mul(ec.get(), point.get(), priv.get(), nullptr, nullptr, bn_ctx.get()) !=
                1)
                return tl::unexpected(DhError::kCrypto);
            pub_point.resize(1 + 2 * ec_coordinate_length(group));
            if (EC_POINT_point2oct(ec.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED,
                                   pub_point.data(), pub_point.size(),
                                   bn_ctx.get()) != pub_point.size())
                return tl::unexpected(DhError::kCrypto);
        }
        const char* group_name = modp ? kModpGroupName : ec_curve_name(group);
        if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group_name, 0) !=
                1 ||
            OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()) != 1)
            return tl::unexpected(DhError::kCrypto);
        const int pushed_pub =
            modp ? OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub_bn.get())
                 : OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                                    pub_point.data(), pub_point.size());
        if (pushed_pub != 1) return tl::unexpected(DhError::kCrypto);
        std::unique_ptr<OSSL_PARAM, WipeParams> params(OSSL_PARAM_BLD_to_param(bld.get()));
        if (!params) return tl::unexpected(DhError::kCrypto);
        auto built = pkey_from_params(modp ? "DH" : "EC", params.get(), EVP_PKEY_KEYPAIR);
        if (!built) return tl::unexpected(DhError::kCrypto);
        key.reset(built.release());
    }
    auto pub = encode_public(group, key.get());
    if (!pub) return tl::unexpected(pub.error());
    return DhKeyPair(group, std::move(key), std::move(*pub));
}

tl::expected<SecretBytes, DhError> DhKeyPair::shared_secret(ByteView peer_public) const {
    auto peer = checked_peer_key(group_, peer_public);
    if (!peer) return tl::unexpected(peer.error());
    Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return tl::unexpected(DhError::kCrypto);
    // RFC 7296 3.4 / 2.14: g^ir is left-padded with zeros to the length of the prime.
    if (group_ == DhGroup::kModp2048 && EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1) != 1)
        return tl::unexpected(DhError::kCrypto);
    // Validated above; OpenSSL's own check would add a costly subgroup test for MODP.
    if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer->get(), 0) != 1)
        return tl::unexpected(DhError::kBadPublicValue);
    SecretBytes secret(dh_shared_secret_length(group_));
    std::size_t length = secret.size();
    if (EVP_PKEY_derive(ctx.get(), secret.data(), &length) != 1) {
        // OpenSSL refuses an all-zero X25519 result itself; report it as such.
        return tl::unexpected(group_ == DhGroup::kCurve25519 ? DhError::kZeroSharedSecret
                                                             : DhError::kCrypto);
    }
    if (length != secret.size()) return tl::unexpected(DhError::kCrypto);
    if (group_ == DhGroup::kCurve25519 && all_zero(secret.view()))
        return tl::unexpected(DhError::kZeroSharedSecret);
    return secret;
}

}  // namespace mpsa::ike
