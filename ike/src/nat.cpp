#include "mpsa/ike/nat.hpp"

#include <openssl/evp.h>

#include "mpsa/ike/message.hpp"
#include "mpsa/ike/notify_types.hpp"

namespace mpsa::ike {

namespace {
void put_u64(Bytes& out, std::uint64_t value) {
    for (int shift = 56; shift >= 0; shift -= 8) {
        out.push_back(static_cast<std::uint8_t>(value >> shift));
    }
}
}  // namespace

Bytes nat_detection_hash(std::uint64_t spi_i, std::uint64_t spi_r, const Endpoint& endpoint) {
    Bytes input;
    put_u64(input, spi_i);
    put_u64(input, spi_r);
    const ByteView address = endpoint.address.view();
    input.insert(input.end(), address.begin(), address.end());
    input.push_back(static_cast<std::uint8_t>(endpoint.port >> 8));
    input.push_back(static_cast<std::uint8_t>(endpoint.port));
    // Fetched once: EVP_sha1() is a legacy handle that OpenSSL 3 looks up by name on every use.
    static EVP_MD* const kSha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    Bytes digest(20);
    unsigned int length = 0;
    if (kSha1 == nullptr ||
        EVP_Digest(input.data(), input.size(), digest.data(), &length, kSha1, nullptr) != 1 ||
        length != digest.size()) {
        return {};
    }
    return digest;
}

std::optional<NatDetection> detect_nat(std::span<const Payload> payloads, std::uint64_t spi_i,
                                       std::uint64_t spi_r, const Endpoint& received_from,
                                       const Endpoint& received_on) {
    const auto source_type = static_cast<std::uint16_t>(NotifyType::kNatDetectionSourceIp);
    const auto destination_type =
        static_cast<std::uint16_t>(NotifyType::kNatDetectionDestinationIp);
    const Bytes expected_source = nat_detection_hash(spi_i, spi_r, received_from);
    const Bytes expected_destination = nat_detection_hash(spi_i, spi_r, received_on);
    bool any_source = false;
    bool source_match = false;
    bool any_destination = false;
    bool destination_match = false;
    for (const auto& payload : payloads) {
        const auto* notify = std::get_if<NotifyPayload>(&payload);
        if (notify == nullptr) continue;
        if (notify->type == source_type) {
            any_source = true;
            source_match = source_match || notify->data == expected_source;
        } else if (notify->type == destination_type) {
            any_destination = true;
            destination_match = destination_match || notify->data == expected_destination;
        }
    }
    if (!any_source || !any_destination) return std::nullopt;
    return NatDetection{.peer_behind_nat = !source_match, .local_behind_nat = !destination_match};
}

}  // namespace mpsa::ike
