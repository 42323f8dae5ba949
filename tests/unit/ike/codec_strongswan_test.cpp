// Wire compatibility with strongSwan 5.9.8: datagrams captured between two charons (PSK,
// aes128gcm16-prfsha256-x25519, fragment_size = 120 so IKE_AUTH is split into SKF fragments),
// with the session's SK_ei/SK_er taken from charon's ike=4 log. Throwaway test keys.
// Checks that we decode every message, re-encode it octet for octet, and open and reassemble
// strongSwan's AES-GCM SK and SKF payloads (AAD, IV, padding as strongSwan builds them).
#include <deque>
#include <memory>

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "mpsa/ike/fragment.hpp"
#include "mpsa/ike/message.hpp"
#include "mpsa/ike/message_protection.hpp"
#include "mpsa/ike/notify_types.hpp"

namespace mpsa::ike {
namespace {

const char* const kSkEi = "53c5c309c1d3a7d3d06d9f6e1337b3ce572cfbe4";
const char* const kSkEr = "3a340bcbe1a259176001f006d9170cca50a830e5";
const char* const kDatagrams[] = {
    "17ef8f1075fd1aa700000000000000002120220800000000000000e82200002800000024010100030300000c"
    "01000014800e00800300000802000005000000080400001f28000028001f0000886358554bce09f2305c2fee"
    "e2e8bcb2128924ae9e2830734116c7aed382e81029000024573fa432c0d0746932cdc61025c6dfdf24945eba"
    "c540b6bf1ddd043976b0a2a22900001c000040048218d9eb83c1a81ca1987df390866d6f9d4204b22900001c"
    "00004005acf5eedaebf8269863d93fd3058c98fef6044605290000080000402e290000100000402f00020003"
    "000400050000000800004016",
    "17ef8f1075fd1aa793e06b2ad18916232120222000000000000000f02200002800000024010100030300000c"
    "01000014800e00800300000802000005000000080400001f28000028001f00003215b723b65089d54051c96f"
    "2786add9410f821748fe59a8d09426669c344c1c290000242b765869849ad5d88f72a1f41ba185061b00b832"
    "2cd460e1195c816f265a06ec2900001c000040040d075c12a6d49d31673ab5a91898c12cef7bb74a2900001c"
    "00004005b274ce18ad5fd8a0171bf90b45917fb5139c8aee290000080000402e290000100000402f00020003"
    "0004000529000008000040220000000800004014",
    "17ef8f1075fd1aa793e06b2ad18916233520230800000001000000582300003c0001000559d4ad1baa3c7ddd"
    "c80ce6e435e396537504d09a6676bc2683f4bf71f863f96d2b87f985f5a6990355b72612e73c5898b525e9c5",
    "17ef8f1075fd1aa793e06b2ad18916233520230800000001000000580000003c0002000559d4ad1baa3c7dde"
    "64753aecfef4f7a4d416127c46aed27de58770cdb104dbbe8060745d09dbc06c1616499453a4c4a5ee8bc860",
    "17ef8f1075fd1aa793e06b2ad18916233520230800000001000000580000003c0003000559d4ad1baa3c7ddf"
    "2046610f3e8ddd6286e0ef009eb8f61d619a73a61bc3a9cb191dd968cef9a36d37501809dec05f7b16ce0f64",
    "17ef8f1075fd1aa793e06b2ad18916233520230800000001000000580000003c0004000559d4ad1baa3c7dd8"
    "ed80dac6ff5aa1f31c0058d7ca898395c6c7cbf1a98c957fb0a60f2de8ba6228831f1bb0b6911219700b30a7",
    "17ef8f1075fd1aa793e06b2ad1891623352023080000000100000051000000350005000559d4ad1baa3c7dd9"
    "2895d7f9be28fed76eb59f19ee1cefe0c1ecf5739217b2d869a250cd2bc98fddef0f493725",
    "17ef8f1075fd1aa793e06b2ad18916233520232000000001000000582400003c000100041c21edb61d7a1161"
    "d1162646979862581fb923f2fe1da4311521799b797c62bf25fa522d922e2007fd2b12998c2fd5d340f5684e",
    "17ef8f1075fd1aa793e06b2ad18916233520232000000001000000580000003c000200041c21edb61d7a1162"
    "361470cb4728406df69229ede722cd378dc3ae38c9a403767f3aec618454a2fc0c0f57e750a6fad386521953",
    "17ef8f1075fd1aa793e06b2ad18916233520232000000001000000580000003c000300041c21edb61d7a1163"
    "fd37a6015ddbe850e0fda95e8e1154d1ac43bb9fd1e744bad4edb8d46b875e992e749a6fce72a8a70b761f7b",
    "17ef8f1075fd1aa793e06b2ad189162335202320000000010000004000000024000400041c21edb61d7a1164"
    "fdaa005ae1602db0c5f9da8d037280fb2c92c660",
    "17ef8f1075fd1aa793e06b2ad18916232e2025000000000000000051290000359c21edb71d7a11607d43e200"
    "b18d14ebdb015cc91c7ac26a3c0b0810db670d6b9005a763e554a92183d55083968bf1bdc6",
    "17ef8f1075fd1aa793e06b2ad18916232e20252800000000000000390000001dd9d4ad1aaa3c7ddc5f169853"
    "d0eb8d44234a2d2143400dd9bf",
    "17ef8f1075fd1aa793e06b2ad18916232e20250000000001000000412a0000259c21edb61d7a1160f6e31835"
    "5b452fe1fda93af7f20c1cbb883c53ac8085d1cf35",
    "17ef8f1075fd1aa793e06b2ad18916232e20252800000001000000390000001dd9d4ad1baa3c7ddcfc0ad2a4"
    "0ed93043820022e00fd4c7484a",
};

// AES-128-GCM with a 16-octet ICV per RFC 5282: key | 4-octet salt, nonce = salt | 8-octet IV.
// seal() takes its IVs from replay_ivs when given, so a re-seal can be compared octet for octet.
class Aes128GcmTransform final : public SkTransform {
  public:
    explicit Aes128GcmTransform(const Bytes& key_and_salt)
        : key_(key_and_salt.begin(), key_and_salt.begin() + 16),
          salt_(key_and_salt.begin() + 16, key_and_salt.end()) {}

