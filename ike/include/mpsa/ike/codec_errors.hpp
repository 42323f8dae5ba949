// Errors of the IKEv2 wire codec: one value per kind of malformation, so each can be counted and
// tested on its own, plus a per-kind counter block the caller owns.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mpsa::ike {

enum class DecodeError : std::uint8_t {
    // IKE header (RFC 7296 3.1)
    kTruncatedHeader,          // fewer than 28 octets
    kUnsupportedMajorVersion,  // major version is not 2 (answer with INVALID_MAJOR_VERSION)
    kLengthMismatch,           // header Length differs from the datagram size
    // Generic payload header (3.2) and the payload chain
    kTruncatedPayloadHeader,      // fewer than 4 octets left where a payload header must start
    kPayloadLengthTooShort,       // Payload Length < 4
    kPayloadLengthOverrun,        // Payload Length runs past the end of the message
    kUnsupportedCriticalPayload,  // unknown payload type with the critical bit set
    kTrailingData,                // octets after the payload whose Next Payload is 0
    kEncryptedNotLast,            // SK/SKF does not extend to the end of the message (3.14)
    kNestedEncrypted,             // SK/SKF inside an SK/SKF, or SK and SKF where not allowed
    kPayloadBodyTooShort,         // fixed fields of a known payload missing
    // SA payload (3.3)
    kSaEmpty,                        // no proposal
    kProposalTruncated,              // fewer than 8 octets for a proposal header
    kProposalLengthInvalid,          // proposal length < 8 or beyond the SA payload
    kProposalLastSubstrucMismatch,   // Last Substruc not 0/2 or disagreeing with position
    kProposalSpiOverrun,             // SPI Size runs past the proposal
    kTransformTruncated,             // fewer than 8 octets for a transform header
    kTransformLengthInvalid,         // transform length < 8 or beyond the proposal
    kTransformLastSubstrucMismatch,  // Last Substruc not 0/3 or disagreeing with position
    kTransformCountMismatch,         // # of Transforms differs from the transforms present
    kAttributeTruncated,             // fewer than 4 octets for an attribute header
    kAttributeLengthOverrun,         // TLV attribute value runs past the transform
    // Other payload bodies
    kNonceLengthInvalid,      // Nonce Data not 16..256 octets (3.9)
    kSpiOverrun,              // Notify SPI Size runs past the payload (3.10)
    kDeleteSpiCountMismatch,  // SPI Size * # of SPIs differs from the data present (3.11)
    kIdLengthInvalid,         // ID_IPV4_ADDR not 4 octets or ID_IPV6_ADDR not 16 (3.5)
    kTsTruncated,             // selector header or body runs past the payload (3.13.1)
    kTsTypeUnsupported,       // TS Type other than IPv4/IPv6 address range
    kTsLengthInvalid,         // Selector Length wrong for its type
    kTsCountMismatch,         // Number of TSs differs from the selectors present
    kFragmentNumberInvalid,   // SKF Fragment Number 0 or > Total Fragments (RFC 7383 2.5)
    // Protected messages (3.14, RFC 7383)
    kNotEncrypted,          // open_* called on a message whose first payload is not SK/SKF
    kSkBodyTooShort,        // body shorter than IV + ICV or not whole blocks
    kIntegrityCheckFailed,  // ICV mismatch
    kDecryptFailed,         // transform reported a crypto failure
    kPadLengthInvalid,      // Pad Length octet runs past the plaintext
    // Reassembly (RFC 7383 2.6)
    kFragmentTotalTooLarge,   // Total Fragments above the reassembly limit
    kReassemblyTooLarge,      // stored fragment data above the reassembly memory bound
    kFragmentHeaderMismatch,  // fragment disagrees with the others on SPIs/exchange/message ID
};

inline constexpr std::size_t kDecodeErrorCount =
    static_cast<std::size_t>(DecodeError::kFragmentHeaderMismatch) + 1;

[[nodiscard]] std::string_view decode_error_name(DecodeError error);

// Where and why decoding stopped. payload_type is the type of the payload being decoded (for
// kUnsupportedCriticalPayload: the unsupported type, as the UNSUPPORTED_CRITICAL_PAYLOAD
// notification must report), 0 for the IKE header; offset is relative to the message start for
// plain payloads and to the decrypted inner payloads for protected ones.
struct DecodeFailure {
    DecodeError error{};
    std::uint8_t payload_type = 0;
    std::size_t offset = 0;

    friend bool operator==(const DecodeFailure&, const DecodeFailure&) = default;
};

// Counters owned by the caller (e.g. one per socket); pass a pointer to the decoders or nullptr.
struct DecodeCounters {
    std::array<std::uint64_t, kDecodeErrorCount> errors{};
    std::uint64_t unknown_payloads_skipped = 0;  // non-critical payloads we do not understand
    std::uint64_t fragments_duplicate = 0;       // a fragment number received twice
    std::uint64_t fragments_stale = 0;      // fewer Total Fragments than the stored ones (2.6.1)
    std::uint64_t reassembly_restarts = 0;  // more Total Fragments: stored ones dropped

    void count(DecodeError error) { ++errors[static_cast<std::size_t>(error)]; }
    [[nodiscard]] std::uint64_t operator[](DecodeError error) const {
        return errors[static_cast<std::size_t>(error)];
    }
    [[nodiscard]] std::uint64_t total_errors() const;
};

enum class EncodeError : std::uint8_t {
    kFieldTooLarge,     // a count or SPI size does not fit its field (> 255 transforms, ...)
    kPayloadTooLarge,   // a payload or substructure above 65535 octets
    kEncryptedNotLast,  // an SK/SKF payload that is not the last one
    kNestedEncrypted,   // SK/SKF among the payloads to protect
    kFragmentTooSmall,  // max fragment size leaves no room for inner payload data
    kTooManyFragments,  // more than 65535 fragments needed
    kSealFailed,        // the SkTransform failed or returned a body of the wrong size
};

[[nodiscard]] std::string_view encode_error_name(EncodeError error);

}  // namespace mpsa::ike
