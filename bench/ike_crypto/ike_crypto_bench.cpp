// Cost of the crypto one IKE SA set-up needs, per operation:
//   build-ike-crypto/bench/ike_crypto/ike_crypto_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include "mpsa/ike/auth.hpp"
#include "mpsa/ike/cipher.hpp"
#include "mpsa/ike/dh.hpp"
#include "mpsa/ike/keys.hpp"

namespace {

using namespace mpsa::ike;

// One side of IKE_SA_INIT: fresh key pair plus g^ir against the peer's value.
void BM_DhKeyExchange(benchmark::State& state) {
    const auto group = static_cast<DhGroup>(state.range(0));
    auto peer = DhKeyPair::generate(group);
    if (!peer) {
        state.SkipWithError("peer key generation failed");
        return;
    }
    for (auto _ : state) {
        auto own = DhKeyPair::generate(group);
        auto shared = own->shared_secret(peer->public_value());
        benchmark::DoNotOptimize(shared->data());
    }
    state.SetLabel(std::string(dh_group_name(group)));
}
BENCHMARK(BM_DhKeyExchange)->Arg(14)->Arg(19)->Arg(20)->Arg(31)->Unit(benchmark::kMicrosecond);

struct SkCase {
    EncrId encr;
    unsigned bits;
    IntegId integ;
};

constexpr SkCase kSkCases[] = {
    {EncrId::kAesGcm16, 128, IntegId::kNone},
    {EncrId::kAesCbc, 256, IntegId::kHmacSha2_256_128},
};

std::unique_ptr<SkTransform> make_transform(const SkCase& c) {
    const SecretBytes encr(encr_key_material_length(c.encr, c.bits));
    const SecretBytes integ(integ_key_length(c.integ));
    return std::move(*make_sk_transform(c.encr, c.bits, c.integ, encr, integ));
}

// range(0): suite index, range(1): plaintext octets.
void BM_SkSeal(benchmark::State& state) {
    const auto& c = kSkCases[state.range(0)];
    auto t = make_transform(c);
    const Bytes aad(32, 0x11);
    const Bytes plaintext(static_cast<std::size_t>(state.range(1)), 0x22);
    for (auto _ : state) {
        auto body = t->seal(aad, plaintext);
        benchmark::DoNotOptimize(body->data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(1));
    state.SetLabel(std::string(encr_name(c.encr, c.bits)) + "-" + std::string(integ_name(c.integ)));
}
BENCHMARK(BM_SkSeal)->ArgsProduct({{0, 1}, {256, 1280}});

void BM_SkOpen(benchmark::State& state) {
    const auto& c = kSkCases[state.range(0)];
    auto t = make_transform(c);
    const Bytes aad(32, 0x11);
    const Bytes plaintext(static_cast<std::size_t>(state.range(1)), 0x22);
    const Bytes body = *t->seal(aad, plaintext);
    for (auto _ : state) {
        auto opened = t->open(aad, body);
        benchmark::DoNotOptimize(opened->data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(1));
    state.SetLabel(std::string(encr_name(c.encr, c.bits)) + "-" + std::string(integ_name(c.integ)));
}
BENCHMARK(BM_SkOpen)->ArgsProduct({{0, 1}, {256, 1280}});

// SKEYSEED and the seven IKE SA keys for aes128gcm16-prfsha256-x25519.
void BM_IkeKeySchedule(benchmark::State& state) {
    const Suite suite = *parse_suite("aes128gcm16-prfsha256-x25519");
    const Bytes ni(32, 1), nr(32, 2), spi_i(8, 3), spi_r(8, 4);
    const SecretBytes shared(Bytes(32, 5));
    for (auto _ : state) {
        auto seed = compute_skeyseed(suite.prf, ni, nr, shared);
        auto keys = derive_ike_sa_keys(suite, *seed, ni, nr, spi_i, spi_r);
        benchmark::DoNotOptimize(keys->sk_d.data());
    }
}
BENCHMARK(BM_IkeKeySchedule);

// Both AUTH computations of a PSK IKE_AUTH (own value and the peer's check).
void BM_PskAuth(benchmark::State& state) {
    const SecretBytes sk_p(Bytes(32, 7));
    const Bytes message(400, 8), nonce(32, 9), id{2, 0, 0, 0, 'c', 'p', 'e'}, psk(32, 10);
    for (auto _ : state) {
        auto octets = auth_signed_octets(PrfId::kHmacSha2_256, sk_p, message, nonce, id);
        auto auth = psk_auth_value(PrfId::kHmacSha2_256, psk, *octets);
        auto ok = verify_psk_auth(PrfId::kHmacSha2_256, psk, *octets, *auth);
        benchmark::DoNotOptimize(ok.has_value());
    }
}
BENCHMARK(BM_PskAuth);

void BM_Sign(benchmark::State& state) {
    const bool rsa = state.range(0) == 0;
    PrivateKey key(rsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048))
                       : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    const SignatureScheme scheme = *default_signature_scheme(key);
    const Bytes octets(500, 0x5a);
    for (auto _ : state) {
        auto auth = sign_auth_rfc7427(key, scheme, octets);
        benchmark::DoNotOptimize(auth->data());
    }
    state.SetLabel(rsa ? "rsa2048-pss-sha256" : "ecdsa-p256-sha256");
}
BENCHMARK(BM_Sign)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
