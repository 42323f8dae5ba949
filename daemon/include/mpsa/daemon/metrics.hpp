// Prometheus metrics: counters and gauges with labels, rendered in the text exposition format.
//
// Threading: families and label sets are created under a mutex (rare: start-up and new peers);
// values are atomics, so the event loop updates them lock-free while the HTTP thread renders.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mpsa::daemon {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metric {
  public:
    void inc(std::int64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
    void set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
    [[nodiscard]] std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::int64_t> value_{0};
};

class MetricsRegistry {
  public:
    enum class Type { kCounter, kGauge };

    // Returns the metric for (name, labels), creating family and series on first use. The
    // reference stays valid for the registry's lifetime. A name registered with another type or
    // help text is a programming error (std::logic_error).
    Metric& counter(std::string_view name, std::string_view help, const Labels& labels = {});
    Metric& gauge(std::string_view name, std::string_view help, const Labels& labels = {});

    // Text exposition format 0.0.4, families and series sorted (stable output for tests).
    [[nodiscard]] std::string render() const;

    // Value of one series, for tests and mpsactl; 0 if absent.
    [[nodiscard]] std::int64_t value(std::string_view name, const Labels& labels = {}) const;

  private:
    struct Family {
        Type type;
        std::string help;
        std::map<std::string, std::unique_ptr<Metric>> series;  // rendered labels -> value
    };
    Metric& get(Type type, std::string_view name, std::string_view help, const Labels& labels);

    mutable std::mutex mutex_;
    std::map<std::string, Family, std::less<>> families_;
};

// {a="x",b="y"} with Prometheus escaping (backslash, quote, newline); "" for no labels.
[[nodiscard]] std::string render_labels(const Labels& labels);

}  // namespace mpsa::daemon
