// IKE_AUTH with X.509 certificates and RFC 7427 signatures between two IkeSa objects, with a
// throw-away PKI made at test time: trusted chain, unknown CA, identity not in the certificate.
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mpsa/ike/crypto_x509.hpp"
#include "mpsa/ike/message.hpp"
#include "mpsa/ike/notify_types.hpp"
#include "sa_test_harness.hpp"

namespace mpsa::ike {
namespace {

using testing::fqdn;
using testing::SaPair;

struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using OwnedKey = std::unique_ptr<EVP_PKEY, PkeyFree>;

OwnedKey new_key(const char* kind) {
    if (std::string(kind) == "RSA") {
        return OwnedKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
    }
    return OwnedKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", kind));
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    ASSERT_NE(ext, nullptr) << value;
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

// issuer == nullptr: a self-signed CA.
Certificate make_cert(EVP_PKEY* key, const std::string& cn, const Certificate* issuer,
                      EVP_PKEY* issuer_key, const std::string& san) {
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), static_cast<long>(cn.size()));
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 30L * 86400);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509* signer = issuer != nullptr ? issuer->get() : cert;
    X509_set_issuer_name(cert, X509_get_subject_name(signer));
    const bool ca = issuer == nullptr;
    add_extension(cert, signer, NID_basic_constraints,
                  ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    if (ca) add_extension(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert, signer, NID_subject_key_identifier, "hash");
    if (!san.empty()) add_extension(cert, signer, NID_subject_alt_name, san.c_str());
    EXPECT_GT(X509_sign(cert, issuer_key != nullptr ? issuer_key : key, EVP_sha256()), 0);
    return Certificate(cert);
}

Certificate copy(const Certificate& c) {
    X509_up_ref(c.get());
    return Certificate(c.get());
}

class SaCertificates : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ca_key_ = new_key("P-256").release();
        rogue_key_ = new_key("P-256").release();
        cpe_key_ = new_key("P-256").release();
        gw_key_ = new_key("RSA").release();
        ca_ = new Certificate(make_cert(ca_key_, "mpsa CA", nullptr, nullptr, ""));
        rogue_ca_ = new Certificate(make_cert(rogue_key_, "mpsa CA", nullptr, nullptr, ""));
        cpe_cert_ = new Certificate(make_cert(cpe_key_, "cpe1", ca_, ca_key_, "DNS:cpe1.example"));
        gw_cert_ = new Certificate(make_cert(gw_key_, "gw", ca_, ca_key_, "DNS:gw.example"));
    }
    static void TearDownTestSuite() {
        for (Certificate* c : {ca_, rogue_ca_, cpe_cert_, gw_cert_}) delete c;
        for (EVP_PKEY* k : {ca_key_, rogue_key_, cpe_key_, gw_key_}) EVP_PKEY_free(k);
    }

    static std::unique_ptr<CertificateAuthenticator> authenticator(EVP_PKEY* key,
                                                                   const Certificate& cert,
                                                                   const Certificate& trusted) {
        auto trust = std::make_shared<TrustStore>();
        EXPECT_TRUE(trust->add_ca(trusted).has_value());
        EVP_PKEY_up_ref(key);
        std::vector<Certificate> cas;
        cas.push_back(copy(trusted));
        return std::make_unique<CertificateAuthenticator>(PrivateKey(key), copy(cert),
                                                          std::vector<Certificate>{},
                                                          std::move(trust), std::move(cas));
    }

    // Both sides of `pair` authenticate with certificates; the initiator trusts `cpe_trusts`.
    void use_certificates(SaPair& pair, const Certificate& cpe_trusts) {
        cpe_auth_ = authenticator(cpe_key_, *cpe_cert_, cpe_trusts);
        gw_auth_ = authenticator(gw_key_, *gw_cert_, *ca_);
        pair.i.deps.authenticator = cpe_auth_.get();
        pair.r.deps.authenticator = gw_auth_.get();
    }

    static inline EVP_PKEY* ca_key_ = nullptr;
    static inline EVP_PKEY* rogue_key_ = nullptr;
    static inline EVP_PKEY* cpe_key_ = nullptr;
    static inline EVP_PKEY* gw_key_ = nullptr;
    static inline Certificate* ca_ = nullptr;
    static inline Certificate* rogue_ca_ = nullptr;
    static inline Certificate* cpe_cert_ = nullptr;
    static inline Certificate* gw_cert_ = nullptr;
    std::unique_ptr<CertificateAuthenticator> cpe_auth_;
    std::unique_ptr<CertificateAuthenticator> gw_auth_;
};

