// Gateway side of MPSA (draft-yamaya-ipsecme-mpsa-04 3.3.1, 3.3.3, 5.3), as pure logic: the
// clock, the randomness and the IKE layer are injected; IKE events are fed in by the caller.
//
// Per group: one SA is generated when the group is configured, before any member connects;
// every member whose IKE SA comes up (and which sent the MPSA Vendor ID) gets it in MPSA_PUT;
// deliveries are tracked per member until acknowledged and re-sent on failure or silence; the SA
// is rekeyed before its Lifetime ends and, damped, when a member leaves; a member joining during
// a rollover gets the current and the next SA; a delivery in flight when its IKE SA is rekeyed
// is re-sent on the new IKE SA; ROLL1 is kept above the measured time to reach every member.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "mpsa/mpsa/clock.hpp"
#include "mpsa/mpsa/esp_suite.hpp"
#include "mpsa/mpsa/mpsa_put.hpp"
#include "mpsa/mpsa/random.hpp"

namespace mpsa::mpsa {

using IkeSaId = std::uint64_t;        // opaque, assigned by the IKE layer
using RequestHandle = std::uint64_t;  // one INFORMATIONAL exchange carrying N(MPSA_PUT)

// The IKE layer, as the group manager needs it.
class MpsaPutSender {
  public:
    virtual ~MpsaPutSender() = default;
    // Starts an INFORMATIONAL exchange with N(MPSA_PUT) on the IKE SA. The IKE layer reports
    // the outcome later through on_put_acked / on_put_failed with the returned handle; nullopt
    // means it cannot send now (the manager retries later).
    [[nodiscard]] virtual std::optional<RequestHandle> send_mpsa_put(IkeSaId ike_sa,
                                                                     const MpsaPut& put) = 0;
};

struct GroupConfig {
    std::string name;
    // Identities (IDi as text) allowed in the group; '*' matches any run, '?' one character.
    std::vector<std::string> member_patterns;
    EspSuite suite = suites::default_suite();
    SuitePolicy suite_policy;  // AES-GCM only with allow_aead (see SuitePolicy)
    std::chrono::seconds lifetime{3600};
    std::chrono::seconds roll1{30};  // lower bound; raised above the measured distribution time
    std::chrono::seconds roll2{60};
    std::chrono::seconds rekey_margin{300};       // rekey this long before the Lifetime ends
    bool rekey_on_leave = true;                   // draft 5.3 says MAY; on by default (context.md)
    std::chrono::seconds min_rekey_interval{60};  // damping of membership-triggered rekeys
    std::size_t nonce_size = 32;
    Duration retransmit_timeout = std::chrono::seconds(10);  // no answer by then: send again
    unsigned max_attempts = 5;
};

enum class GroupError {
    kEmptyName,
    kDuplicateName,
    kNoMemberPatterns,
    kSuiteRejected,
    kBadTimes,  // need 0 < roll1 <= roll2 < rekey_margin < lifetime <= 2^32-1 s
    kBadNonceSize,
    kBadRetransmission,
    kRandomFailed,
    kUnknownGroup,
    kBadAdoptedSa,  // a persisted SA to adopt is expired, malformed or clashes with another
};
[[nodiscard]] std::string_view to_string(GroupError error);
[[nodiscard]] tl::expected<void, GroupError> validate(const GroupConfig& config);

// Glob match used for member identities.
[[nodiscard]] bool identity_matches(std::string_view pattern, std::string_view identity);

enum class DeliveryState { kInFlight, kAwaitingRetry, kAcked, kFailed };

struct GroupStatus {
    std::string name;
    std::optional<std::uint32_t> current_spi;
    std::optional<std::uint32_t> next_spi;  // set while a rollover is in progress
    std::size_t members = 0;
    std::size_t acked_current = 0;
    std::size_t acked_next = 0;
    std::uint64_t rekeys = 0;
    std::uint64_t failed_deliveries = 0;
    std::chrono::seconds roll1_in_use{0};  // ROLL1 the next rekey will announce
    std::optional<Duration> last_distribution_time;
    std::optional<TimePoint> pending_rekey_at;  // membership-triggered, damped
    std::optional<TimePoint> current_expires_at;
    std::optional<TimePoint> next_expires_at;
    std::optional<TimePoint> next_outbound_at;  // members switch outbound (ROLL1)
    std::optional<TimePoint> next_promoted_at;  // the next SA becomes current (ROLL2)
    std::optional<EspSuite> current_suite;      // may differ from the config until the next rekey
};

// One member of one group, for status output.
struct MemberStatus {
    IkeSaId ike_sa = 0;
    std::string identity;
    std::optional<std::uint32_t> acked_spi;  // newest SA the member acknowledged
    std::size_t pending_puts = 0;            // deliveries in flight or awaiting a retry
};

// A group SA with its secrets, for persistence across gateway restarts (never logged).
struct GroupSaRecord {
    std::uint32_t spi = 0;
    EspSuite suite;
    ike::Bytes nonce;
    ike::SecretBytes sk_d;
    TimePoint created_at;
    TimePoint expires_at;
    std::chrono::seconds roll1{0};  // as announced, relative to created_at
    std::chrono::seconds roll2{0};
};
struct GroupSaState {
    std::string name;
    std::optional<GroupSaRecord> current;
    std::optional<GroupSaRecord> next;  // a rollover in progress
};

class GatewayGroupManager {
  public:
    GatewayGroupManager(const Clock& clock, RandomSource& random, MpsaPutSender& sender);

