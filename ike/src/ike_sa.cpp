#include "mpsa/ike/ike_sa.hpp"

#include <algorithm>
#include <list>
#include <utility>

#include "mpsa/ike/cipher.hpp"
#include "mpsa/ike/dh.hpp"
#include "mpsa/ike/exchange.hpp"
#include "mpsa/ike/fragment.hpp"
#include "mpsa/ike/keylog.hpp"
#include "mpsa/ike/keys.hpp"
#include "mpsa/ike/message_protection.hpp"
#include "mpsa/ike/nat.hpp"
#include "mpsa/ike/notify_types.hpp"

namespace mpsa::ike {

namespace {

constexpr auto kCookieType = static_cast<std::uint16_t>(NotifyType::kCookie);
constexpr auto kInvalidKeType = static_cast<std::uint16_t>(NotifyType::kInvalidKePayload);
constexpr auto kRekeySaType = static_cast<std::uint16_t>(NotifyType::kRekeySa);
constexpr auto kTransportModeType = static_cast<std::uint16_t>(NotifyType::kUseTransportMode);
// A rekey the peer refused (e.g. TEMPORARY_FAILURE during its own) is tried again this late.
constexpr Duration kRekeyRetryDelay = std::chrono::seconds(30);
// RFC 7427 section 4: SHA2-256, SHA2-384, SHA2-512.
const Bytes kSignatureHashAlgorithms{0, 2, 0, 3, 0, 4};

Bytes spi_bytes(std::uint64_t spi) {
    Bytes out(8);
    for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(spi >> (56 - 8 * i));
    return out;
}

std::uint64_t spi_from_bytes(ByteView bytes) {
    std::uint64_t value = 0;
    for (const auto b : bytes) value = (value << 8) | b;
    return value;
}

Bytes spi32_bytes(std::uint32_t spi) {
    return {static_cast<std::uint8_t>(spi >> 24), static_cast<std::uint8_t>(spi >> 16),
            static_cast<std::uint8_t>(spi >> 8), static_cast<std::uint8_t>(spi)};
}

std::uint32_t spi32_from_bytes(ByteView bytes) {
    return static_cast<std::uint32_t>(spi_from_bytes(bytes));
}

NotifyPayload notify(NotifyType type, Bytes data = {}) {
    NotifyPayload n;
    n.type = static_cast<std::uint16_t>(type);
    n.data = std::move(data);
    return n;
}

// The first error notify of a response, if any.
const NotifyPayload* find_error_notify(std::span<const Payload> payloads) {
    for (const auto& payload : payloads) {
        const auto* n = std::get_if<NotifyPayload>(&payload);
        if (n != nullptr && is_error_notify(n->type)) return n;
    }
    return nullptr;
}

// SKF Fragment Number (RFC 7383 2.5), read without opening the fragment.
bool is_first_fragment(ByteView datagram) {
    constexpr std::size_t kFragmentNumberOffset = kHeaderSize + kGenericPayloadHeaderSize;
    if (datagram.size() < kFragmentNumberOffset + 2) return false;
    return datagram[kFragmentNumberOffset] == 0 && datagram[kFragmentNumberOffset + 1] == 1;
}

bool nonce_less(const Bytes& a, const Bytes& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

const Bytes& min_nonce(const Bytes& a, const Bytes& b) {
    return nonce_less(a, b) ? a : b;
}

// --- our requests, one kind per exchange we start ---
struct InitTask {};
struct AuthTask {};
struct InfoTask {
    enum class Kind : std::uint8_t { kLiveness, kNotify, kDeleteIke, kDeleteChild };
    Kind kind = Kind::kLiveness;
    RequestId id = 0;
    std::vector<NotifyPayload> notifies;
    std::uint32_t child_inbound_spi = 0;
};
// Our side of a CREATE_CHILD_SA that makes a CHILD_SA (new or rekeyed).
struct ChildRequest {
    std::uint32_t new_inbound_spi = 0;
    Bytes nonce;
    std::shared_ptr<DhKeyPair> dh;    // PFS
    std::optional<DhGroup> ke_group;  // asked for by the peer's INVALID_KE_PAYLOAD
    unsigned ke_retries = 0;
};
struct RekeyChildTask {
    std::uint32_t old_inbound_spi = 0;
    ChildRequest request;
};
// An additional CHILD_SA (RFC 7296 1.3.1) with the configured proposals and selectors.
struct CreateChildTask {
    ChildRequest request;
    // Proposed as TSi/TSr; empty: the configured ones.
    std::vector<TrafficSelector> local_ts;
    std::vector<TrafficSelector> remote_ts;
};
struct RekeyIkeTask {
    std::uint64_t new_spi = 0;
    Bytes nonce;
    std::shared_ptr<DhKeyPair> dh;
};
using Task =
    std::variant<InitTask, AuthTask, InfoTask, RekeyChildTask, RekeyIkeTask, CreateChildTask>;

struct Outstanding {
    std::uint32_t message_id = 0;
    ExchangeType exchange = ExchangeType::kInformational;
    std::vector<Bytes> datagrams;  // one, or the SKF fragments
    unsigned sent = 0;             // transmissions after the first
    TimePoint deadline{};
    Task task;
    bool hinted = false;  // a PeerLostSaHint was reported for it
};

struct CachedResponse {
    std::uint32_t message_id = 0;
    std::vector<Bytes> datagrams;
};

// One IKE SA in the cryptographic sense: SPIs, keys and message windows. A rekey creates a new
// generation; the old one lives on until its Delete exchange is done.
struct Generation {
    IkeSpis spis;
    bool original_initiator = true;
    Suite suite;
    SecretBytes sk_d;
    SecretBytes sk_pi;
    SecretBytes sk_pr;
    std::unique_ptr<SkTransform> out;  // null before the keys exist (IKE_SA_INIT)
    std::unique_ptr<SkTransform> in;
    std::uint32_t next_request_id = 0;
    std::uint32_t expected_request_id = 0;
    std::optional<Outstanding> outstanding;
    std::optional<CachedResponse> cached;
    // Created by the first SKF fragment, freed with the message it completes.
    std::unique_ptr<FragmentReassembler> request_fragments;
    std::unique_ptr<FragmentReassembler> response_fragments;
};

struct ChildSa {
    std::uint32_t inbound_spi = 0;
    std::uint32_t outbound_spi = 0;
    EspSuite suite;
    ChildMode mode = ChildMode::kTunnel;
    std::vector<TrafficSelector> local_ts;
    std::vector<TrafficSelector> remote_ts;
    std::optional<TimePoint> rekey_at;
    bool rekeying = false;  // our CREATE_CHILD_SA for it is outstanding
    bool replaced = false;  // a rekey completed; waiting for the old SA's Delete
    // Set when the peer rekeyed it while our own rekey was outstanding (2.8.1): the lowest
    // nonce of the peer's exchange.
    std::optional<Bytes> peer_rekey_min_nonce;
    std::uint32_t peer_rekey_new_inbound = 0;
};

// A peer-initiated IKE SA rekey answered while ours was outstanding (2.8.2).
struct PendingPeerIkeRekey {
    std::unique_ptr<Generation> generation;
    Bytes min_nonce;
    bool deleted = false;  // the peer deleted it (as redundant) before our response came
};

}  // namespace

struct IkeSa::Impl {
    IkeSaConfig config;
    IkeSaDeps deps;
    Endpoint local;
    Endpoint remote;
    IkeSaState state = IkeSaState::kInitSent;
    TimePoint created{};

    std::unique_ptr<Generation> current;
    std::vector<std::unique_ptr<Generation>> retiring;  // old or redundant, Delete pending
    // Requests waiting for the window. A list: empty costs nothing (an empty std::deque
    // allocates ~600 octets), and established IKE SAs rarely queue anything.
    std::list<Task> queue;
    std::optional<PendingPeerIkeRekey> peer_ike_rekey;
    std::optional<TimePoint> ike_rekey_at;

    // IKE_SA_INIT / IKE_AUTH context
    Bytes ni;
    Bytes nr;
    std::optional<DhKeyPair> dh;
    Bytes cookie;
    unsigned init_retries = 0;
    Bytes message1;  // IKE_SA_INIT request as sent/received (RealMessage1)
    Bytes message2;  // IKE_SA_INIT response (RealMessage2)
    std::optional<Identification> peer_id;
    std::vector<Bytes> peer_vids;
    NatDetection nat;
    bool peer_supports_fragmentation = false;
    std::uint32_t auth_child_spi = 0;  // initiator: inbound SPI offered in IKE_AUTH

    std::vector<ChildSa> children;
    std::vector<Datagram> outgoing;
    std::vector<Event> events;
    std::vector<PeerLostSaHint> hints;
    TimePoint last_received{};
    TimePoint last_sent{};
    RequestId next_app_request = 1;
    IkeSaCounters counters;

    TimePoint now() const { return deps.clock->now(); }

    // ---------------------------------------------------------------- helpers
    bool random_bytes(Bytes& out, std::size_t n) {
        out.assign(n, 0);
        return deps.random->fill(out);
    }
    std::optional<std::uint64_t> random_spi() {
        for (int attempt = 0; attempt < 8; ++attempt) {
            Bytes b;
            if (!random_bytes(b, 8)) return std::nullopt;
            const auto spi = spi_from_bytes(b);
            if (spi != 0) return spi;
        }
        return std::nullopt;
    }

    Header header_for(const Generation& g, ExchangeType type, std::uint32_t mid,
                      bool response) const {
        Header h;
        h.initiator_spi = g.spis.initiator;
        h.responder_spi = g.spis.responder;
        h.exchange_type = type;
        h.message_id = mid;
        h.response = response;
        h.initiator = g.original_initiator;
        return h;
    }

    void emit(Event e) { events.push_back(std::move(e)); }

    void send_bytes(Bytes data) {
        Datagram d;
        d.local = local;
        d.remote = remote;
        d.data = std::move(data);
        outgoing.push_back(std::move(d));
        last_sent = now();
    }

    // Largest IKE message that fits config.fragment_size once IP, UDP and the non-ESP marker
    // are added (RFC 7383 2.5.1).
    std::size_t max_message_size() const {
        const std::size_t overhead =
            (remote.address.v6 ? 40 : 20) + 8 + (local.port == kNatTPort ? 4 : 0);
        return config.fragment_size > overhead ? config.fragment_size - overhead : 0;
    }

    // The datagrams of one protected message: SKF fragments when it is too large and both sides
    // support fragmentation (never for IKE_SA_INIT, RFC 7383 2.5).
    std::vector<Bytes> protect(Generation& g, const Header& h, std::span<const Payload> payloads) {
        auto whole = seal_message(h, payloads, *g.out);
        if (!whole) return {};
        if (!peer_supports_fragmentation || !config.send_fragmentation_supported ||
            whole->size() <= max_message_size()) {
            return {std::move(*whole)};
        }
        auto fragments = seal_fragments(h, payloads, *g.out, max_message_size());
        if (!fragments) return {std::move(*whole)};
        return std::move(*fragments);
    }

