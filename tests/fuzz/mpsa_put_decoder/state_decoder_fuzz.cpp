// libFuzzer target: the CPE state file decoder. The input is taken as is (the checksum almost
// always fails) and, to reach the parser behind it, as a body with a correct SHA-256 appended.
// Whatever decodes must encode back to the very same bytes.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "mpsa/mpsa/cpe_state_store.hpp"

namespace {

using mpsa::mpsa::TimePoint;
using mpsa::mpsa::WallTime;

const TimePoint kSteadyNow = TimePoint{} + std::chrono::hours(100);
const WallTime kWallNow = WallTime{} + std::chrono::seconds(1'800'000'000);

void check(mpsa::ike::ByteView input) {
    auto state = mpsa::mpsa::decode_cpe_state(input, kSteadyNow, kWallNow);
    if (!state) return;
    const auto again = mpsa::mpsa::encode_cpe_state(*state, kSteadyNow, kWallNow);
    // The header carries the save time, which encode sets to "now": compare from after it.
    constexpr std::size_t kSavedAtEnd = 8 + 2 + 8;
    if (again.size() != input.size() ||
        !std::equal(input.begin() + kSavedAtEnd, input.end() - 32, again.data() + kSavedAtEnd))
        std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const mpsa::ike::ByteView input(data, size);
    check(input);
    mpsa::ike::Bytes sealed(data, data + size);
    sealed.resize(size + 32);
    unsigned int length = 0;
    if (EVP_Digest(data, size, sealed.data() + size, &length, EVP_sha256(), nullptr) == 1)
        check(sealed);
    return 0;
}
