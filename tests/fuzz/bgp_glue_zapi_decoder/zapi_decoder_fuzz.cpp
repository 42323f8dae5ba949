// libFuzzer target: the ZAPI framer and every body decoder, for every supported FRR release.
// Input: byte 0 picks the release, byte 1 the read chunk size, the rest is the socket stream.
// Decoded routes are re-encoded and must decode to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "mpsa/bgp_glue/zapi_codec.hpp"
#include "mpsa/bgp_glue/zapi_framer.hpp"

using namespace mpsa::bgp_glue;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const FrrRelease release = kAllFrrReleases[data[0] % kFrrReleaseCount];
    const std::size_t chunk = std::size_t{data[1]} + 1;
    const ByteView stream(data + 2, size - 2);

    ZapiDecoder decoder(release);
    ZapiEncoder encoder(release);
    ZapiFramer framer;
    for (std::size_t offset = 0; offset < stream.size(); offset += chunk) {
        framer.feed(stream.subspan(offset, std::min(chunk, stream.size() - offset)));
        while (auto framed = framer.next()) {
            if (!*framed) break;
            const auto message = decoder.decode(**framed);
            if (!message) continue;
            if (const auto* route = std::get_if<ZapiRoute>(&message->body)) {
                // SEG6 on releases without a count carries exactly one segment, so every
                // decoded route can be encoded again.
                const auto again = encoder.route_add(*route);
                if (!again) std::abort();
                const auto round = decoder.decode_route(ByteView(*again).subspan(kZapiHeaderSize));
                if (!round || round->prefix != route->prefix ||
                    round->nexthops.size() != route->nexthops.size()) {
                    std::abort();
                }
            }
        }
    }
    // The whole input as a single body for each decoder too.
    (void)decoder.decode_route(stream);
    (void)decoder.decode_nexthop_update(stream);
    (void)decoder.decode_capabilities(stream);
    (void)decoder.decode_router_id_update(stream);
    (void)decoder.decode_interface_state(stream);
    (void)decoder.decode_interface_address(stream);
    (void)decoder.decode_route_notify_owner(stream);
    (void)decoder.decode_error(stream);
    return 0;
}
