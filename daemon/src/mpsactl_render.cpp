// mpsactl: human output of the status API documents (schema: docs/api.md).
#include <ctime>
#include <vector>

#include "mpsa/daemon/mpsactl.hpp"

namespace mpsa::daemon::ctl {

namespace {

using nlohmann::json;

// Control characters (terminal escapes in a peer-chosen identity) become '?'.
std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? '?' : c;
    }
    return out.empty() ? "-" : out;
}

// Display width: UTF-8 code points (continuation bytes do not count).
std::size_t width(std::string_view s) {
    std::size_t n = 0;
    for (char c : s) {
        if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++n;
    }
    return n;
}

std::string scalar(const json& v) {
    if (v.is_null()) return "-";
    if (v.is_string()) return printable(v.get<std::string>());
    if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
    return printable(v.dump(-1, ' ', false, json::error_handler_t::replace));
}

enum class Format { kText, kDuration, kSuite };

std::string format_cell(const json* v, Format format) {
    if (v == nullptr || v->is_null()) return "-";
    switch (format) {
        case Format::kDuration:
            if (v->is_number_integer()) return format_duration(v->get<std::int64_t>());
            break;
        case Format::kSuite:
            if (v->is_object()) {
                const auto part = [&](const char* key) -> std::string {
                    const auto it = v->find(key);
                    return it != v->end() && it->is_string() ? printable(it->get<std::string>())
                                                             : std::string();
                };
                std::string out = part("encryption");
                if (const auto integ = part("integrity"); !integ.empty()) out += "/" + integ;
                return out.empty() ? "-" : out;
            }
            break;
        case Format::kText:
            break;
    }
    return scalar(*v);
}

struct Column {
    std::string_view header;
    std::string_view key;
    Format format = Format::kText;
    bool optional = false;  // left out when no row has the key
};

std::string render_table(const std::vector<Column>& columns, const json& rows) {
    std::vector<const Column*> shown;
    for (const auto& c : columns) {
        bool present = !c.optional;
        for (const auto& row : rows) {
            if (present) break;
            present = row.is_object() && row.contains(c.key);
        }
        if (present) shown.push_back(&c);
    }
    std::vector<std::vector<std::string>> cells;
    cells.emplace_back();
    for (const auto* c : shown) cells.back().emplace_back(c->header);
    for (const auto& row : rows) {
        cells.emplace_back();
        for (const auto* c : shown) {
            const json* v = nullptr;
            if (row.is_object()) {
                const auto it = row.find(c->key);
                if (it != row.end()) v = &*it;
            }
            cells.back().push_back(format_cell(v, c->format));
        }
    }
    std::vector<std::size_t> widths(shown.size(), 0);
    for (const auto& line : cells) {
        for (std::size_t i = 0; i < line.size(); ++i)
            widths[i] = std::max(widths[i], width(line[i]));
    }
    std::string out;
    for (const auto& line : cells) {
        std::string text;
        for (std::size_t i = 0; i < line.size(); ++i) {
            text += line[i];
            if (i + 1 < line.size()) text += std::string(widths[i] - width(line[i]) + 2, ' ');
        }
        out += text + "\n";
    }
    return out;
}

tl::expected<const json*, std::string> list_of(const json& doc, const char* key) {
    if (!doc.is_object() || !doc.contains(key) || !doc[key].is_array()) {
        return tl::unexpected(std::string("unexpected document from mpsad: no \"") + key +
                              "\" list");
    }
    return &doc[key];
}

tl::expected<std::string, std::string> render_list(const json& doc, const char* key,
                                                   const std::vector<Column>& columns) {
    auto rows = list_of(doc, key);
    if (!rows) return tl::unexpected(rows.error());
    if ((*rows)->empty()) return std::string("no ") + key + "\n";
    return render_table(columns, **rows);
}

