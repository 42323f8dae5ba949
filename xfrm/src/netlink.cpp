#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/xfrm.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <string.h>  // explicit_bzero
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>

#include <mpsa/xfrm/netlink.hpp>
#include <mpsa/xfrm/reconciler.hpp>

namespace mpsa::xfrm {

namespace {

constexpr std::size_t kReceiveBufferBytes = 1 << 20;
constexpr int kSocketBufferBytes = 8 << 20;

void close_socket(nl_sock* socket) {
    if (socket != nullptr) nl_socket_free(socket);
}

tl::expected<nl_sock*, Error> open_socket(int protocol, const char* what,
                                          int buffer_bytes = kSocketBufferBytes) {
    nl_sock* socket = nl_socket_alloc();
    if (socket == nullptr) return tl::unexpected(netlink_error(ENOMEM, what));
    if (const int err = nl_connect(socket, protocol); err < 0) {
        close_socket(socket);
        return tl::unexpected(Error{EPERM, std::string(what) + ": " + nl_geterror(err)});
    }
    const int fd = nl_socket_get_fd(socket);
    // Root may exceed rmem_max; a big buffer makes monitor overruns rare (they stay handled).
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer_bytes, sizeof(int)) != 0) {
        (void)nl_socket_set_buffer_size(socket, buffer_bytes, kSocketBufferBytes);
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &kSocketBufferBytes, sizeof(int));
    const int one = 1;
    // Errors echo only the header of the failed request, not the request (which may hold keys).
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    return socket;
}

// Receives one datagram (many netlink messages). Returns bytes or -errno.
ssize_t receive(nl_sock* socket, std::vector<std::uint8_t>& buffer, int flags) {
    for (;;) {
        const ssize_t size = recv(nl_socket_get_fd(socket), buffer.data(), buffer.size(), flags);
        if (size >= 0) return size;
        if (errno != EINTR) return -errno;
    }
}

template <class F>
void for_each_message(std::span<const std::uint8_t> data, F&& visit) {
    int remaining = static_cast<int>(data.size());
    auto* header = reinterpret_cast<nlmsghdr*>(const_cast<std::uint8_t*>(data.data()));
    for (; nlmsg_ok(header, remaining); header = nlmsg_next(header, &remaining)) {
        visit(header, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(header),
                                                    header->nlmsg_len));
    }
}

// The kernel's own explanation of an error (NETLINK_EXT_ACK), e.g. "Requested type not found".
std::string ack_detail(const nlmsghdr* header) {
    if ((header->nlmsg_flags & NLM_F_ACK_TLVS) == 0) return {};
    if (header->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return {};
    nlmsgerr error{};
    std::memcpy(&error, nlmsg_data(header), sizeof(error));
    std::size_t offset = NLMSG_HDRLEN + sizeof(nlmsgerr);
    if ((header->nlmsg_flags & NLM_F_CAPPED) == 0) {
        offset += NLMSG_ALIGN(error.msg.nlmsg_len) - sizeof(nlmsghdr);
    }
    if (offset >= header->nlmsg_len) return {};
    const auto* base = reinterpret_cast<const std::uint8_t*>(header);
    int remaining = static_cast<int>(header->nlmsg_len - offset);
    for (const auto* attr = reinterpret_cast<const nlattr*>(base + offset); nla_ok(attr, remaining);
         attr = nla_next(attr, &remaining)) {
        if (nla_type(attr) == NLMSGERR_ATTR_MSG && nla_len(attr) > 0) {
            const auto* text = static_cast<const char*>(nla_data(attr));
            return std::string(text, strnlen(text, static_cast<std::size_t>(nla_len(attr))));
        }
    }
    return {};
}

int ack_errno(const nlmsghdr* header) {
    if (header->nlmsg_len < NLMSG_LENGTH(sizeof(int))) return EBADMSG;
    int error = 0;
    std::memcpy(&error, nlmsg_data(header), sizeof(error));
    return -error;
}

}  // namespace

