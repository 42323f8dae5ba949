#include "mpsa/ike/events.hpp"

namespace mpsa::ike {

std::string_view down_reason_name(DownReason reason) {
    switch (reason) {
        case DownReason::kClosedLocally:
            return "closed locally";
        case DownReason::kDeletedByPeer:
            return "deleted by peer";
        case DownReason::kTimeout:
            return "timeout";
        case DownReason::kAuthenticationFailed:
            return "authentication failed";
        case DownReason::kNegotiationFailed:
            return "negotiation failed";
    }
    return "unknown";
}

std::string_view notify_outcome_name(NotifyOutcome outcome) {
    switch (outcome) {
        case NotifyOutcome::kAnswered:
            return "answered";
        case NotifyOutcome::kTimedOut:
            return "timed out";
        case NotifyOutcome::kIkeSaGone:
            return "IKE SA gone";
    }
    return "unknown";
}

}  // namespace mpsa::ike
