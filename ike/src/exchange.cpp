#include "mpsa/ike/exchange.hpp"

#include <algorithm>

namespace mpsa::ike {

namespace {

constexpr std::uint16_t kEsnNone = 0;
constexpr std::uint16_t kKeNone = 0;

bool has_transform(const Proposal& proposal, TransformType type, std::uint16_t id,
                   std::optional<std::uint16_t> key_length = std::nullopt) {
    return std::any_of(proposal.transforms.begin(), proposal.transforms.end(),
                       [&](const Transform& t) {
                           return t.type == type && t.id == id && t.key_length() == key_length;
                       });
}

bool has_type(const Proposal& proposal, TransformType type) {
    return std::any_of(proposal.transforms.begin(), proposal.transforms.end(),
                       [&](const Transform& t) { return t.type == type; });
}

bool proposal_contains(const Proposal& proposal, const Suite& suite) {
    if (proposal.protocol != ProtocolId::kIke) return false;
    if (!has_transform(proposal, TransformType::kEncryption, static_cast<std::uint16_t>(suite.encr),
                       static_cast<std::uint16_t>(suite.encr_key_bits))) {
        return false;
    }
    if (suite.integ == IntegId::kNone) {
        // AEAD: no integrity transform, or only NONE
        for (const auto& t : proposal.transforms) {
            if (t.type == TransformType::kIntegrity && t.id != 0) return false;
        }
    } else if (!has_transform(proposal, TransformType::kIntegrity,
                              static_cast<std::uint16_t>(suite.integ))) {
        return false;
    }
    return has_transform(proposal, TransformType::kPrf, static_cast<std::uint16_t>(suite.prf)) &&
           has_transform(proposal, TransformType::kKeyExchange,
                         static_cast<std::uint16_t>(suite.dh));
}

// The cipher, integrity and ESN transforms of `suite` (any KE transforms left to the caller).
bool proposal_contains_cipher(const Proposal& proposal, const EspSuite& suite) {
    if (proposal.protocol != ProtocolId::kEsp) return false;
    if (!has_transform(proposal, TransformType::kEncryption, static_cast<std::uint16_t>(suite.encr),
                       static_cast<std::uint16_t>(suite.encr_key_bits))) {
        return false;
    }
    if (suite.integ == IntegId::kNone) {
        for (const auto& t : proposal.transforms) {
            if (t.type == TransformType::kIntegrity && t.id != 0) return false;
        }
    } else if (!has_transform(proposal, TransformType::kIntegrity,
                              static_cast<std::uint16_t>(suite.integ))) {
        return false;
    }
    return !has_type(proposal, TransformType::kEsn) ||
           has_transform(proposal, TransformType::kEsn, kEsnNone);
}

// Acceptable without a key exchange: no KE transform, or NONE among them.
bool proposal_allows_no_ke(const Proposal& proposal) {
    return !has_type(proposal, TransformType::kKeyExchange) ||
           has_transform(proposal, TransformType::kKeyExchange, kKeNone);
}

bool proposal_contains(const Proposal& proposal, const EspSuite& suite) {
    return proposal_contains_cipher(proposal, suite) && proposal_allows_no_ke(proposal);
}

// Exactly one transform of `type` (or none when allowed): its id.
std::optional<const Transform*> single(const Proposal& proposal, TransformType type) {
    const Transform* found = nullptr;
    for (const auto& t : proposal.transforms) {
        if (t.type != type) continue;
        if (found != nullptr) return std::nullopt;
        found = &t;
    }
    return found;
}

bool address_less(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

}  // namespace

Proposal ike_proposal(const Suite& suite, std::uint8_t number, const Bytes& spi) {
    Proposal p;
    p.number = number;
    p.protocol = ProtocolId::kIke;
    p.spi = spi;
    p.transforms.push_back(make_transform(TransformType::kEncryption,
                                          static_cast<std::uint16_t>(suite.encr),
                                          static_cast<std::uint16_t>(suite.encr_key_bits)));
    if (suite.integ != IntegId::kNone) {
        p.transforms.push_back(
            make_transform(TransformType::kIntegrity, static_cast<std::uint16_t>(suite.integ)));
    }
    p.transforms.push_back(
        make_transform(TransformType::kPrf, static_cast<std::uint16_t>(suite.prf)));
    p.transforms.push_back(
        make_transform(TransformType::kKeyExchange, static_cast<std::uint16_t>(suite.dh)));
    return p;
}

Proposal esp_proposal(const EspSuite& suite, std::uint8_t number, const Bytes& spi) {
    Proposal p;
    p.number = number;
    p.protocol = ProtocolId::kEsp;
    p.spi = spi;
    p.transforms.push_back(make_transform(TransformType::kEncryption,
                                          static_cast<std::uint16_t>(suite.encr),
                                          static_cast<std::uint16_t>(suite.encr_key_bits)));
    if (suite.integ != IntegId::kNone) {
        p.transforms.push_back(
            make_transform(TransformType::kIntegrity, static_cast<std::uint16_t>(suite.integ)));
    }
    p.transforms.push_back(make_transform(TransformType::kEsn, kEsnNone));
    return p;
}

Proposal esp_proposal(const EspSuite& suite, std::uint8_t number, const Bytes& spi,
                      std::span<const DhGroup> ke_groups) {
    Proposal p = esp_proposal(suite, number, spi);
    for (const auto group : ke_groups) {
        p.transforms.push_back(
            make_transform(TransformType::kKeyExchange, static_cast<std::uint16_t>(group)));
    }
    return p;
}

std::optional<Suite> suite_from_proposal(const Proposal& proposal) {
    if (proposal.protocol != ProtocolId::kIke) return std::nullopt;
    const auto encr = single(proposal, TransformType::kEncryption);
    const auto integ = single(proposal, TransformType::kIntegrity);
    const auto prf = single(proposal, TransformType::kPrf);
    const auto dh = single(proposal, TransformType::kKeyExchange);
    if (!encr || !integ || !prf || !dh || *encr == nullptr || *prf == nullptr || *dh == nullptr) {
        return std::nullopt;
    }
    Suite suite;
    const auto encr_id = encr_from_transform_id((*encr)->id);
    const auto bits = (*encr)->key_length();
    const auto prf_id = prf_from_transform_id((*prf)->id);
    const auto group = dh_group_from_transform_id((*dh)->id);
    if (!encr_id || !bits || !prf_id || !group) return std::nullopt;
    suite.encr = *encr_id;
    suite.encr_key_bits = *bits;
    suite.prf = *prf_id;
    suite.dh = *group;
    suite.integ = IntegId::kNone;
    if (*integ != nullptr) {
        const auto integ_id = integ_from_transform_id((*integ)->id);
        if (!integ_id) return std::nullopt;
        suite.integ = *integ_id;
    }
    if (suite.is_aead() != (suite.integ == IntegId::kNone)) return std::nullopt;
    if (!encr_key_bits_supported(suite.encr, suite.encr_key_bits)) return std::nullopt;
    return suite;
}

std::optional<EspSuite> esp_suite_from_proposal(const Proposal& proposal) {
    if (proposal.protocol != ProtocolId::kEsp) return std::nullopt;
    const auto encr = single(proposal, TransformType::kEncryption);
    const auto integ = single(proposal, TransformType::kIntegrity);
    if (!encr || !integ || *encr == nullptr) return std::nullopt;
    const auto encr_id = encr_from_transform_id((*encr)->id);
    const auto bits = (*encr)->key_length();
    if (!encr_id || !bits) return std::nullopt;
    EspSuite suite{.encr = *encr_id, .encr_key_bits = *bits, .integ = IntegId::kNone};
    if (*integ != nullptr) {
        const auto integ_id = integ_from_transform_id((*integ)->id);
        if (!integ_id) return std::nullopt;
        suite.integ = *integ_id;
    }
    if (encr_is_aead(suite.encr) != (suite.integ == IntegId::kNone)) return std::nullopt;
    if (!encr_key_bits_supported(suite.encr, suite.encr_key_bits)) return std::nullopt;
    if (!proposal_contains(proposal, suite)) return std::nullopt;  // PFS or ESN asked for
    return suite;
}

std::optional<IkeSelection> select_ike_suite(std::span<const Proposal> offered,
                                             std::span<const Suite> configured,
                                             std::optional<std::uint16_t> ke_group) {
    std::optional<IkeSelection> first;
    for (const auto& suite : configured) {
        for (const auto& proposal : offered) {
            if (!proposal_contains(proposal, suite)) continue;
            IkeSelection selection{suite, &proposal};
            if (!ke_group || static_cast<std::uint16_t>(suite.dh) == *ke_group) return selection;
            if (!first) first = selection;
        }
    }
    return first;
}

std::optional<EspSelection> select_esp_suite(std::span<const Proposal> offered,
                                             std::span<const EspSuite> configured) {
    for (const auto& suite : configured) {
        for (const auto& proposal : offered) {
            if (proposal.spi.size() == 4 && proposal_contains(proposal, suite)) {
                return EspSelection{suite, &proposal};
            }
        }
    }
    return std::nullopt;
}

std::optional<EspSelection> select_esp_suite_ignoring_ke(std::span<const Proposal> offered,
                                                         std::span<const EspSuite> configured) {
    for (const auto& suite : configured) {
        for (const auto& proposal : offered) {
            if (proposal.spi.size() == 4 && proposal_contains_cipher(proposal, suite)) {
                return EspSelection{suite, &proposal};
            }
        }
    }
    return std::nullopt;
}

std::optional<EspPfsSelection> select_esp_suite_pfs(std::span<const Proposal> offered,
                                                    std::span<const EspSuite> configured,
                                                    std::span<const DhGroup> pfs_groups,
                                                    std::optional<std::uint16_t> ke_group) {
    if (pfs_groups.empty()) {
        auto plain = select_esp_suite(offered, configured);
        if (!plain) return std::nullopt;
        return EspPfsSelection{plain->suite, plain->proposal, std::nullopt};
    }
    std::optional<EspPfsSelection> first;
    for (const auto& suite : configured) {
        for (const auto& proposal : offered) {
            if (proposal.spi.size() != 4 || !proposal_contains_cipher(proposal, suite)) continue;
            for (const auto group : pfs_groups) {
                const auto id = static_cast<std::uint16_t>(group);
                if (!has_transform(proposal, TransformType::kKeyExchange, id)) continue;
                EspPfsSelection selection{suite, &proposal, group};
                if (ke_group && *ke_group == id) return selection;
                if (!first) first = selection;
            }
        }
    }
    return first;
}

std::optional<TrafficSelector> intersect(const TrafficSelector& a, const TrafficSelector& b) {
    if (a.type != b.type) return std::nullopt;
    TrafficSelector out = a;
    if (a.ip_protocol == 0) {
        out.ip_protocol = b.ip_protocol;
    } else if (b.ip_protocol != 0 && b.ip_protocol != a.ip_protocol) {
        return std::nullopt;
    }
    out.start_port = std::max(a.start_port, b.start_port);
    out.end_port = std::min(a.end_port, b.end_port);
    if (out.start_port > out.end_port) return std::nullopt;
    out.start_address =
        address_less(a.start_address, b.start_address) ? b.start_address : a.start_address;
    out.end_address = address_less(a.end_address, b.end_address) ? a.end_address : b.end_address;
    if (address_less(out.end_address, out.start_address)) return std::nullopt;
    return out;
}

std::vector<TrafficSelector> narrow_traffic_selectors(std::span<const TrafficSelector> proposed,
                                                      std::span<const TrafficSelector> allowed) {
    std::vector<TrafficSelector> out;
    for (const auto& p : proposed) {
        for (const auto& a : allowed) {
            auto common = intersect(p, a);
            if (common && std::find(out.begin(), out.end(), *common) == out.end()) {
                out.push_back(*common);
            }
        }
    }
    return out;
}

bool traffic_selectors_within(std::span<const TrafficSelector> answered,
                              std::span<const TrafficSelector> proposed) {
    return std::all_of(answered.begin(), answered.end(), [&](const TrafficSelector& ts) {
        return std::any_of(proposed.begin(), proposed.end(), [&](const TrafficSelector& p) {
            const auto common = intersect(ts, p);
            return common && *common == ts;
        });
    });
}

TrafficSelector ipv4_prefix_selector(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d,
                                     unsigned prefix_length) {
    TrafficSelector ts;
    ts.type = TsType::kIpv4AddrRange;
    const std::uint32_t address = (std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) |
                                  (std::uint32_t{c} << 8) | std::uint32_t{d};
    const std::uint32_t mask = prefix_length == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_length);
    const std::uint32_t start = address & mask;
    const std::uint32_t end = start | ~mask;
    for (int i = 0; i < 4; ++i) {
        ts.start_address[static_cast<std::size_t>(i)] =
            static_cast<std::uint8_t>(start >> (24 - 8 * i));
        ts.end_address[static_cast<std::size_t>(i)] =
            static_cast<std::uint8_t>(end >> (24 - 8 * i));
    }
    return ts;
}

Bytes id_payload_body(const Identification& id) {
    Bytes body{static_cast<std::uint8_t>(id.type), 0, 0, 0};
    body.insert(body.end(), id.data.begin(), id.data.end());
    return body;
}

}  // namespace mpsa::ike
