// libFuzzer target: the MPSA_PUT decoders must reject any input without crashing, and whatever
// they accept must re-encode to an input they accept again with the same contents.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "mpsa/mpsa/mpsa_put.hpp"

namespace {

using mpsa::mpsa::DecodeOptions;
using mpsa::mpsa::MpsaPut;

bool same(const MpsaPut& a, const MpsaPut& b) {
    return a.spi == b.spi && a.suite == b.suite && a.nonce == b.nonce &&
           mpsa::ike::constant_time_equal(a.sk_d.view(), b.sk_d.view()) &&
           a.lifetime_s == b.lifetime_s && a.roll1_s == b.roll1_s && a.roll2_s == b.roll2_s;
}

void check_round_trip(const MpsaPut& put, const DecodeOptions& options) {
    auto encoded = mpsa::mpsa::encode_mpsa_put_payload(put, 0);
    if (!encoded) std::abort();
    auto again = mpsa::mpsa::decode_mpsa_put_payload(encoded->view(), options);
    if (!again || !same(again->put, put)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const mpsa::ike::ByteView input(data, size);
    for (const bool allow_aead : {false, true}) {
        const DecodeOptions options{mpsa::mpsa::SuitePolicy{allow_aead}};
        if (auto p = mpsa::mpsa::decode_mpsa_put_payload(input, options))
            check_round_trip(p->put, options);
        if (size >= 4) {
            if (auto b = mpsa::mpsa::decode_mpsa_put_body(input.subspan(4), options))
                check_round_trip(*b, options);
            if (auto d = mpsa::mpsa::decode_mpsa_put_data(0x4d505341, input.subspan(4), options))
                check_round_trip(*d, options);
            if (auto n = mpsa::mpsa::decode_mpsa_put_notify(input[0], input.subspan(0, 4), 40960,
                                                            input.subspan(4), options))
                check_round_trip(*n, options);
        }
    }
    return 0;
}
