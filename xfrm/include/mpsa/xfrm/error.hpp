// Errors from the kernel or from validation, with the errno kept for counters and callers.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace mpsa::xfrm {

struct Error {
    int code = 0;  // positive errno from netlink, 0 for errors found before the kernel
    std::string message;
};

// "EEXIST (object already exists)" etc.; a clear phrase for the errnos netlink really returns.
[[nodiscard]] std::string errno_name(int code);
[[nodiscard]] Error netlink_error(int code, const std::string& what);

// Request and error counters of a netlink channel, errors keyed by errno.
struct NetlinkCounters {
    std::uint64_t requests = 0;  // messages sent that ask the kernel to change something
    std::uint64_t dumps = 0;
    std::uint64_t acks = 0;  // successful acknowledgements
    std::uint64_t errors = 0;
    std::map<int, std::uint64_t> errors_by_errno;
    std::uint64_t overruns = 0;  // ENOBUFS on a socket: something was lost, resync needed

    void count_error(int code) {
        ++errors;
        ++errors_by_errno[code];
    }
};

}  // namespace mpsa::xfrm
