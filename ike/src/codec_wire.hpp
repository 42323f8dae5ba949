// Internal to the IKEv2 codec: big-endian reads/writes and the payload-chain coders shared by
// the plain, SK and SKF paths.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/ike/codec_errors.hpp"
#include "mpsa/ike/payloads.hpp"

namespace mpsa::ike::wire {

[[nodiscard]] inline std::uint16_t get_u16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
[[nodiscard]] inline std::uint32_t get_u32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}
[[nodiscard]] inline std::uint64_t get_u64(const std::uint8_t* p) {
    return (std::uint64_t{get_u32(p)} << 32) | get_u32(p + 4);
}

inline void put_u8(Bytes& out, std::uint8_t v) {
    out.push_back(v);
}
inline void put_u16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}
inline void put_u32(Bytes& out, std::uint32_t v) {
    put_u16(out, static_cast<std::uint16_t>(v >> 16));
    put_u16(out, static_cast<std::uint16_t>(v));
}
inline void put_u64(Bytes& out, std::uint64_t v) {
    put_u32(out, static_cast<std::uint32_t>(v >> 32));
    put_u32(out, static_cast<std::uint32_t>(v));
}
inline void put_bytes(Bytes& out, ByteView bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
}
inline void set_u16(Bytes& out, std::size_t at, std::uint16_t v) {
    out[at] = static_cast<std::uint8_t>(v >> 8);
    out[at + 1] = static_cast<std::uint8_t>(v);
}

[[nodiscard]] inline DecodeFailure fail(DecodeCounters* counters, DecodeError error,
                                        std::uint8_t payload_type, std::size_t offset) {
    if (counters != nullptr) counters->count(error);
    return DecodeFailure{error, payload_type, offset};
}

// Decodes the chain starting with payload type `first` that fills `data` exactly. With
// allow_encrypted, an SK/SKF payload ends the chain and must reach the end of data. Offsets in
// failures are data offsets plus base_offset. Counts the failure and skipped payloads.
[[nodiscard]] tl::expected<void, DecodeFailure> decode_chain(std::uint8_t first, ByteView data,
                                                             std::size_t base_offset,
                                                             bool allow_encrypted,
                                                             std::vector<Payload>& out,
                                                             DecodeCounters* counters);

// Appends the chain; returns the type of the first payload (kNone if empty).
[[nodiscard]] tl::expected<PayloadType, EncodeError> encode_chain(std::span<const Payload> payloads,
                                                                  bool allow_encrypted, Bytes& out);

// Pad (with zeros) and the pad-length octet so that data_size + pad + 1 is a multiple of block.
[[nodiscard]] inline std::size_t pad_length(std::size_t data_size, std::size_t block) {
    if (block <= 1) return 0;
    return (block - (data_size + 1) % block) % block;
}

}  // namespace mpsa::ike::wire
