// Splits the byte stream from zebra's socket into whole ZAPI messages (pure, no I/O).
#pragma once

#include <cstddef>
#include <optional>

#include <tl/expected.hpp>

#include "mpsa/bgp_glue/zapi_codec.hpp"

namespace mpsa::bgp_glue {

class ZapiFramer {
  public:
    // Appends bytes as they were read (any split: partial headers, several messages at once).
    void feed(ByteView data);

    // The next complete message (header included), nullopt while more bytes are needed. A bad
    // header (marker, version, length) leaves the stream out of sync: the error is sticky until
    // reset(), and the caller drops the connection, as zebra itself does.
    [[nodiscard]] std::optional<tl::expected<ByteView, DecodeError>> next();

    // Forget everything (after a reconnect).
    void reset();
    [[nodiscard]] std::size_t buffered() const { return buffer_.size() - consumed_; }

  private:
    Bytes buffer_;
    std::size_t consumed_ = 0;
    std::optional<DecodeError> error_;
};

}  // namespace mpsa::bgp_glue
