#include "mpsa/ike/crypto_x509.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <climits>

namespace mpsa::ike {

namespace detail {
void OsslObjectFree::operator()(EVP_PKEY* key) const {
    EVP_PKEY_free(key);
}
void OsslObjectFree::operator()(X509* cert) const {
    X509_free(cert);
}
void OsslObjectFree::operator()(X509_STORE* store) const {
    X509_STORE_free(store);
}
}  // namespace detail

namespace {

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct StoreCtxFree {
    void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct NameFree {
    void operator()(X509_NAME* n) const { X509_NAME_free(n); }
};
struct UntrustedStackFree {
    // The stack borrows the certificates: free only the stack itself.
    void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};

// Refuses encrypted PEM instead of prompting on the terminal.
int no_passphrase(char*, int, int, void*) {
    return -1;
}

std::unique_ptr<BIO, BioFree> memory_bio(std::string_view text) {
    if (text.size() > INT_MAX) return nullptr;
    return std::unique_ptr<BIO, BioFree>(
        BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

tl::expected<PrivateKey, X509Error> read_key(BIO* bio) {
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, nullptr);
    if (key == nullptr) return tl::unexpected(X509Error::kParse);
    return PrivateKey(key);
}

tl::expected<Certificate, X509Error> read_cert(BIO* bio) {
    X509* cert = PEM_read_bio_X509(bio, nullptr, no_passphrase, nullptr);
    if (cert == nullptr) return tl::unexpected(X509Error::kParse);
    return Certificate(cert);
}

}  // namespace

tl::expected<PrivateKey, X509Error> PrivateKey::from_pem(std::string_view pem) {
    auto bio = memory_bio(pem);
    if (!bio) return tl::unexpected(X509Error::kParse);
    return read_key(bio.get());
}

tl::expected<PrivateKey, X509Error> PrivateKey::load_pem_file(const std::string& path) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_file(path.c_str(), "r"));
    if (!bio) return tl::unexpected(X509Error::kIo);
    return read_key(bio.get());
}

PrivateKey PrivateKey::clone() const {
    EVP_PKEY_up_ref(key_.get());
    return PrivateKey(key_.get());
}

bool PrivateKey::is_rsa() const {
    return key_ && EVP_PKEY_is_a(key_.get(), "RSA") == 1;
}
bool PrivateKey::is_ec() const {
    return key_ && EVP_PKEY_is_a(key_.get(), "EC") == 1;
}
int PrivateKey::ec_bits() const {
    return is_ec() ? EVP_PKEY_get_bits(key_.get()) : 0;
}

tl::expected<Certificate, X509Error> Certificate::from_der(ByteView der) {
    if (der.size() > LONG_MAX) return tl::unexpected(X509Error::kParse);
    const unsigned char* p = der.data();
    X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
    if (cert == nullptr) return tl::unexpected(X509Error::kParse);
    Certificate out(cert);
    // Trailing octets after the certificate are a malformed CERT payload.
    if (p != der.data() + der.size()) return tl::unexpected(X509Error::kParse);
    return out;
}

tl::expected<Certificate, X509Error> Certificate::from_pem(std::string_view pem) {
    auto bio = memory_bio(pem);
    if (!bio) return tl::unexpected(X509Error::kParse);
    return read_cert(bio.get());
}

tl::expected<Certificate, X509Error> Certificate::load_pem_file(const std::string& path) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_file(path.c_str(), "r"));
    if (!bio) return tl::unexpected(X509Error::kIo);
    return read_cert(bio.get());
}

Certificate Certificate::clone() const {
    X509_up_ref(cert_.get());
    return Certificate(cert_.get());
}

Bytes Certificate::der() const {
    const int length = i2d_X509(cert_.get(), nullptr);
    if (length <= 0) return {};
    Bytes out(static_cast<std::size_t>(length));
    unsigned char* p = out.data();
    if (i2d_X509(cert_.get(), &p) != length) return {};
    return out;
}

Bytes Certificate::subject_der() const {
    const X509_NAME* name = X509_get_subject_name(cert_.get());
    const unsigned char* encoded = nullptr;
    std::size_t length = 0;
    if (name == nullptr || X509_NAME_get0_der(name, &encoded, &length) != 1) return {};
    return Bytes(encoded, encoded + length);
}