std::string format_time(std::int64_t unix_seconds) {
    const auto t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    if (gmtime_r(&t, &tm) == nullptr) return std::to_string(unix_seconds);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

const json* field(const json& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    const auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
}

std::string text_of(const json& obj, const char* key) {
    return format_cell(field(obj, key), Format::kText);
}

tl::expected<std::string, std::string> render_status(const json& doc) {
    if (!doc.is_object()) return tl::unexpected(std::string("unexpected status document"));
    std::vector<std::pair<std::string, std::string>> lines;
    static const char* const kShown[] = {"role",   "identity",       "version",
                                         "pid",    "uptime_seconds", "config",
                                         "counts", "kernel",         "gateway"};
    lines.emplace_back("role", text_of(doc, "role"));
    lines.emplace_back("identity", text_of(doc, "identity"));
    lines.emplace_back("version", text_of(doc, "version"));
    lines.emplace_back("pid", text_of(doc, "pid"));
    lines.emplace_back("uptime", format_cell(field(doc, "uptime_seconds"), Format::kDuration));

    if (const json* config = field(doc, "config"); config && config->is_object()) {
        std::string c = text_of(*config, "file");
        if (const json* gen = field(*config, "generation")) c += ", generation " + scalar(*gen);
        lines.emplace_back("config", c);
        const json* reload = field(*config, "last_reload");
        if (reload == nullptr || reload->is_null()) {
            lines.emplace_back("last reload", "never");
        } else if (reload->is_object()) {
            const json* ok = field(*reload, "ok");
            std::string r = ok && ok->is_boolean() ? (ok->get<bool>() ? "ok" : "FAILED") : "-";
            if (const json* at = field(*reload, "at"); at && at->is_number_integer()) {
                r += " at " + format_time(at->get<std::int64_t>());
            }
            lines.emplace_back("last reload", r);
            if (const json* errors = field(*reload, "errors"); errors && errors->is_array()) {
                for (const auto& e : *errors) lines.emplace_back("  error", scalar(e));
            }
        } else {
            lines.emplace_back("last reload", scalar(*reload));
        }
    } else {
        lines.emplace_back("config", "-");
    }

    if (const json* counts = field(doc, "counts"); counts && counts->is_object()) {
        // Fixed order first, then whatever else the daemon counts.
        static const std::pair<const char*, const char*> kCounts[] = {
            {"ike_sas", "ike sas"}, {"groups", "groups"}, {"members", "members"},
            {"peers", "peers"},     {"routes", "routes"}, {"sas", "sas"}};
        for (const auto& [key, label] : kCounts) {
            if (counts->contains(key)) lines.emplace_back(label, text_of(*counts, key));
        }
        for (const auto& [key, value] : counts->items()) {
            bool known = false;
            for (const auto& [k, l] : kCounts) known = known || key == k;
            if (!known) lines.emplace_back(printable(key), scalar(value));
        }
    }
    if (const json* kernel = field(doc, "kernel"); kernel && kernel->is_object()) {
        const json* in_sync = field(*kernel, "in_sync");
        std::string k = in_sync && in_sync->is_boolean()
                            ? (in_sync->get<bool>() ? "in sync" : "NOT in sync")
                            : "-";
        k += ", " + text_of(*kernel, "changes") + " changes, " + text_of(*kernel, "errors") +
             " errors";
        if (const json* last = field(*kernel, "last_error"); last && !last->is_null()) {
            k += ", last error: " + scalar(*last);
        }
        lines.emplace_back("kernel", k);
    }
    if (const json* gw = field(doc, "gateway"); gw && gw->is_object()) {
        lines.emplace_back("gateway",
                           text_of(*gw, "address") + ", IKE SA " + text_of(*gw, "ike_sa"));
    }
    for (const auto& [key, value] : doc.items()) {
        bool known = false;
        for (const char* k : kShown) known = known || key == k;
        if (!known) lines.emplace_back(printable(key), scalar(value));
    }

    std::size_t key_width = 0;
    for (const auto& [k, v] : lines) key_width = std::max(key_width, width(k));
    std::string out;
    for (const auto& [k, v] : lines) {
        out += k + ":" + std::string(key_width - width(k) + 2, ' ') + v + "\n";
    }
    return out;
}

tl::expected<std::string, std::string> render_groups(const json& doc) {
    static const std::vector<Column> kGroups = {
        {"NAME", "name"},
        {"ID", "id"},
        {"SUITE", "suite", Format::kSuite},
        {"LIFETIME", "lifetime_seconds", Format::kDuration},
        {"ROLL1", "roll1_seconds", Format::kDuration},
        {"ROLL2", "roll2_seconds", Format::kDuration},
        {"OUT-SPI", "outbound_spi"},
        {"INTERFACE", "interface", Format::kText, true},
        {"TABLE", "table", Format::kText, true},
        {"MEMBERS", "members", Format::kText, true},
        {"ACKED", "members_acked", Format::kText, true},
    };
    static const std::vector<Column> kSas = {
        {"GROUP", "group"},  {"SPI", "spi"},
        {"ROLE", "role"},    {"IN", "inbound"},
        {"OUT", "outbound"}, {"EXPIRES", "expires_in_seconds", Format::kDuration},
    };
    auto out = render_list(doc, "groups", kGroups);
    if (!out) return out;
    // The group SAs (current / next / previous) as a second table, one row per SA.
    json sa_rows = json::array();
    for (const auto& g : doc["groups"]) {
        const json* sas = field(g, "sas");
        if (sas == nullptr || !sas->is_array()) continue;
        for (const auto& sa : *sas) {
            json row = sa.is_object() ? sa : json::object();
            row["group"] = g.value("name", json());
            sa_rows.push_back(std::move(row));
        }
    }
    if (!sa_rows.empty()) *out += "\n" + render_table(kSas, sa_rows);
    return out;
}

}  // namespace