    void send_all(const std::vector<Bytes>& datagrams) {
        for (const auto& d : datagrams) send_bytes(d);
    }

    void send_request(Generation& g, ExchangeType type, std::vector<Payload> payloads, Task task) {
        const std::uint32_t mid = g.next_request_id;
        const Header h = header_for(g, type, mid, false);
        std::vector<Bytes> datagrams;
        if (g.out) {
            datagrams = protect(g, h, payloads);
        } else if (auto plain = encode(Message{h, std::move(payloads)})) {
            datagrams.push_back(std::move(*plain));
        }
        if (datagrams.empty()) return;  // cannot happen with our own payloads
        ++g.next_request_id;
        if (type == ExchangeType::kIkeSaInit) message1 = datagrams.front();
        send_all(datagrams);
        g.outstanding = Outstanding{mid,
                                    type,
                                    std::move(datagrams),
                                    0,
                                    now() + retransmit_wait(config.retransmit, 0),
                                    std::move(task)};
    }

    void send_response(Generation& g, const Header& request, std::vector<Payload> payloads) {
        const Header h = header_for(g, request.exchange_type, request.message_id, true);
        auto datagrams = protect(g, h, payloads);
        if (datagrams.empty()) return;
        send_all(datagrams);
        g.cached = CachedResponse{request.message_id, std::move(datagrams)};
    }

    // The authenticated inner message of a received SK message, or of the last missing SKF
    // fragment; nullopt when dropped or still incomplete.
    std::optional<Message> open_incoming(Generation& g, const Header& h, const Datagram& d,
                                         std::unique_ptr<FragmentReassembler>& fragments) {
        if (g.in == nullptr) return std::nullopt;
        if (h.next_payload == PayloadType::kEncryptedFragment) {
            auto fragment = open_fragment(d.data, *g.in);
            if (!fragment) {
                ++counters.decode_errors;
                return std::nullopt;
            }
            if (!fragments) fragments = std::make_unique<FragmentReassembler>();
            auto complete = fragments->add(std::move(*fragment));
            if (!complete) {
                ++counters.decode_errors;
                return std::nullopt;
            }
            if (!*complete) return std::nullopt;
            Message whole = std::move(**complete);
            fragments.reset();
            return whole;
        }
        auto m = open_message(d.data, *g.in);
        if (!m) {
            ++counters.decode_errors;
            return std::nullopt;
        }
        return std::move(*m);
    }

    Generation* generation_for(const Header& h) {
        auto matches = [&](const Generation& g) {
            if (g.spis.initiator != h.initiator_spi) return false;
            if (g.spis.responder == h.responder_spi) return true;
            // IKE_SA_INIT responses carry the new responder SPI (or zero for COOKIE/INVALID_KE)
            return h.exchange_type == ExchangeType::kIkeSaInit;
        };
        if (current && matches(*current)) return current.get();
        for (auto& g : retiring) {
            if (matches(*g)) return g.get();
        }
        if (peer_ike_rekey && matches(*peer_ike_rekey->generation)) {
            return peer_ike_rekey->generation.get();
        }
        return nullptr;
    }

    // ---------------------------------------------------------------- keys
    bool set_ike_keys(Generation& g, const SecretBytes& skeyseed, const Bytes& nonce_i,
                      const Bytes& nonce_r) {
        auto keys = derive_ike_sa_keys(g.suite, skeyseed, nonce_i, nonce_r,
                                       spi_bytes(g.spis.initiator), spi_bytes(g.spis.responder));
        if (!keys) return false;
        if (deps.keylog != nullptr) deps.keylog->ike_sa_keys(g.spis, g.suite, *keys);
        const bool i = g.original_initiator;
        auto out = make_sk_transform(g.suite.encr, g.suite.encr_key_bits, g.suite.integ,
                                     i ? keys->sk_ei : keys->sk_er, i ? keys->sk_ai : keys->sk_ar);
        auto in = make_sk_transform(g.suite.encr, g.suite.encr_key_bits, g.suite.integ,
                                    i ? keys->sk_er : keys->sk_ei, i ? keys->sk_ar : keys->sk_ai);
        if (!out || !in) return false;
        g.out = std::move(*out);
        g.in = std::move(*in);
        g.sk_d = std::move(keys->sk_d);
        g.sk_pi = std::move(keys->sk_pi);
        g.sk_pr = std::move(keys->sk_pr);
        return true;
    }

    // Installs a CHILD_SA keyed from `g`'s SK_d (the IKE SA the exchange ran on);
    // `we_initiated` the exchange that created it.
    std::optional<ChildSa> install_child(const Generation& g, const EspSuite& suite, ChildMode mode,
                                         std::uint32_t inbound, std::uint32_t outbound,
                                         std::vector<TrafficSelector> local_ts,
                                         std::vector<TrafficSelector> remote_ts,
                                         const Bytes& nonce_i, const Bytes& nonce_r,
                                         bool we_initiated,
                                         const SecretBytes* pfs_shared = nullptr) {
        const ChildSaKeyLengths lengths{encr_key_material_length(suite.encr, suite.encr_key_bits),
                                        integ_key_length(suite.integ)};
        auto keys =
            derive_child_sa_keys(g.suite.prf, g.sk_d, lengths, nonce_i, nonce_r, pfs_shared);
        if (!keys) return std::nullopt;
        ChildSaInstall install;
        const bool encap = nat.any();
        install.inbound.spi = inbound;
        install.inbound.source = remote;
        install.inbound.destination = local;
        install.inbound.encr_key = we_initiated ? keys->encr_r : keys->encr_i;
        install.inbound.integ_key = we_initiated ? keys->integ_r : keys->integ_i;
        install.inbound.source_ts = remote_ts;
        install.inbound.destination_ts = local_ts;
        install.outbound.spi = outbound;
        install.outbound.source = local;
        install.outbound.destination = remote;
        install.outbound.encr_key = we_initiated ? keys->encr_i : keys->encr_r;
        install.outbound.integ_key = we_initiated ? keys->integ_i : keys->integ_r;
        install.outbound.source_ts = local_ts;
        install.outbound.destination_ts = remote_ts;
        for (auto* p : {&install.inbound, &install.outbound}) {
            p->suite = suite;
            p->mode = mode;
            p->udp_encap = encap;
        }
        if (!deps.installer->install(install)) return std::nullopt;
        if (deps.keylog != nullptr) deps.keylog->child_sa_keys(install);
        ChildSa child;
        child.rekey_at = rekey_time(config.child_rekey_interval);
        child.inbound_spi = inbound;
        child.outbound_spi = outbound;
        child.suite = suite;
        child.mode = mode;
        child.local_ts = std::move(local_ts);
        child.remote_ts = std::move(remote_ts);
        return child;
    }

    ChildSa* child_by_inbound(std::uint32_t spi) {
        for (auto& c : children) {
            if (c.inbound_spi == spi) return &c;
        }
        return nullptr;
    }
    ChildSa* child_by_outbound(std::uint32_t spi) {
        for (auto& c : children) {
            if (c.outbound_spi == spi) return &c;
        }
        return nullptr;
    }

    void remove_child(std::uint32_t inbound_spi) {
        auto it = std::find_if(children.begin(), children.end(),
                               [&](const ChildSa& c) { return c.inbound_spi == inbound_spi; });
        if (it == children.end()) return;
        deps.installer->remove(it->inbound_spi, it->outbound_spi);
        emit(ChildSaDown{it->inbound_spi, it->outbound_spi});
        children.erase(it);
    }

    static ChildSaUp child_up(const ChildSa& c) {
        return ChildSaUp{c.inbound_spi, c.outbound_spi, c.mode, c.local_ts, c.remote_ts};
    }

    // ---------------------------------------------------------------- lifecycle
    void fail_task(Task& task, NotifyOutcome outcome) {
        if (auto* info = std::get_if<InfoTask>(&task);
            info != nullptr && info->kind == InfoTask::Kind::kNotify) {
            emit(NotifyRequestDone{info->id, outcome, {}});
        }
    }

    void go_down(DownReason reason) {
        if (state == IkeSaState::kDown) return;
        state = IkeSaState::kDown;
        while (!children.empty()) remove_child(children.front().inbound_spi);
        for (auto* g : all_generations()) {
            if (g->outstanding) fail_task(g->outstanding->task, NotifyOutcome::kIkeSaGone);
            g->outstanding.reset();
        }
        for (auto& task : queue) fail_task(task, NotifyOutcome::kIkeSaGone);
        queue.clear();
        retiring.clear();
        peer_ike_rekey.reset();
        emit(IkeSaDown{current->spis, peer_id, remote, reason});
    }

    std::vector<Generation*> all_generations() {
        std::vector<Generation*> out{current.get()};
        for (auto& g : retiring) out.push_back(g.get());
        if (peer_ike_rekey) out.push_back(peer_ike_rekey->generation.get());
        return out;
    }

    void start_next_task() {
        if (state != IkeSaState::kEstablished && state != IkeSaState::kDeleting) return;
        while (!current->outstanding && !queue.empty()) {
            Task task = std::move(queue.front());
            queue.pop_front();
            start_task(std::move(task));
        }
    }

    void start_task(Task task) {
        if (auto* info = std::get_if<InfoTask>(&task)) {
            std::vector<Payload> payloads;
            switch (info->kind) {
                case InfoTask::Kind::kLiveness:
                    break;
                case InfoTask::Kind::kNotify:
                    for (auto& n : info->notifies) payloads.emplace_back(n);
                    break;
                case InfoTask::Kind::kDeleteIke:
                    payloads.emplace_back(DeletePayload{ProtocolId::kIke, 0, {}});
                    break;
                case InfoTask::Kind::kDeleteChild: {
                    if (child_by_inbound(info->child_inbound_spi) == nullptr) return;
                    payloads.emplace_back(
                        DeletePayload{ProtocolId::kEsp, 4, {spi32_bytes(info->child_inbound_spi)}});
                    break;
                }
            }
            send_request(*current, ExchangeType::kInformational, std::move(payloads),
                         std::move(task));
            return;
        }
        if (auto* rekey = std::get_if<RekeyChildTask>(&task)) {
            start_child_rekey(*rekey, std::move(task));
            return;
        }
        if (std::holds_alternative<CreateChildTask>(task)) {
            start_create_child(std::move(task));
            return;
        }
        if (std::holds_alternative<RekeyIkeTask>(task)) start_ike_rekey(std::move(task));
    }

    // ---------------------------------------------------------------- IKE_SA_INIT
    std::vector<Payload> init_common_payloads(const Generation& g, bool response) {
        std::vector<Payload> p;
        // Request: SPIr is still zero in the header the peer will hash.
        const std::uint64_t spi_r = response ? g.spis.responder : 0;
        p.emplace_back(notify(NotifyType::kNatDetectionSourceIp,
                              nat_detection_hash(g.spis.initiator, spi_r, local)));
        p.emplace_back(notify(NotifyType::kNatDetectionDestinationIp,
                              nat_detection_hash(g.spis.initiator, spi_r, remote)));
        if (config.send_fragmentation_supported) {
            p.emplace_back(notify(NotifyType::kIkev2FragmentationSupported));
        }
        if (config.send_signature_hash_algorithms) {
            p.emplace_back(notify(NotifyType::kSignatureHashAlgorithms, kSignatureHashAlgorithms));
        }
        for (const auto& vid : config.vendor_ids) p.emplace_back(VendorIdPayload{vid});
        return p;
    }

