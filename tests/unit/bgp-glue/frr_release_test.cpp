#include "mpsa/bgp_glue/frr_release.hpp"

#include <gtest/gtest.h>

namespace mpsa::bgp_glue {
namespace {

TEST(FrrRelease, ParsesShowVersion) {
    EXPECT_EQ(parse_show_version("FRRouting 8.4.4 (cpe1) on Linux(6.1.0-28-amd64).\n"
                                 "Copyright 1996-2005 Kunihiro Ishiguro, et al.\n"),
              FrrRelease::v8_4);
    EXPECT_EQ(parse_show_version("FRRouting 10.2.1 (r1) on Linux(6.8.0).\n"), FrrRelease::v10_2);
    const auto unknown = parse_show_version("FRRouting 7.5.1 (r1) on Linux(5.10).\n");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().find("7.5.1"), std::string::npos) << unknown.error();
    const auto garbage = parse_show_version("% Unknown command\n");
    ASSERT_FALSE(garbage);
    EXPECT_NE(garbage.error().find("Unknown command"), std::string::npos) << garbage.error();
}

TEST(FrrRelease, ConfiguredReleaseWins) {
    EXPECT_EQ(resolve_frr_release(std::string("10.6"), VtyshCommand{"/nonexistent/vtysh", {}}),
              FrrRelease::v10_6);
    const auto bad =
        resolve_frr_release(std::string("8.5"), VtyshCommand{"/nonexistent/vtysh", {}});
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find("8.5"), std::string::npos);
}

TEST(FrrRelease, DetectionFailureIsAClearError) {
    const auto result = detect_frr_release(VtyshCommand{"/nonexistent/vtysh", {}});
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().find("/nonexistent/vtysh"), std::string::npos) << result.error();
}

}  // namespace
}  // namespace mpsa::bgp_glue