    [[nodiscard]] std::size_t iv_length() const override { return 8; }
    [[nodiscard]] std::size_t icv_length() const override { return 16; }
    [[nodiscard]] std::size_t block_size() const override { return 1; }

    [[nodiscard]] tl::expected<Bytes, SkError> seal(ByteView aad, ByteView plaintext) override {
        Bytes iv(8, 0);
        if (!replay_ivs.empty()) {
            iv = replay_ivs.front();
            replay_ivs.pop_front();
        }
        Bytes body = iv;
        body.resize(8 + plaintext.size() + 16);
        auto ctx = context();
        int n = 0;
        if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr) != 1 ||
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), nonce(iv).data()) != 1 ||
            EVP_EncryptUpdate(ctx.get(), nullptr, &n, aad.data(), static_cast<int>(aad.size())) !=
                1 ||
            EVP_EncryptUpdate(ctx.get(), body.data() + 8, &n, plaintext.data(),
                              static_cast<int>(plaintext.size())) != 1 ||
            EVP_EncryptFinal_ex(ctx.get(), body.data() + 8 + n, &n) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16,
                                body.data() + 8 + plaintext.size()) != 1) {
            return tl::unexpected(SkError::kCrypto);
        }
        return body;
    }

    [[nodiscard]] tl::expected<Bytes, SkError> open(ByteView aad, ByteView body) override {
        if (body.size() < 8 + 16) return tl::unexpected(SkError::kTooShort);
        const Bytes iv(body.begin(), body.begin() + 8);
        const ByteView ciphertext = body.subspan(8, body.size() - 24);
        Bytes tag(body.end() - 16, body.end());
        Bytes plaintext(ciphertext.size());
        auto ctx = context();
        int n = 0;
        if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr) != 1 ||
            EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), nonce(iv).data()) != 1 ||
            EVP_DecryptUpdate(ctx.get(), nullptr, &n, aad.data(), static_cast<int>(aad.size())) !=
                1 ||
            EVP_DecryptUpdate(ctx.get(), plaintext.data(), &n, ciphertext.data(),
                              static_cast<int>(ciphertext.size())) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag.data()) != 1) {
            return tl::unexpected(SkError::kCrypto);
        }
        if (EVP_DecryptFinal_ex(ctx.get(), plaintext.data() + n, &n) != 1) {
            return tl::unexpected(SkError::kIntegrityFailed);
        }
        return plaintext;
    }

    std::deque<Bytes> replay_ivs;

  private:
    using Ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
    static Ctx context() { return Ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free); }
    [[nodiscard]] Bytes nonce(const Bytes& iv) const {
        Bytes n = salt_;
        n.insert(n.end(), iv.begin(), iv.end());
        return n;
    }

    Bytes key_;
    Bytes salt_;
};