std::string Certificate::subject_text() const {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert_.get()), 0, XN_FLAG_RFC2253) < 0)
        return {};
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    return length > 0 ? std::string(data, static_cast<std::size_t>(length)) : std::string();
}

bool Certificate::matches_private_key(const PrivateKey& key) const {
    return X509_check_private_key(cert_.get(), key.get()) == 1;
}

Bytes Certificate::public_key_info_sha1() const {
    X509_PUBKEY* spki = X509_get_X509_PUBKEY(cert_.get());
    unsigned char* der = nullptr;
    const int length = spki != nullptr ? i2d_X509_PUBKEY(spki, &der) : -1;
    if (length <= 0) return {};
    Bytes digest(20);
    unsigned int digest_length = 0;
    const int ok = EVP_Digest(der, static_cast<std::size_t>(length), digest.data(), &digest_length,
                              EVP_sha1(), nullptr);
    OPENSSL_free(der);
    if (ok != 1 || digest_length != digest.size()) return {};
    return digest;
}

TrustStore::TrustStore() : store_(X509_STORE_new()) {}

tl::expected<void, X509Error> TrustStore::add_ca(const Certificate& ca) {
    Bytes hash = ca.public_key_info_sha1();
    if (!store_ || hash.empty() || X509_STORE_add_cert(store_.get(), ca.get()) != 1)
        return tl::unexpected(X509Error::kCrypto);
    ca_key_hashes_.push_back(std::move(hash));
    return {};
}

tl::expected<void, CertVerifyFailure> TrustStore::verify(const Certificate& leaf,
                                                         std::span<const Certificate> intermediates,
                                                         std::optional<std::time_t> at) const {
    std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
    std::unique_ptr<STACK_OF(X509), UntrustedStackFree> untrusted(sk_X509_new_null());
    if (!store_ || !ctx || !untrusted)
        return tl::unexpected(CertVerifyFailure{X509Error::kCrypto, "out of memory"});
    for (const auto& cert : intermediates)
        if (sk_X509_push(untrusted.get(), cert.get()) <= 0)
            return tl::unexpected(CertVerifyFailure{X509Error::kCrypto, "out of memory"});
    if (X509_STORE_CTX_init(ctx.get(), store_.get(), leaf.get(), untrusted.get()) != 1)
        return tl::unexpected(CertVerifyFailure{X509Error::kCrypto, "X509_STORE_CTX_init"});
    if (at) X509_STORE_CTX_set_time(ctx.get(), 0, *at);
    if (X509_verify_cert(ctx.get()) != 1) {
        const int code = X509_STORE_CTX_get_error(ctx.get());
        return tl::unexpected(
            CertVerifyFailure{X509Error::kUntrusted, X509_verify_cert_error_string(code)});
    }
    return {};
}

bool certificate_matches_identity(const Certificate& cert, std::uint8_t id_type, ByteView id_data) {
    if (id_data.empty()) return false;
    const auto* chars = reinterpret_cast<const char*>(id_data.data());
    switch (id_type) {
        case 1:  // ID_IPV4_ADDR
            return id_data.size() == 4 &&
                   X509_check_ip(cert.get(), id_data.data(), id_data.size(), 0) == 1;
        case 5:  // ID_IPV6_ADDR
            return id_data.size() == 16 &&
                   X509_check_ip(cert.get(), id_data.data(), id_data.size(), 0) == 1;
        case 2:  // ID_FQDN
            return X509_check_host(
                       cert.get(), chars, id_data.size(),
                       X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
                       nullptr) == 1;
        case 3:  // ID_RFC822_ADDR
            return X509_check_email(cert.get(), chars, id_data.size(),
                                    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT) == 1;
        case 9: {  // ID_DER_ASN1_DN
            if (id_data.size() > LONG_MAX) return false;
            const unsigned char* p = id_data.data();
            std::unique_ptr<X509_NAME, NameFree> name(
                d2i_X509_NAME(nullptr, &p, static_cast<long>(id_data.size())));
            if (!name || p != id_data.data() + id_data.size()) return false;
            return X509_NAME_cmp(name.get(), X509_get_subject_name(cert.get())) == 0;
        }
        default:
            return false;
    }
}

}  // namespace mpsa::ike
