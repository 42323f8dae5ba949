#include <algorithm>

#include <mpsa/xfrm/objects.hpp>
#include <mpsa/xfrm/ownership.hpp>

namespace mpsa::xfrm {

namespace {

bool same_key(const SecretBuffer& a, const SecretBuffer& b) {
    return a == b;
}

bool same(const std::optional<AeadAlgorithm>& a, const std::optional<AeadAlgorithm>& b) {
    if (!a || !b) return !a && !b;
    return a->name == b->name && a->icv_bits == b->icv_bits && same_key(a->key, b->key);
}
bool same(const std::optional<CipherAlgorithm>& a, const std::optional<CipherAlgorithm>& b) {
    if (!a || !b) return !a && !b;
    return a->name == b->name && same_key(a->key, b->key);
}
bool same(const std::optional<AuthAlgorithm>& a, const std::optional<AuthAlgorithm>& b) {
    if (!a || !b) return !a && !b;
    return a->name == b->name && a->truncation_bits == b->truncation_bits &&
           same_key(a->key, b->key);
}

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
// clang 14 has no aggregate CTAD (P1816) yet: spell the deduction guide out.
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

const char* direction_name(Direction dir) {
    switch (dir) {
        case Direction::kIn:
            return "in";
        case Direction::kOut:
            return "out";
        case Direction::kFwd:
            return "fwd";
    }
    return "?";
}

}  // namespace

bool operator==(const Sa& a, const Sa& b) {
    return a.src == b.src && a.dst == b.dst && a.spi == b.spi && a.proto == b.proto &&
           a.mode == b.mode && a.reqid == b.reqid && same(a.aead, b.aead) &&
           same(a.cipher, b.cipher) && same(a.auth, b.auth) && a.replay_window == b.replay_window &&
           a.encap == b.encap && a.if_id == b.if_id && a.mark == b.mark &&
           a.output_mark == b.output_mark && a.lifetime == b.lifetime && a.selector == b.selector;
}

void State::add(XfrmInterface interface) {
    auto name = interface.name;
    interfaces.insert_or_assign(std::move(name), std::move(interface));
}

void State::add(Sa sa) {
    sa.replay_window = std::min<std::uint32_t>(sa.replay_window, 32);
    if (sa.output_mark && sa.output_mark->value == 0 && sa.output_mark->mask == 0) {
        sa.output_mark.reset();
    }
    const auto key = sa.key();
    sas.insert_or_assign(key, std::move(sa));
}

void State::add(Policy policy) {
    const auto key = policy.key();
    policies.insert_or_assign(key, std::move(policy));
}

void State::add(Route route) {
    if (route.dst.family() == Family::kIpv6 && route.metric == 0) route.metric = 1024;
    const auto key = route.key();
    routes.insert_or_assign(key, std::move(route));
}

void State::add(Rule rule) {
    if (rule.fwmark != 0 && rule.fwmask == 0) rule.fwmask = 0xffffffff;
    rules.insert(std::move(rule));
}

void State::add(Object object) {
    std::visit([this](auto&& value) { add(std::move(value)); }, std::move(object));
}

void State::remove(const Object& object) {
    std::visit(Overloaded{
                   [this](const XfrmInterface& v) { interfaces.erase(v.name); },
                   [this](const Sa& v) { sas.erase(v.key()); },
                   [this](const Policy& v) { policies.erase(v.key()); },
                   [this](const Route& v) {
                       Route normalised = v;
                       if (normalised.dst.family() == Family::kIpv6 && normalised.metric == 0) {
                           normalised.metric = 1024;
                       }
                       routes.erase(normalised.key());
                   },
                   [this](const Rule& v) {
                       Rule normalised = v;
                       if (normalised.fwmark != 0 && normalised.fwmask == 0) {
                           normalised.fwmask = 0xffffffff;
                       }
                       rules.erase(normalised);
                   },
               },
               object);
}

std::string describe(const Object& object) {
    return std::visit(
        Overloaded{
            [](const XfrmInterface& v) {
                return "xfrm interface " + v.name + " if_id " + std::to_string(v.if_id);
            },
            [](const Sa& v) {
                return "SA " + v.src.to_string() + "->" + v.dst.to_string() + " spi " +
                       std::to_string(v.spi) + " if_id " + std::to_string(v.if_id);
            },
            [](const Policy& v) {
                return std::string("policy ") + direction_name(v.dir) + " " +
                       v.selector.src.to_string() + "->" + v.selector.dst.to_string() + " if_id " +
                       std::to_string(v.if_id);
            },
            [](const Route& v) {
                return "route " + v.dst.to_string() + " table " + std::to_string(v.table) +
                       " dev " + v.dev + " metric " + std::to_string(v.metric);
            },
            [](const Rule& v) {
                return "rule pref " + std::to_string(v.priority) + " table " +
                       std::to_string(v.table) + (v.family == Family::kIpv6 ? " (IPv6)" : "");
            },
        },
        object);
}

}  // namespace mpsa::xfrm
