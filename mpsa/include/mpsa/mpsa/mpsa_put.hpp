// MPSA_PUT Notify payload codec (draft-yamaya-ipsecme-mpsa-04 3.2.2).
//
// Notify payload:  generic header | Protocol ID = 3 (ESP) | SPI Size = 4 | Type = 40960 | SPI |
//                  notification data
// data:            one proposal-like substructure (last, proposal 1, ESP, SPI size 4, same SPI)
//                  with transform-like entries ENCR, PRF, INTEG (omitted for AEAD), NONCE, SKD,
//                  LIFE, ROLL1, ROLL2.
// The draft's figures give attribute type 16386 inside ROLL1/ROLL2 while its text defines 16387
// and 16388: we send the text's values and accept 16386 too inside transform types 244/245.
#pragma once

#include <cstdint>
#include <string_view>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/mpsa/esp_suite.hpp"

namespace mpsa::mpsa {

inline constexpr std::uint16_t kMpsaPutNotifyType = 40960;
inline constexpr std::uint8_t kProtocolEsp = 3;
inline constexpr std::uint8_t kEspSpiSize = 4;
inline constexpr std::uint8_t kNotifyPayloadType = 41;  // IKEv2 payload type N

inline constexpr std::uint8_t kTransformEncr = 1;
inline constexpr std::uint8_t kTransformPrf = 2;
inline constexpr std::uint8_t kTransformInteg = 3;
inline constexpr std::uint8_t kTransformNonce = 241;
inline constexpr std::uint8_t kTransformSkd = 242;
inline constexpr std::uint8_t kTransformLife = 243;
inline constexpr std::uint8_t kTransformRoll1 = 244;
inline constexpr std::uint8_t kTransformRoll2 = 245;

inline constexpr std::uint16_t kAttrKeyLength = 14;  // TV
inline constexpr std::uint16_t kAttrNonce = 16384;   // TLV
inline constexpr std::uint16_t kAttrSkd = 16385;
inline constexpr std::uint16_t kAttrLifetime = 16386;
inline constexpr std::uint16_t kAttrRoll1 = 16387;
inline constexpr std::uint16_t kAttrRoll2 = 16388;

inline constexpr std::size_t kMinNonceSize = 16;
inline constexpr std::size_t kMaxNonceSize = 256;

// One group SA as the gateway announces it. Times are seconds from receipt.
struct MpsaPut {
    std::uint32_t spi = 0;
    EspSuite suite;
    ike::Bytes nonce;
    ike::SecretBytes sk_d;         // length = prf_key_length(suite.prf)
    std::uint32_t lifetime_s = 0;  // effective time left of this SA
    std::uint32_t roll1_s = 0;     // delay before this SA is used outbound (if an old SA exists)
    std::uint32_t roll2_s = 0;     // delay before older inbound SAs are removed
};

enum class PutError {
    // framing
    kPayloadTooShort,
    kPayloadLengthMismatch,
    kWrongProtocolId,
    kWrongSpiSize,
    kNotMpsaPut,
    kReservedSpi,  // SPI 0..255 are reserved (RFC 4303)
    kProposalTooShort,
    kBadProposalLength,
    kProposalNotLast,
    kBadProposalNumber,
    kProposalWrongProtocolId,
    kProposalWrongSpiSize,
    kSpiMismatch,
    kTransformTooShort,
    kBadTransformLength,
    kBadTransformChain,  // "more" flag neither 0 nor 3, or says more when the proposal ends
    kTransformCountMismatch,
    kAttributeTooShort,
    kBadAttributeLength,
    kBadAttributeFormat,  // TV where TLV is required or the reverse
    kUnknownAttribute,
    kDuplicateAttribute,
    kMissingAttribute,
    kTrailingData,
    // contents
    kUnknownTransformType,
    kUnknownEncr,
    kUnknownPrf,
    kUnknownInteg,
    kBadTransformId,  // private transform types 241-245 take ID 1
    kMissingKeyLength,
    kBadKeyLength,
    kDuplicateTransform,
    kMissingEncr,
    kMissingPrf,
    kMissingInteg,
    kMissingNonce,
    kMissingSkd,
    kMissingLifetime,
    kMissingRoll1,
    kMissingRoll2,
    kIntegWithAead,
    kAeadNotAllowed,
    kBadNonceSize,
    kBadSkdSize,
    kBadTimeValueSize,  // LIFE/ROLL1/ROLL2 values are 4 octets
    kBadTiming,         // lifetime 0, or ROLL1 > ROLL2, or ROLL1 >= lifetime
};
[[nodiscard]] std::string_view to_string(PutError error);

struct DecodeOptions {
    SuitePolicy suite_policy;
};

// Checks an MpsaPut against the same rules the decoder applies (used before encoding).
[[nodiscard]] tl::expected<void, PutError> validate(const MpsaPut& put,
                                                    const DecodeOptions& options = {});

// Notification data only (the proposal-like substructure). Returned as SecretBytes: it holds
// SK_d, so the buffer is wiped when dropped.
[[nodiscard]] tl::expected<ike::SecretBytes, PutError> encode_mpsa_put_data(const MpsaPut& put);
// Notify body: Protocol ID .. notification data (what follows the generic payload header).
[[nodiscard]] tl::expected<ike::SecretBytes, PutError> encode_mpsa_put_body(const MpsaPut& put);
// Full Notify payload including the 4-octet generic header. The C bit stays clear by default:
// a peer that does not know MPSA_PUT must be free to ignore it.
[[nodiscard]] tl::expected<ike::SecretBytes, PutError> encode_mpsa_put_payload(
    const MpsaPut& put, std::uint8_t next_payload, bool critical = false);

// Decoders; each rejects anything malformed with its own PutError.
// Notification data given the Notify's own SPI field (as an IKE codec that parsed the Notify
// header would hand it over).
[[nodiscard]] tl::expected<MpsaPut, PutError> decode_mpsa_put_data(
    std::uint32_t notify_spi, ike::ByteView data, const DecodeOptions& options = {});
// The Notify's fields as an IKE codec that already split them hands them over (ike's
// NotifyPayload: protocol, SPI bytes, type, data); same checks as decode_mpsa_put_body.
[[nodiscard]] tl::expected<MpsaPut, PutError> decode_mpsa_put_notify(
    std::uint8_t protocol_id, ike::ByteView spi, std::uint16_t notify_type, ike::ByteView data,
    const DecodeOptions& options = {});
[[nodiscard]] tl::expected<MpsaPut, PutError> decode_mpsa_put_body(
    ike::ByteView body, const DecodeOptions& options = {});

struct DecodedMpsaPutPayload {
    std::uint8_t next_payload = 0;
    bool critical = false;
    MpsaPut put;
};
// Exactly one payload: bytes beyond the Payload Length are kTrailingData.
[[nodiscard]] tl::expected<DecodedMpsaPutPayload, PutError> decode_mpsa_put_payload(
    ike::ByteView payload, const DecodeOptions& options = {});

}  // namespace mpsa::mpsa
