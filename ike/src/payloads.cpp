#include "mpsa/ike/payloads.hpp"

#include <type_traits>

namespace mpsa::ike {

PayloadType payload_type(const Payload& payload) {
    return std::visit(
        [](const auto& p) {
            using T = std::decay_t<decltype(p)>;
            if constexpr (std::is_same_v<T, SaPayload>) return PayloadType::kSa;
            if constexpr (std::is_same_v<T, KePayload>) return PayloadType::kKe;
            if constexpr (std::is_same_v<T, NoncePayload>) return PayloadType::kNonce;
            if constexpr (std::is_same_v<T, NotifyPayload>) return PayloadType::kNotify;
            if constexpr (std::is_same_v<T, DeletePayload>) return PayloadType::kDelete;
            if constexpr (std::is_same_v<T, VendorIdPayload>) return PayloadType::kVendorId;
            if constexpr (std::is_same_v<T, IdiPayload>) return PayloadType::kIdi;
            if constexpr (std::is_same_v<T, IdrPayload>) return PayloadType::kIdr;
            if constexpr (std::is_same_v<T, CertPayload>) return PayloadType::kCert;
            if constexpr (std::is_same_v<T, CertReqPayload>) return PayloadType::kCertReq;
            if constexpr (std::is_same_v<T, AuthPayload>) return PayloadType::kAuth;
            if constexpr (std::is_same_v<T, TsiPayload>) return PayloadType::kTsi;
            if constexpr (std::is_same_v<T, TsrPayload>) return PayloadType::kTsr;
            if constexpr (std::is_same_v<T, EncryptedPayload>) return PayloadType::kEncrypted;
            if constexpr (std::is_same_v<T, EncryptedFragmentPayload>) {
                return PayloadType::kEncryptedFragment;
            }
        },
        payload);
}

}  // namespace mpsa::ike