    void send_init_request() {
        std::vector<Payload> p;
        if (!cookie.empty()) p.emplace_back(notify(NotifyType::kCookie, cookie));
        SaPayload sa;
        std::uint8_t number = 1;
        for (const auto& s : config.proposals)
            sa.proposals.push_back(ike_proposal(s, number++, {}));
        p.emplace_back(std::move(sa));
        p.emplace_back(KePayload{static_cast<std::uint16_t>(dh->group()), dh->public_value()});
        p.emplace_back(NoncePayload{ni});
        for (auto& extra : init_common_payloads(*current, false)) p.push_back(std::move(extra));
        current->next_request_id = 0;
        current->outstanding.reset();
        send_request(*current, ExchangeType::kIkeSaInit, std::move(p), InitTask{});
    }

    void collect_init_info(const Message& m, const Datagram& d, std::uint64_t spi_r) {
        peer_vids.clear();
        for (const auto& payload : m.payloads) {
            if (const auto* v = std::get_if<VendorIdPayload>(&payload))
                peer_vids.push_back(v->data);
        }
        nat = detect_nat(m.payloads, current->spis.initiator, spi_r, d.remote, d.local)
                  .value_or(NatDetection{});
        peer_supports_fragmentation =
            find_notify(m.payloads, static_cast<std::uint16_t>(
                                        NotifyType::kIkev2FragmentationSupported)) != nullptr;
    }

    void handle_init_response(const Message& m, const Datagram& d) {
        if (const auto* c = find_notify(m.payloads, kCookieType)) {
            if (++init_retries > config.max_init_retries ||
                (!cookie.empty() && c->data == cookie)) {
                go_down(DownReason::kNegotiationFailed);
                return;
            }
            cookie = c->data;
            send_init_request();
            return;
        }
        if (const auto* ike = find_notify(m.payloads, kInvalidKeType)) {
            const auto group = ike->data.size() == 2
                                   ? dh_group_from_transform_id(static_cast<std::uint16_t>(
                                         (ike->data[0] << 8) | ike->data[1]))
                                   : std::nullopt;
            const bool offered =
                group && std::any_of(config.proposals.begin(), config.proposals.end(),
                                     [&](const Suite& s) { return s.dh == *group; });
            if (++init_retries > config.max_init_retries || !offered || *group == dh->group()) {
                go_down(DownReason::kNegotiationFailed);
                return;
            }
            auto pair = DhKeyPair::generate(*group);
            if (!pair) {
                go_down(DownReason::kNegotiationFailed);
                return;
            }
            dh = std::move(*pair);
            send_init_request();
            return;
        }
        if (find_error_notify(m.payloads) != nullptr) {
            go_down(DownReason::kNegotiationFailed);
            return;
        }
        const auto* sa = find_payload<SaPayload>(m.payloads);
        const auto* ke = find_payload<KePayload>(m.payloads);
        const auto* nonce = find_payload<NoncePayload>(m.payloads);
        if (sa == nullptr || ke == nullptr || nonce == nullptr || sa->proposals.size() != 1 ||
            m.header.responder_spi == 0) {
            go_down(DownReason::kNegotiationFailed);
            return;
        }
        const auto suite = suite_from_proposal(sa->proposals.front());
        const bool ours = suite && std::find(config.proposals.begin(), config.proposals.end(),
                                             *suite) != config.proposals.end();
        if (!ours || suite->dh != dh->group() ||
            ke->group != static_cast<std::uint16_t>(dh->group())) {
            go_down(DownReason::kNegotiationFailed);
            return;
        }
        auto shared = dh->shared_secret(ke->data);
        if (!shared) {
            go_down(DownReason::kNegotiationFailed);
            return;
        }
        current->spis.responder = m.header.responder_spi;
        current->suite = *suite;
        nr = nonce->data;
        message2.assign(d.data.begin(), d.data.end());
        auto skeyseed = compute_skeyseed(suite->prf, ni, nr, *shared);
        if (!skeyseed || !set_ike_keys(*current, *skeyseed, ni, nr)) {
            go_down(DownReason::kNegotiationFailed);
            return;
        }
        dh.reset();
        collect_init_info(m, d, m.header.responder_spi);
        if (nat.any()) {  // RFC 7296 2.23: float to 4500 from IKE_AUTH on
            local.port = kNatTPort;
            remote.port = kNatTPort;
        }
        send_auth_request();
    }

    // ---------------------------------------------------------------- IKE_AUTH
    AuthInput auth_input(bool initiator_side, const Identification& id) const {
        AuthInput in;
        in.prf = current->suite.prf;
        in.real_message = initiator_side ? ByteView(message1) : ByteView(message2);
        in.peer_nonce = initiator_side ? ByteView(nr) : ByteView(ni);
        in.sk_p = initiator_side ? &current->sk_pi : &current->sk_pr;
        in.id = &id;
        return in;
    }

    void send_auth_request() {
        std::vector<Payload> p;
        p.emplace_back(IdiPayload{config.local_id});
        for (auto& c : deps.authenticator->credentials_payloads()) p.push_back(std::move(c));
        for (auto& c : deps.authenticator->certificate_requests()) p.push_back(std::move(c));
        if (config.remote_id) p.emplace_back(IdrPayload{*config.remote_id});
        auto auth = deps.authenticator->sign(auth_input(true, config.local_id));
        if (!auth) {
            go_down(DownReason::kAuthenticationFailed);
            return;
        }
        p.emplace_back(std::move(*auth));
        if (config.send_initial_contact) p.emplace_back(notify(NotifyType::kInitialContact));
        if (config.child) {
            auto spi = deps.installer->allocate_spi(local, remote);
            if (spi) {
                auth_child_spi = *spi;
                if (config.child->mode == ChildMode::kTransport) {
                    p.emplace_back(notify(NotifyType::kUseTransportMode));
                }
                SaPayload sa;
                std::uint8_t number = 1;
                for (const auto& s : config.child->proposals) {
                    sa.proposals.push_back(esp_proposal(s, number++, spi32_bytes(*spi)));
                }
                p.emplace_back(std::move(sa));
                p.emplace_back(TsiPayload{config.child->local_ts});
                p.emplace_back(TsrPayload{config.child->remote_ts});
            }
        }
        state = IkeSaState::kAuthSent;
        send_request(*current, ExchangeType::kIkeAuth, std::move(p), AuthTask{});
    }

    bool peer_id_acceptable(const Identification& id) const {
        return !config.remote_id || *config.remote_id == id;
    }

    void established() {
        state = IkeSaState::kEstablished;
        ike_rekey_at = rekey_time(config.ike_rekey_interval);
        emit(IkeSaUp{current->spis, *peer_id, remote, peer_vids});
    }

    // When to rekey something just created: interval minus a random part of the jitter, so the
    // two peers rarely start at the same time (strongSwan's rand_time).
    std::optional<TimePoint> rekey_time(Duration interval) {
        if (interval <= Duration::zero()) return std::nullopt;
        Duration jitter{};
        if (config.rekey_jitter > Duration::zero()) {
            Bytes r;
            if (random_bytes(r, 4)) {
                const auto fraction = static_cast<double>(spi32_from_bytes(r)) / 4294967296.0;
                jitter = std::chrono::duration_cast<Duration>(config.rekey_jitter * fraction);
            }
        }
        return now() + interval - std::min(jitter, interval);
    }

    // Responder: the CHILD_SA of IKE_AUTH or of a CREATE_CHILD_SA; payloads appended to `out`.
    // Returns the new child, or nullopt after appending an error notify.
    std::optional<ChildSa> respond_child(const Message& m, const Bytes& nonce_i,
                                         const Bytes& nonce_r, std::vector<Payload>& out,
                                         bool in_ike_auth) {
        // A local failure (no SPI, kernel refused the SA) must not cost the IKE SA. In IKE_AUTH,
        // RFC 7296 1.2 lets only the CHILD_SA errors (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE, ...)
        // leave the IKE SA standing; strongSwan treats any other error there, TEMPORARY_FAILURE
        // included, as a failed IKE_AUTH. In CREATE_CHILD_SA, TEMPORARY_FAILURE means "retry".
        const NotifyType local_failure =
            in_ike_auth ? NotifyType::kNoProposalChosen : NotifyType::kTemporaryFailure;
        const auto* sa = find_payload<SaPayload>(m.payloads);
        const auto* tsi = find_payload<TsiPayload>(m.payloads);
        const auto* tsr = find_payload<TsrPayload>(m.payloads);
        if (!config.child || sa == nullptr) {
            out.emplace_back(notify(NotifyType::kNoProposalChosen));
            return std::nullopt;
        }
        if (tsi == nullptr || tsr == nullptr) {
            out.emplace_back(notify(NotifyType::kTsUnacceptable));
            return std::nullopt;
        }
        const auto* ke = find_payload<KePayload>(m.payloads);
        std::optional<EspPfsSelection> selection;
        if (in_ike_auth) {
            if (auto plain = select_esp_suite_ignoring_ke(sa->proposals, config.child->proposals))
                selection = EspPfsSelection{plain->suite, plain->proposal, std::nullopt};
        } else {
            selection = select_esp_suite_pfs(
                sa->proposals, config.child->proposals, config.child->pfs_groups,
                ke != nullptr ? std::optional(ke->group) : std::nullopt);
        }
        if (!selection) {
            out.emplace_back(notify(NotifyType::kNoProposalChosen));
            return std::nullopt;
        }
        // PFS: our half of the key exchange, in the group selected (1.3.1; 1.3 for the KE).
        std::optional<DhKeyPair> pfs_pair;
        std::optional<SecretBytes> pfs_shared;
        if (selection->group) {
            const auto group = static_cast<std::uint16_t>(*selection->group);
            if (ke == nullptr || ke->group != group) {
                out.emplace_back(notify(
                    NotifyType::kInvalidKePayload,
                    {static_cast<std::uint8_t>(group >> 8), static_cast<std::uint8_t>(group)}));
                return std::nullopt;
            }
            auto pair = DhKeyPair::generate(*selection->group);
            if (!pair) {
                out.emplace_back(notify(local_failure));
                return std::nullopt;
            }
            auto shared = pair->shared_secret(ke->data);
            if (!shared) {
                out.emplace_back(notify(NotifyType::kInvalidSyntax));
                return std::nullopt;
            }
            pfs_pair = std::move(*pair);
            pfs_shared = std::move(*shared);
        }
        // TSi is the initiator's side, i.e. our remote; TSr our local.
        auto remote_ts = narrow_traffic_selectors(tsi->selectors, config.child->remote_ts);
        auto local_ts = narrow_traffic_selectors(tsr->selectors, config.child->local_ts);
        if (remote_ts.empty() || local_ts.empty()) {
            out.emplace_back(notify(NotifyType::kTsUnacceptable));
            return std::nullopt;
        }
        const bool transport = find_notify(m.payloads, kTransportModeType) != nullptr &&
                               config.child->mode == ChildMode::kTransport;
        auto spi = deps.installer->allocate_spi(local, remote);
        if (!spi) {
            out.emplace_back(notify(local_failure));
            return std::nullopt;
        }
        const std::uint32_t outbound = spi32_from_bytes(selection->proposal->spi);
        auto child = install_child(*current, selection->suite,
                                   transport ? ChildMode::kTransport : ChildMode::kTunnel, *spi,
                                   outbound, local_ts, remote_ts, nonce_i, nonce_r, false,
                                   pfs_shared ? &*pfs_shared : nullptr);
        if (!child) {
            out.emplace_back(notify(local_failure));
            return std::nullopt;
        }
        if (transport) out.emplace_back(notify(NotifyType::kUseTransportMode));
        SaPayload chosen;
        std::vector<DhGroup> chosen_group;
        if (selection->group) chosen_group.push_back(*selection->group);
        chosen.proposals.push_back(esp_proposal(selection->suite, selection->proposal->number,
                                                spi32_bytes(*spi), chosen_group));
        out.emplace_back(std::move(chosen));
        if (pfs_pair) {
            out.emplace_back(
                KePayload{static_cast<std::uint16_t>(pfs_pair->group()), pfs_pair->public_value()});
        }
        out.emplace_back(TsiPayload{remote_ts});
        out.emplace_back(TsrPayload{local_ts});
        return child;
    }

