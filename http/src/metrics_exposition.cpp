#include "metrics_exposition.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <vector>

#include <prometheus/check_names.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/text_serializer.h>

#include "corsair/protocol/text.hpp"

namespace corsair::http {

namespace p = corsair::protocol;
using prometheus::Registry;

namespace {

// A queue name as a label value: itself when it is UTF-8 (the serializer escapes \, " and
// newline), else escaped as every program prints it, since Prometheus takes only UTF-8.
std::string queue_label(const std::string& name) {
    return p::is_valid_utf8(name) ? name : p::printable(name);
}

prometheus::Family<prometheus::Gauge>& gauges(Registry& registry, const std::string& name, const std::string& help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}
prometheus::Family<prometheus::Counter>& counters(Registry& registry, const std::string& name,
                                                  const std::string& help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}
prometheus::Family<prometheus::Histogram>& histograms(Registry& registry, const std::string& name,
                                                      const std::string& help) {
    return prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
}

// A wire histogram as a Prometheus one, its bounds and sum divided by `per_unit` (1e6 turns
// microseconds into seconds): ObserveMultiple takes the per-bucket counts, the serializer
// cumulates them.
void add_histogram(prometheus::Family<prometheus::Histogram>& family, const prometheus::Labels& labels,
                   const p::Histogram& wire, double per_unit) {
    prometheus::Histogram::BucketBoundaries bounds;
    bounds.reserve(wire.bounds.size());
    for (const std::uint64_t bound : wire.bounds) bounds.push_back(static_cast<double>(bound) / per_unit);
    const std::vector<double> counts(wire.counts.begin(), wire.counts.end());
    family.Add(labels, bounds).ObserveMultiple(counts, static_cast<double>(wire.sum) / per_unit);
}

struct QueueGauge {
    const char* name;
    const char* help;
    double (*value)(const p::QueueStats&);
};
const std::array<QueueGauge, 6> kQueueGauges = {{
    {"corsair_queue_pending_jobs", "Jobs ready to run.", [](const p::QueueStats& q) { return double(q.pending); }},
    {"corsair_queue_delayed_jobs", "Jobs waiting for their time: a delay, a run_at or a retry's backoff.",
     [](const p::QueueStats& q) { return double(q.delayed); }},
    {"corsair_queue_in_flight_jobs", "Jobs leased to workers.", [](const p::QueueStats& q) { return double(q.in_flight); }},
    {"corsair_queue_dead_jobs", "Jobs in the dead set.", [](const p::QueueStats& q) { return double(q.dead); }},
    {"corsair_queue_paused", "1 while the queue is paused (nothing is dispatched from it), else 0.",
     [](const p::QueueStats& q) { return q.is_paused ? 1.0 : 0.0; }},
    {"corsair_queue_oldest_pending_seconds",
     "How long the longest-waiting pending job has waited since it became pending; 0 when none is pending.",
     [](const p::QueueStats& q) { return double(q.oldest_pending_ms.value_or(0)) / 1e3; }},
}};

struct QueueCounter {
    const char* name;
    const char* help;
    std::uint64_t p::QueueStats::*value;
};
const std::array<QueueCounter, 7> kQueueCounters = {{
    {"corsair_jobs_submitted_total", "Jobs submitted since the broker started.", &p::QueueStats::submitted},
    {"corsair_jobs_done_total", "Jobs ended done since the broker started.", &p::QueueStats::done},
    {"corsair_jobs_failed_total", "Jobs failed for good (into the dead set) since the broker started.",
     &p::QueueStats::failed},
    {"corsair_jobs_retried_total", "Failed attempts scheduled for another try after a backoff.",
     &p::QueueStats::retried},
    {"corsair_jobs_requeued_total", "Jobs taken back from a worker that died or left.", &p::QueueStats::requeued},
    {"corsair_jobs_timed_out_total", "Attempts that hit the job's timeout.", &p::QueueStats::timed_out},
    {"corsair_jobs_cancelled_total", "Jobs cancelled since the broker started.", &p::QueueStats::cancelled},
}};

void add_queue_metrics(Registry& registry, const std::vector<p::QueueStats>& queues) {
    for (const QueueGauge& gauge : kQueueGauges) {
        auto& family = gauges(registry, gauge.name, gauge.help);
        for (const auto& queue : queues) family.Add({{"queue", queue_label(queue.name)}}).Set(gauge.value(queue));
    }
    for (const QueueCounter& counter : kQueueCounters) {
        auto& family = counters(registry, counter.name, counter.help);
        for (const auto& queue : queues) {
            family.Add({{"queue", queue_label(queue.name)}}).Increment(double(queue.*counter.value));
        }
    }
    auto& wait = histograms(registry, "corsair_job_wait_seconds",
                            "Time from a job's first readiness (its submit, or its delay's end) to its first dispatch.");
    auto& run = histograms(registry, "corsair_job_run_seconds", "Time from an attempt's dispatch to its DONE.");
    for (const auto& queue : queues) {
        if (queue.wait) add_histogram(wait, {{"queue", queue_label(queue.name)}}, *queue.wait, 1e6);
        if (queue.run) add_histogram(run, {{"queue", queue_label(queue.name)}}, *queue.run, 1e6);
    }
}

// Workers as per-queue sums, never per worker: a worker's name (host:pid by default) changes
// with every restart, so per-worker series would grow without bound in Prometheus. The JSON
// API and the dashboard show each worker.
void add_worker_metrics(Registry& registry, const p::StatsReply& stats) {
    std::map<std::string, double> serving;
    std::map<std::string, double> free_credit;
    for (const auto& queue : stats.queues) serving[queue.name] = free_credit[queue.name] = 0;
    double draining = 0;
    for (const auto& worker : stats.workers) {
        if (worker.is_draining) ++draining;
        // A draining worker takes no more jobs: it has no credit to offer.
        const double credit = worker.is_draining || worker.in_flight >= worker.capacity
                                  ? 0.0
                                  : double(worker.capacity - worker.in_flight);
        const std::set<std::string> served(worker.queues.begin(), worker.queues.end());
        for (const auto& queue : served) {
            serving[queue] += 1;
            free_credit[queue] += credit;
        }
    }
    gauges(registry, "corsair_workers_connected", "Workers registered with the broker.")
        .Add({})
        .Set(double(stats.workers.size()));
    gauges(registry, "corsair_workers_draining", "Workers that sent DRAIN and take no more jobs.").Add({}).Set(draining);
    auto& serving_family = gauges(registry, "corsair_queue_workers", "Workers serving the queue.");
    for (const auto& [queue, count] : serving) serving_family.Add({{"queue", queue_label(queue)}}).Set(count);
    auto& credit_family = gauges(registry, "corsair_worker_free_credit",
                                 "Jobs the workers serving the queue could take now (capacity minus in flight, "
                                 "0 while draining). A worker serving several queues counts in each: do not sum "
                                 "across queues.");
    for (const auto& [queue, credit] : free_credit) credit_family.Add({{"queue", queue_label(queue)}}).Set(credit);
}

// STATS counters whose per-queue family (above) has the same name: the broker-wide value is
// that family's sum, so it is left out rather than mixed into the family without a label.
const std::set<std::string_view> kPerQueueTotals = {"jobs_submitted", "jobs_done", "jobs_failed", "jobs_requeued",
                                                    "jobs_cancelled"};
// STATS counters that are states, not counts (docs/protocol.md §5.7).
const std::set<std::string_view> kStateCounters = {"storage_unavailable", "results_kept"};

void add_broker_counters(Registry& registry, const std::map<std::string, std::uint64_t>& stats_counters) {
    for (const auto& [key, value] : stats_counters) {
        if (kPerQueueTotals.count(key) != 0) continue;
        const std::string help = "STATS counter " + key + " (docs/protocol.md 5.7).";
        if (kStateCounters.count(key) != 0) {
            if (prometheus::CheckMetricName("corsair_" + key)) {
                gauges(registry, "corsair_" + key, help).Add({}).Set(double(value));
            }
            continue;
        }
        // A name a newer broker may add is shown as it is, if it makes a valid metric name.
        const std::string name = "corsair_" + key + "_total";
        if (prometheus::CheckMetricName(name)) counters(registry, name, help).Add({}).Increment(double(value));
    }
}

void add_broker_info(Registry& registry, const p::StatsReply& stats) {
    if (stats.journal_fsync) {
        add_histogram(histograms(registry, "corsair_journal_fsync_seconds", "Duration of each journal fdatasync."),
                      {}, *stats.journal_fsync, 1e6);
    }
    if (stats.journal_records_per_fsync) {
        add_histogram(histograms(registry, "corsair_journal_records_per_fsync",
                                 "Journal records made durable by each fdatasync."),
                      {}, *stats.journal_records_per_fsync, 1);
    }
    gauges(registry, "corsair_broker_uptime_seconds", "Seconds since the broker process started.")
        .Add({})
        .Set(double(stats.uptime_ms) / 1e3);
    gauges(registry, "corsair_build_info", "Always 1; the label tells the broker's release.")
        .Add({{"version", stats.version}})
        .Set(1);
    if (stats.last_job_ended_at_ms) {
        gauges(registry, "corsair_last_job_ended_timestamp_seconds",
               "Unix time a job last ended done or failed for good.")
            .Add({})
            .Set(double(*stats.last_job_ended_at_ms) / 1e3);
    }
}

// /proc/self/stat's fields after the command name (which is in parentheses and may hold
// spaces), from field 3 (state) on.
std::vector<std::string> stat_fields_after_name() {
    std::ifstream file("/proc/self/stat");
    std::string line;
    if (!std::getline(file, line)) return {};
    const auto close = line.rfind(')');
    if (close == std::string::npos) return {};
    std::istringstream rest(line.substr(close + 1));
    std::vector<std::string> fields;
    for (std::string field; rest >> field;) fields.push_back(field);
    return fields;
}

std::optional<double> boot_time_seconds() {
    std::ifstream file("/proc/stat");
    for (std::string key; file >> key;) {
        if (key == "btime") {
            double seconds = 0;
            if (file >> seconds) return seconds;
            return std::nullopt;
        }
        file.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return std::nullopt;
}

void sample_memory(ProcessSample& sample) {
    std::ifstream statm("/proc/self/statm");
    double size_pages = 0;
    double resident_pages = 0;
    if (!(statm >> size_pages >> resident_pages)) return;
    const double page_bytes = double(::sysconf(_SC_PAGESIZE));
    sample.virtual_bytes = size_pages * page_bytes;
    sample.resident_bytes = resident_pages * page_bytes;
}

// proc(5): utime and stime are fields 14 and 15, starttime field 22, in clock ticks.
void sample_times(ProcessSample& sample) {
    const std::vector<std::string> fields = stat_fields_after_name();
    if (fields.size() < 20) return;
    const double ticks = double(::sysconf(_SC_CLK_TCK));
    try {
        sample.cpu_seconds = (std::stod(fields[14 - 3]) + std::stod(fields[15 - 3])) / ticks;
        if (const auto boot = boot_time_seconds()) sample.start_time_seconds = *boot + std::stod(fields[22 - 3]) / ticks;
    } catch (const std::exception&) {
        // A /proc this program cannot read: the fields stay absent.
    }
}

void sample_fds(ProcessSample& sample) {
    std::error_code error;
    double open = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end; it.increment(error)) {
        ++open;
    }
    if (!error) sample.open_fds = open;
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
        sample.max_fds = double(limit.rlim_cur);
    }
}

}  // namespace

ProcessSample sample_process() {
    ProcessSample sample;
    sample_memory(sample);
    sample_times(sample);
    sample_fds(sample);
    return sample;
}

void add_process_metrics(Registry& registry, const ProcessSample& sample) {
    const auto gauge = [&registry](const char* name, const char* help, const std::optional<double>& value) {
        if (value) gauges(registry, name, help).Add({}).Set(*value);
    };
    gauge("process_resident_memory_bytes", "Resident memory size in bytes.", sample.resident_bytes);
    gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", sample.virtual_bytes);
    gauge("process_open_fds", "Number of open file descriptors.", sample.open_fds);
    gauge("process_max_fds", "Maximum number of open file descriptors.", sample.max_fds);
    gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
          sample.start_time_seconds);
    if (sample.cpu_seconds) {
        counters(registry, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.")
            .Add({})
            .Increment(*sample.cpu_seconds);
    }
}

void add_broker_metrics(Registry& registry, const p::StatsReply& stats) {
    add_queue_metrics(registry, stats.queues);
    add_worker_metrics(registry, stats);
    add_broker_counters(registry, stats.counters);
    add_broker_info(registry, stats);
}

std::string serialize_metrics(const Registry& registry) {
    return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace corsair::http
