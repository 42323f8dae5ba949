#include "mpsa/bgp_glue/zapi_protocol.hpp"

#include <gtest/gtest.h>

#include <set>

namespace mpsa::bgp_glue {
namespace {

TEST(ZapiProtocol, CommandNumbersThatMatterPerRelease) {
    // The facts' summary table: 8.4/9.0 | 9.1 | 10.0-10.1 | 10.2-10.6.
    struct Row {
        Command command;
        std::array<int, kFrrReleaseCount> numbers;
    };
    const Row rows[] = {
        {Command::RouteAdd, {8, 8, 8, 9, 9, 9, 9, 9, 9, 9}},
        {Command::RouteNotifyOwner, {10, 10, 10, 11, 11, 11, 11, 11, 11, 11}},
        {Command::RedistributeAdd, {11, 11, 11, 12, 12, 12, 12, 12, 12, 12}},
        {Command::RouterIdAdd, {15, 15, 15, 16, 16, 16, 16, 16, 16, 16}},
        {Command::Hello, {18, 18, 18, 19, 19, 19, 19, 19, 19, 19}},
        {Command::Capabilities, {19, 19, 19, 20, 20, 20, 20, 20, 20, 20}},
        {Command::NexthopUpdate, {22, 22, 22, 23, 23, 23, 23, 23, 23, 23}},
        {Command::RedistributeRouteAdd, {30, 30, 30, 31, 31, 31, 31, 31, 31, 31}},
        {Command::RedistributeRouteDel, {31, 31, 31, 32, 32, 32, 32, 32, 32, 32}},
        {Command::VrfAdd, {33, 33, 33, 34, 34, 33, 33, 33, 33, 33}},
        {Command::Error, {118, 118, 117, 118, 118, 120, 120, 120, 120, 120}},
        {Command::InterfaceDown, {5, 5, 5, 5, 5, 5, 5, 5, 5, 5}},
    };
    for (const Row& row : rows) {
        for (std::size_t i = 0; i < kFrrReleaseCount; ++i) {
            EXPECT_EQ(command_number(kAllFrrReleases[i], row.command), row.numbers[i])
                << command_name(row.command) << " in " << to_string(kAllFrrReleases[i]);
        }
    }
}

TEST(ZapiProtocol, CommandsMissingFromARelease) {
    EXPECT_FALSE(command_number(FrrRelease::v8_4, Command::TcQdiscInstall));
    EXPECT_EQ(command_number(FrrRelease::v9_0, Command::TcQdiscInstall), 137);
    EXPECT_FALSE(command_number(FrrRelease::v10_2, Command::VrfUnregister));
    EXPECT_FALSE(command_number(FrrRelease::v10_2, Command::NexthopLookup));
    EXPECT_EQ(command_number(FrrRelease::v10_3, Command::NexthopLookup), 40);
}

TEST(ZapiProtocol, NumbersAreUniqueAndRoundTripInEveryRelease) {
    for (FrrRelease release : kAllFrrReleases) {
        std::set<std::uint16_t> seen;
        for (std::uint16_t i = 0; i <= static_cast<std::uint16_t>(Command::NexthopLookup); ++i) {
            const auto command = static_cast<Command>(i);
            const auto number = command_number(release, command);
            if (!number) continue;
            EXPECT_TRUE(seen.insert(*number).second)
                << "duplicate " << *number << " in " << to_string(release);
            EXPECT_EQ(command_from_number(release, *number), command);
        }
        EXPECT_FALSE(command_from_number(release, 999));
    }
}

TEST(ZapiProtocol, RouteTypesShiftIn10) {
    EXPECT_EQ(route_type_number(FrrRelease::v8_4, RouteType::Bgp), 9);
    EXPECT_EQ(route_type_number(FrrRelease::v9_1, RouteType::Nhrp), 12);
    EXPECT_EQ(route_type_number(FrrRelease::v9_1, RouteType::Table), 15);
    EXPECT_EQ(route_type_number(FrrRelease::v9_1, RouteType::Sharp), 23);
    EXPECT_EQ(route_type_number(FrrRelease::v9_1, RouteType::Pbr), 24);
    EXPECT_EQ(route_type_number(FrrRelease::v9_1, RouteType::Nhg), 28);
    EXPECT_EQ(route_type_number(FrrRelease::v9_1, RouteType::Srte), 29);
    EXPECT_EQ(route_type_number(FrrRelease::v9_1, RouteType::All), 30);
    EXPECT_FALSE(route_type_number(FrrRelease::v9_1, RouteType::Local));
    EXPECT_FALSE(route_type_number(FrrRelease::v9_1, RouteType::TableDirect));
    EXPECT_EQ(route_type_number(FrrRelease::v10_0, RouteType::Local), 3);
    EXPECT_EQ(route_type_number(FrrRelease::v10_0, RouteType::Bgp), 10);
    EXPECT_EQ(route_type_number(FrrRelease::v10_6, RouteType::Nhrp), 13);
    EXPECT_EQ(route_type_number(FrrRelease::v10_6, RouteType::Sharp), 24);
    EXPECT_EQ(route_type_number(FrrRelease::v10_6, RouteType::TableDirect), 31);
    EXPECT_EQ(route_type_number(FrrRelease::v10_6, RouteType::All), 32);
    EXPECT_EQ(route_type_from_number(FrrRelease::v8_4, 9), RouteType::Bgp);
    EXPECT_EQ(route_type_from_number(FrrRelease::v10_0, 9), RouteType::Isis);
    EXPECT_FALSE(route_type_from_number(FrrRelease::v8_4, 31));
    EXPECT_EQ(route_type_from_name("bgp"), RouteType::Bgp);
    EXPECT_FALSE(route_type_from_name("nope"));
}

TEST(ZapiProtocol, ParsesReleases) {
    EXPECT_EQ(parse_frr_release("8.4.4"), FrrRelease::v8_4);
    EXPECT_EQ(parse_frr_release("8.4"), FrrRelease::v8_4);
    EXPECT_EQ(parse_frr_release("frr-10.4.0"), FrrRelease::v10_4);
    EXPECT_EQ(parse_frr_release("10.2.1"), FrrRelease::v10_2);
    EXPECT_EQ(parse_frr_release("9.1-dev"), FrrRelease::v9_1);
    EXPECT_EQ(parse_frr_release("10.6"), FrrRelease::v10_6);
    for (const char* bad : {"", "8", "8.", "x.4", "8.5.0", "7.5", "11.0", "10.7", "10.61"}) {
        const auto parsed = parse_frr_release(bad);
        ASSERT_FALSE(parsed) << bad;
        EXPECT_NE(parsed.error().find(bad), std::string::npos) << parsed.error();
    }
}

TEST(ZapiProtocol, LayoutDifferences) {
    EXPECT_TRUE(wire_layout(FrrRelease::v9_1).hello_has_receive_notify);
    EXPECT_FALSE(wire_layout(FrrRelease::v10_0).hello_has_receive_notify);
    EXPECT_FALSE(wire_layout(FrrRelease::v10_0).nexthop_weight_u64);
    EXPECT_TRUE(wire_layout(FrrRelease::v10_1).nexthop_weight_u64);
    EXPECT_FALSE(wire_layout(FrrRelease::v10_2).nht_nexthop_count_u16);
    EXPECT_TRUE(wire_layout(FrrRelease::v10_3).nht_nexthop_count_u16);
    EXPECT_FALSE(wire_layout(FrrRelease::v8_4).nexthop_label_type);
    EXPECT_TRUE(wire_layout(FrrRelease::v9_0).nexthop_label_type);
}

}  // namespace
}  // namespace mpsa::bgp_glue