    void handle_auth_request(const Message& m, const Datagram& d) {
        const auto* idi = find_payload<IdiPayload>(m.payloads);
        const auto* auth = find_payload<AuthPayload>(m.payloads);
        std::vector<Payload> out;
        if (idi == nullptr || auth == nullptr) {
            out.emplace_back(notify(NotifyType::kInvalidSyntax));
            send_response(*current, m.header, std::move(out));
            go_down(DownReason::kNegotiationFailed);
            return;
        }
        const auto verified =
            peer_id_acceptable(idi->id)
                ? deps.authenticator->verify(auth_input(true, idi->id), *auth, m.payloads)
                : tl::expected<void, AuthFailure>(tl::unexpected(AuthFailure::kMismatch));
        if (!verified) {
            out.emplace_back(notify(NotifyType::kAuthenticationFailed));
            send_response(*current, m.header, std::move(out));
            go_down(DownReason::kAuthenticationFailed);
            return;
        }
        peer_id = idi->id;
        if (nat.any()) {
            local = d.local;
            remote = d.remote;
        }
        out.emplace_back(IdrPayload{config.local_id});
        for (auto& c : deps.authenticator->credentials_payloads()) out.push_back(std::move(c));
        auto own = deps.authenticator->sign(auth_input(false, config.local_id));
        if (!own) {
            out.clear();
            out.emplace_back(notify(NotifyType::kAuthenticationFailed));
            send_response(*current, m.header, std::move(out));
            go_down(DownReason::kAuthenticationFailed);
            return;
        }
        out.emplace_back(std::move(*own));
        std::optional<ChildSa> child;
        std::uint16_t child_error = 0;
        if (find_payload<SaPayload>(m.payloads) != nullptr) {
            child = respond_child(m, ni, nr, out, true);
            const auto* error = find_error_notify(out);
            if (!child && error != nullptr) child_error = error->type;
        }
        send_response(*current, m.header, std::move(out));
        established();
        if (child) {
            emit(child_up(*child));
            children.push_back(std::move(*child));
        } else if (child_error != 0) {
            emit(ChildSaFailed{child_error});
        }
    }

    void handle_auth_response(const Message& m) {
        if (find_notify(m.payloads,
                        static_cast<std::uint16_t>(NotifyType::kAuthenticationFailed)) != nullptr) {
            go_down(DownReason::kAuthenticationFailed);
            return;
        }
        const auto* idr = find_payload<IdrPayload>(m.payloads);
        const auto* auth = find_payload<AuthPayload>(m.payloads);
        if (idr == nullptr || auth == nullptr) {
            go_down(DownReason::kNegotiationFailed);
            return;
        }
        if (!peer_id_acceptable(idr->id) ||
            !deps.authenticator->verify(auth_input(false, idr->id), *auth, m.payloads)) {
            // 2.21.2: tell the responder, whose side is already up, in a separate exchange
            // (sent once; we do not wait for its answer).
            send_request(*current, ExchangeType::kInformational,
                         {notify(NotifyType::kAuthenticationFailed)},
                         InfoTask{InfoTask::Kind::kDeleteIke, 0, {}, 0});
            go_down(DownReason::kAuthenticationFailed);
            return;
        }
        peer_id = idr->id;
        established();
        if (!config.child || auth_child_spi == 0) return;
        const auto* sa = find_payload<SaPayload>(m.payloads);
        const auto* tsi = find_payload<TsiPayload>(m.payloads);
        const auto* tsr = find_payload<TsrPayload>(m.payloads);
        const auto* error = find_error_notify(m.payloads);
        if (error != nullptr || sa == nullptr || tsi == nullptr || tsr == nullptr ||
            sa->proposals.size() != 1) {
            emit(ChildSaFailed{error != nullptr
                                   ? error->type
                                   : static_cast<std::uint16_t>(NotifyType::kInvalidSyntax)});
            return;
        }
        auto child =
            accept_child_answer(*current, *sa, *tsi, *tsr, m.payloads, auth_child_spi, ni, nr);
        if (!child) {
            emit(ChildSaFailed{static_cast<std::uint16_t>(NotifyType::kNoProposalChosen)});
            return;
        }
        emit(child_up(*child));
        children.push_back(std::move(*child));
    }

    // Initiator: the responder's answer to our CHILD_SA proposal; its selectors must lie
    // within those proposed (default: the configured ones).
    std::optional<ChildSa> accept_child_answer(
        const Generation& g, const SaPayload& sa, const TsiPayload& tsi, const TsrPayload& tsr,
        std::span<const Payload> payloads, std::uint32_t inbound, const Bytes& nonce_i,
        const Bytes& nonce_r, const SecretBytes* pfs_shared = nullptr,
        std::optional<DhGroup> pfs_group = std::nullopt,
        const std::vector<TrafficSelector>* proposed_local = nullptr,
        const std::vector<TrafficSelector>* proposed_remote = nullptr) {
        if (sa.proposals.size() != 1 || sa.proposals.front().spi.size() != 4) return std::nullopt;
        // With PFS the answer carries exactly our KE group; checked here, then set aside.
        Proposal answered = sa.proposals.front();
        std::vector<std::uint16_t> ke_ids;
        std::erase_if(answered.transforms, [&](const Transform& t) {
            if (t.type != TransformType::kKeyExchange) return false;
            ke_ids.push_back(t.id);
            return true;
        });
        if (pfs_group) {
            if (ke_ids.size() != 1 || ke_ids.front() != static_cast<std::uint16_t>(*pfs_group))
                return std::nullopt;
        } else if (!ke_ids.empty() && !(ke_ids.size() == 1 && ke_ids.front() == 0)) {
            return std::nullopt;
        }
        const auto suite = esp_suite_from_proposal(answered);
        const auto& offered = config.child->proposals;
        if (!suite || std::find(offered.begin(), offered.end(), *suite) == offered.end()) {
            return std::nullopt;
        }
        if (!traffic_selectors_within(tsi.selectors, proposed_local != nullptr
                                                         ? *proposed_local
                                                         : config.child->local_ts) ||
            !traffic_selectors_within(tsr.selectors, proposed_remote != nullptr
                                                         ? *proposed_remote
                                                         : config.child->remote_ts) ||
            tsi.selectors.empty() || tsr.selectors.empty()) {
            return std::nullopt;
        }
        const bool transport = find_notify(payloads, kTransportModeType) != nullptr;
        if (transport && config.child->mode != ChildMode::kTransport) return std::nullopt;
        return install_child(g, *suite, transport ? ChildMode::kTransport : ChildMode::kTunnel,
                             inbound, spi32_from_bytes(sa.proposals.front().spi), tsi.selectors,
                             tsr.selectors, nonce_i, nonce_r, true, pfs_shared);
    }

    // ---------------------------------------------------------------- CREATE_CHILD_SA
    // SPI, nonce and (PFS) key pair for a CHILD_SA request; false when one is unavailable.
    bool prepare_child_request(ChildRequest& r) {
        auto spi = deps.installer->allocate_spi(local, remote);
        if (!spi) return false;
        if (!random_bytes(r.nonce, config.nonce_length)) {
            deps.installer->remove(*spi, 0);
            return false;
        }
        r.new_inbound_spi = *spi;
        r.dh.reset();
        const auto& groups = config.child->pfs_groups;
        if (!groups.empty()) {
            auto pair = DhKeyPair::generate(r.ke_group.value_or(groups.front()));
            if (!pair) {
                deps.installer->remove(*spi, 0);
                return false;
            }
            r.dh = std::make_shared<DhKeyPair>(std::move(*pair));
        }
        return true;
    }

    // SA, Ni, [KEi], TSi, TSr of a CREATE_CHILD_SA request for a CHILD_SA.
    void append_child_request(const ChildRequest& r, ChildMode mode,
                              const std::vector<TrafficSelector>& local_ts,
                              const std::vector<TrafficSelector>& remote_ts,
                              std::vector<Payload>& p) {
        if (mode == ChildMode::kTransport) p.emplace_back(notify(NotifyType::kUseTransportMode));
        std::vector<DhGroup> groups;
        if (r.dh) {
            // The KE's group first, so that the peer selects it.
            groups.push_back(r.dh->group());
            for (const auto g : config.child->pfs_groups) {
                if (g != r.dh->group()) groups.push_back(g);
            }
        }
        SaPayload sa;
        std::uint8_t number = 1;
        for (const auto& s : config.child->proposals) {
            sa.proposals.push_back(
                esp_proposal(s, number++, spi32_bytes(r.new_inbound_spi), groups));
        }
        p.emplace_back(std::move(sa));
        p.emplace_back(NoncePayload{r.nonce});
        if (r.dh) {
            p.emplace_back(
                KePayload{static_cast<std::uint16_t>(r.dh->group()), r.dh->public_value()});
        }
        p.emplace_back(TsiPayload{local_ts});
        p.emplace_back(TsrPayload{remote_ts});
    }

    // The group an INVALID_KE_PAYLOAD in `m` asks for, if it is one of ours, differs from the
    // one sent and retries are left (RFC 7296 1.3: the request is sent again with it).
    std::optional<DhGroup> ke_retry_group(const Message& m, const ChildRequest& r) const {
        const auto* invalid = find_notify(m.payloads, kInvalidKeType);
        if (invalid == nullptr || !r.dh || invalid->data.size() != 2 ||
            r.ke_retries >= config.max_init_retries) {
            return std::nullopt;
        }
        const auto group = dh_group_from_transform_id(
            static_cast<std::uint16_t>((invalid->data[0] << 8) | invalid->data[1]));
        const auto& groups = config.child->pfs_groups;
        if (!group || *group == r.dh->group() ||
            std::find(groups.begin(), groups.end(), *group) == groups.end()) {
            return std::nullopt;
        }
        return group;
    }

