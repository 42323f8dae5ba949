// IKEv2 Notify Message Types (IANA registry, RFC 7296 3.10.1 and later RFCs) used by mpsa, plus
// the MPSA draft's private-use MPSA_PUT.
#pragma once

#include <cstdint>
#include <string_view>

namespace mpsa::ike {

enum class NotifyType : std::uint16_t {
    // Error types (< 16384)
    kUnsupportedCriticalPayload = 1,
    kInvalidIkeSpi = 4,
    kInvalidMajorVersion = 5,
    kInvalidSyntax = 7,
    kInvalidMessageId = 9,
    kInvalidSpi = 11,
    kNoProposalChosen = 14,
    kInvalidKePayload = 17,
    kAuthenticationFailed = 24,
    kSinglePairRequired = 34,
    kNoAdditionalSas = 35,
    kInternalAddressFailure = 36,
    kFailedCpRequired = 37,
    kTsUnacceptable = 38,
    kInvalidSelectors = 39,
    kUnacceptableAddresses = 40,
    kUnexpectedNatDetected = 41,
    kTemporaryFailure = 43,
    kChildSaNotFound = 44,
    // Status types (>= 16384)
    kInitialContact = 16384,
    kSetWindowSize = 16385,
    kAdditionalTsPossible = 16386,
    kIpcompSupported = 16387,
    kNatDetectionSourceIp = 16388,
    kNatDetectionDestinationIp = 16389,
    kCookie = 16390,
    kUseTransportMode = 16391,
    kHttpCertLookupSupported = 16392,
    kRekeySa = 16393,
    kEspTfcPaddingNotSupported = 16394,
    kNonFirstFragmentsAlso = 16395,
    kMobikeSupported = 16396,
    kEapOnlyAuthentication = 16417,
    kIkev2FragmentationSupported = 16430,  // RFC 7383
    kSignatureHashAlgorithms = 16431,      // RFC 7427
    // Private use (40960..65535): draft-mpsa
    kMpsaPut = 40960,
};

inline constexpr std::uint16_t kFirstStatusNotify = 16384;
inline constexpr std::uint16_t kFirstPrivateErrorNotify = 8192;
inline constexpr std::uint16_t kFirstPrivateStatusNotify = 40960;

// Error types are below 16384 (RFC 7296 3.10.1); an unrecognised error type in a response
// means the request failed, an unrecognised status type is ignored.
[[nodiscard]] constexpr bool is_error_notify(std::uint16_t type) {
    return type < kFirstStatusNotify;
}
[[nodiscard]] constexpr bool is_private_use_notify(std::uint16_t type) {
    return (type >= kFirstPrivateErrorNotify && type < kFirstStatusNotify) ||
           type >= kFirstPrivateStatusNotify;
}

// Registry name ("NO_PROPOSAL_CHOSEN", "MPSA_PUT"), or empty for a number not in the table.
[[nodiscard]] std::string_view notify_type_name(std::uint16_t type);

}  // namespace mpsa::ike
