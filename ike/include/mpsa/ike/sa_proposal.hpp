// SA payload contents (RFC 7296 3.3): proposals, transforms and transform attributes.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "mpsa/ike/bytes.hpp"

namespace mpsa::ike {

// Protocol ID of proposals, Notify and Delete payloads.
enum class ProtocolId : std::uint8_t {
    kNone = 0,  // Notify not about an SA
    kIke = 1,
    kAh = 2,
    kEsp = 3,
};

enum class TransformType : std::uint8_t {
    kEncryption = 1,
    kPrf = 2,
    kIntegrity = 3,
    kKeyExchange = 4,  // "Diffie-Hellman group"
    kEsn = 5,
};

inline constexpr std::uint16_t kAttributeKeyLength = 14;

// Attribute Format bit set: TV (a 2-octet value in the header); clear: TLV (variable value).
struct TransformAttribute {
    std::uint16_t type = 0;  // without the AF bit
    bool tv = true;
    std::uint16_t tv_value = 0;  // when tv
    Bytes tlv_value;             // when !tv

    friend bool operator==(const TransformAttribute&, const TransformAttribute&) = default;
};

struct Transform {
    TransformType type = TransformType::kEncryption;
    std::uint16_t id = 0;
    std::vector<TransformAttribute> attributes;

    // Key Length attribute (TV, type 14), if present.
    [[nodiscard]] std::optional<std::uint16_t> key_length() const;

    friend bool operator==(const Transform&, const Transform&) = default;
};

struct Proposal {
    std::uint8_t number = 1;
    ProtocolId protocol = ProtocolId::kIke;
    Bytes spi;  // empty in IKE_SA_INIT, 8 octets for IKE SA rekey, 4 for ESP/AH
    std::vector<Transform> transforms;

    friend bool operator==(const Proposal&, const Proposal&) = default;
};

[[nodiscard]] Transform make_transform(TransformType type, std::uint16_t id,
                                       std::optional<std::uint16_t> key_length = std::nullopt);

}  // namespace mpsa::ike