std::vector<Bytes> datagrams() {
    std::vector<Bytes> out;
    for (const char* hex : kDatagrams) out.push_back(from_hex(hex));
    return out;
}

// Both directions' transforms. Messages from the original initiator (I flag) are protected with
// SK_ei, the others with SK_er.
struct SessionKeys {
    Aes128GcmTransform ei{from_hex(kSkEi)};
    Aes128GcmTransform er{from_hex(kSkEr)};
    Aes128GcmTransform& for_header(const Header& header) { return header.initiator ? ei : er; }
};

TEST(CodecStrongswan, EveryDatagramDecodesAndReencodesOctetForOctet) {
    const auto all = datagrams();
    ASSERT_EQ(all.size(), 15u);
    for (std::size_t i = 0; i < all.size(); ++i) {
        DecodeCounters counters;
        auto decoded = decode(all[i], &counters);
        ASSERT_TRUE(decoded.has_value()) << i << ": " << decode_error_name(decoded.error().error)
                                         << " @" << decoded.error().offset;
        EXPECT_EQ(counters.unknown_payloads_skipped, 0u) << i;
        auto encoded = encode(*decoded);
        ASSERT_TRUE(encoded.has_value()) << i;
        EXPECT_EQ(to_hex(*encoded), to_hex(all[i])) << i;
    }
}

TEST(CodecStrongswan, IkeSaInitRequestContents) {
    auto request = decode(datagrams()[0]);
    ASSERT_TRUE(request.has_value());
    EXPECT_EQ(request->header.exchange_type, ExchangeType::kIkeSaInit);
    EXPECT_TRUE(request->header.initiator);
    EXPECT_FALSE(request->header.response);
    EXPECT_EQ(request->header.responder_spi, 0u);
    const auto* sa = find_payload<SaPayload>(request->payloads);
    ASSERT_NE(sa, nullptr);
    ASSERT_EQ(sa->proposals.size(), 1u);
    const Proposal& proposal = sa->proposals[0];
    EXPECT_EQ(proposal.protocol, ProtocolId::kIke);
    EXPECT_TRUE(proposal.spi.empty());
    ASSERT_EQ(proposal.transforms.size(), 3u);  // AEAD: no INTEG transform
    EXPECT_EQ(proposal.transforms[0].type, TransformType::kEncryption);
    EXPECT_EQ(proposal.transforms[0].id, 20);  // ENCR_AES_GCM_16
    EXPECT_EQ(proposal.transforms[0].key_length(), 128);
    EXPECT_EQ(proposal.transforms[1].type, TransformType::kPrf);
    EXPECT_EQ(proposal.transforms[1].id, 5);  // PRF_HMAC_SHA2_256
    EXPECT_EQ(proposal.transforms[2].type, TransformType::kKeyExchange);
    EXPECT_EQ(proposal.transforms[2].id, 31);  // Curve25519
    const auto* ke = find_payload<KePayload>(request->payloads);
    ASSERT_NE(ke, nullptr);
    EXPECT_EQ(ke->group, 31);
    EXPECT_EQ(ke->data.size(), 32u);
    const auto* nonce = find_payload<NoncePayload>(request->payloads);
    ASSERT_NE(nonce, nullptr);
    EXPECT_EQ(nonce->data.size(), 32u);
    for (auto type :
         {NotifyType::kNatDetectionSourceIp, NotifyType::kNatDetectionDestinationIp,
          NotifyType::kIkev2FragmentationSupported, NotifyType::kSignatureHashAlgorithms}) {
        EXPECT_NE(find_notify(request->payloads, static_cast<std::uint16_t>(type)), nullptr)
            << notify_type_name(static_cast<std::uint16_t>(type));
    }
}

// Feeds datagrams [first, first + count) through open_fragment and one reassembler.
Message reassemble(SessionKeys& keys, std::size_t first, std::size_t count) {
    const auto all = datagrams();
    FragmentReassembler reassembler;
    DecodeCounters counters;
    std::optional<Message> message;
    // Reverse order: reassembly must not depend on arrival order.
    for (std::size_t k = count; k-- > 0;) {
        const Bytes& datagram = all[first + k];
        auto header = peek_header(datagram);
        auto fragment = open_fragment(datagram, keys.for_header(*header), &counters);
        EXPECT_TRUE(fragment.has_value()) << decode_error_name(fragment.error().error);
        if (!fragment) return {};
        EXPECT_EQ(fragment->number, k + 1);
        EXPECT_EQ(fragment->total, count);
        auto result = reassembler.add(std::move(*fragment), &counters);
        EXPECT_TRUE(result.has_value());
        if (result && *result) message = std::move(**result);
    }
    EXPECT_EQ(counters.total_errors(), 0u);
    EXPECT_TRUE(message.has_value());
    return message.value_or(Message{});
}