    // The peer's KE answered to our PFS request: the new shared secret, or nullopt.
    std::optional<SecretBytes> pfs_secret(const Message& m, const ChildRequest& r) const {
        const auto* ke = find_payload<KePayload>(m.payloads);
        if (ke == nullptr || ke->group != static_cast<std::uint16_t>(r.dh->group()))
            return std::nullopt;
        auto shared = r.dh->shared_secret(ke->data);
        if (!shared) return std::nullopt;
        return std::move(*shared);
    }

    void start_child_rekey(RekeyChildTask rekey, Task task) {
        ChildSa* child = child_by_inbound(rekey.old_inbound_spi);
        if (child == nullptr || child->replaced || child->rekeying || !config.child) return;
        auto& r = std::get<RekeyChildTask>(task);
        if (!prepare_child_request(r.request)) return;
        child->rekeying = true;
        std::vector<Payload> p;
        NotifyPayload rekey_sa = notify(NotifyType::kRekeySa);
        rekey_sa.protocol = ProtocolId::kEsp;
        rekey_sa.spi = spi32_bytes(child->inbound_spi);
        p.emplace_back(std::move(rekey_sa));
        append_child_request(r.request, child->mode, child->local_ts, child->remote_ts, p);
        send_request(*current, ExchangeType::kCreateChildSa, std::move(p), std::move(task));
    }

    void start_create_child(Task task) {
        if (!config.child) return;
        auto& r = std::get<CreateChildTask>(task).request;
        if (!prepare_child_request(r)) {
            emit(ChildSaFailed{static_cast<std::uint16_t>(NotifyType::kTemporaryFailure)});
            return;
        }
        auto& create = std::get<CreateChildTask>(task);
        if (create.local_ts.empty()) create.local_ts = config.child->local_ts;
        if (create.remote_ts.empty()) create.remote_ts = config.child->remote_ts;
        std::vector<Payload> p;
        append_child_request(r, config.child->mode, create.local_ts, create.remote_ts, p);
        send_request(*current, ExchangeType::kCreateChildSa, std::move(p), std::move(task));
    }

    void handle_create_child_response(const Generation& g, const CreateChildTask& task,
                                      const Message& m) {
        const ChildRequest& r = task.request;
        if (const auto group = ke_retry_group(m, r)) {
            deps.installer->remove(r.new_inbound_spi, 0);
            queue.push_front(CreateChildTask{ChildRequest{0, {}, nullptr, group, r.ke_retries + 1},
                                             task.local_ts, task.remote_ts});
            return;
        }
        const auto* sa = find_payload<SaPayload>(m.payloads);
        const auto* nonce = find_payload<NoncePayload>(m.payloads);
        const auto* tsi = find_payload<TsiPayload>(m.payloads);
        const auto* tsr = find_payload<TsrPayload>(m.payloads);
        const auto* error = find_error_notify(m.payloads);
        std::optional<SecretBytes> shared;
        if (r.dh && error == nullptr) shared = pfs_secret(m, r);
        std::optional<ChildSa> child;
        if (error == nullptr && sa != nullptr && nonce != nullptr && tsi != nullptr &&
            tsr != nullptr && (!r.dh || shared)) {
            child = accept_child_answer(g, *sa, *tsi, *tsr, m.payloads, r.new_inbound_spi, r.nonce,
                                        nonce->data, shared ? &*shared : nullptr,
                                        r.dh ? std::optional(r.dh->group()) : std::nullopt,
                                        &task.local_ts, &task.remote_ts);
        }
        if (!child) {
            deps.installer->remove(r.new_inbound_spi, 0);
            emit(ChildSaFailed{error != nullptr
                                   ? error->type
                                   : static_cast<std::uint16_t>(NotifyType::kNoProposalChosen)});
            return;
        }
        emit(child_up(*child));
        children.push_back(std::move(*child));
    }

    void handle_child_rekey_response(const Generation& g, const RekeyChildTask& task,
                                     const Message& m) {
        const ChildRequest& r = task.request;
        ChildSa* old = child_by_inbound(task.old_inbound_spi);
        if (old == nullptr) {  // deleted meanwhile
            deps.installer->remove(r.new_inbound_spi, 0);
            return;
        }
        old->rekeying = false;
        if (const auto group = ke_retry_group(m, r)) {
            deps.installer->remove(r.new_inbound_spi, 0);
            queue.push_front(RekeyChildTask{task.old_inbound_spi,
                                            ChildRequest{0, {}, nullptr, group, r.ke_retries + 1}});
            return;
        }
        const auto* sa = find_payload<SaPayload>(m.payloads);
        const auto* nonce = find_payload<NoncePayload>(m.payloads);
        const auto* tsi = find_payload<TsiPayload>(m.payloads);
        const auto* tsr = find_payload<TsrPayload>(m.payloads);
        std::optional<SecretBytes> shared;
        if (r.dh && find_error_notify(m.payloads) == nullptr) shared = pfs_secret(m, r);
        if (find_error_notify(m.payloads) != nullptr || sa == nullptr || nonce == nullptr ||
            tsi == nullptr || tsr == nullptr || (r.dh && !shared)) {
            deps.installer->remove(r.new_inbound_spi, 0);
            if (config.child_rekey_interval > Duration::zero() && !old->replaced) {
                old->rekey_at = now() + kRekeyRetryDelay;
            }
            return;  // the old CHILD_SA stays (TEMPORARY_FAILURE, CHILD_SA_NOT_FOUND, ...)
        }
        const std::optional<Bytes> peer_min = old->peer_rekey_min_nonce;
        const std::uint32_t peer_new = old->peer_rekey_new_inbound;
        auto child = accept_child_answer(g, *sa, *tsi, *tsr, m.payloads, r.new_inbound_spi, r.nonce,
                                         nonce->data, shared ? &*shared : nullptr,
                                         r.dh ? std::optional(r.dh->group()) : std::nullopt);
        if (!child) {
            deps.installer->remove(r.new_inbound_spi, 0);
            return;
        }
        const std::uint32_t new_inbound = child->inbound_spi;
        const std::uint32_t new_outbound = child->outbound_spi;
        children.push_back(std::move(*child));  // invalidates `old`
        const Bytes& our_min = min_nonce(r.nonce, nonce->data);
        if (peer_min && nonce_less(our_min, *peer_min)) {
            // 2.8.1: our exchange holds the lowest nonce, its SA is redundant; we created it, we
            // delete it. The peer, whose SA survives, deletes the old one.
            child_by_inbound(new_inbound)->replaced = true;
            queue.push_front(InfoTask{InfoTask::Kind::kDeleteChild, 0, {}, new_inbound});
            child_by_inbound(task.old_inbound_spi)->replaced = true;
            if (const ChildSa* survivor = child_by_inbound(peer_new)) {
                emit(ChildSaRekeyed{task.old_inbound_spi, peer_new, survivor->outbound_spi});
            }
            return;
        }
        if (peer_min) {
            // We won: the peer deletes its redundant SA.
            if (ChildSa* theirs = child_by_inbound(peer_new)) theirs->replaced = true;
        }
        emit(ChildSaRekeyed{task.old_inbound_spi, new_inbound, new_outbound});
        child_by_inbound(task.old_inbound_spi)->replaced = true;
        queue.push_front(InfoTask{InfoTask::Kind::kDeleteChild, 0, {}, task.old_inbound_spi});
    }

    void handle_create_child_request(Generation& g, const Message& m) {
        std::vector<Payload> out;
        if (state != IkeSaState::kEstablished || &g != current.get()) {
            out.emplace_back(notify(NotifyType::kTemporaryFailure));
            send_response(g, m.header, std::move(out));
            return;
        }
        const auto* rekey = find_notify(m.payloads, kRekeySaType);
        const auto* sa = find_payload<SaPayload>(m.payloads);
        if (rekey == nullptr && sa != nullptr && !sa->proposals.empty() &&
            sa->proposals.front().protocol == ProtocolId::kIke) {
            handle_ike_rekey_request(m);
            return;
        }
        const auto* nonce = find_payload<NoncePayload>(m.payloads);
        if (rekey == nullptr) {
            handle_new_child_request(g, m, nonce);
            return;
        }
        ChildSa* old =
            rekey->spi.size() == 4 ? child_by_outbound(spi32_from_bytes(rekey->spi)) : nullptr;
        if (old == nullptr || old->replaced) {
            NotifyPayload n = notify(NotifyType::kChildSaNotFound);
            n.protocol = ProtocolId::kEsp;
            n.spi = rekey->spi;
            out.emplace_back(std::move(n));
            send_response(g, m.header, std::move(out));
            return;
        }
        if (nonce == nullptr) {
            out.emplace_back(notify(NotifyType::kInvalidSyntax));
            send_response(g, m.header, std::move(out));
            return;
        }
        Bytes nr_child;
        if (!random_bytes(nr_child, config.nonce_length)) {
            out.emplace_back(notify(NotifyType::kTemporaryFailure));
            send_response(g, m.header, std::move(out));
            return;
        }
        const std::uint32_t old_inbound = old->inbound_spi;
        const bool collision = old->rekeying;
        std::vector<Payload> child_payloads;
        auto child = respond_child(m, nonce->data, nr_child, child_payloads, false);
        if (child) out.emplace_back(NoncePayload{nr_child});
        for (auto& p : child_payloads) out.push_back(std::move(p));
        send_response(g, m.header, std::move(out));
        if (!child) return;
        const std::uint32_t new_inbound = child->inbound_spi;
        const std::uint32_t new_outbound = child->outbound_spi;
        children.push_back(std::move(*child));
        if (collision) {
            ChildSa* o = child_by_inbound(old_inbound);
            o->peer_rekey_min_nonce = min_nonce(nonce->data, nr_child);
            o->peer_rekey_new_inbound = new_inbound;
            return;  // resolved when our own rekey's response arrives
        }
        emit(ChildSaRekeyed{old_inbound, new_inbound, new_outbound});
        child_by_inbound(old_inbound)->replaced = true;  // the peer deletes it
    }

    // An additional CHILD_SA requested by the peer (1.3.1): no REKEY_SA notify.
    void handle_new_child_request(Generation& g, const Message& m, const NoncePayload* nonce) {
        std::vector<Payload> out;
        if (!config.child) {
            out.emplace_back(notify(NotifyType::kNoAdditionalSas));
            send_response(g, m.header, std::move(out));
            return;
        }
        Bytes nr_child;
        if (nonce == nullptr) {
            out.emplace_back(notify(NotifyType::kInvalidSyntax));
        } else if (!random_bytes(nr_child, config.nonce_length)) {
            out.emplace_back(notify(NotifyType::kTemporaryFailure));
        }
        if (!out.empty()) {
            send_response(g, m.header, std::move(out));
            return;
        }
        std::vector<Payload> child_payloads;
        auto child = respond_child(m, nonce->data, nr_child, child_payloads, false);
        if (child) out.emplace_back(NoncePayload{nr_child});
        for (auto& p : child_payloads) out.push_back(std::move(p));
        send_response(g, m.header, std::move(out));
        if (!child) return;
        emit(child_up(*child));
        children.push_back(std::move(*child));
    }

