// Netlink messages for XFRM (NETLINK_XFRM) and routes/rules/links (NETLINK_ROUTE), built with
// libnl-3's core message API because libnl-xfrm 3.7 drops XFRMA_IF_ID and XFRMA_SET_MARK.
// Pure: bytes in, values out, so it is unit-tested without a kernel.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include <mpsa/xfrm/diff.hpp>
#include <mpsa/xfrm/error.hpp>
#include <mpsa/xfrm/kernel.hpp>
#include <mpsa/xfrm/secret.hpp>

namespace mpsa::xfrm::codec {

// One complete netlink message. SA messages carry keys, so the buffer is wiped on destruction.
using WireMessage = SecretBuffer;

enum class Channel : std::uint8_t { kXfrm, kRoute };
[[nodiscard]] Channel channel_of(const Object& object);

// Device names <-> ifindex, from a link dump (routes and xfrm interfaces refer to devices).
struct LinkNames {
    std::map<std::string, std::uint32_t> index_by_name;
    std::map<std::uint32_t, std::string> name_by_index;
    void add(std::uint32_t index, const std::string& name) {
        index_by_name[name] = index;
        name_by_index[index] = name;
    }
};

// Requests with NLM_F_REQUEST|NLM_F_ACK and sequence number 0 (the sender numbers them). An SA
// update is two messages (delete, add); everything else is one.
[[nodiscard]] tl::expected<std::vector<WireMessage>, Error> encode(const Change& change,
                                                                   const LinkNames& links);

enum class DumpKind : std::uint8_t {
    kSas,
    kPolicies,
    kLinks,
    kRoutes4,
    kRoutes6,
    kRules4,
    kRules6
};
[[nodiscard]] Channel channel_of(DumpKind kind);
[[nodiscard]] WireMessage encode_dump_request(DumpKind kind);

// One message as received (dump entry or notification). nullopt for messages of other types,
// of objects we do not model (e.g. non-xfrm links, non-unicast routes) or malformed ones.
[[nodiscard]] std::optional<KernelEvent> decode_xfrm(std::span<const std::uint8_t> message);
[[nodiscard]] std::optional<KernelEvent> decode_route(std::span<const std::uint8_t> message,
                                                      const LinkNames& links);
// Counters of an SA from a dump entry (XFRM_MSG_NEWSA), read back for status and tests.
[[nodiscard]] std::optional<SaCounters> decode_sa_counters(std::span<const std::uint8_t> message);

// A link message: its ifindex and name (for LinkNames), whatever its kind.
struct LinkEntry {
    std::uint32_t index = 0;
    std::string name;
};
[[nodiscard]] std::optional<LinkEntry> decode_link_entry(std::span<const std::uint8_t> message);

}  // namespace mpsa::xfrm::codec