std::string format_duration(std::int64_t seconds) {
    if (seconds < 0) return "-" + format_duration(-seconds);
    const auto d = seconds / 86400;
    const auto h = seconds % 86400 / 3600;
    const auto m = seconds % 3600 / 60;
    const auto s = seconds % 60;
    const auto two = [](std::int64_t v) { return (v < 10 ? "0" : "") + std::to_string(v); };
    if (d > 0) return std::to_string(d) + "d" + (h ? two(h) + "h" : "");
    if (h > 0) return std::to_string(h) + "h" + (m ? two(m) + "m" : "");
    if (m > 0) return std::to_string(m) + "m" + (s ? two(s) + "s" : "");
    return std::to_string(s) + "s";
}

tl::expected<std::string, std::string> render_human(Command command, const json& doc) {
    switch (command) {
        case Command::kStatus:
            return render_status(doc);
        case Command::kGroups:
            return render_groups(doc);
        case Command::kMembers:
            return render_list(doc, "members",
                               {{"IDENTITY", "identity"},
                                {"ADDRESS", "address"},
                                {"PORT", "port"},
                                {"GROUP", "group"},
                                {"MPSA", "mpsa"},
                                {"STATE", "state"},
                                {"ACKED-SPI", "acked_spi"},
                                {"PENDING", "pending_puts"},
                                {"UP", "established_seconds", Format::kDuration}});
        case Command::kPeers:
            // One column order for both roles; the role-specific columns appear when present.
            return render_list(doc, "peers",
                               {{"IDENTITY", "identity", Format::kText, true},
                                {"GROUP", "group", Format::kText, true},
                                {"ADDRESS", "address"},
                                {"PORT", "port", Format::kText, true},
                                {"STATE", "state"},
                                {"REASON", "reason", Format::kText, true},
                                {"OUT-SPI", "outbound_spi", Format::kText, true},
                                {"DESTINATIONS", "destinations", Format::kText, true},
                                {"IKE-SPI-I", "ike_spi_initiator", Format::kText, true},
                                {"IKE-SPI-R", "ike_spi_responder", Format::kText, true},
                                {"UP", "established_seconds", Format::kDuration, true}});
        case Command::kRoutes:
            return render_list(doc, "routes",
                               {{"GROUP", "group"},
                                {"DESTINATION", "destination"},
                                {"PEER", "peer"},
                                {"STATE", "state"},
                                {"INTERFACE", "interface"},
                                {"TABLE", "table"}});
        case Command::kSas:
            return render_list(doc, "sas",
                               {{"TYPE", "type"},
                                {"SPI", "spi"},
                                {"GROUP", "group", Format::kText, true},
                                {"DIR", "direction"},
                                {"LOCAL", "local"},
                                {"REMOTE", "remote"},
                                {"ENCRYPTION", "encryption"},
                                {"INTEGRITY", "integrity", Format::kText, true},
                                {"PRF", "prf", Format::kText, true},
                                {"LIFETIME", "lifetime_seconds", Format::kDuration, true},
                                {"EXPIRES", "expires_in_seconds", Format::kDuration, true},
                                {"BYTES", "bytes", Format::kText, true},
                                {"PACKETS", "packets", Format::kText, true}});
        case Command::kMetrics:
            break;
    }
    return tl::unexpected(std::string("metrics are Prometheus text, not a JSON document"));
}

}  // namespace mpsa::daemon::ctl
