// IKEv2 header (RFC 7296 3.1) and the payload and exchange type numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/ike/codec_errors.hpp"

namespace mpsa::ike {

inline constexpr std::size_t kHeaderSize = 28;
inline constexpr std::size_t kGenericPayloadHeaderSize = 4;

// IANA "IKEv2 Payload Types". Values outside this list still round-trip through the decoder as
// raw numbers (e.g. to report them in UNSUPPORTED_CRITICAL_PAYLOAD).
enum class PayloadType : std::uint8_t {
    kNone = 0,
    kSa = 33,
    kKe = 34,
    kIdi = 35,
    kIdr = 36,
    kCert = 37,
    kCertReq = 38,
    kAuth = 39,
    kNonce = 40,
    kNotify = 41,
    kDelete = 42,
    kVendorId = 43,
    kTsi = 44,
    kTsr = 45,
    kEncrypted = 46,  // SK
    kConfiguration = 47,
    kEap = 48,
    kEncryptedFragment = 53,  // SKF (RFC 7383)
};

[[nodiscard]] std::string_view payload_type_name(PayloadType type);

enum class ExchangeType : std::uint8_t {
    kIkeSaInit = 34,
    kIkeAuth = 35,
    kCreateChildSa = 36,
    kInformational = 37,
};

[[nodiscard]] std::string_view exchange_type_name(ExchangeType type);

struct Header {
    std::uint64_t initiator_spi = 0;
    std::uint64_t responder_spi = 0;
    // On decode: as received. On encode: ignored, derived from the payloads.
    PayloadType next_payload = PayloadType::kNone;
    std::uint8_t major_version = 2;
    std::uint8_t minor_version = 0;
    ExchangeType exchange_type = ExchangeType::kIkeSaInit;
    bool initiator = false;  // I flag: sent by the original initiator of the IKE SA
    bool version = false;    // V flag: sender can speak a higher major version
    bool response = false;   // R flag
    std::uint32_t message_id = 0;
    // On decode: as received (equal to the datagram size). On encode: ignored, computed.
    std::uint32_t length = 0;

    friend bool operator==(const Header&, const Header&) = default;
};

// Reads the header only, without checking the version or the length against the datagram, so a
// caller can still answer INVALID_MAJOR_VERSION or route by SPI. Fails only on fewer than 28
// octets.
[[nodiscard]] tl::expected<Header, DecodeFailure> peek_header(ByteView datagram);

// Writes the 28-octet header with the given next payload and total length.
void append_header(Bytes& out, const Header& header, PayloadType next_payload,
                   std::uint32_t length);

}  // namespace mpsa::ike