    void start_ike_rekey(Task task) {
        auto& r = std::get<RekeyIkeTask>(task);
        const auto spi = random_spi();
        Bytes nonce;
        if (!spi || !random_bytes(nonce, config.nonce_length)) return;
        auto pair = DhKeyPair::generate(current->suite.dh);
        if (!pair) return;
        r.new_spi = *spi;
        r.nonce = nonce;
        r.dh = std::make_shared<DhKeyPair>(std::move(*pair));
        std::vector<Payload> p;
        SaPayload sa;
        std::uint8_t number = 1;
        // The current suite first, so that its KE group is the one the peer selects.
        sa.proposals.push_back(ike_proposal(current->suite, number++, spi_bytes(*spi)));
        for (const auto& s : config.proposals) {
            if (s != current->suite)
                sa.proposals.push_back(ike_proposal(s, number++, spi_bytes(*spi)));
        }
        p.emplace_back(std::move(sa));
        p.emplace_back(NoncePayload{nonce});
        p.emplace_back(KePayload{static_cast<std::uint16_t>(r.dh->group()), r.dh->public_value()});
        send_request(*current, ExchangeType::kCreateChildSa, std::move(p), std::move(task));
    }

    // Derives the generation that a CREATE_CHILD_SA rekeying `old` creates.
    std::unique_ptr<Generation> rekeyed_generation(const Generation& old, const Suite& suite,
                                                   bool we_initiated, std::uint64_t spi_i,
                                                   std::uint64_t spi_r, const SecretBytes& shared,
                                                   const Bytes& nonce_i, const Bytes& nonce_r) {
        auto g = std::make_unique<Generation>();
        g->spis = {spi_i, spi_r};
        g->original_initiator = we_initiated;
        g->suite = suite;
        auto skeyseed = compute_rekey_skeyseed(old.suite.prf, old.sk_d, shared, nonce_i, nonce_r);
        if (!skeyseed || !set_ike_keys(*g, *skeyseed, nonce_i, nonce_r)) return nullptr;
        return g;
    }

    void handle_ike_rekey_request(const Message& m) {
        std::vector<Payload> out;
        const auto* sa = find_payload<SaPayload>(m.payloads);
        const auto* ke = find_payload<KePayload>(m.payloads);
        const auto* nonce = find_payload<NoncePayload>(m.payloads);
        if (ke == nullptr || nonce == nullptr) {
            out.emplace_back(notify(NotifyType::kInvalidSyntax));
            send_response(*current, m.header, std::move(out));
            return;
        }
        const auto selection = select_ike_suite(sa->proposals, config.proposals, ke->group);
        if (!selection || selection->proposal->spi.size() != 8) {
            out.emplace_back(notify(NotifyType::kNoProposalChosen));
            send_response(*current, m.header, std::move(out));
            return;
        }
        if (static_cast<std::uint16_t>(selection->suite.dh) != ke->group) {
            const auto group = static_cast<std::uint16_t>(selection->suite.dh);
            out.emplace_back(
                notify(NotifyType::kInvalidKePayload,
                       {static_cast<std::uint8_t>(group >> 8), static_cast<std::uint8_t>(group)}));
            send_response(*current, m.header, std::move(out));
            return;
        }
        const bool ours_outstanding = current->outstanding && std::holds_alternative<RekeyIkeTask>(
                                                                  current->outstanding->task);
        const auto spi = random_spi();
        Bytes nonce_r;
        auto pair = DhKeyPair::generate(selection->suite.dh);
        std::optional<SecretBytes> shared;
        if (pair) {
            auto s = pair->shared_secret(ke->data);
            if (s) shared = std::move(*s);
        }
        std::unique_ptr<Generation> g;
        if (spi && random_bytes(nonce_r, config.nonce_length) && shared) {
            g = rekeyed_generation(*current, selection->suite, false,
                                   spi_from_bytes(selection->proposal->spi), *spi, *shared,
                                   nonce->data, nonce_r);
        }
        if (!g) {
            out.emplace_back(notify(NotifyType::kTemporaryFailure));
            send_response(*current, m.header, std::move(out));
            return;
        }
        SaPayload chosen;
        chosen.proposals.push_back(
            ike_proposal(selection->suite, selection->proposal->number, spi_bytes(*spi)));
        out.emplace_back(std::move(chosen));
        out.emplace_back(NoncePayload{nonce_r});
        out.emplace_back(KePayload{ke->group, pair->public_value()});
        send_response(*current, m.header, std::move(out));
        if (ours_outstanding) {
            peer_ike_rekey = PendingPeerIkeRekey{std::move(g), min_nonce(nonce->data, nonce_r)};
            return;  // resolved when our own rekey's response arrives
        }
        switch_generation(std::move(g), false);
    }

    // Makes `g` current; the old generation waits for its Delete (ours when `delete_old`).
    void switch_generation(std::unique_ptr<Generation> g, bool delete_old) {
        const IkeSpis old_spis = current->spis;
        std::unique_ptr<Generation> old = std::move(current);
        current = std::move(g);
        // A request still outstanding on the old SA completes there; if the old SA is deleted
        // first, drop_retiring() sends it again on the new one (2.18).
        Generation& retired = *old;
        retiring.push_back(std::move(old));
        if (delete_old) {
            send_request(retired, ExchangeType::kInformational,
                         {DeletePayload{ProtocolId::kIke, 0, {}}},
                         InfoTask{InfoTask::Kind::kDeleteIke, 0, {}, 0});
        }
        ike_rekey_at = rekey_time(config.ike_rekey_interval);
        emit(IkeSaRekeyed{old_spis, current->spis, *peer_id, remote});
    }

    void handle_ike_rekey_response(Generation& old, const RekeyIkeTask& task, const Message& m) {
        const auto* sa = find_payload<SaPayload>(m.payloads);
        const auto* ke = find_payload<KePayload>(m.payloads);
        const auto* nonce = find_payload<NoncePayload>(m.payloads);
        std::unique_ptr<Generation> g;
        if (find_error_notify(m.payloads) == nullptr && sa != nullptr && ke != nullptr &&
            nonce != nullptr && sa->proposals.size() == 1 &&
            sa->proposals.front().spi.size() == 8) {
            const auto suite = suite_from_proposal(sa->proposals.front());
            if (suite && suite->dh == task.dh->group() &&
                std::find(config.proposals.begin(), config.proposals.end(), *suite) !=
                    config.proposals.end()) {
                auto shared = task.dh->shared_secret(ke->data);
                if (shared) {
                    g = rekeyed_generation(old, *suite, true, task.new_spi,
                                           spi_from_bytes(sa->proposals.front().spi), *shared,
                                           task.nonce, nonce->data);
                }
            }
        }
        std::optional<PendingPeerIkeRekey> peer = std::move(peer_ike_rekey);
        peer_ike_rekey.reset();
        if (!g) {
            // Ours failed; a rekey by the peer meanwhile is then the one that counts.
            if (peer) {
                switch_generation(std::move(peer->generation), false);
            } else if (config.ike_rekey_interval > Duration::zero()) {
                ike_rekey_at = now() + kRekeyRetryDelay;
            }
            return;
        }
        if (!peer) {
            switch_generation(std::move(g), true);
            return;
        }
        const Bytes& our_min = min_nonce(task.nonce, nonce->data);
        if (nonce_less(our_min, peer->min_nonce)) {
            // 2.8.2: ours is redundant; we delete it, the peer deletes the old SA.
            Generation& redundant = *g;
            retiring.push_back(std::move(g));
            send_request(redundant, ExchangeType::kInformational,
                         {DeletePayload{ProtocolId::kIke, 0, {}}},
                         InfoTask{InfoTask::Kind::kDeleteIke, 0, {}, 0});
            switch_generation(std::move(peer->generation), false);
        } else {
            // Ours survives; the peer deletes its redundant SA, we delete the old one.
            if (!peer->deleted) retiring.push_back(std::move(peer->generation));
            switch_generation(std::move(g), true);
        }
    }

    // ---------------------------------------------------------------- INFORMATIONAL
    void handle_informational_request(Generation& g, const Message& m) {
        std::vector<Payload> out;
        bool delete_ike = false;
        std::vector<NotifyPayload> app_notifies;
        for (const auto& payload : m.payloads) {
            if (const auto* d = std::get_if<DeletePayload>(&payload)) {
                if (d->protocol == ProtocolId::kIke) {
                    delete_ike = true;
                    continue;
                }
                if (d->protocol != ProtocolId::kEsp) continue;
                DeletePayload ours{ProtocolId::kEsp, 4, {}};
                for (const auto& spi : d->spis) {
                    if (spi.size() != 4) continue;
                    ChildSa* c = child_by_outbound(spi32_from_bytes(spi));
                    if (c == nullptr) continue;
                    // 1.4.1: a CHILD_SA we are deleting ourselves is not listed again.
                    const std::uint32_t inbound = c->inbound_spi;
                    ours.spis.push_back(spi32_bytes(inbound));
                    remove_child(inbound);
                }
                if (!ours.spis.empty()) out.emplace_back(std::move(ours));
            } else if (const auto* n = std::get_if<NotifyPayload>(&payload)) {
                app_notifies.push_back(*n);
            }
        }
        send_response(g, m.header, std::move(out));
        if (!app_notifies.empty()) emit(NotifiesReceived{std::move(app_notifies)});
        if (&g == current.get() &&
            find_notify(m.payloads,
                        static_cast<std::uint16_t>(NotifyType::kAuthenticationFailed)) != nullptr) {
            go_down(DownReason::kAuthenticationFailed);  // the initiator rejected our AUTH
            return;
        }
        if (!delete_ike) return;
        if (&g == current.get() && peer_ike_rekey && !peer_ike_rekey->deleted) {
            // 2.8.2 with reordering: the winner of a rekey collision deleted the old SA before
            // our own rekey's response arrived; its SA is the one that carries on.
            auto pending = std::move(*peer_ike_rekey);
            peer_ike_rekey.reset();
            switch_generation(std::move(pending.generation), false);
            drop_retiring(g);
            return;
        }
        if (&g == current.get()) {
            go_down(DownReason::kDeletedByPeer);
            return;
        }
        drop_retiring(g);
    }

