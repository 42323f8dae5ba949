#include "mpsa/ike/keylog.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>

#include <openssl/crypto.h>

namespace mpsa::ike {
namespace {

// Key bytes to hex for the key log only (bytes.hpp's to_hex is not for key material).
std::string key_hex(ByteView bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 0x0f]);
    }
    return out;
}

std::string spi_hex(std::uint64_t spi) {
    std::array<char, 17> buffer{};
    std::snprintf(buffer.data(), buffer.size(), "%016llx", static_cast<unsigned long long>(spi));
    return buffer.data();
}

std::string ike_encryption_name(const Suite& suite) {
    const std::string bits = std::to_string(suite.encr_key_bits);
    if (suite.encr == EncrId::kAesGcm16) {
        return "AES-GCM-" + bits + " with 16 octet ICV [RFC5282]";
    }
    return "AES-CBC-" + bits + " [RFC3602]";
}

const char* ike_integrity_name(IntegId integ) {
    switch (integ) {
        case IntegId::kNone:
            return "NONE [RFC4306]";
        case IntegId::kHmacSha1_96:
            return "HMAC_SHA1_96 [RFC2404]";
        case IntegId::kHmacSha2_256_128:
            return "HMAC_SHA2_256_128 [RFC4868]";
        case IntegId::kHmacSha2_384_192:
            return "HMAC_SHA2_384_192 [RFC4868]";
        case IntegId::kHmacSha2_512_256:
            return "HMAC_SHA2_512_256 [RFC4868]";
    }
    return "NONE [RFC4306]";
}

const char* esp_encryption_name(EncrId encr) {
    return encr == EncrId::kAesGcm16 ? "AES-GCM with 16 octet ICV [RFC4106]" : "AES-CBC [RFC3602]";
}

const char* esp_authentication_name(IntegId integ) {
    switch (integ) {
        case IntegId::kNone:
            return "NULL";
        case IntegId::kHmacSha1_96:
            return "HMAC-SHA-1-96 [RFC2404]";
        case IntegId::kHmacSha2_256_128:
            return "HMAC-SHA-256-128 [RFC4868]";
        case IntegId::kHmacSha2_384_192:
            return "HMAC-SHA-384-192 [RFC4868]";
        case IntegId::kHmacSha2_512_256:
            return "HMAC-SHA-512-256 [RFC4868]";
    }
    return "NULL";
}

std::string address_text(const IpAddress& address) {
    std::array<char, INET6_ADDRSTRLEN> buffer{};
    if (inet_ntop(address.v6 ? AF_INET6 : AF_INET, address.octets.data(), buffer.data(),
                  buffer.size()) == nullptr) {
        return "*";
    }
    return buffer.data();
}

int open_append(const std::string& path, std::error_code& error) {
    if (path.empty()) return -1;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) error = std::error_code(errno, std::generic_category());
    return fd;
}

}  // namespace

std::string ikev2_decryption_table_line(const IkeSpis& spis, const Suite& suite,
                                        const IkeSaKeys& keys) {
    std::string line = spi_hex(spis.initiator) + "," + spi_hex(spis.responder) + ",";
    line += key_hex(keys.sk_ei.view()) + "," + key_hex(keys.sk_er.view()) + ",\"";
    line += ike_encryption_name(suite) + "\",";
    line += key_hex(keys.sk_ai.view()) + "," + key_hex(keys.sk_ar.view()) + ",\"";
    line += ike_integrity_name(suite.integ);
    line += "\"";
    return line;
}

std::string esp_sa_line(const EspSaParams& sa) {
    std::array<char, 11> spi{};
    std::snprintf(spi.data(), spi.size(), "0x%08x", static_cast<unsigned>(sa.spi));
    std::string line = sa.source.address.v6 ? "\"IPv6\",\"" : "\"IPv4\",\"";
    line += address_text(sa.source.address) + "\",\"" + address_text(sa.destination.address);
    line += "\",\"" + std::string(spi.data()) + "\",\"" + esp_encryption_name(sa.suite.encr);
    line += "\",\"0x" + key_hex(sa.encr_key.view()) + "\",\"";
    line += esp_authentication_name(sa.suite.integ);
    line += "\",\"";
    if (!sa.integ_key.empty()) line += "0x" + key_hex(sa.integ_key.view());
    line += "\"";
    return line;
}

tl::expected<std::unique_ptr<FileKeyLog>, std::error_code> FileKeyLog::open(
    const KeyLogConfig& config) {
    std::error_code error;
    const int ike_fd = open_append(config.ikev2_table_path, error);
    if (error) return tl::make_unexpected(error);
    const int esp_fd = open_append(config.esp_table_path, error);
    if (error) {
        if (ike_fd >= 0) ::close(ike_fd);
        return tl::make_unexpected(error);
    }
    return std::unique_ptr<FileKeyLog>(new FileKeyLog(ike_fd, esp_fd));
}

FileKeyLog::~FileKeyLog() {
    if (ike_fd_ >= 0) ::close(ike_fd_);
    if (esp_fd_ >= 0) ::close(esp_fd_);
}

void FileKeyLog::append(int fd, std::string line) {
    line.push_back('\n');
    // O_APPEND: one write() per line keeps lines whole even with several writers.
    const auto written = ::write(fd, line.data(), line.size());
    if (written != static_cast<ssize_t>(line.size())) ++write_errors_;
    OPENSSL_cleanse(line.data(), line.size());
}

void FileKeyLog::ike_sa_keys(const IkeSpis& spis, const Suite& suite, const IkeSaKeys& keys) {
    if (ike_fd_ >= 0) append(ike_fd_, ikev2_decryption_table_line(spis, suite, keys));
}

void FileKeyLog::child_sa_keys(const ChildSaInstall& sa) {
    if (esp_fd_ < 0) return;
    append(esp_fd_, esp_sa_line(sa.inbound));
    append(esp_fd_, esp_sa_line(sa.outbound));
}

}  // namespace mpsa::ike
