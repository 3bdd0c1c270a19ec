// GET /metrics: the broker's STATS_REPLY and this process's resource use as Prometheus series
// (docs/http.md, "Metrics", lists every one). Built into a prometheus::Registry and written with
// prometheus-cpp's TextSerializer; a fresh registry per scrape, as STATS already holds the
// totals. Pure functions over their arguments (sample_process() reads /proc): any thread.
#pragma once

#include <optional>
#include <string>

#include <prometheus/registry.h>

#include "corsair/protocol/messages.hpp"

namespace corsair::http {

// Adds the broker's series: per queue (label `queue`) its gauges, event counters and wait and
// run histograms; the workers; every broker-wide counter of STATS; the journal's fdatasync
// histograms; uptime and build info. Never throws on what a broker may send.
void add_broker_metrics(prometheus::Registry& registry, const protocol::StatsReply& stats);

// This process's resource use, from /proc/self; a field is absent when /proc could not tell.
struct ProcessSample {
    std::optional<double> resident_bytes;
    std::optional<double> virtual_bytes;
    std::optional<double> open_fds;
    std::optional<double> max_fds;             // the soft RLIMIT_NOFILE
    std::optional<double> cpu_seconds;         // user + system
    std::optional<double> start_time_seconds;  // Unix time the process started
};

// Reads /proc/self/statm, /proc/self/stat, /proc/self/fd and /proc/stat. Blocks only on procfs.
ProcessSample sample_process();

// Adds process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds,
// process_max_fds, process_cpu_seconds_total and process_start_time_seconds: the names every
// Prometheus client library uses, so that existing dashboards and alerts work unchanged.
void add_process_metrics(prometheus::Registry& registry, const ProcessSample& sample);

// The registry in the Prometheus text format (version 0.0.4).
std::string serialize_metrics(const prometheus::Registry& registry);

}  // namespace corsair::http