    // Validates the group and generates its first SA right away.
    [[nodiscard]] tl::expected<void, GroupError> add_group(GroupConfig config);
    // Stops distributing the group (its members' SAs run out by Lifetime).
    [[nodiscard]] tl::expected<void, GroupError> remove_group(std::string_view name);
    // A changed configuration of an existing group (same name). Suite and times take effect
    // with the next SA generated (the current SA keeps what it was announced with); member
    // patterns are re-evaluated at once: newly matching members get the SAs, members no longer
    // matching are dropped from the group and the group rekeys (as on_member_removed).
    [[nodiscard]] tl::expected<void, GroupError> update_group(GroupConfig config);
    [[nodiscard]] std::vector<std::string> group_names() const;

    // Persistence: the SAs of every group (with their secrets), and adopting them back after a
    // restart in place of the SA add_group generated, so members keep the same group SA. An SA
    // that is expired (or about to be), malformed, or whose SPI another group uses is refused
    // (kBadAdoptedSa) and the generated one stays.
    [[nodiscard]] std::vector<GroupSaState> export_sas() const;
    [[nodiscard]] tl::expected<void, GroupError> adopt_sas(const GroupSaState& state);

    // IKE layer events. `peer_sent_mpsa_vendor_id`: MPSA is used only with such peers.
    void on_ike_sa_up(IkeSaId ike_sa, std::string_view identity, bool peer_sent_mpsa_vendor_id);
    void on_ike_sa_rekeyed(IkeSaId old_sa, IkeSaId new_sa);
    void on_ike_sa_down(IkeSaId ike_sa);  // deleted or dead: the member left
    // The identity lost its authorization (configuration): rekey its groups, never cancelled.
    void on_member_removed(std::string_view identity);
    void on_put_acked(RequestHandle handle);
    void on_put_failed(RequestHandle handle);

    // Runs every timer due at clock.now(): rekeys, rollover completion, re-sends.
    void advance();
    [[nodiscard]] std::optional<TimePoint> next_deadline() const;

    [[nodiscard]] std::optional<GroupStatus> status(std::string_view group) const;
    [[nodiscard]] std::vector<MemberStatus> member_status(std::string_view group) const;
    // MPSA_PUTs sent again for a delivery (no answer, failure, IKE SA rekeyed), all groups.
    [[nodiscard]] std::uint64_t retransmitted_puts() const { return retransmitted_puts_; }
    [[nodiscard]] std::optional<DeliveryState> delivery_state(std::string_view group,
                                                              IkeSaId ike_sa,
                                                              std::uint32_t spi) const;

