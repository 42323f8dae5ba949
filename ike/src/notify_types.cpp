#include "mpsa/ike/notify_types.hpp"

namespace mpsa::ike {

std::string_view notify_type_name(std::uint16_t type) {
    switch (static_cast<NotifyType>(type)) {
        case NotifyType::kUnsupportedCriticalPayload:
            return "UNSUPPORTED_CRITICAL_PAYLOAD";
        case NotifyType::kInvalidIkeSpi:
            return "INVALID_IKE_SPI";
        case NotifyType::kInvalidMajorVersion:
            return "INVALID_MAJOR_VERSION";
        case NotifyType::kInvalidSyntax:
            return "INVALID_SYNTAX";
        case NotifyType::kInvalidMessageId:
            return "INVALID_MESSAGE_ID";
        case NotifyType::kInvalidSpi:
            return "INVALID_SPI";
        case NotifyType::kNoProposalChosen:
            return "NO_PROPOSAL_CHOSEN";
        case NotifyType::kInvalidKePayload:
            return "INVALID_KE_PAYLOAD";
        case NotifyType::kAuthenticationFailed:
            return "AUTHENTICATION_FAILED";
        case NotifyType::kSinglePairRequired:
            return "SINGLE_PAIR_REQUIRED";
        case NotifyType::kNoAdditionalSas:
            return "NO_ADDITIONAL_SAS";
        case NotifyType::kInternalAddressFailure:
            return "INTERNAL_ADDRESS_FAILURE";
        case NotifyType::kFailedCpRequired:
            return "FAILED_CP_REQUIRED";
        case NotifyType::kTsUnacceptable:
            return "TS_UNACCEPTABLE";
        case NotifyType::kInvalidSelectors:
            return "INVALID_SELECTORS";
        case NotifyType::kUnacceptableAddresses:
            return "UNACCEPTABLE_ADDRESSES";
        case NotifyType::kUnexpectedNatDetected:
            return "UNEXPECTED_NAT_DETECTED";
        case NotifyType::kTemporaryFailure:
            return "TEMPORARY_FAILURE";
        case NotifyType::kChildSaNotFound:
            return "CHILD_SA_NOT_FOUND";
        case NotifyType::kInitialContact:
            return "INITIAL_CONTACT";
        case NotifyType::kSetWindowSize:
            return "SET_WINDOW_SIZE";
        case NotifyType::kAdditionalTsPossible:
            return "ADDITIONAL_TS_POSSIBLE";
        case NotifyType::kIpcompSupported:
            return "IPCOMP_SUPPORTED";
        case NotifyType::kNatDetectionSourceIp:
            return "NAT_DETECTION_SOURCE_IP";
        case NotifyType::kNatDetectionDestinationIp:
            return "NAT_DETECTION_DESTINATION_IP";
        case NotifyType::kCookie:
            return "COOKIE";
        case NotifyType::kUseTransportMode:
            return "USE_TRANSPORT_MODE";
        case NotifyType::kHttpCertLookupSupported:
            return "HTTP_CERT_LOOKUP_SUPPORTED";
        case NotifyType::kRekeySa:
            return "REKEY_SA";
        case NotifyType::kEspTfcPaddingNotSupported:
            return "ESP_TFC_PADDING_NOT_SUPPORTED";
        case NotifyType::kNonFirstFragmentsAlso:
            return "NON_FIRST_FRAGMENTS_ALSO";
        case NotifyType::kMobikeSupported:
            return "MOBIKE_SUPPORTED";
        case NotifyType::kEapOnlyAuthentication:
            return "EAP_ONLY_AUTHENTICATION";
        case NotifyType::kIkev2FragmentationSupported:
            return "IKEV2_FRAGMENTATION_SUPPORTED";
        case NotifyType::kSignatureHashAlgorithms:
            return "SIGNATURE_HASH_ALGORITHMS";
        case NotifyType::kMpsaPut:
            return "MPSA_PUT";
    }
    return {};
}

}  // namespace mpsa::ike
