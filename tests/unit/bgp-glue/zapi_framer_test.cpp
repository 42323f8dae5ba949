#include "mpsa/bgp_glue/zapi_framer.hpp"

#include <gtest/gtest.h>

#include "hex.hpp"

namespace mpsa::bgp_glue {
namespace {

using test::hex;

Bytes three_messages() {
    Bytes stream = hex("00 0c fe 06 00 00 00 00 00 0f 00 01");
    const Bytes second = hex("00 0a fe 06 00 00 00 00 00 12");
    const Bytes third = hex("00 0e fe 06 00 00 00 00 00 0b 02 09 00 00");
    stream.insert(stream.end(), second.begin(), second.end());
    stream.insert(stream.end(), third.begin(), third.end());
    return stream;
}

std::vector<Bytes> drain(ZapiFramer& framer) {
    std::vector<Bytes> out;
    while (auto message = framer.next()) {
        EXPECT_TRUE(*message);
        if (!*message) break;
        out.emplace_back((*message)->begin(), (*message)->end());
    }
    return out;
}

TEST(ZapiFramer, SplitsAStreamFedInOneChunk) {
    ZapiFramer framer;
    framer.feed(three_messages());
    const auto messages = drain(framer);
    ASSERT_EQ(messages.size(), 3u);
    EXPECT_EQ(messages[0].size(), 12u);
    EXPECT_EQ(messages[1].size(), 10u);
    EXPECT_EQ(messages[2].size(), 14u);
    EXPECT_EQ(framer.buffered(), 0u);
}

TEST(ZapiFramer, EverySplitPointGivesTheSameMessages) {
    const Bytes stream = three_messages();
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        ZapiFramer framer;
        framer.feed(ByteView(stream).first(cut));
        auto messages = drain(framer);
        framer.feed(ByteView(stream).subspan(cut));
        for (auto& message : drain(framer)) messages.push_back(std::move(message));
        ASSERT_EQ(messages.size(), 3u) << cut;
        EXPECT_EQ(messages[2], hex("00 0e fe 06 00 00 00 00 00 0b 02 09 00 00")) << cut;
    }
}

TEST(ZapiFramer, ByteByByte) {
    const Bytes stream = three_messages();
    ZapiFramer framer;
    std::size_t count = 0;
    for (std::uint8_t byte : stream) {
        framer.feed(ByteView(&byte, 1));
        count += drain(framer).size();
    }
    EXPECT_EQ(count, 3u);
}

TEST(ZapiFramer, BadHeaderIsStickyUntilReset) {
    ZapiFramer framer;
    framer.feed(hex("00 0a fe 06 00 00 00 00 00 12 00 0a fd 06 00 00 00 00 00 12"));
    ASSERT_TRUE(framer.next().value());
    const auto bad = framer.next();
    ASSERT_TRUE(bad && !*bad);
    EXPECT_EQ(bad->error().code, DecodeErrc::bad_marker);
    framer.feed(hex("00 0a fe 06 00 00 00 00 00 12"));
    EXPECT_FALSE(framer.next().value());
    framer.reset();
    framer.feed(hex("00 0a fe 06 00 00 00 00 00 12"));
    EXPECT_TRUE(framer.next().value());
}

TEST(ZapiFramer, OversizedAndUndersizedLengths) {
    for (const char* header : {"ff ff fe 06 00 00 00 00 00 12", "00 02 fe 06 00 00 00 00 00 12",
                               "00 0a fe 07 00 00 00 00 00 12"}) {
        ZapiFramer framer;
        framer.feed(hex(header));
        const auto result = framer.next();
        ASSERT_TRUE(result && !*result) << header;
    }
    // A length right at the maximum waits for its bytes instead of failing.
    ZapiFramer framer;
    framer.feed(hex("40 00 fe 06 00 00 00 00 00 12"));
    EXPECT_FALSE(framer.next().has_value());
    framer.feed(Bytes(kZapiMaxMessageSize - kZapiHeaderSize, 0));
    const auto full = framer.next();
    ASSERT_TRUE(full && *full);
    EXPECT_EQ((*full)->size(), kZapiMaxMessageSize);
}

}  // namespace
}  // namespace mpsa::bgp_glue
