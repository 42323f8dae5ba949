// bgp_glue_watch: runs the ZAPI client + learner against a real zebra and prints every event as
// one JSON line on stdout; "dump" on stdin prints the learner's whole model. Driven by the
// real-FRR tests (and handy by hand: bgp_glue_watch --socket /run/frr/zserv.api).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/read_until.hpp>
#include <asio/signal_set.hpp>
#include <asio/streambuf.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "mpsa/bgp_glue/bgp_learner.hpp"
#include "mpsa/bgp_glue/frr_release.hpp"

using namespace mpsa::bgp_glue;
using nlohmann::json;

namespace {

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void emit(json line) {
    line["t"] = now_seconds();
    std::cout << line.dump() << std::endl;
}

json peer_list(const std::set<IpAddress>& peers) {
    json out = json::array();
    for (const IpAddress& peer : peers) out.push_back(peer.to_string());
    return out;
}

json underlay_list(const std::vector<UnderlayNexthop>& underlay) {
    json out = json::array();
    for (const UnderlayNexthop& hop : underlay) {
        out.push_back(
            {{"gateway", hop.gateway ? hop.gateway->to_string() : ""}, {"ifindex", hop.ifindex}});
    }
    return out;
}

const char* route_kind(RouteChange::Kind kind) {
    switch (kind) {
        case RouteChange::Kind::added:
            return "added";
        case RouteChange::Kind::changed:
            return "changed";
        case RouteChange::Kind::removed:
            return "removed";
    }
    return "?";
}

const char* peer_kind(PeerChange::Kind kind) {
    switch (kind) {
        case PeerChange::Kind::tracked:
            return "tracked";
        case PeerChange::Kind::resolved:
            return "resolved";
        case PeerChange::Kind::unresolved:
            return "unresolved";
        case PeerChange::Kind::untracked:
            return "untracked";
    }
    return "?";
}

const char* resolution_name(RouteModel::Resolution resolution) {
    switch (resolution) {
        case RouteModel::Resolution::unknown:
            return "unknown";
        case RouteModel::Resolution::unresolved:
            return "unresolved";
        case RouteModel::Resolution::resolved:
            return "resolved";
    }
    return "?";
}

json dump(const BgpLearner& learner, const ZapiClient& client) {
    json peers = json::object();
    for (const IpAddress& peer : learner.model().tracked_peers()) {
        json entry = {{"resolution", resolution_name(learner.model().resolution(peer))}};
        if (auto underlay = learner.model().underlay(peer))
            entry["underlay"] = underlay_list(*underlay);
        peers[peer.to_string()] = entry;
    }
    return {{"event", "state"},
            {"route_count", learner.model().route_count()},
            {"peers", peers},
            {"connected", client.connected()},
            {"synchronized", client.synchronized()},
            {"sweeps", learner.stats().sweeps},
            {"decode_errors", client.decode_counters().total_errors()}};
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bgp_glue_watch: print what bgp-glue learns from zebra"};
    std::string socket_path = "/run/frr/zserv.api";
    std::optional<std::string> release_text;
    std::optional<std::string> vty_socket;
    // The model answers lookups by prefix; the destinations are mirrored from the change
    // stream for the dump.
    int hold_ms = 15000;
    bool quiet = false;
    std::size_t expect_routes = 0;
    app.add_option("--socket", socket_path, "zebra's ZAPI socket");
    app.add_option("--release", release_text, "FRR release (default: ask vtysh)");
    app.add_option("--vty-socket", vty_socket, "vtysh --vty_socket directory for detection");
    app.add_option("--hold-ms", hold_ms, "resync hold after a reconnect");
    app.add_flag("--quiet", quiet, "no line per change (for scale runs)");
    app.add_option("--expect-routes", expect_routes,
                   "print one 'count' line when the model first holds this many routes");
    CLI11_PARSE(app, argc, argv);

    const auto release = resolve_frr_release(release_text, VtyshCommand{"vtysh", vty_socket});
    if (!release) {
        std::cerr << "bgp_glue_watch: " << release.error() << "\n";
        return 2;
    }

    asio::io_context io;
    ZapiClientConfig config;
    config.socket_path = socket_path;
    config.release = *release;
    config.initial_backoff = std::chrono::milliseconds(50);
    config.max_backoff = std::chrono::milliseconds(1000);
    ZapiClient client(io, config);

    std::set<Prefix> destinations;
    const BgpLearner* learner_ptr = nullptr;
    bool count_reported = false;
    BgpLearner learner(
        io, client,
        [&](const ModelChange& change) {
            if (expect_routes > 0 && learner_ptr != nullptr &&
                learner_ptr->model().route_count() == expect_routes && !count_reported) {
                count_reported = true;
                emit({{"event", "count"}, {"routes", expect_routes}});
            }
            if (quiet) return;
            if (const auto* route = std::get_if<RouteChange>(&change)) {
                if (route->kind == RouteChange::Kind::removed) {
                    destinations.erase(route->prefix);
                } else {
                    destinations.insert(route->prefix);
                }
                emit({{"event", "route"},
                      {"kind", route_kind(route->kind)},
                      {"prefix", route->prefix.to_string()},
                      {"peers", peer_list(route->peers)},
                      {"previous", peer_list(route->previous_peers)}});
            } else {
                const auto& peer = std::get<PeerChange>(change);
                emit({{"event", "peer"},
                      {"kind", peer_kind(peer.kind)},
                      {"peer", peer.peer.to_string()},
                      {"underlay", underlay_list(peer.underlay)}});
            }
        },
        LearnerOptions{std::chrono::milliseconds(hold_ms)});
    learner_ptr = &learner;
    client.on_disconnected([](const std::string& reason) {
        emit({{"event", "disconnected"}, {"reason", reason}});
    });
    client.set_handler(Command::Capabilities, [](const ZapiMessage&) {
        emit({{"event", "connected"}});
    });
    client.set_handler(Command::RouteNotifyOwner, [](const ZapiMessage& message) {
        const auto& notify = std::get<RouteNotifyOwner>(message.body);
        emit({{"event", "notify"},
              {"note", notify.note},
              {"prefix", notify.prefix.to_string()},
              {"table", notify.table_id}});
    });
    // "install PREFIX GATEWAY TABLE": a route of our own protocol in a table of its own, as
    // the controller installs overlay routes; "withdraw PREFIX" removes it.
    auto install = [&](const std::string& prefix_text, const std::string& gateway_text,
                       std::uint32_t table) {
        const auto prefix = Prefix::parse(prefix_text);
        const auto gateway = IpAddress::parse(gateway_text);
        if (!prefix || !gateway) {
            emit({{"event", "error"}, {"what", "bad install arguments"}});
            return;
        }
        ZapiRoute route;
        route.type = *route_type_number(*release, config.hello.protocol);
        route.instance = config.hello.instance;
        route.prefix = *prefix;
        ZapiNexthop nexthop;
        nexthop.type = gateway->is_v4() ? NexthopType::ipv4 : NexthopType::ipv6;
        nexthop.gate = *gateway;
        route.nexthops.push_back(nexthop);
        route.table_id = table;
        client.install_route(route);
    };

    asio::posix::stream_descriptor input(io, ::dup(STDIN_FILENO));
    asio::streambuf input_buffer;
    std::function<void()> read_command = [&] {
        asio::async_read_until(
            input, input_buffer, '\n', [&](const std::error_code& error, std::size_t) {
                if (error) {
                    io.stop();
                    return;
                }
                std::istream stream(&input_buffer);
                std::string line;
                std::getline(stream, line);
                if (line == "dump") {
                    json state = dump(learner, client);
                    json routes = json::object();
                    for (const Prefix& prefix : destinations) {
                        routes[prefix.to_string()] = peer_list(*learner.model().route(prefix));
                    }
                    state["routes"] = routes;
                    emit(state);
                } else if (line.starts_with("install ")) {
                    std::istringstream words(line.substr(8));
                    std::string prefix;
                    std::string gateway;
                    std::uint32_t table = 0;
                    words >> prefix >> gateway >> table;
                    install(prefix, gateway, table);
                } else if (line.starts_with("withdraw ")) {
                    if (auto prefix = Prefix::parse(line.substr(9))) client.withdraw_route(*prefix);
                } else if (line == "quit") {
                    io.stop();
                    return;
                }
                read_command();
            });
    };
    read_command();
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const std::error_code&, int) { io.stop(); });

    emit({{"event", "start"}, {"release", std::string(to_string(*release))}});
    client.start();
    io.run();
    return 0;
}