tl::expected<std::unique_ptr<NetlinkKernel>, Error> NetlinkKernel::open(NetlinkOptions options) {
    auto xfrm = open_socket(NETLINK_XFRM, "netlink XFRM socket");
    if (!xfrm) return tl::unexpected(xfrm.error());
    auto route = open_socket(NETLINK_ROUTE, "netlink route socket");
    if (!route) {
        close_socket(*xfrm);
        return tl::unexpected(route.error());
    }
    for (auto* socket : {*xfrm, *route}) {
        // A kernel that never answers must not hang the daemon forever.
        const timeval timeout{10, 0};
        (void)setsockopt(nl_socket_get_fd(socket), SOL_SOCKET, SO_RCVTIMEO, &timeout,
                         sizeof(timeout));
    }
    if (options.max_in_flight == 0) options.max_in_flight = 1;
    return std::unique_ptr<NetlinkKernel>(new NetlinkKernel(*xfrm, *route, options));
}

NetlinkKernel::NetlinkKernel(nl_sock* xfrm, nl_sock* route, NetlinkOptions options)
    : xfrm_(xfrm), route_(route), options_(options), receive_buffer_(kReceiveBufferBytes) {}

NetlinkKernel::~NetlinkKernel() {
    explicit_bzero(receive_buffer_.data(), receive_buffer_.size());
    close_socket(xfrm_);
    close_socket(route_);
}

tl::expected<bool, Error> NetlinkKernel::dump_each(
    codec::DumpKind kind, const std::function<void(std::span<const std::uint8_t>)>& visit) {
    auto* socket = codec::channel_of(kind) == codec::Channel::kXfrm ? xfrm_ : route_;
    auto request = codec::encode_dump_request(kind);
    auto* header = reinterpret_cast<nlmsghdr*>(request.data());
    const std::uint32_t seq = next_seq_++;
    header->nlmsg_seq = seq;
    ++counters_.dumps;
    if (const int err = nl_sendto(socket, request.data(), request.size()); err < 0) {
        return tl::unexpected(Error{EIO, std::string("sending dump request: ") + nl_geterror(err)});
    }
    bool done = false;
    bool interrupted = false;
    int failure = 0;
    while (!done) {
        const ssize_t size = receive(socket, receive_buffer_, 0);
        if (size < 0) {
            if (-size == ENOBUFS) ++counters_.overruns;
            counters_.count_error(static_cast<int>(-size));
            return tl::unexpected(netlink_error(static_cast<int>(-size), "receiving dump"));
        }
        const std::span<const std::uint8_t> data(receive_buffer_.data(),
                                                 static_cast<std::size_t>(size));
        for_each_message(data, [&](const nlmsghdr* message, std::span<const std::uint8_t> bytes) {
            if (message->nlmsg_seq != seq || done) return;
            if ((message->nlmsg_flags & NLM_F_DUMP_INTR) != 0) interrupted = true;
            if (message->nlmsg_type == NLMSG_DONE) {
                done = true;
            } else if (message->nlmsg_type == NLMSG_ERROR) {
                failure = ack_errno(message);
                done = true;
            } else {
                visit(bytes);
            }
        });
        // Dumps of SAs carry keys.
        explicit_bzero(receive_buffer_.data(), static_cast<std::size_t>(size));
    }
    if (failure != 0) {
        counters_.count_error(failure);
        return tl::unexpected(netlink_error(failure, "dump"));
    }
    return !interrupted;
}

tl::expected<void, Error> NetlinkKernel::refresh_links() {
    codec::LinkNames links;
    auto done = dump_each(codec::DumpKind::kLinks, [&links](std::span<const std::uint8_t> bytes) {
        if (auto entry = codec::decode_link_entry(bytes)) links.add(entry->index, entry->name);
    });
    if (!done) return tl::unexpected(done.error());
    links_ = std::move(links);
    links_stale_ = false;
    return {};
}