    void drop_retiring(Generation& g) {
        if (g.outstanding) {
            Task moved = std::move(g.outstanding->task);
            g.outstanding.reset();
            const auto* info = std::get_if<InfoTask>(&moved);
            if (auto* rekey = std::get_if<RekeyChildTask>(&moved)) {
                // Started again from scratch on the new SA.
                deps.installer->remove(rekey->request.new_inbound_spi, 0);
                if (ChildSa* c = child_by_inbound(rekey->old_inbound_spi)) c->rekeying = false;
                queue.push_front(RekeyChildTask{rekey->old_inbound_spi, {}});
            } else if (auto* create = std::get_if<CreateChildTask>(&moved)) {
                deps.installer->remove(create->request.new_inbound_spi, 0);
                queue.push_front(CreateChildTask{{}, create->local_ts, create->remote_ts});
            } else if (!std::holds_alternative<RekeyIkeTask>(moved) &&
                       (info == nullptr || info->kind != InfoTask::Kind::kDeleteIke)) {
                queue.push_front(std::move(moved));
            }
        }
        std::erase_if(retiring, [&](const auto& r) { return r.get() == &g; });
        if (peer_ike_rekey && peer_ike_rekey->generation.get() == &g)
            peer_ike_rekey->deleted = true;
        start_next_task();
    }

    void handle_informational_response(Generation& g, InfoTask& task, const Message& m) {
        switch (task.kind) {
            case InfoTask::Kind::kLiveness:
                break;
            case InfoTask::Kind::kNotify: {
                std::vector<NotifyPayload> response;
                for (const auto& p : m.payloads) {
                    if (const auto* n = std::get_if<NotifyPayload>(&p)) response.push_back(*n);
                }
                emit(NotifyRequestDone{task.id, NotifyOutcome::kAnswered, std::move(response)});
                break;
            }
            case InfoTask::Kind::kDeleteIke:
                if (&g == current.get()) {
                    go_down(DownReason::kClosedLocally);
                } else {
                    drop_retiring(g);
                }
                break;
            case InfoTask::Kind::kDeleteChild:
                remove_child(task.child_inbound_spi);
                break;
        }
    }

    // ---------------------------------------------------------------- receive
    void receive(const Datagram& d) {
        if (state == IkeSaState::kDown || d.kind != DatagramKind::kIke) return;
        auto header = peek_header(d.data);
        if (!header) {
            ++counters.decode_errors;
            return;
        }
        Generation* g = generation_for(*header);
        if (g == nullptr) {
            ++counters.unknown_spi;
            return;
        }
        if (header->response) {
            receive_response(*g, *header, d);
        } else {
            receive_request(*g, *header, d);
        }
        if (state == IkeSaState::kEstablished || state == IkeSaState::kDeleting) {
            drop_handshake_state();
        }
        start_next_task();
    }

    // IKE_SA_INIT/IKE_AUTH inputs (the two messages signed by AUTH, nonces, cookie, DH key) are
    // not needed once IKE_AUTH is done: freed, so that an established IKE SA stays small.
    void drop_handshake_state() {
        if (message1.empty() && message2.empty() && ni.empty() && !dh) return;
        message1 = Bytes();
        message2 = Bytes();
        // SK_pi/SK_pr only ever serve the AUTH payloads of IKE_AUTH.
        current->sk_pi = SecretBytes();
        current->sk_pr = SecretBytes();
        ni = Bytes();
        nr = Bytes();
        cookie = Bytes();
        dh.reset();
    }

    // An unprotected response carrying INVALID_IKE_SPI to our outstanding request on an
    // established SA (RFC 7296 2.21.4): the peer lost this SA. Anyone can send it, so it changes
    // nothing here (the request keeps being retransmitted); the application gets a hint, once
    // per request.
    bool receive_invalid_spi_answer(Generation& g, const Header& h, const Datagram& d) {
        if (h.next_payload != PayloadType::kNotify || h.exchange_type == ExchangeType::kIkeSaInit ||
            g.in == nullptr || !g.outstanding || g.outstanding->message_id != h.message_id ||
            h.initiator == g.original_initiator ||
            (state != IkeSaState::kEstablished && state != IkeSaState::kDeleting)) {
            return false;
        }
        auto m = decode(d.data);
        if (!m) {
            ++counters.decode_errors;
            return true;
        }
        const bool invalid_spi =
            std::any_of(m->payloads.begin(), m->payloads.end(), [](const Payload& p) {
                const auto* n = std::get_if<NotifyPayload>(&p);
                return n != nullptr &&
                       n->type == static_cast<std::uint16_t>(NotifyType::kInvalidIkeSpi);
            });
        if (!invalid_spi) {
            ++counters.unexpected_message_id;
            return true;
        }
        ++counters.peer_lost_sa_hints;
        if (g.outstanding->hinted) return true;
        g.outstanding->hinted = true;
        hints.push_back(PeerLostSaHint{g.spis, peer_id, d.remote, h.message_id});
        return true;
    }

    void receive_response(Generation& g, const Header& h, const Datagram& d) {
        if (receive_invalid_spi_answer(g, h, d)) return;
        if (!g.outstanding || g.outstanding->message_id != h.message_id ||
            g.outstanding->exchange != h.exchange_type || h.initiator == g.original_initiator) {
            ++counters.unexpected_message_id;
            return;
        }
        std::optional<Message> m;
        if (h.exchange_type == ExchangeType::kIkeSaInit) {
            auto plain = decode(d.data);
            if (plain) m = std::move(*plain);
            if (!plain) ++counters.decode_errors;
        } else {
            m = open_incoming(g, h, d, g.response_fragments);
        }
        if (!m) return;
        last_received = now();
        Outstanding done = std::move(*g.outstanding);
        g.outstanding.reset();
        if (std::holds_alternative<InitTask>(done.task)) {
            handle_init_response(*m, d);
        } else if (std::holds_alternative<AuthTask>(done.task)) {
            handle_auth_response(*m);
        } else if (auto* info = std::get_if<InfoTask>(&done.task)) {
            handle_informational_response(g, *info, *m);
        } else if (auto* child = std::get_if<RekeyChildTask>(&done.task)) {
            handle_child_rekey_response(g, *child, *m);
        } else if (auto* ike = std::get_if<RekeyIkeTask>(&done.task)) {
            handle_ike_rekey_response(g, *ike, *m);
        } else if (auto* create = std::get_if<CreateChildTask>(&done.task)) {
            handle_create_child_response(g, *create, *m);
        }
    }

    void receive_request(Generation& g, const Header& h, const Datagram& d) {
        if (h.initiator != !g.original_initiator) {
            ++counters.unexpected_message_id;
            return;
        }
        if (g.cached && h.message_id == g.cached->message_id &&
            h.message_id + 1 == g.expected_request_id) {
            // A retransmitted request: the same response again (2.1), without processing.
            // For a fragmented request, only its first fragment triggers this (RFC 7383 2.6.1).
            if (h.next_payload != PayloadType::kEncryptedFragment || is_first_fragment(d.data)) {
                ++counters.retransmitted_responses;
                send_all(g.cached->datagrams);
            }
            return;
        }
        if (h.message_id != g.expected_request_id || g.in == nullptr) {
            ++counters.unexpected_message_id;
            return;
        }
        auto m = open_incoming(g, h, d, g.request_fragments);
        if (!m) return;
        last_received = now();
        ++g.expected_request_id;
        if (nat.any() && state == IkeSaState::kEstablished) {
            local = d.local;  // follow NAT mapping changes of authenticated requests
            remote = d.remote;
        }
        switch (h.exchange_type) {
            case ExchangeType::kIkeAuth:
                if (state == IkeSaState::kInitDone && &g == current.get()) {
                    handle_auth_request(*m, d);
                } else {
                    send_response(g, h, {});
                }
                break;
            case ExchangeType::kInformational:
                handle_informational_request(g, *m);
                break;
            case ExchangeType::kCreateChildSa:
                handle_create_child_request(g, *m);
                break;
            case ExchangeType::kIkeSaInit:
                break;
        }
    }

    // ---------------------------------------------------------------- timers
    std::optional<TimePoint> liveness_due() const {
        if (state != IkeSaState::kEstablished || config.dpd_interval <= Duration::zero() ||
            current->outstanding || !queue.empty()) {
            return std::nullopt;
        }
        return last_received + config.dpd_interval;
    }

    std::optional<TimePoint> keepalive_due() const {
        if (state != IkeSaState::kEstablished || !nat.local_behind_nat ||
            config.nat_keepalive_interval <= Duration::zero()) {
            return std::nullopt;
        }
        return last_sent + config.nat_keepalive_interval;
    }

    std::optional<TimePoint> next_timer() const {
        if (state == IkeSaState::kDown) return std::nullopt;
        std::optional<TimePoint> next;
        auto consider = [&](std::optional<TimePoint> t) {
            if (t && (!next || *t < *next)) next = t;
        };
        consider(current->outstanding ? std::optional(current->outstanding->deadline)
                                      : std::nullopt);
        for (const auto& g : retiring) {
            if (g->outstanding) consider(g->outstanding->deadline);
        }
        consider(liveness_due());
        if (state == IkeSaState::kEstablished) {
            consider(ike_rekey_at);
            for (const auto& c : children) consider(c.rekey_at);
        }
        consider(keepalive_due());
        if (state == IkeSaState::kInitDone) consider(created + config.half_open_timeout);
        return next;
    }

    // Retransmits or gives up on `g`'s request; false when the IKE SA went down.
    bool run_retransmit(Generation& g) {
        auto& o = *g.outstanding;
        if (may_retransmit(config.retransmit, o.sent)) {
            ++o.sent;
            ++counters.retransmitted_requests;
            o.deadline = now() + retransmit_wait(config.retransmit, o.sent);
            send_all(o.datagrams);
            return true;
        }
        Task task = std::move(o.task);
        g.outstanding.reset();
        if (&g != current.get()) {
            drop_retiring(g);
            return true;
        }
        fail_task(task, NotifyOutcome::kTimedOut);
        go_down(DownReason::kTimeout);
        return false;
    }

