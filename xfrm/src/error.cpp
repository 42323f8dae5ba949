#include <cerrno>
#include <cstring>

#include <mpsa/xfrm/error.hpp>

namespace mpsa::xfrm {

std::string errno_name(int code) {
    switch (code) {
        case EEXIST:
            return "EEXIST (object already exists)";
        case ENOENT:
            return "ENOENT (no such object)";
        case EPERM:
            return "EPERM (operation not permitted: CAP_NET_ADMIN needed)";
        case ENOMEM:
            return "ENOMEM (kernel out of memory)";
        case ENOBUFS:
            return "ENOBUFS (netlink socket buffer overrun: events lost)";
        case EINVAL:
            return "EINVAL (invalid argument: malformed or unsupported request)";
        case ESRCH:
            return "ESRCH (no such object)";
        case ENODEV:
            return "ENODEV (no such device)";
        case EAFNOSUPPORT:
            return "EAFNOSUPPORT (address family not supported)";
        case EPROTONOSUPPORT:
            return "EPROTONOSUPPORT (protocol not supported by this kernel)";
        case ENOSYS:
            return "ENOSYS (algorithm or feature not available in this kernel)";
        case EOPNOTSUPP:
            return "EOPNOTSUPP (not supported by this kernel: missing module?)";
        default:
            return std::string("errno ") + std::to_string(code) + " (" + std::strerror(code) + ")";
    }
}

Error netlink_error(int code, const std::string& what) {
    return Error{code, what + ": " + errno_name(code)};
}

}  // namespace mpsa::xfrm