  private:
    struct GroupSa {
        std::uint32_t spi = 0;
        EspSuite suite;
        ike::Bytes nonce;
        ike::SecretBytes sk_d;
        TimePoint created_at;
        TimePoint expires_at;
        std::chrono::seconds roll1{0};
        std::chrono::seconds roll2{0};
    };
    struct Delivery {
        DeliveryState state = DeliveryState::kAwaitingRetry;
        std::optional<RequestHandle> handle;
        unsigned attempts = 0;
        TimePoint deadline;  // ack timeout (in flight) or retry time (awaiting retry)
    };
    struct Distribution {  // measurement of one rekey's push
        TimePoint started;
        std::uint32_t spi = 0;
        std::set<std::uint64_t> awaiting;  // member ids
        std::optional<TimePoint> last_ack;
    };
    struct Group {
        GroupConfig config;
        std::optional<GroupSa> current;
        std::optional<GroupSa> next;                                            // during a rollover
        std::map<std::uint64_t, std::map<std::uint32_t, Delivery>> deliveries;  // member -> spi
        TimePoint last_rekey_at;
        std::optional<TimePoint> pending_rekey_at;
        std::set<std::string> pending_leavers;    // a rejoin cancels their rekey (flap damping)
        bool pending_rekey_forced = false;        // a removal: never cancelled
        std::optional<TimePoint> retry_rekey_at;  // after a failed generation
        std::optional<Distribution> distribution;
        std::deque<Duration> distribution_samples;
        std::uint64_t rekeys = 0;
        std::uint64_t failed_deliveries = 0;
    };
    struct Member {
        IkeSaId ike_sa = 0;
        std::string identity;
    };
    struct HandleTarget {
        std::string group;
        std::uint64_t member = 0;
        std::uint32_t spi = 0;
    };

    [[nodiscard]] Group* find_group(std::string_view name);
    [[nodiscard]] const Group* find_group(std::string_view name) const;
    [[nodiscard]] std::optional<GroupSa> generate_sa(const Group& group, TimePoint now);
    [[nodiscard]] bool spi_in_use(std::uint32_t spi) const;
    [[nodiscard]] std::chrono::seconds roll1_for(const Group& group) const;
    [[nodiscard]] TimePoint lifetime_rekey_at(const Group& group) const;
    [[nodiscard]] std::optional<MpsaPut> put_for(const Group& group, const GroupSa& sa,
                                                 TimePoint now) const;
    void rekey(Group& group, TimePoint now);
    void request_membership_rekey(Group& group, TimePoint now, const std::string& leaver,
                                  bool forced);
    void push_to_member(Group& group, std::uint64_t member, TimePoint now);
    void send(Group& group, std::uint64_t member, std::uint32_t spi, Delivery& delivery,
              TimePoint now);
    void retry_or_fail(Group& group, std::uint64_t member, std::uint32_t spi, Delivery& delivery,
                       TimePoint now);
    void member_left(std::uint64_t member, TimePoint now);
    void drop_member_from_group(Group& group, std::uint64_t member, TimePoint now);
    [[nodiscard]] bool identity_still_connected(const std::string& identity,
                                                std::uint64_t except) const;
    void finish_distribution_if_done(Group& group);
    void drop_stale_deliveries(Group& group);
    [[nodiscard]] const GroupSa* sa_by_spi(const Group& group, std::uint32_t spi) const;

    const Clock& clock_;
    RandomSource& random_;
    MpsaPutSender& sender_;
    std::vector<Group> groups_;
    std::map<std::uint64_t, Member> members_;
    std::map<IkeSaId, std::uint64_t> member_by_ike_sa_;
    std::map<RequestHandle, HandleTarget> handles_;
    std::uint64_t next_member_id_ = 1;
    std::uint64_t retransmitted_puts_ = 0;
};

}  // namespace mpsa::mpsa