TEST(CodecStrongswan, IkeAuthRequestFragmentsOpenAndReassemble) {
    SessionKeys keys;
    const Message request = reassemble(keys, 2, 5);
    EXPECT_EQ(request.header.exchange_type, ExchangeType::kIkeAuth);
    EXPECT_EQ(request.header.message_id, 1u);
    const auto* idi = find_payload<IdiPayload>(request.payloads);
    ASSERT_NE(idi, nullptr);
    EXPECT_EQ(idi->id.type, IdType::kIpv4Addr);
    EXPECT_EQ(idi->id.data, (Bytes{192, 0, 2, 1}));
    const auto* auth = find_payload<AuthPayload>(request.payloads);
    ASSERT_NE(auth, nullptr);
    EXPECT_EQ(auth->method, static_cast<std::uint8_t>(AuthMethod::kSharedKeyMic));
    EXPECT_EQ(auth->data.size(), 32u);  // prf HMAC-SHA2-256
}

TEST(CodecStrongswan, IkeAuthResponseFragmentsOpenAndReassemble) {
    SessionKeys keys;
    const Message response = reassemble(keys, 7, 4);
    EXPECT_TRUE(response.header.response);
    const auto* idr = find_payload<IdrPayload>(response.payloads);
    ASSERT_NE(idr, nullptr);
    EXPECT_EQ(idr->id.data, (Bytes{192, 0, 2, 2}));
    EXPECT_NE(find_payload<AuthPayload>(response.payloads), nullptr);
}

TEST(CodecStrongswan, InformationalMessagesOpen) {
    SessionKeys keys;
    const auto all = datagrams();
    for (std::size_t i = 11; i < all.size(); ++i) {
        auto header = peek_header(all[i]);
        ASSERT_TRUE(header.has_value());
        EXPECT_EQ(header->exchange_type, ExchangeType::kInformational);
        DecodeCounters counters;
        auto opened = open_message(all[i], keys.for_header(*header), &counters);
        ASSERT_TRUE(opened.has_value()) << i << ": " << decode_error_name(opened.error().error);
        EXPECT_EQ(counters.total_errors(), 0u);
    }
}

// Our sealing produces strongSwan's octets when given the same IVs: same chunking under the
// same fragment size, same (zero) padding, same SK/SKF headers and AAD.
TEST(CodecStrongswan, ResealingWithTheSameIvsGivesStrongswansOctets) {
    SessionKeys keys;
    const auto all = datagrams();
    struct Run {
        std::size_t first;
        std::size_t count;
    };
    for (const Run run : {Run{2, 5}, Run{7, 4}}) {
        const Message message = reassemble(keys, run.first, run.count);
        auto& transform = keys.for_header(message.header);
        for (std::size_t k = 0; k < run.count; ++k) {
            const Bytes& d = all[run.first + k];
            transform.replay_ivs.emplace_back(d.begin() + 36, d.begin() + 44);
        }
        auto fragments =
            seal_fragments(message.header, message.payloads, transform, all[run.first].size());
        ASSERT_TRUE(fragments.has_value());
        ASSERT_EQ(fragments->size(), run.count);
        for (std::size_t k = 0; k < run.count; ++k) {
            EXPECT_EQ(to_hex((*fragments)[k]), to_hex(all[run.first + k])) << run.first + k;
        }
    }
    for (std::size_t i = 11; i < all.size(); ++i) {
        auto& transform = keys.for_header(*peek_header(all[i]));
        auto opened = open_message(all[i], transform);
        ASSERT_TRUE(opened.has_value());
        transform.replay_ivs.emplace_back(all[i].begin() + 32, all[i].begin() + 40);
        auto sealed = seal_message(opened->header, opened->payloads, transform);
        ASSERT_TRUE(sealed.has_value());
        EXPECT_EQ(to_hex(*sealed), to_hex(all[i])) << i;
    }
}

}  // namespace
}  // namespace mpsa::ike
