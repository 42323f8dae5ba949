// IKE identities as the group configuration names them (member patterns match this text).
#pragma once

#include <string>

#include "mpsa/ike/payloads.hpp"

namespace mpsa::mpsa {

// FQDN, RFC822 and KEY_ID as their text; IPv4 dotted quad; IPv6 as eight hex groups; anything
// else (DER names) as "der:" followed by hex, so it can never be mistaken for a host name.
[[nodiscard]] std::string identity_text(const ike::Identification& id);

}  // namespace mpsa::mpsa