tl::expected<State, Error> NetlinkKernel::dump() {
    constexpr int kAttempts = 5;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
        if (auto refreshed = refresh_links(); !refreshed) return tl::unexpected(refreshed.error());
        State state;
        bool consistent = true;
        auto collect = [&state](std::optional<KernelEvent> event) {
            if (!event || event->kind != KernelEvent::Kind::kNew) return;
            // Insert exactly what the kernel reports (State::add only normalises what the
            // kernel itself would).
            state.add(std::move(event->object));
        };
        for (auto kind :
             {codec::DumpKind::kLinks, codec::DumpKind::kSas, codec::DumpKind::kPolicies,
              codec::DumpKind::kRoutes4, codec::DumpKind::kRoutes6, codec::DumpKind::kRules4,
              codec::DumpKind::kRules6}) {
            const bool xfrm = codec::channel_of(kind) == codec::Channel::kXfrm;
            auto complete = dump_each(kind, [&](std::span<const std::uint8_t> bytes) {
                collect(xfrm ? codec::decode_xfrm(bytes) : codec::decode_route(bytes, links_));
            });
            if (!complete) return tl::unexpected(complete.error());
            consistent = consistent && *complete;
        }
        if (consistent) return state;
    }
    return tl::unexpected(Error{EAGAIN, "kernel state kept changing during dumps"});
}

tl::expected<std::vector<SaCounters>, Error> NetlinkKernel::sa_counters() {
    for (int attempt = 0; attempt < 5; ++attempt) {
        std::vector<SaCounters> out;
        auto complete =
            dump_each(codec::DumpKind::kSas, [&out](std::span<const std::uint8_t> bytes) {
                if (auto counters = codec::decode_sa_counters(bytes)) out.push_back(*counters);
            });
        if (!complete) return tl::unexpected(complete.error());
        if (*complete) return out;
    }
    return tl::unexpected(Error{EAGAIN, "SAs kept changing during dumps"});
}

std::vector<NetlinkKernel::Ack> NetlinkKernel::transact(
    nl_sock* socket, const std::vector<codec::WireMessage>& messages) {
    const std::size_t count = messages.size();
    std::vector<Ack> results(count);
    std::vector<bool> answered(count, false);
    const std::uint32_t base = next_seq_;
    next_seq_ += static_cast<std::uint32_t>(count);
    std::size_t sent = 0;
    std::size_t received = 0;
    std::vector<std::uint8_t> batch;
    batch.reserve(options_.max_batch_bytes);
    auto fail_rest = [&](int code) {
        for (std::size_t i = 0; i < count; ++i) {
            if (!answered[i]) {
                results[i].code = code;
                counters_.count_error(code);
            }
        }
    };
    while (received < count) {
        batch.clear();
        while (
            sent < count && sent - received < options_.max_in_flight &&
            (batch.empty() || batch.size() + messages[sent].size() <= options_.max_batch_bytes)) {
            const auto offset = batch.size();
            batch.insert(batch.end(), messages[sent].data(),
                         messages[sent].data() + messages[sent].size());
            auto* header = reinterpret_cast<nlmsghdr*>(batch.data() + offset);
            header->nlmsg_seq = base + static_cast<std::uint32_t>(sent);
            header->nlmsg_flags |= NLM_F_ACK;
            ++sent;
            ++counters_.requests;
        }
        if (!batch.empty()) {
            const int err = nl_sendto(socket, batch.data(), batch.size());
            explicit_bzero(batch.data(), batch.size());  // SA requests carry keys
            if (err < 0) {
                fail_rest(EIO);
                return results;
            }
        }
        const ssize_t size = receive(socket, receive_buffer_, 0);
        if (size < 0) {
            // ENOBUFS here means acks were lost: the caller cannot know what happened.
            if (-size == ENOBUFS) ++counters_.overruns;
            fail_rest(static_cast<int>(-size));
            return results;
        }
        for_each_message(
            std::span<const std::uint8_t>(receive_buffer_.data(), static_cast<std::size_t>(size)),
            [&](const nlmsghdr* message, std::span<const std::uint8_t>) {
                if (message->nlmsg_type != NLMSG_ERROR) return;
                const std::uint32_t index = message->nlmsg_seq - base;
                if (index >= count || answered[index]) return;
                answered[index] = true;
                ++received;
                results[index].code = ack_errno(message);
                if (results[index].code == 0) {
                    ++counters_.acks;
                } else {
                    counters_.count_error(results[index].code);
                    results[index].detail = ack_detail(message);
                }
            });
    }
    return results;
}

