#include "mpsa/bgp_glue/zapi_framer.hpp"

namespace mpsa::bgp_glue {

void ZapiFramer::feed(ByteView data) {
    // Compact lazily: the views next() returned stay valid until the following feed().
    if (consumed_ > 0) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
        consumed_ = 0;
    }
    buffer_.insert(buffer_.end(), data.begin(), data.end());
}

std::optional<tl::expected<ByteView, DecodeError>> ZapiFramer::next() {
    if (error_) return tl::unexpected(*error_);
    const ByteView pending = ByteView(buffer_).subspan(consumed_);
    if (pending.size() < kZapiHeaderSize) return std::nullopt;
    const auto header = decode_header(pending);
    if (!header) {
        error_ = header.error();
        return tl::unexpected(*error_);
    }
    if (pending.size() < header->length) return std::nullopt;
    consumed_ += header->length;
    return pending.first(header->length);
}

void ZapiFramer::reset() {
    buffer_.clear();
    consumed_ = 0;
    error_.reset();
}

}  // namespace mpsa::bgp_glue
