#include <string.h>  // explicit_bzero

#include <mpsa/xfrm/secret.hpp>

namespace mpsa::xfrm {

SecretBuffer::SecretBuffer(SecretBuffer&& other) noexcept : data_(std::move(other.data_)) {
    other.wipe();
}

SecretBuffer& SecretBuffer::operator=(const SecretBuffer& other) {
    if (this != &other) {
        wipe();
        data_ = other.data_;
    }
    return *this;
}

SecretBuffer& SecretBuffer::operator=(SecretBuffer&& other) noexcept {
    if (this != &other) {
        wipe();
        data_ = std::move(other.data_);
        other.wipe();
    }
    return *this;
}

void SecretBuffer::wipe() {
    if (!data_.empty()) explicit_bzero(data_.data(), data_.size());
    data_.clear();
}

bool operator==(const SecretBuffer& a, const SecretBuffer& b) {
    if (a.size() != b.size()) return false;
    unsigned char difference = 0;
    for (std::size_t i = 0; i < a.size(); ++i) difference |= a.data()[i] ^ b.data()[i];
    return difference == 0;
}

}  // namespace mpsa::xfrm
