// Bytes that may hold key material (SA keys, netlink messages carrying them): wiped whenever
// destroyed or overwritten, compared in constant time, never printable. xfrm keeps its own type
// so it depends on nothing but libnl; callers pass SecretBuffer through view().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace mpsa::xfrm {

class SecretBuffer {
  public:
    SecretBuffer() = default;
    explicit SecretBuffer(std::size_t size) : data_(size, 0) {}
    explicit SecretBuffer(std::span<const std::uint8_t> bytes)
        : data_(bytes.begin(), bytes.end()) {}
    SecretBuffer(const SecretBuffer& other) = default;
    SecretBuffer(SecretBuffer&& other) noexcept;
    SecretBuffer& operator=(const SecretBuffer& other);
    SecretBuffer& operator=(SecretBuffer&& other) noexcept;
    ~SecretBuffer() { wipe(); }

    [[nodiscard]] std::size_t size() const { return data_.size(); }
    [[nodiscard]] bool empty() const { return data_.empty(); }
    [[nodiscard]] std::uint8_t* data() { return data_.data(); }
    [[nodiscard]] const std::uint8_t* data() const { return data_.data(); }
    [[nodiscard]] std::span<const std::uint8_t> view() const {
        return {data_.data(), data_.size()};
    }
    void wipe();

    // Constant time in the contents (sizes are not secret).
    friend bool operator==(const SecretBuffer& a, const SecretBuffer& b);

  private:
    std::vector<std::uint8_t> data_;
};

}  // namespace mpsa::xfrm
