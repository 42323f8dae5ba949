#include "mpsa/daemon/metrics.hpp"

#include <stdexcept>

namespace mpsa::daemon {

std::string render_labels(const Labels& labels) {
    if (labels.empty()) return "";
    std::string out = "{";
    bool first = true;
    for (const auto& [key, value] : labels) {
        if (!first) out += ',';
        first = false;
        out += key;
        out += "=\"";
        for (char c : value) {
            switch (c) {
                case '\\':
                    out += "\\\\";
                    break;
                case '"':
                    out += "\\\"";
                    break;
                case '\n':
                    out += "\\n";
                    break;
                default:
                    out += c;
            }
        }
        out += '"';
    }
    return out + "}";
}

Metric& MetricsRegistry::get(Type type, std::string_view name, std::string_view help,
                             const Labels& labels) {
    std::lock_guard lock(mutex_);
    auto it = families_.find(name);
    if (it == families_.end()) {
        it = families_.emplace(std::string(name), Family{type, std::string(help), {}}).first;
    } else if (it->second.type != type || it->second.help != help) {
        throw std::logic_error("metric " + std::string(name) + " registered twice differently");
    }
    auto& slot = it->second.series[render_labels(labels)];
    if (!slot) slot = std::make_unique<Metric>();
    return *slot;
}

Metric& MetricsRegistry::counter(std::string_view name, std::string_view help,
                                 const Labels& labels) {
    return get(Type::kCounter, name, help, labels);
}

Metric& MetricsRegistry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
    return get(Type::kGauge, name, help, labels);
}

std::string MetricsRegistry::render() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& [name, family] : families_) {
        out += "# HELP " + name + " " + family.help + "\n";
        out += "# TYPE " + name + (family.type == Type::kCounter ? " counter\n" : " gauge\n");
        for (const auto& [labels, metric] : family.series) {
            out += name + labels + " " + std::to_string(metric->value()) + "\n";
        }
    }
    return out;
}

std::int64_t MetricsRegistry::value(std::string_view name, const Labels& labels) const {
    std::lock_guard lock(mutex_);
    auto it = families_.find(name);
    if (it == families_.end()) return 0;
    auto s = it->second.series.find(render_labels(labels));
    return s == it->second.series.end() ? 0 : s->second->value();
}

}  // namespace mpsa::daemon
