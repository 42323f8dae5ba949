// X.509 material for IKEv2 certificate authentication (RFC 7296 3.6 CERT payloads with
// encoding 4 "X.509 Certificate - Signature": one DER certificate each, 2.15 AUTH; RFC 4945
// for identity checks).
//   * PrivateKey / Certificate: OpenSSL objects parsed from PEM or DER in memory; the *_file
//     loaders are the only functions here that do I/O. Encrypted PEM keys are refused (the
//     daemon never prompts).
//   * TrustStore: configured CA certificates; verify() builds and checks the chain of a peer
//     certificate (signatures, validity period, CA basic constraints) with X509_STORE. No CRL or
//     OCSP checking yet.
//   * certificate_matches_identity(): does the certificate vouch for the peer's IDi/IDr?
//     FQDN and RFC822 against subjectAltName dNSName / rfc822Name (exact, no wildcards, no CN
//     fallback), IPv4/IPv6 against iPAddress, DER_ASN1_DN against the subject name.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/types.h>
#include <tl/expected.hpp>

#include "mpsa/ike/bytes.hpp"

namespace mpsa::ike {

enum class X509Error {
    kIo,         // file could not be read
    kParse,      // not a (supported, unencrypted) PEM/DER object
    kUntrusted,  // chain validation failed (detail in CertVerifyFailure)
    kCrypto,     // OpenSSL failure
};

namespace detail {
struct OsslObjectFree {
    void operator()(EVP_PKEY* key) const;
    void operator()(X509* cert) const;
    void operator()(X509_STORE* store) const;
};
}  // namespace detail

class PrivateKey {
  public:
    [[nodiscard]] static tl::expected<PrivateKey, X509Error> from_pem(std::string_view pem);
    [[nodiscard]] static tl::expected<PrivateKey, X509Error> load_pem_file(const std::string& path);
    // Takes ownership (for keys generated in memory).
    explicit PrivateKey(EVP_PKEY* key) : key_(key) {}

    // Another handle on the same key (reference counted).
    [[nodiscard]] PrivateKey clone() const;
    [[nodiscard]] EVP_PKEY* get() const { return key_.get(); }
    [[nodiscard]] bool is_rsa() const;
    [[nodiscard]] bool is_ec() const;
    // EC curve size in bits (256, 384, 521), 0 for other key types.
    [[nodiscard]] int ec_bits() const;

  private:
    std::unique_ptr<EVP_PKEY, detail::OsslObjectFree> key_;
};

class Certificate {
  public:
    // A CERT payload's data (encoding 4).
    [[nodiscard]] static tl::expected<Certificate, X509Error> from_der(ByteView der);
    // The first certificate of a PEM text.
    [[nodiscard]] static tl::expected<Certificate, X509Error> from_pem(std::string_view pem);
    [[nodiscard]] static tl::expected<Certificate, X509Error> load_pem_file(
        const std::string& path);
    // Takes ownership.
    explicit Certificate(X509* cert) : cert_(cert) {}

    // Another handle on the same certificate (reference counted).
    [[nodiscard]] Certificate clone() const;
    [[nodiscard]] X509* get() const { return cert_.get(); }
    [[nodiscard]] Bytes der() const;
    // DER of the subject Name: the data of an ID_DER_ASN1_DN identification.
    [[nodiscard]] Bytes subject_der() const;
    // RFC 2253 text of the subject, for logs.
    [[nodiscard]] std::string subject_text() const;
    // True when the private key belongs to this certificate's public key.
    [[nodiscard]] bool matches_private_key(const PrivateKey& key) const;
    // SHA-1 of the DER SubjectPublicKeyInfo: how CERTREQ names a CA (RFC 7296 3.7).
    [[nodiscard]] Bytes public_key_info_sha1() const;

  private:
    std::unique_ptr<X509, detail::OsslObjectFree> cert_;
};

struct CertVerifyFailure {
    X509Error error = X509Error::kUntrusted;
    std::string reason;  // OpenSSL's verify error text, for the log
};

class TrustStore {
  public:
    TrustStore();
    [[nodiscard]] tl::expected<void, X509Error> add_ca(const Certificate& ca);
    // Verifies `leaf` up to one of the CAs, using `intermediates` (further CERT payloads) as
    // untrusted helpers. `at` overrides the current time (tests).
    [[nodiscard]] tl::expected<void, CertVerifyFailure> verify(
        const Certificate& leaf, std::span<const Certificate> intermediates = {},
        std::optional<std::time_t> at = std::nullopt) const;

    // CERTREQ data for our CAs: one public_key_info_sha1() per add_ca(), in order.
    [[nodiscard]] const std::vector<Bytes>& ca_key_hashes() const { return ca_key_hashes_; }

  private:
    std::unique_ptr<X509_STORE, detail::OsslObjectFree> store_;
    std::vector<Bytes> ca_key_hashes_;
};

// id_type is the IKEv2 Identification Payload ID Type (IANA): 1 ID_IPV4_ADDR, 2 ID_FQDN,
// 3 ID_RFC822_ADDR, 5 ID_IPV6_ADDR, 9 ID_DER_ASN1_DN; any other type does not match.
// id_data is the identification data (the ID payload body after type and reserved octets).
[[nodiscard]] bool certificate_matches_identity(const Certificate& cert, std::uint8_t id_type,
                                                ByteView id_data);

}  // namespace mpsa::ike
