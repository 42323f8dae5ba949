// Value types for every IKEv2 payload we send or accept (RFC 7296 3.3-3.14, RFC 7383 2.5).
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "mpsa/ike/bytes.hpp"
#include "mpsa/ike/header.hpp"
#include "mpsa/ike/sa_proposal.hpp"
#include "mpsa/ike/traffic_selector.hpp"

namespace mpsa::ike {

struct SaPayload {
    std::vector<Proposal> proposals;
    friend bool operator==(const SaPayload&, const SaPayload&) = default;
};

struct KePayload {
    std::uint16_t group = 0;  // Diffie-Hellman Group Num
    Bytes data;               // public value
    friend bool operator==(const KePayload&, const KePayload&) = default;
};

// Ni or Nr: the same payload type, which one is implied by the message direction.
struct NoncePayload {
    Bytes data;  // 16..256 octets
    friend bool operator==(const NoncePayload&, const NoncePayload&) = default;
};

struct NotifyPayload {
    ProtocolId protocol = ProtocolId::kNone;
    Bytes spi;
    std::uint16_t type = 0;  // see notify_types.hpp; any number round-trips
    Bytes data;
    friend bool operator==(const NotifyPayload&, const NotifyPayload&) = default;
};

struct DeletePayload {
    ProtocolId protocol = ProtocolId::kIke;
    std::uint8_t spi_size = 0;  // 0 for IKE, 4 for ESP/AH
    std::vector<Bytes> spis;    // each spi_size octets
    friend bool operator==(const DeletePayload&, const DeletePayload&) = default;
};

// Vendor ID: the raw identifier, handed to the application as is.
struct VendorIdPayload {
    Bytes data;
    friend bool operator==(const VendorIdPayload&, const VendorIdPayload&) = default;
};

enum class IdType : std::uint8_t {
    kIpv4Addr = 1,
    kFqdn = 2,
    kRfc822Addr = 3,
    kIpv6Addr = 5,
    kDerAsn1Dn = 9,
    kDerAsn1Gn = 10,
    kKeyId = 11,
};

struct Identification {
    IdType type = IdType::kFqdn;
    Bytes data;
    friend bool operator==(const Identification&, const Identification&) = default;
};

struct IdiPayload {
    Identification id;
    friend bool operator==(const IdiPayload&, const IdiPayload&) = default;
};
struct IdrPayload {
    Identification id;
    friend bool operator==(const IdrPayload&, const IdrPayload&) = default;
};

enum class CertEncoding : std::uint8_t {
    kX509Signature = 4,
    kX509HashAndUrl = 12,
};

struct CertPayload {
    std::uint8_t encoding = static_cast<std::uint8_t>(CertEncoding::kX509Signature);
    Bytes data;
    friend bool operator==(const CertPayload&, const CertPayload&) = default;
};

// For X.509 the data is a list of 20-octet SHA-1 hashes of trusted CA public keys.
struct CertReqPayload {
    std::uint8_t encoding = static_cast<std::uint8_t>(CertEncoding::kX509Signature);
    Bytes data;
    friend bool operator==(const CertReqPayload&, const CertReqPayload&) = default;
};

enum class AuthMethod : std::uint8_t {
    kRsaSignature = 1,
    kSharedKeyMic = 2,
    kDssSignature = 3,
    kEcdsaSha256P256 = 9,
    kEcdsaSha384P384 = 10,
    kEcdsaSha512P521 = 11,
    kDigitalSignature = 14,  // RFC 7427
};

struct AuthPayload {
    std::uint8_t method = static_cast<std::uint8_t>(AuthMethod::kSharedKeyMic);
    Bytes data;
    friend bool operator==(const AuthPayload&, const AuthPayload&) = default;
};

struct TsiPayload {
    std::vector<TrafficSelector> selectors;
    friend bool operator==(const TsiPayload&, const TsiPayload&) = default;
};
struct TsrPayload {
    std::vector<TrafficSelector> selectors;
    friend bool operator==(const TsrPayload&, const TsrPayload&) = default;
};

// SK as it appears on the wire, still protected. Produced by decode() for inspection (and by
// tests); seal_message()/open_message() are the normal way in and out.
struct EncryptedPayload {
    PayloadType first_inner = PayloadType::kNone;  // the SK payload's Next Payload field
    Bytes body;                                    // IV | ciphertext | ICV
    friend bool operator==(const EncryptedPayload&, const EncryptedPayload&) = default;
};

// SKF (RFC 7383 2.5); first_inner is only meaningful in fragment 1.
struct EncryptedFragmentPayload {
    PayloadType first_inner = PayloadType::kNone;
    std::uint16_t number = 1;
    std::uint16_t total = 1;
    Bytes body;
    friend bool operator==(const EncryptedFragmentPayload&,
                           const EncryptedFragmentPayload&) = default;
};

using Payload =
    std::variant<SaPayload, KePayload, NoncePayload, NotifyPayload, DeletePayload, VendorIdPayload,
                 IdiPayload, IdrPayload, CertPayload, CertReqPayload, AuthPayload, TsiPayload,
                 TsrPayload, EncryptedPayload, EncryptedFragmentPayload>;

[[nodiscard]] PayloadType payload_type(const Payload& payload);

}  // namespace mpsa::ike
