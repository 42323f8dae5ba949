// Opt-in key log (off by default): IKE SA and CHILD_SA keys in the formats of Wireshark/tshark's
// decryption tables, so an operator can decrypt a capture. The files hold live keys: they are
// created mode 0600, and nothing else in mpsa ever writes key bytes anywhere.
//
//   ikev2_decryption_table: SPIi,SPIr,SK_ei,SK_er,"<encryption>",SK_ai,SK_ar,"<integrity>"
//     (hex without 0x; AEAD: SK_e with the salt, empty SK_a, "NONE [RFC4306]")
//   esp_sa: "IPv4","<src>","<dst>","0x<SPI>","<encryption>","0x<key>","<auth>","0x<key>"
//     (one line per direction; AEAD: "NULL" authentication with an empty key)
// Usable as `tshark -o uat:ikev2_decryption_table:<line>` or as the files of the same names in
// $XDG_CONFIG_HOME/wireshark/ (with esp.enable_encryption_decode:TRUE for ESP).
#pragma once

#include <memory>
#include <string>
#include <system_error>

#include <tl/expected.hpp>

#include "mpsa/ike/child_sa.hpp"
#include "mpsa/ike/events.hpp"
#include "mpsa/ike/keys.hpp"
#include "mpsa/ike/suite.hpp"

namespace mpsa::ike {

// Told by IkeSa (IkeSaDeps::keylog) about every key set it derives or installs.
class KeyLogSink {
  public:
    virtual ~KeyLogSink() = default;
    // A new IKE SA (IKE_SA_INIT done, or an IKE SA rekey): its SPIs, suite and SK_* keys.
    virtual void ike_sa_keys(const IkeSpis& spis, const Suite& suite, const IkeSaKeys& keys) = 0;
    // A CHILD_SA just installed (both directions).
    virtual void child_sa_keys(const ChildSaInstall& sa) = 0;
};

// One line of each table (without the newline).
[[nodiscard]] std::string ikev2_decryption_table_line(const IkeSpis& spis, const Suite& suite,
                                                      const IkeSaKeys& keys);
[[nodiscard]] std::string esp_sa_line(const EspSaParams& sa);

struct KeyLogConfig {
    std::string ikev2_table_path;  // empty: IKE SA keys not logged
    std::string esp_table_path;    // empty: CHILD_SA keys not logged
};

// Appends lines to the configured files, flushed at once (a capture can be decoded while the
// daemon runs).
class FileKeyLog final : public KeyLogSink {
  public:
    [[nodiscard]] static tl::expected<std::unique_ptr<FileKeyLog>, std::error_code> open(
        const KeyLogConfig& config);
    ~FileKeyLog() override;
    FileKeyLog(const FileKeyLog&) = delete;
    FileKeyLog& operator=(const FileKeyLog&) = delete;

    void ike_sa_keys(const IkeSpis& spis, const Suite& suite, const IkeSaKeys& keys) override;
    void child_sa_keys(const ChildSaInstall& sa) override;

    // Lines that could not be written (disk full etc.).
    [[nodiscard]] std::size_t write_errors() const { return write_errors_; }

  private:
    FileKeyLog(int ike_fd, int esp_fd) : ike_fd_(ike_fd), esp_fd_(esp_fd) {}
    void append(int fd, std::string line);

    int ike_fd_ = -1;
    int esp_fd_ = -1;
    std::size_t write_errors_ = 0;
};

}  // namespace mpsa::ike
