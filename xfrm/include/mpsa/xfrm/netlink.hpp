// The real kernel: two libnl-3 sockets (NETLINK_XFRM, NETLINK_ROUTE) in the calling thread's
// network namespace. Changes go out in batches (many messages per sendmsg) with a bounded number
// of unacknowledged requests, so the kernel's socket buffer never overflows with acks.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <tl/expected.hpp>

#include <mpsa/xfrm/codec.hpp>
#include <mpsa/xfrm/error.hpp>
#include <mpsa/xfrm/kernel.hpp>

struct nl_sock;

namespace mpsa::xfrm {

struct NetlinkOptions {
    std::size_t max_in_flight = 256;          // unacknowledged requests per socket
    std::size_t max_batch_bytes = 64 * 1024;  // bytes per sendmsg
};

class NetlinkKernel final : public Kernel {
  public:
    [[nodiscard]] static tl::expected<std::unique_ptr<NetlinkKernel>, Error> open(
        NetlinkOptions options = {});
    ~NetlinkKernel() override;
    NetlinkKernel(const NetlinkKernel&) = delete;
    NetlinkKernel& operator=(const NetlinkKernel&) = delete;

    [[nodiscard]] tl::expected<State, Error> dump() override;
    [[nodiscard]] std::vector<std::optional<Error>> apply(std::span<const Change> changes) override;

    [[nodiscard]] const NetlinkCounters& counters() const { return counters_; }
    // Per-SA traffic and failure counters (one SA dump).
    [[nodiscard]] tl::expected<std::vector<SaCounters>, Error> sa_counters();

  private:
    NetlinkKernel(nl_sock* xfrm, nl_sock* route, NetlinkOptions options);
    tl::expected<void, Error> refresh_links();
    // Runs one dump and hands each message to `visit`; false when the kernel flagged the dump
    // as interrupted (the set changed while dumping) and it must be repeated.
    tl::expected<bool, Error> dump_each(
        codec::DumpKind kind, const std::function<void(std::span<const std::uint8_t>)>& visit);
    struct Ack {
        int code = 0;        // errno, 0 when acknowledged
        std::string detail;  // the kernel's extended-ack message, if any
    };
    // Sends messages on one socket with at most max_in_flight unacknowledged; one Ack each.
    std::vector<Ack> transact(nl_sock* socket, const std::vector<codec::WireMessage>& messages);

    nl_sock* xfrm_;
    nl_sock* route_;
    NetlinkOptions options_;
    codec::LinkNames links_;
    bool links_stale_ = true;
    std::uint32_t next_seq_ = 1;
    std::vector<std::uint8_t> receive_buffer_;
    NetlinkCounters counters_;
};

// Subscribes to XFRM SA/policy and route/rule/link notifications. Notifications for a request
// are queued before the kernel acknowledges it, so draining after an apply returns every event
// that apply caused: tests count them without sleeping.
class NetlinkMonitor {
  public:
    // The receive buffer is large by default; a small one lets tests provoke ENOBUFS.
    [[nodiscard]] static tl::expected<std::unique_ptr<NetlinkMonitor>, Error> open(
        int receive_buffer_bytes = 8 << 20);
    ~NetlinkMonitor();
    NetlinkMonitor(const NetlinkMonitor&) = delete;
    NetlinkMonitor& operator=(const NetlinkMonitor&) = delete;

    struct Batch {
        std::size_t xfrm_messages = 0;   // every XFRM notification, modelled or not
        std::size_t route_messages = 0;  // every rtnetlink notification
        std::vector<KernelEvent> events;
        bool overrun = false;  // ENOBUFS: events were lost, do a full resync
    };
    // Reads everything queued now, without blocking.
    [[nodiscard]] Batch drain();
    // File descriptors to poll for readability.
    [[nodiscard]] int xfrm_fd() const;
    [[nodiscard]] int route_fd() const;
    [[nodiscard]] std::uint64_t overruns() const { return overruns_; }

  private:
    NetlinkMonitor(nl_sock* xfrm, nl_sock* route);
    tl::expected<void, Error> load_links();
    void drain_socket(nl_sock* socket, bool xfrm, Batch& batch);
    nl_sock* xfrm_;
    nl_sock* route_;
    codec::LinkNames links_;
    std::vector<std::uint8_t> receive_buffer_;
    std::uint64_t overruns_ = 0;
};

// Feeds a monitor batch to a reconciler: each event is observed, and an overrun (lost events)
// requests a full resync.
class Reconciler;
void feed(Reconciler& reconciler, const NetlinkMonitor::Batch& batch);

}  // namespace mpsa::xfrm
