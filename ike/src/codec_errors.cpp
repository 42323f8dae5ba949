#include "mpsa/ike/codec_errors.hpp"

namespace mpsa::ike {

std::string_view decode_error_name(DecodeError error) {
    switch (error) {
        case DecodeError::kTruncatedHeader:
            return "truncated header";
        case DecodeError::kUnsupportedMajorVersion:
            return "unsupported major version";
        case DecodeError::kLengthMismatch:
            return "header length mismatch";
        case DecodeError::kTruncatedPayloadHeader:
            return "truncated payload header";
        case DecodeError::kPayloadLengthTooShort:
            return "payload length too short";
        case DecodeError::kPayloadLengthOverrun:
            return "payload length overrun";
        case DecodeError::kUnsupportedCriticalPayload:
            return "unsupported critical payload";
        case DecodeError::kTrailingData:
            return "trailing data";
        case DecodeError::kEncryptedNotLast:
            return "encrypted payload not last";
        case DecodeError::kNestedEncrypted:
            return "nested encrypted payload";
        case DecodeError::kPayloadBodyTooShort:
            return "payload body too short";
        case DecodeError::kSaEmpty:
            return "SA without proposals";
        case DecodeError::kProposalTruncated:
            return "proposal truncated";
        case DecodeError::kProposalLengthInvalid:
            return "proposal length invalid";
        case DecodeError::kProposalLastSubstrucMismatch:
            return "proposal last-substruc mismatch";
        case DecodeError::kProposalSpiOverrun:
            return "proposal SPI overrun";
        case DecodeError::kTransformTruncated:
            return "transform truncated";
        case DecodeError::kTransformLengthInvalid:
            return "transform length invalid";
        case DecodeError::kTransformLastSubstrucMismatch:
            return "transform last-substruc mismatch";
        case DecodeError::kTransformCountMismatch:
            return "transform count mismatch";
        case DecodeError::kAttributeTruncated:
            return "attribute truncated";
        case DecodeError::kAttributeLengthOverrun:
            return "attribute length overrun";
        case DecodeError::kNonceLengthInvalid:
            return "nonce length invalid";
        case DecodeError::kSpiOverrun:
            return "SPI overrun";
        case DecodeError::kDeleteSpiCountMismatch:
            return "delete SPI count mismatch";
        case DecodeError::kIdLengthInvalid:
            return "ID length invalid";
        case DecodeError::kTsTruncated:
            return "traffic selector truncated";
        case DecodeError::kTsTypeUnsupported:
            return "traffic selector type unsupported";
        case DecodeError::kTsLengthInvalid:
            return "traffic selector length invalid";
        case DecodeError::kTsCountMismatch:
            return "traffic selector count mismatch";
        case DecodeError::kFragmentNumberInvalid:
            return "fragment number invalid";
        case DecodeError::kNotEncrypted:
            return "not encrypted";
        case DecodeError::kSkBodyTooShort:
            return "SK body too short";
        case DecodeError::kIntegrityCheckFailed:
            return "integrity check failed";
        case DecodeError::kDecryptFailed:
            return "decrypt failed";
        case DecodeError::kPadLengthInvalid:
            return "pad length invalid";
        case DecodeError::kFragmentTotalTooLarge:
            return "fragment total too large";
        case DecodeError::kReassemblyTooLarge:
            return "reassembly too large";
        case DecodeError::kFragmentHeaderMismatch:
            return "fragment header mismatch";
    }
    return "unknown";
}

std::uint64_t DecodeCounters::total_errors() const {
    std::uint64_t sum = 0;
    for (auto n : errors) sum += n;
    return sum;
}

std::string_view encode_error_name(EncodeError error) {
    switch (error) {
        case EncodeError::kFieldTooLarge:
            return "field too large";
        case EncodeError::kPayloadTooLarge:
            return "payload too large";
        case EncodeError::kEncryptedNotLast:
            return "encrypted payload not last";
        case EncodeError::kNestedEncrypted:
            return "nested encrypted payload";
        case EncodeError::kFragmentTooSmall:
            return "fragment size too small";
        case EncodeError::kTooManyFragments:
            return "too many fragments";
        case EncodeError::kSealFailed:
            return "seal failed";
    }
    return "unknown";
}

}  // namespace mpsa::ike