std::vector<std::optional<Error>> NetlinkKernel::apply(std::span<const Change> changes) {
    std::vector<std::optional<Error>> results(changes.size());
    std::size_t start = 0;
    while (start < changes.size()) {
        // A segment is a run of changes on one socket; the kernel handles one socket's
        // requests in order, and we wait for every ack before switching sockets.
        const auto channel = codec::channel_of(changes[start].object);
        std::size_t end = start;
        while (end < changes.size() && codec::channel_of(changes[end].object) == channel) ++end;
        if (channel == codec::Channel::kRoute && links_stale_) {
            if (auto refreshed = refresh_links(); !refreshed) {
                for (std::size_t i = start; i < end; ++i) results[i] = refreshed.error();
                start = end;
                continue;
            }
        }
        std::vector<codec::WireMessage> messages;
        std::vector<std::size_t> owner;  // change index of each message
        std::vector<bool> is_delete;
        for (std::size_t i = start; i < end; ++i) {
            auto encoded = codec::encode(changes[i], links_);
            if (!encoded) {
                results[i] = encoded.error();
                continue;
            }
            // An SA update is delete + add: only the first message is the delete.
            const bool deleting_first = changes[i].op != ChangeOp::kAdd;
            for (std::size_t m = 0; m < encoded->size(); ++m) {
                messages.push_back(std::move((*encoded)[m]));
                owner.push_back(i);
                is_delete.push_back(deleting_first && m == 0 &&
                                    (changes[i].op == ChangeOp::kDelete || encoded->size() == 2));
            }
        }
        const auto codes = transact(channel == codec::Channel::kXfrm ? xfrm_ : route_, messages);
        for (std::size_t m = 0; m < messages.size(); ++m) {
            const int code = codes[m].code;
            // Deleting what is already gone is what we wanted.
            const bool fine = code == 0 || (is_delete[m] && (code == ENOENT || code == ESRCH));
            auto& result = results[owner[m]];
            if (!fine && !result) {
                result = netlink_error(code, describe(changes[owner[m]]));
                if (!codes[m].detail.empty()) result->message += " - kernel: " + codes[m].detail;
            }
        }
        for (std::size_t i = start; i < end; ++i) {
            if (std::holds_alternative<XfrmInterface>(changes[i].object)) links_stale_ = true;
        }
        start = end;
    }
    return results;
}

// ---- monitor ----

tl::expected<std::unique_ptr<NetlinkMonitor>, Error> NetlinkMonitor::open(
    int receive_buffer_bytes) {
    auto xfrm = open_socket(NETLINK_XFRM, "netlink XFRM monitor", receive_buffer_bytes);
    if (!xfrm) return tl::unexpected(xfrm.error());
    auto route = open_socket(NETLINK_ROUTE, "netlink route monitor", receive_buffer_bytes);
    if (!route) {
        close_socket(*xfrm);
        return tl::unexpected(route.error());
    }
    auto monitor = std::unique_ptr<NetlinkMonitor>(new NetlinkMonitor(*xfrm, *route));
    int err = nl_socket_add_memberships(*xfrm, XFRMNLGRP_SA, XFRMNLGRP_POLICY, 0);
    if (err >= 0) {
        err =
            nl_socket_add_memberships(*route, RTNLGRP_LINK, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,
                                      RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE, 0);
    }
    if (err < 0) {
        return tl::unexpected(
            Error{EPERM, std::string("joining netlink groups: ") + nl_geterror(err)});
    }
    // Notifications name devices by ifindex: learn the existing ones now, later ones from
    // RTM_NEWLINK notifications.
    if (auto loaded = monitor->load_links(); !loaded) return tl::unexpected(loaded.error());
    for (auto* socket : {*xfrm, *route}) (void)nl_socket_set_nonblocking(socket);
    return monitor;
}