TEST_F(SaCertificates, EcdsaAndRsaPssCertificatesAuthenticateBothWays) {
    SaPair pair;
    pair.i.config.proposals = {testing::suite("aes256-sha384-ecp384")};
    pair.r.config.proposals = pair.i.config.proposals;
    use_certificates(pair, *ca_);
    pair.start();
    auto init = pair.take(pair.i);
    for (const auto& d : init) pair.deliver(pair.r, d);
    auto response = pair.take(pair.r);
    ASSERT_EQ(response.size(), 1U);
    auto decoded = decode(response[0].data);
    ASSERT_TRUE(decoded.has_value());
    const auto* certreq = find_payload<CertReqPayload>(decoded->payloads);
    ASSERT_NE(certreq, nullptr);
    EXPECT_EQ(certreq->data.size(), 20U);
    for (const auto& d : response) pair.deliver(pair.i, d);
    pair.pump();
    ASSERT_EQ(pair.i.sa->state(), IkeSaState::kEstablished);
    ASSERT_EQ(pair.r.sa->state(), IkeSaState::kEstablished);
    EXPECT_EQ(pair.r.sa->peer_id(), fqdn("cpe1.example"));
    EXPECT_EQ(pair.i.sa->peer_id(), fqdn("gw.example"));
    EXPECT_EQ(pair.i.installer.installed.size(), 1U);
}

TEST_F(SaCertificates, LargeCertificateMessagesAreFragmented) {
    SaPair pair;
    pair.i.config.fragment_size = 576;
    pair.r.config.fragment_size = 576;
    use_certificates(pair, *ca_);
    pair.start();
    pair.deliver_all(pair.i, pair.r);
    pair.deliver_all(pair.r, pair.i);
    auto auth = pair.take(pair.i);
    EXPECT_GT(auth.size(), 1U) << "IKE_AUTH with a certificate exceeds 576 octets";
    for (const auto& d : auth) pair.deliver(pair.r, d);
    pair.pump();
    EXPECT_EQ(pair.i.sa->state(), IkeSaState::kEstablished);
    EXPECT_EQ(pair.r.sa->state(), IkeSaState::kEstablished);
}

TEST_F(SaCertificates, PeerFromAnUntrustedCaIsRejected) {
    SaPair pair;
    use_certificates(pair, *rogue_ca_);  // the CPE does not trust the gateway's CA
    pair.start();
    pair.pump();
    EXPECT_EQ(pair.i.sa->state(), IkeSaState::kDown);
    const auto down = pair.i.got<IkeSaDown>();
    ASSERT_EQ(down.size(), 1U);
    EXPECT_EQ(down[0].reason, DownReason::kAuthenticationFailed);
    EXPECT_TRUE(pair.i.installer.installed.empty());
}

TEST_F(SaCertificates, IdentityNotInTheCertificateIsRejected) {
    SaPair pair;
    pair.i.config.local_id = fqdn("cpe2.example");  // the certificate says cpe1.example
    use_certificates(pair, *ca_);
    pair.start();
    pair.pump();
    EXPECT_EQ(pair.r.sa->state(), IkeSaState::kDown);
    EXPECT_EQ(pair.i.sa->state(), IkeSaState::kDown);
    const auto down = pair.r.got<IkeSaDown>();
    ASSERT_EQ(down.size(), 1U);
    EXPECT_EQ(down[0].reason, DownReason::kAuthenticationFailed);
}

}  // namespace
}  // namespace mpsa::ike
