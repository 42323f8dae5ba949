// Byte buffers shared by the codecs and the key schedules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mpsa::ike {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Key material: wiped (OPENSSL_cleanse) whenever it is destroyed or reassigned, never printable.
class SecretBytes {
  public:
    SecretBytes() = default;
    explicit SecretBytes(std::size_t size) : data_(size, 0) {}
    explicit SecretBytes(ByteView bytes) : data_(bytes.begin(), bytes.end()) {}
    SecretBytes(const SecretBytes& other) = default;
    SecretBytes(SecretBytes&& other) noexcept;
    SecretBytes& operator=(const SecretBytes& other);
    SecretBytes& operator=(SecretBytes&& other) noexcept;
    ~SecretBytes();

    [[nodiscard]] std::size_t size() const { return data_.size(); }
    [[nodiscard]] bool empty() const { return data_.empty(); }
    [[nodiscard]] std::uint8_t* data() { return data_.data(); }
    [[nodiscard]] const std::uint8_t* data() const { return data_.data(); }
    [[nodiscard]] ByteView view() const { return {data_.data(), data_.size()}; }
    // A sub-range copy (e.g. one key out of KEYMAT).
    [[nodiscard]] SecretBytes slice(std::size_t offset, std::size_t length) const;
    void wipe();

  private:
    std::vector<std::uint8_t> data_;
};

// Constant-time equality for MACs and authentication values (CRYPTO_memcmp).
[[nodiscard]] bool constant_time_equal(ByteView a, ByteView b);

// Hex helpers, for tests, SPIs and identities. Never call these on key material.
[[nodiscard]] std::string to_hex(ByteView bytes);
// Accepts upper/lower case and ignores spaces, colons and newlines; empty result on bad input.
[[nodiscard]] Bytes from_hex(std::string_view hex);

}  // namespace mpsa::ike