NetlinkMonitor::NetlinkMonitor(nl_sock* xfrm, nl_sock* route)
    : xfrm_(xfrm), route_(route), receive_buffer_(kReceiveBufferBytes) {}

NetlinkMonitor::~NetlinkMonitor() {
    explicit_bzero(receive_buffer_.data(), receive_buffer_.size());
    close_socket(xfrm_);
    close_socket(route_);
}

tl::expected<void, Error> NetlinkMonitor::load_links() {
    auto request = codec::encode_dump_request(codec::DumpKind::kLinks);
    constexpr std::uint32_t kSeq = 1;
    reinterpret_cast<nlmsghdr*>(request.data())->nlmsg_seq = kSeq;
    if (const int err = nl_sendto(route_, request.data(), request.size()); err < 0) {
        return tl::unexpected(Error{EIO, std::string("link dump: ") + nl_geterror(err)});
    }
    for (bool done = false; !done;) {
        const ssize_t size = receive(route_, receive_buffer_, 0);
        if (size < 0) return tl::unexpected(netlink_error(static_cast<int>(-size), "link dump"));
        for_each_message(
            std::span<const std::uint8_t>(receive_buffer_.data(), static_cast<std::size_t>(size)),
            [&](const nlmsghdr* message, std::span<const std::uint8_t> bytes) {
                if (message->nlmsg_seq != kSeq) return;  // an early notification: predates us
                if (message->nlmsg_type == NLMSG_DONE || message->nlmsg_type == NLMSG_ERROR) {
                    done = true;
                } else if (auto entry = codec::decode_link_entry(bytes)) {
                    links_.add(entry->index, entry->name);
                }
            });
    }
    return {};
}

int NetlinkMonitor::xfrm_fd() const {
    return nl_socket_get_fd(xfrm_);
}
int NetlinkMonitor::route_fd() const {
    return nl_socket_get_fd(route_);
}

void NetlinkMonitor::drain_socket(nl_sock* socket, bool xfrm, Batch& batch) {
    for (;;) {
        const ssize_t size = receive(socket, receive_buffer_, MSG_DONTWAIT);
        if (size == -EAGAIN || size == -EWOULDBLOCK) return;
        if (size == -ENOBUFS) {
            ++overruns_;
            batch.overrun = true;
            continue;  // the error is reported once; later notifications still arrive
        }
        if (size < 0) return;
        for_each_message(
            std::span<const std::uint8_t>(receive_buffer_.data(), static_cast<std::size_t>(size)),
            [&](const nlmsghdr* message, std::span<const std::uint8_t> bytes) {
                if (xfrm) {
                    ++batch.xfrm_messages;
                    if (auto event = codec::decode_xfrm(bytes))
                        batch.events.push_back(std::move(*event));
                    return;
                }
                ++batch.route_messages;
                if (message->nlmsg_type == RTM_NEWLINK || message->nlmsg_type == RTM_DELLINK) {
                    if (auto entry = codec::decode_link_entry(bytes)) {
                        if (message->nlmsg_type == RTM_NEWLINK)
                            links_.add(entry->index, entry->name);
                    }
                }
                if (auto event = codec::decode_route(bytes, links_))
                    batch.events.push_back(std::move(*event));
            });
        explicit_bzero(receive_buffer_.data(), static_cast<std::size_t>(size));
    }
}

NetlinkMonitor::Batch NetlinkMonitor::drain() {
    Batch batch;
    drain_socket(route_, false, batch);
    drain_socket(xfrm_, true, batch);
    return batch;
}

void feed(Reconciler& reconciler, const NetlinkMonitor::Batch& batch) {
    for (const auto& event : batch.events) reconciler.observe(event);
    if (batch.overrun) reconciler.request_resync();
}

}  // namespace mpsa::xfrm
