// Bounds-checked big-endian reader and writer for ZAPI bodies (private to bgp-glue).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "mpsa/bgp_glue/zapi_codec.hpp"

namespace mpsa::bgp_glue::wire {

// Sticky-failure reader: after the first short read or fail() every read returns zero and the
// first error is kept, so decoders check ok() at the points where a value steers the parse.
class Reader {
  public:
    explicit Reader(ByteView data) : data_(data) {}

    std::uint8_t u8(std::string_view field) {
        std::uint8_t value = 0;
        copy_out(&value, 1, field);
        return value;
    }
    std::uint16_t u16(std::string_view field) {
        std::uint8_t b[2] = {};
        copy_out(b, 2, field);
        return static_cast<std::uint16_t>((b[0] << 8) | b[1]);
    }
    std::uint32_t u32(std::string_view field) {
        std::uint8_t b[4] = {};
        copy_out(b, 4, field);
        return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
               (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]};
    }
    std::uint64_t u64(std::string_view field) {
        const std::uint64_t high = u32(field);
        return (high << 32) | u32(field);
    }
    // Fields zebra copies from memory (labels, notes, error codes): the host's byte order,
    // which is ours since zebra runs on the same machine.
    std::uint32_t u32_host(std::string_view field) {
        std::uint32_t value = 0;
        std::uint8_t b[4] = {};
        copy_out(b, 4, field);
        std::memcpy(&value, b, 4);
        return value;
    }
    void bytes(std::uint8_t* out, std::size_t size, std::string_view field) {
        copy_out(out, size, field);
    }
    void skip(std::size_t size, std::string_view field) {
        if (!ok_) return;
        if (size > remaining()) {
            fail(DecodeErrc::truncated, field);
            return;
        }
        position_ += size;
    }

    void fail(DecodeErrc code, std::string_view field) {
        if (ok_) error_ = DecodeError{code, field};
        ok_ = false;
    }
    [[nodiscard]] bool ok() const { return ok_; }
    [[nodiscard]] const DecodeError& error() const { return error_; }
    [[nodiscard]] std::size_t remaining() const { return data_.size() - position_; }
    // The body must be consumed exactly.
    void expect_end() {
        if (ok_ && remaining() != 0) fail(DecodeErrc::trailing_bytes, "end of body");
    }

  private:
    void copy_out(std::uint8_t* out, std::size_t size, std::string_view field) {
        // mem* with a null pointer is undefined even for 0 bytes (UBSan caught it)
        if (size == 0) return;
        if (!ok_) {
            std::memset(out, 0, size);
            return;
        }
        if (size > remaining()) {
            std::memset(out, 0, size);
            fail(DecodeErrc::truncated, field);
            return;
        }
        std::memcpy(out, data_.data() + position_, size);
        position_ += size;
    }

    ByteView data_;
    std::size_t position_ = 0;
    bool ok_ = true;
    DecodeError error_{};
};

class Writer {
  public:
    explicit Writer(Bytes& out) : out_(out) {}
    void u8(std::uint8_t value) { out_.push_back(value); }
    void u16(std::uint16_t value) {
        out_.push_back(static_cast<std::uint8_t>(value >> 8));
        out_.push_back(static_cast<std::uint8_t>(value));
    }
    void u32(std::uint32_t value) {
        u16(static_cast<std::uint16_t>(value >> 16));
        u16(static_cast<std::uint16_t>(value));
    }
    void u64(std::uint64_t value) {
        u32(static_cast<std::uint32_t>(value >> 32));
        u32(static_cast<std::uint32_t>(value));
    }
    void u32_host(std::uint32_t value) {
        std::uint8_t b[4];
        std::memcpy(b, &value, 4);
        out_.insert(out_.end(), b, b + 4);
    }
    void bytes(const std::uint8_t* data, std::size_t size) {
        out_.insert(out_.end(), data, data + size);
    }

  private:
    Bytes& out_;
};

}  // namespace mpsa::bgp_glue::wire
