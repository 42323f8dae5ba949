#include "mpsa/ike/sa_proposal.hpp"

namespace mpsa::ike {

std::optional<std::uint16_t> Transform::key_length() const {
    for (const auto& attribute : attributes) {
        if (attribute.type == kAttributeKeyLength && attribute.tv) return attribute.tv_value;
    }
    return std::nullopt;
}

Transform make_transform(TransformType type, std::uint16_t id,
                         std::optional<std::uint16_t> key_length) {
    Transform transform{type, id, {}};
    if (key_length) {
        transform.attributes.push_back(
            TransformAttribute{kAttributeKeyLength, true, *key_length, {}});
    }
    return transform;
}

}  // namespace mpsa::ike
