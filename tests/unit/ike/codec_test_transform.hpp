// Test double for SkTransform: a keyed XOR "cipher" with a deterministic IV and a 4-octet keyed
// checksum as ICV over aad | IV | ciphertext. Not cryptography; it lets the codec tests check
// framing, AAD coverage, padding and integrity handling without the real AES suites.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mpsa/ike/sk_transform.hpp"

namespace mpsa::ike::testing {

class XorTransform final : public SkTransform {
  public:
    explicit XorTransform(std::uint8_t key = 0x5a, std::size_t block = 16, std::size_t iv = 8)
        : key_(key), block_(block), iv_(iv) {}

    [[nodiscard]] std::size_t iv_length() const override { return iv_; }
    [[nodiscard]] std::size_t icv_length() const override { return 4; }
    [[nodiscard]] std::size_t block_size() const override { return block_; }

    [[nodiscard]] tl::expected<Bytes, SkError> seal(ByteView aad, ByteView plaintext) override {
        ++seal_calls;
        if (plaintext.size() % block_ != 0) return tl::unexpected(SkError::kCrypto);
        Bytes body;
        for (std::size_t i = 0; i < iv_; ++i)
            body.push_back(static_cast<std::uint8_t>(counter_ + i));
        ++counter_;
        for (std::size_t i = 0; i < plaintext.size(); ++i) {
            body.push_back(static_cast<std::uint8_t>(plaintext[i] ^ stream(i)));
        }
        const std::uint32_t icv = checksum(aad, body);
        for (int shift = 24; shift >= 0; shift -= 8) {
            body.push_back(static_cast<std::uint8_t>(icv >> shift));
        }
        return body;
    }

    [[nodiscard]] tl::expected<Bytes, SkError> open(ByteView aad, ByteView body) override {
        ++open_calls;
        if (body.size() < iv_ + 4 || (body.size() - iv_ - 4) % block_ != 0) {
            return tl::unexpected(SkError::kTooShort);
        }
        const ByteView covered = body.first(body.size() - 4);
        const std::uint32_t icv = checksum(aad, covered);
        const std::uint8_t* tail = body.data() + body.size() - 4;
        const std::uint32_t received = (std::uint32_t{tail[0]} << 24) |
                                       (std::uint32_t{tail[1]} << 16) |
                                       (std::uint32_t{tail[2]} << 8) | tail[3];
        if (icv != received) return tl::unexpected(SkError::kIntegrityFailed);
        Bytes plaintext;
        for (std::size_t i = iv_; i < covered.size(); ++i) {
            plaintext.push_back(static_cast<std::uint8_t>(covered[i] ^ stream(i - iv_)));
        }
        return plaintext;
    }

    int seal_calls = 0;
    int open_calls = 0;

  private:
    [[nodiscard]] std::uint8_t stream(std::size_t i) const {
        return static_cast<std::uint8_t>(key_ + 31 * i);
    }
    // FNV-1a, keyed by starting from the key.
    [[nodiscard]] std::uint32_t checksum(ByteView aad, ByteView body) const {
        std::uint32_t h = 2166136261u ^ key_;
        for (auto b : aad) h = (h ^ b) * 16777619u;
        for (auto b : body) h = (h ^ b) * 16777619u;
        return h;
    }

    std::uint8_t key_;
    std::size_t block_;
    std::size_t iv_;
    std::uint8_t counter_ = 0;
};

}  // namespace mpsa::ike::testing
