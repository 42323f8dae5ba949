#include "mpsa/ike/suite.hpp"

#include <optional>
#include <utility>

namespace mpsa::ike {
namespace {

struct EncrChoice {
    EncrId id;
    unsigned key_bits;
};

std::optional<EncrChoice> encr_keyword(std::string_view k) {
    if (k == "aes" || k == "aes128") return EncrChoice{EncrId::kAesCbc, 128};
    if (k == "aes256") return EncrChoice{EncrId::kAesCbc, 256};
    if (k == "aes128gcm16" || k == "aes128gcm128" || k == "aes128gcm")
        return EncrChoice{EncrId::kAesGcm16, 128};
    if (k == "aes256gcm16" || k == "aes256gcm128" || k == "aes256gcm")
        return EncrChoice{EncrId::kAesGcm16, 256};
    return std::nullopt;
}

// Integrity keyword and the PRF strongSwan derives from it.
std::optional<std::pair<IntegId, PrfId>> integ_keyword(std::string_view k) {
    if (k == "sha1" || k == "sha") return std::pair{IntegId::kHmacSha1_96, PrfId::kHmacSha1};
    if (k == "sha256" || k == "sha2_256")
        return std::pair{IntegId::kHmacSha2_256_128, PrfId::kHmacSha2_256};
    if (k == "sha384" || k == "sha2_384")
        return std::pair{IntegId::kHmacSha2_384_192, PrfId::kHmacSha2_384};
    if (k == "sha512" || k == "sha2_512")
        return std::pair{IntegId::kHmacSha2_512_256, PrfId::kHmacSha2_512};
    return std::nullopt;
}

std::optional<PrfId> prf_keyword(std::string_view k) {
    if (k == "prfsha1") return PrfId::kHmacSha1;
    if (k == "prfsha256") return PrfId::kHmacSha2_256;
    if (k == "prfsha384") return PrfId::kHmacSha2_384;
    if (k == "prfsha512") return PrfId::kHmacSha2_512;
    return std::nullopt;
}

std::optional<DhGroup> dh_keyword(std::string_view k) {
    if (k == "modp2048") return DhGroup::kModp2048;
    if (k == "ecp256") return DhGroup::kEcp256;
    if (k == "ecp384") return DhGroup::kEcp384;
    if (k == "x25519" || k == "curve25519") return DhGroup::kCurve25519;
    return std::nullopt;
}

PrfId prf_implied_by(IntegId integ) {
    switch (integ) {
        case IntegId::kHmacSha1_96:
            return PrfId::kHmacSha1;
        case IntegId::kHmacSha2_256_128:
            return PrfId::kHmacSha2_256;
        case IntegId::kHmacSha2_384_192:
            return PrfId::kHmacSha2_384;
        case IntegId::kHmacSha2_512_256:
            return PrfId::kHmacSha2_512;
        case IntegId::kNone:
            break;
    }
    return PrfId::kHmacSha2_256;
}

tl::unexpected<SuiteParseFailure> fail(SuiteParseError error, std::string_view keyword = {}) {
    return tl::unexpected(SuiteParseFailure{error, std::string(keyword)});
}

}  // namespace

std::string Suite::to_string() const {
    std::string out(encr_name(encr, encr_key_bits));
    if (!is_aead()) {
        out += '-';
        out += integ_name(integ);
    }
    if (is_aead() || prf_implied_by(integ) != prf) {
        out += '-';
        out += prf_name(prf);
    }
    out += '-';
    out += dh_group_name(dh);
    return out;
}

tl::expected<Suite, SuiteParseFailure> parse_suite(std::string_view proposal) {
    std::optional<EncrChoice> encr;
    std::optional<std::pair<IntegId, PrfId>> integ;
    std::optional<PrfId> prf;
    std::optional<DhGroup> dh;
    std::size_t start = 0;
    while (start <= proposal.size()) {
        std::size_t end = proposal.find('-', start);
        if (end == std::string_view::npos) end = proposal.size();
        const std::string_view keyword = proposal.substr(start, end - start);
        start = end + 1;
        if (auto e = encr_keyword(keyword)) {
            if (encr) return fail(SuiteParseError::kDuplicate, keyword);
            encr = e;
        } else if (auto i = integ_keyword(keyword)) {
            if (integ) return fail(SuiteParseError::kDuplicate, keyword);
            integ = i;
        } else if (auto p = prf_keyword(keyword)) {
            if (prf) return fail(SuiteParseError::kDuplicate, keyword);
            prf = p;
        } else if (auto d = dh_keyword(keyword)) {
            if (dh) return fail(SuiteParseError::kDuplicate, keyword);
            dh = d;
        } else {
            return fail(SuiteParseError::kUnknownKeyword, keyword);
        }
    }
    if (!encr) return fail(SuiteParseError::kMissingEncryption);
    Suite suite;
    suite.encr = encr->id;
    suite.encr_key_bits = encr->key_bits;
    if (suite.is_aead()) {
        suite.integ = IntegId::kNone;
    } else {
        if (!integ) return fail(SuiteParseError::kMissingIntegrity);
        suite.integ = integ->first;
    }
    if (prf) {
        suite.prf = *prf;
    } else if (integ) {
        suite.prf = integ->second;
    } else {
        return fail(SuiteParseError::kMissingPrf);
    }
    if (!dh) return fail(SuiteParseError::kMissingDhGroup);
    suite.dh = *dh;
    return suite;
}

}  // namespace mpsa::ike