    void on_timer() {
        if (state == IkeSaState::kDown) return;
        const TimePoint t = now();
        if (state == IkeSaState::kInitDone && t >= created + config.half_open_timeout) {
            go_down(DownReason::kTimeout);
            return;
        }
        if (current->outstanding && current->outstanding->deadline <= t &&
            !run_retransmit(*current)) {
            return;
        }
        for (std::size_t i = 0; i < retiring.size(); ++i) {
            Generation& g = *retiring[i];
            if (g.outstanding && g.outstanding->deadline <= t) {
                run_retransmit(g);
                break;  // `retiring` may have changed; the rest on the next call
            }
        }
        if (const auto due = liveness_due(); due && *due <= t) {
            queue.push_back(InfoTask{InfoTask::Kind::kLiveness, 0, {}, 0});
        }
        if (state == IkeSaState::kEstablished) {
            if (ike_rekey_at && *ike_rekey_at <= t) {
                ike_rekey_at.reset();  // set again when a rekey completes
                queue.push_back(RekeyIkeTask{});
            }
            for (auto& c : children) {
                if (c.rekey_at && *c.rekey_at <= t) {
                    c.rekey_at.reset();
                    queue.push_back(RekeyChildTask{c.inbound_spi, {}});
                }
            }
        }
        start_next_task();
        if (const auto due = keepalive_due(); due && *due <= t) {
            Datagram k;
            k.local = local;
            k.remote = remote;
            k.kind = DatagramKind::kNatKeepalive;
            outgoing.push_back(std::move(k));
            last_sent = t;
        }
    }
};

// -------------------------------------------------------------------- public API

IkeSa::IkeSa(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
IkeSa::~IkeSa() = default;

tl::expected<std::unique_ptr<IkeSa>, StartError> IkeSa::initiate(IkeSaConfig config, IkeSaDeps deps,
                                                                 const Endpoint& local,
                                                                 const Endpoint& remote) {
    if (config.proposals.empty() || deps.clock == nullptr || deps.random == nullptr ||
        deps.authenticator == nullptr || deps.installer == nullptr) {
        return tl::unexpected(StartError::kBadConfig);
    }
    auto impl = std::make_unique<Impl>();
    impl->config = std::move(config);
    impl->deps = deps;
    impl->local = local;
    impl->remote = remote;
    impl->created = impl->now();
    impl->last_received = impl->created;
    impl->current = std::make_unique<Generation>();
    impl->current->original_initiator = true;
    const auto spi = impl->random_spi();
    if (!spi || !impl->random_bytes(impl->ni, impl->config.nonce_length)) {
        return tl::unexpected(StartError::kNoRandom);
    }
    impl->current->spis.initiator = *spi;
    auto pair = DhKeyPair::generate(impl->config.proposals.front().dh);
    if (!pair) return tl::unexpected(StartError::kCrypto);
    impl->dh = std::move(*pair);
    impl->state = IkeSaState::kInitSent;
    impl->send_init_request();
    return std::unique_ptr<IkeSa>(new IkeSa(std::move(impl)));
}

ResponderStart IkeSa::respond(IkeSaConfig config, IkeSaDeps deps, const Datagram& request) {
    ResponderStart result;
    if (config.proposals.empty() || deps.clock == nullptr || deps.random == nullptr ||
        deps.authenticator == nullptr || deps.installer == nullptr) {
        return result;
    }
    auto m = decode(request.data);
    if (!m || m->header.exchange_type != ExchangeType::kIkeSaInit || m->header.response ||
        m->header.message_id != 0 || m->header.responder_spi != 0 || !m->header.initiator) {
        return result;
    }
    const auto* sa = find_payload<SaPayload>(m->payloads);
    const auto* ke = find_payload<KePayload>(m->payloads);
    const auto* nonce = find_payload<NoncePayload>(m->payloads);
    auto stateless = [&](NotifyPayload n) {
        Message reply;
        reply.header = m->header;
        reply.header.response = true;
        reply.header.initiator = false;
        reply.payloads.emplace_back(std::move(n));
        auto bytes = encode(reply);
        if (bytes)
            result.stateless_reply =
                Datagram{request.local, request.remote, DatagramKind::kIke, std::move(*bytes)};
        return std::move(result);
    };
    if (sa == nullptr || ke == nullptr || nonce == nullptr) {
        return stateless(notify(NotifyType::kInvalidSyntax));
    }
    const auto selection = select_ike_suite(sa->proposals, config.proposals, ke->group);
    if (!selection) return stateless(notify(NotifyType::kNoProposalChosen));
    if (static_cast<std::uint16_t>(selection->suite.dh) != ke->group) {
        const auto group = static_cast<std::uint16_t>(selection->suite.dh);
        return stateless(
            notify(NotifyType::kInvalidKePayload,
                   {static_cast<std::uint8_t>(group >> 8), static_cast<std::uint8_t>(group)}));
    }
    auto impl = std::make_unique<Impl>();
    impl->config = std::move(config);
    impl->deps = deps;
    impl->local = request.local;
    impl->remote = request.remote;
    impl->created = impl->now();
    impl->last_received = impl->created;
    impl->current = std::make_unique<Generation>();
    auto& g = *impl->current;
    g.original_initiator = false;
    g.suite = selection->suite;
    g.spis.initiator = m->header.initiator_spi;
    const auto spi = impl->random_spi();
    if (!spi || !impl->random_bytes(impl->nr, impl->config.nonce_length)) return result;
    g.spis.responder = *spi;
    impl->ni = nonce->data;
    auto pair = DhKeyPair::generate(selection->suite.dh);
    if (!pair) return result;
    auto shared = pair->shared_secret(ke->data);
    if (!shared) return stateless(notify(NotifyType::kInvalidSyntax));
    auto skeyseed = compute_skeyseed(g.suite.prf, impl->ni, impl->nr, *shared);
    if (!skeyseed || !impl->set_ike_keys(g, *skeyseed, impl->ni, impl->nr)) return result;
    impl->collect_init_info(*m, request, 0);
    impl->message1 = request.data;

    std::vector<Payload> p;
    SaPayload chosen;
    chosen.proposals.push_back(ike_proposal(selection->suite, selection->proposal->number, {}));
    p.emplace_back(std::move(chosen));
    p.emplace_back(KePayload{ke->group, pair->public_value()});
    p.emplace_back(NoncePayload{impl->nr});
    for (auto& extra : impl->init_common_payloads(g, true)) p.push_back(std::move(extra));
    for (auto& certreq : deps.authenticator->certificate_requests()) {
        p.push_back(std::move(certreq));
    }
    Message reply{impl->header_for(g, ExchangeType::kIkeSaInit, 0, true), std::move(p)};
    auto bytes = encode(reply);
    if (!bytes) return result;
    impl->message2 = *bytes;
    g.expected_request_id = 1;
    g.cached = CachedResponse{0, {*bytes}};
    impl->send_bytes(std::move(*bytes));
    impl->state = IkeSaState::kInitDone;
    result.sa = std::unique_ptr<IkeSa>(new IkeSa(std::move(impl)));
    return result;
}

void IkeSa::receive(const Datagram& datagram) {
    // A retransmitted IKE_SA_INIT request (responder SPI still zero) gets the cached response.
    auto& g = *impl_->current;
    const auto header = peek_header(datagram.data);
    if (header && !header->response && header->exchange_type == ExchangeType::kIkeSaInit &&
        header->message_id == 0 && header->initiator_spi == g.spis.initiator &&
        !g.original_initiator && g.cached && g.cached->message_id == 0 &&
        impl_->state != IkeSaState::kDown) {
        ++impl_->counters.retransmitted_responses;
        impl_->send_all(g.cached->datagrams);
        return;
    }
    impl_->receive(datagram);
}

void IkeSa::on_timer() {
    impl_->on_timer();
}
std::optional<TimePoint> IkeSa::next_timer() const {
    return impl_->next_timer();
}

std::vector<Datagram> IkeSa::take_outgoing() {
    return std::exchange(impl_->outgoing, {});
}
std::vector<Event> IkeSa::take_events() {
    return std::exchange(impl_->events, {});
}
std::vector<PeerLostSaHint> IkeSa::take_hints() {
    return std::exchange(impl_->hints, {});
}

RequestId IkeSa::send_notifies(std::vector<NotifyPayload> notifies) {
    const RequestId id = impl_->next_app_request++;
    if (impl_->state != IkeSaState::kEstablished) {
        impl_->emit(NotifyRequestDone{id, NotifyOutcome::kIkeSaGone, {}});
        return id;
    }
    impl_->queue.push_back(InfoTask{InfoTask::Kind::kNotify, id, std::move(notifies), 0});
    impl_->start_next_task();
    return id;
}

void IkeSa::rekey_ike_sa() {
    if (impl_->state != IkeSaState::kEstablished) return;
    impl_->queue.push_back(RekeyIkeTask{});
    impl_->start_next_task();
}

void IkeSa::rekey_child_sa(std::uint32_t inbound_spi) {
    if (impl_->state != IkeSaState::kEstablished) return;
    impl_->queue.push_back(RekeyChildTask{inbound_spi, {}});
    impl_->start_next_task();
}

void IkeSa::create_child_sa() {
    if (impl_->state != IkeSaState::kEstablished || !impl_->config.child) return;
    impl_->queue.push_back(CreateChildTask{});
    impl_->start_next_task();
}

void IkeSa::create_child_sa(std::vector<TrafficSelector> local_ts,
                            std::vector<TrafficSelector> remote_ts) {
    if (impl_->state != IkeSaState::kEstablished || !impl_->config.child) return;
    impl_->queue.push_back(CreateChildTask{{}, std::move(local_ts), std::move(remote_ts)});
    impl_->start_next_task();
}

void IkeSa::delete_child_sa(std::uint32_t inbound_spi) {
    if (impl_->state != IkeSaState::kEstablished) return;
    impl_->queue.push_back(InfoTask{InfoTask::Kind::kDeleteChild, 0, {}, inbound_spi});
    impl_->start_next_task();
}

void IkeSa::close() {
    auto& s = *impl_;
    if (s.state == IkeSaState::kDown || s.state == IkeSaState::kDeleting) return;
    if (s.state != IkeSaState::kEstablished) {
        s.go_down(DownReason::kClosedLocally);
        return;
    }
    for (auto& task : s.queue) s.fail_task(task, NotifyOutcome::kIkeSaGone);
    s.queue.clear();
    s.queue.push_back(InfoTask{InfoTask::Kind::kDeleteIke, 0, {}, 0});
    s.state = IkeSaState::kDeleting;
    s.start_next_task();
}

IkeSaState IkeSa::state() const {
    return impl_->state;
}
bool IkeSa::is_original_initiator() const {
    return impl_->current->original_initiator;
}
IkeSpis IkeSa::spis() const {
    return impl_->current->spis;
}
bool IkeSa::owns_spi(std::uint64_t spi) const {
    for (auto* g : impl_->all_generations()) {
        if (g->spis.initiator == spi || g->spis.responder == spi) return true;
    }
    return false;
}
std::vector<std::uint64_t> IkeSa::local_spis() const {
    std::vector<std::uint64_t> out;
    for (const auto* g : impl_->all_generations()) {
        out.push_back(g->original_initiator ? g->spis.initiator : g->spis.responder);
    }
    return out;
}
std::size_t IkeSa::ike_sa_count() const {
    return impl_->all_generations().size();
}
const Endpoint& IkeSa::local_endpoint() const {
    return impl_->local;
}
const Endpoint& IkeSa::remote_endpoint() const {
    return impl_->remote;
}
const std::optional<Identification>& IkeSa::peer_id() const {
    return impl_->peer_id;
}
const std::vector<Bytes>& IkeSa::peer_vendor_ids() const {
    return impl_->peer_vids;
}
bool IkeSa::local_behind_nat() const {
    return impl_->nat.local_behind_nat;
}
bool IkeSa::peer_behind_nat() const {
    return impl_->nat.peer_behind_nat;
}
std::optional<Suite> IkeSa::suite() const {
    if (impl_->current->out == nullptr) return std::nullopt;
    return impl_->current->suite;
}
std::vector<ChildSaUp> IkeSa::child_sas() const {
    std::vector<ChildSaUp> out;
    for (const auto& c : impl_->children) out.push_back(Impl::child_up(c));
    return out;
}
const IkeSaCounters& IkeSa::counters() const {
    return impl_->counters;
}

}  // namespace mpsa::ike
