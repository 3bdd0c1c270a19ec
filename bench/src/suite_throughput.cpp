// The pipelined workloads: ceiling throughput, throughput (and its capacity-1 variant), durable,
// scaling, and the peers' throughput.
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>

#include "ceiling_cluster.hpp"
#include "child_process.hpp"  // tests/support
#include "corsair/protocol/limits.hpp"
#include "corsair_load.hpp"
#include "job_source.hpp"
#include "metrics_scraper.hpp"
#include "peer_cluster.hpp"
#include "process_usage.hpp"
#include "raw_producer.hpp"
#include "statistics.hpp"
#include "suite.hpp"

namespace corsair::bench {

namespace {

// A raw producer's window: the broker's default --max-in-flight, which a SUBMIT past it would
// be refused for; ZeroMQ's high-water marks pace the producer well before it.
constexpr std::size_t kRawWindow = protocol::kDefaultMaxInFlightSubmits;

// Deadlines, not expectations: a run slower than these has hung or the machine is unusable.
constexpr auto kWarmupTimeout = std::chrono::minutes(1);
constexpr auto kRegistrationTimeout = std::chrono::seconds(60);
std::chrono::milliseconds run_timeout(std::uint64_t jobs) {
    return std::chrono::seconds(60) + std::chrono::milliseconds(2 * jobs);
}

// The flags after --builtin echo, as the run's header line prints them (" --inline", "").
std::string echo_worker_flag_text(const WorkerShape& shape) {
    std::string text;
    for (const auto& flag : echo_worker_flags(shape.echo_placement, shape.capacity)) text += " " + flag;
    return text;
}

// The jobs of the CLI's run as `corsair submit --file` lines: the same payloads as the library
// producer's, each byte mapped onto 64 printable characters so that no line holds a newline and
// every job still carries payload_bytes bytes.
void write_job_lines(const std::string& path, const JobSource& source, std::uint64_t first, std::uint64_t count) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::ofstream file(path, std::ios::binary);
    std::string line;
    for (std::uint64_t n = first; n < first + count; ++n) {
        line.clear();
        for (const char byte : source.payload(n)) line += kAlphabet[static_cast<unsigned char>(byte) & 63];
        line += '\n';
        file.write(line.data(), static_cast<std::streamsize>(line.size()));
    }
    if (!file.flush()) throw std::runtime_error("cannot write the CLI's job file " + path);
}

// The CPU of the children this process has reaped so far (getrusage RUSAGE_CHILDREN).
CpuSeconds reaped_children_cpu() {
    rusage usage{};
    getrusage(RUSAGE_CHILDREN, &usage);
    const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return CpuSeconds(seconds(usage.ru_utime) + seconds(usage.ru_stime));
}

// The rate `corsair submit --file` printed in its summary ("..., rate 151234 jobs/s"), timed by
// the CLI from its first submit; null if the log has no such line.
nlohmann::json printed_rate(const std::string& log_path) {
    std::ifstream log(log_path);
    const std::regex rate(R"(rate ([0-9]+) jobs/s)");
    std::string line;
    nlohmann::json found;
    for (std::smatch match; std::getline(log, line);) {
        if (std::regex_search(line, match, rate)) found = std::stod(match[1].str());
    }
    return found;
}

// What every Corsair throughput measurement reports about its shape; each adds its own keys.
nlohmann::json shape_figures(int workers, WorkerShape shape, const WorkloadSizes& sizes) {
    return {{"workers", workers},
            {"capacity", shape.capacity},
            {"jobs", sizes.throughput_jobs},
            {"warmup_jobs", sizes.warmup_jobs},
            {"payload_bytes", sizes.payload_bytes},
            {"handler", echo_handler_description(shape.echo_placement)},
            {"runs", nlohmann::json::array()}};
}

// Runs the CLI (`argv`) to its exit and returns the seconds from its start. Throws when it does
// not finish within `timeout` or ends other than with 0, naming its log.
double time_cli_run(const std::vector<std::string>& argv, const std::string& log_path,
                    std::chrono::milliseconds timeout) {
    const auto start = std::chrono::steady_clock::now();
    test::ChildProcess cli(argv, {}, log_path, test::ChildProcess::Stdout::discarded);
    const auto status = cli.wait_exit(timeout);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!status) {
        throw std::runtime_error("throughput-cli: corsair submit --file --wait did not finish in time; its log: " +
                                 log_path);
    }
    if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
        throw std::runtime_error("throughput-cli: corsair submit --file --wait ended with wait status " +
                                 std::to_string(*status) + "; its log: " + log_path);
    }
    return seconds;
}

// `middle`: the broker's CPU, or the ceiling proxy's, or a peer server's (reported under the same keys).
nlohmann::json cpu_figures(double seconds, CpuSeconds producer, CpuSeconds middle, CpuSeconds workers) {
    return {{"producer_cpu_seconds", producer.count()},
            {"broker_cpu_seconds", middle.count()},
            {"workers_cpu_seconds", workers.count()},
            {"broker_cpu_percent", seconds > 0 ? middle.count() / seconds * 100 : 0.0}};
}

const char* to_string(Transport transport) { return transport == Transport::direct ? "direct" : "zeromq"; }

// Where the producer connects over `transport`: the broker's producer endpoint or its direct one.
std::string producer_endpoint(const test::CorsairCluster& cluster, Transport transport) {
    return transport == Transport::direct ? cluster.endpoints().direct : cluster.endpoints().producers;
}

// The heading's words for a transport: nothing for ZeroMQ, the default.
std::string transport_text(Transport transport) {
    return transport == Transport::direct
               ? ", over the direct transport (broker --direct direct://127.0.0.1:0, clients direct://, no spin)"
               : "";
}

// `middle` names the process in the middle: the broker, the ceiling's proxy or a peer's server.
void print_run(int run, double jobs_per_second, double seconds, const char* middle, double middle_cpu_seconds) {
    std::printf("    run %d: %s jobs/s (%.2f s; %s CPU %.0f %% of a core)\n", run,
                std::to_string(static_cast<long long>(jobs_per_second + 0.5)).c_str(), seconds, middle,
                seconds > 0 ? middle_cpu_seconds / seconds * 100 : 0.0);
    std::fflush(stdout);
}

}  // namespace

std::unique_ptr<test::CorsairCluster> Suite::start_throughput_cluster(const std::string& folder,
                                                                     std::vector<std::string> broker_flags,
                                                                     int workers, WorkerShape shape,
                                                                     Transport transport) const {
    if (transport == Transport::zeromq) return start_corsair(folder, std::move(broker_flags), workers, shape);
    if (const char* why = direct_transport_unusable()) {
        throw std::logic_error(std::string("a direct-transport workload was started, but ") + why);
    }
    broker_flags.insert(broker_flags.end(), {"--direct", "direct://127.0.0.1:0"});
    return start_corsair(folder, std::move(broker_flags), workers, shape, "0s");
}

nlohmann::json Suite::describe_corsair_throughput(const std::string& label, int workers, bool journal,
                                                  const std::string& fsync_policy, WorkerShape shape,
                                                  Transport transport) const {
    const auto& sizes = options_.sizes;
    nlohmann::json figures = shape_figures(workers, shape, sizes);
    figures["transport"] = to_string(transport);
    figures["producer"] = options_.uses_raw_producer ? "raw" : "library";
    figures["window"] = options_.uses_raw_producer
                            ? nlohmann::json("none below the broker's --max-in-flight: paced by ZeroMQ high-water marks")
                            : nlohmann::json(options_.window);
    figures["journal"] = journal;
    figures["broker_http"] = options_.broker_http;
    figures["scrapes_metrics"] = options_.scrapes_metrics;
    if (journal) figures["fsync"] = fsync_policy;
    const std::string producer =
        options_.uses_raw_producer ? "raw producer, no window" : "window " + std::to_string(options_.window);
    std::printf("  %s: %d worker process(es), --capacity %u%s, %llu jobs of %zu B (+%llu warm-up), %s, %s%s\n",
                label.c_str(), workers, shape.capacity, echo_worker_flag_text(shape).c_str(), static_cast<unsigned long long>(sizes.throughput_jobs),
                sizes.payload_bytes, static_cast<unsigned long long>(sizes.warmup_jobs), producer.c_str(),
                journal ? ("journal --fsync " + fsync_policy).c_str() : "memory only (--data-dir '')",
                transport_text(transport).c_str());
    std::printf("  broker HTTP %s%s\n", options_.broker_http ? "on (ephemeral loopback port)" : "off (--http '')",
                options_.scrapes_metrics ? ", /metrics scraped every second during each timed run" : "");
    std::fflush(stdout);
    return figures;
}

nlohmann::json Suite::measure_corsair_throughput(const std::string& label, int workers, bool journal,
                                                 const std::string& fsync_policy, WorkerShape shape,
                                                 Transport transport) {
    const auto& sizes = options_.sizes;
    nlohmann::json figures = describe_corsair_throughput(label, workers, journal, fsync_policy, shape, transport);
    for (int run = 1; run <= options_.runs; ++run) {
        const auto folder = run_folder(label, run);
        std::vector<std::string> broker_flags{"--data-dir", journal ? folder + "/journal" : ""};
        if (journal) broker_flags.insert(broker_flags.end(), {"--fsync", fsync_policy});
        if (!options_.broker_http) broker_flags.insert(broker_flags.end(), {"--http", ""});
        const auto cluster = start_throughput_cluster(folder, broker_flags, workers, shape, transport);
        CorsairLoad load(context_, producer_endpoint(*cluster, transport), options_.window, options_.submit_batch,
                         kQueue, curve_);
        load.wait_for_workers(static_cast<std::size_t>(workers), kRegistrationTimeout);
        const JobSource source(options_.seed, sizes.payload_bytes);
        std::unique_ptr<RawProducer> raw;
        if (options_.uses_raw_producer) {
            raw = std::make_unique<RawProducer>(context_, cluster->endpoints().producers, kRawWindow, kQueue);
        }
        const auto pipelined = [&](std::uint64_t first, std::uint64_t count, std::chrono::milliseconds timeout) {
            return raw ? raw->run_pipelined(source, first, count, timeout)
                       : load.run_pipelined(source, first, count, timeout);
        };
        pipelined(1, sizes.warmup_jobs, kWarmupTimeout);

        const auto producer_before = own_cpu_time();
        const auto broker_before = cpu_time_of({cluster->broker_pid()});
        const auto workers_before = cpu_time_of(cluster->worker_pids());
        std::optional<MetricsScraper> scraper;
        if (options_.scrapes_metrics) scraper.emplace(cluster->endpoints().http);
        const double seconds = pipelined(1 + sizes.warmup_jobs, sizes.throughput_jobs, run_timeout(sizes.throughput_jobs));
        const auto broker_cpu = cpu_time_of({cluster->broker_pid()}) - broker_before;
        nlohmann::json result = cpu_figures(seconds, own_cpu_time() - producer_before, broker_cpu,
                                            cpu_time_of(cluster->worker_pids()) - workers_before);
        if (scraper) {
            const auto tally = scraper->stop();
            result["metrics_scrapes"] = tally.scrapes;
            result["metrics_scrape_failures"] = tally.failures;
            result["metrics_longest_scrape_ms"] = tally.longest_ms;
            result["metrics_bytes"] = tally.last_bytes;
        }
        result["seconds"] = seconds;
        result["jobs_per_second"] = static_cast<double>(sizes.throughput_jobs) / seconds;
        print_run(run, result["jobs_per_second"].get<double>(), seconds, "broker", broker_cpu.count());
        figures["runs"].push_back(result);
    }
    finish_throughput_runs(figures);
    return figures;
}

nlohmann::json Suite::measure_cli_throughput(int workers, WorkerShape shape, Transport transport) {
    const auto& sizes = options_.sizes;
    const JobSource source(options_.seed, sizes.payload_bytes);
    const std::string jobs_path = (scratch_ / "cli-jobs.txt").string();
    write_job_lines(jobs_path, source, 1 + sizes.warmup_jobs, sizes.throughput_jobs);
    nlohmann::json figures = shape_figures(workers, shape, sizes);
    figures["producer"] = "corsair submit --file --wait (the CLI, a child process, its default --window), timed "
                          "from its start to its exit; warm-up through corsair::producer";
    figures["cli"] = options_.cli_bin;
    figures["journal"] = false;
    figures["broker_http"] = options_.broker_http;
    figures["transport"] = to_string(transport);
    const std::string label = transport == Transport::direct ? "throughput-cli-direct" : "throughput-cli";
    std::printf("  %s: %d worker process(es), --capacity %u%s, %llu jobs of %zu B (+%llu warm-up),\n"
                "  submitted by `corsair submit --file --wait` (timed from its start to its exit), memory only%s\n",
                label.c_str(), workers, shape.capacity, echo_worker_flag_text(shape).c_str(),
                static_cast<unsigned long long>(sizes.throughput_jobs), sizes.payload_bytes,
                static_cast<unsigned long long>(sizes.warmup_jobs), transport_text(transport).c_str());
    std::fflush(stdout);
    for (int run = 1; run <= options_.runs; ++run) {
        const auto folder = run_folder(label, run);
        std::vector<std::string> broker_flags{"--data-dir", ""};
        if (!options_.broker_http) broker_flags.insert(broker_flags.end(), {"--http", ""});
        const auto cluster = start_throughput_cluster(folder, broker_flags, workers, shape, transport);
        const std::string endpoint = producer_endpoint(*cluster, transport);
        CorsairLoad load(context_, endpoint, options_.window, options_.submit_batch, kQueue, curve_);
        load.wait_for_workers(static_cast<std::size_t>(workers), kRegistrationTimeout);
        load.run_pipelined(source, 1, sizes.warmup_jobs, kWarmupTimeout);

        std::vector<std::string> argv{options_.cli_bin, "submit", kQueue, "--broker", endpoint,
                                      "--file", jobs_path, "--wait"};
        argv.insert(argv.end(), curve_cli_flags_.begin(), curve_cli_flags_.end());
        const std::string log_path = folder + "/cli.log";
        const auto cli_before = reaped_children_cpu();
        const auto broker_before = cpu_time_of({cluster->broker_pid()});
        const auto workers_before = cpu_time_of(cluster->worker_pids());
        const double seconds = time_cli_run(argv, log_path, run_timeout(sizes.throughput_jobs));
        const auto broker_cpu = cpu_time_of({cluster->broker_pid()}) - broker_before;
        nlohmann::json result = cpu_figures(seconds, reaped_children_cpu() - cli_before, broker_cpu,
                                            cpu_time_of(cluster->worker_pids()) - workers_before);
        result["seconds"] = seconds;
        result["jobs_per_second"] = static_cast<double>(sizes.throughput_jobs) / seconds;
        result["cli_printed_jobs_per_second"] = printed_rate(log_path);
        print_run(run, result["jobs_per_second"].get<double>(), seconds, "broker", broker_cpu.count());
        figures["runs"].push_back(result);
    }
    finish_throughput_runs(figures);
    return figures;
}

nlohmann::json Suite::measure_ceiling_throughput(int workers) {
    const auto& sizes = options_.sizes;
    // No window of our own: ZeroMQ's high-water marks pace the producer. Corsair's producer has
    // --window jobs in flight at most (with accept_within, a job holds its slot until its RESULT),
    // so if anything the ceiling is the one allowed to run further ahead.
    nlohmann::json figures = {{"workers", workers},
                              {"jobs", sizes.throughput_jobs},
                              {"warmup_jobs", sizes.warmup_jobs},
                              {"payload_bytes", sizes.payload_bytes},
                              {"window", "none: paced by ZeroMQ high-water marks"},
                              {"runs", nlohmann::json::array()}};
    std::printf("  ceiling throughput: %d echo worker process(es), %llu jobs of %zu B (+%llu warm-up), no window\n"
                "  (ZeroMQ high-water marks pace the producer)\n",
                workers, static_cast<unsigned long long>(sizes.throughput_jobs), sizes.payload_bytes,
                static_cast<unsigned long long>(sizes.warmup_jobs));
    std::fflush(stdout);
    for (int run = 1; run <= options_.runs; ++run) {
        CeilingCluster cluster(self_bin_, workers, run_folder("ceiling-throughput-" + std::to_string(workers), run));
        RawProducer load(context_, cluster.producer_endpoint(), kRawWindow, kQueue);
        const JobSource source(options_.seed, sizes.payload_bytes);
        load.run_pipelined(source, 1, sizes.warmup_jobs, kWarmupTimeout);
        const auto producer_before = own_cpu_time();
        const auto proxy_before = cluster.proxy_cpu();
        const auto workers_before = cluster.workers_cpu();
        const double seconds = load.run_pipelined(source, 1 + sizes.warmup_jobs, sizes.throughput_jobs, run_timeout(sizes.throughput_jobs));
        const auto proxy_cpu = cluster.proxy_cpu() - proxy_before;
        nlohmann::json result =
            cpu_figures(seconds, own_cpu_time() - producer_before, proxy_cpu, cluster.workers_cpu() - workers_before);
        result["seconds"] = seconds;
        result["jobs_per_second"] = static_cast<double>(sizes.throughput_jobs) / seconds;
        print_run(run, result["jobs_per_second"].get<double>(), seconds, "proxy", proxy_cpu.count());
        figures["runs"].push_back(result);
    }
    finish_throughput_runs(figures);
    return figures;
}

nlohmann::json Suite::measure_peer_throughput(Peer peer, const std::string& program) {
    const auto& sizes = options_.sizes;
    const int workers = sizes.throughput_workers;
    const std::string name(to_string(peer));
    nlohmann::json figures = {{"workers", workers},
                              {"jobs", sizes.throughput_jobs},
                              {"warmup_jobs", sizes.warmup_jobs},
                              {"payload_bytes", sizes.payload_bytes},
                              {"window", kPeerWindow},
                              {"runs", nlohmann::json::array()}};
    std::printf("  %s throughput: %d worker process(es), one job each at a time, %llu jobs of %zu B (+%llu warm-up),\n"
                "  up to %zu unacknowledged submits\n",
                name.c_str(), workers, static_cast<unsigned long long>(sizes.throughput_jobs), sizes.payload_bytes,
                static_cast<unsigned long long>(sizes.warmup_jobs), kPeerWindow);
    std::fflush(stdout);
    for (int run = 1; run <= options_.runs; ++run) {
        PeerCluster cluster(peer, program, self_bin_, workers, run_folder("peer-" + name + "-throughput", run));
        const auto load = make_peer_load(peer, cluster.address());
        const JobSource source(options_.seed, sizes.payload_bytes);
        load->run_pipelined(source, 1, sizes.warmup_jobs, kWarmupTimeout);
        const auto producer_before = own_cpu_time();
        const auto server_before = cluster.server_cpu();
        const auto workers_before = cluster.workers_cpu();
        const double seconds =
            load->run_pipelined(source, 1 + sizes.warmup_jobs, sizes.throughput_jobs, run_timeout(sizes.throughput_jobs));
        const auto server_cpu = cluster.server_cpu() - server_before;
        nlohmann::json result =
            cpu_figures(seconds, own_cpu_time() - producer_before, server_cpu, cluster.workers_cpu() - workers_before);
        result["seconds"] = seconds;
        result["jobs_per_second"] = static_cast<double>(sizes.throughput_jobs) / seconds;
        print_run(run, result["jobs_per_second"].get<double>(), seconds, "server", server_cpu.count());
        figures["runs"].push_back(result);
    }
    finish_throughput_runs(figures);
    return figures;
}

void Suite::run_ceiling(const std::vector<int>& worker_counts, bool measures_latency) {
    std::printf("\n== ceiling: zero-logic ZeroMQ proxy (seed %llu) ==\n", static_cast<unsigned long long>(options_.seed));
    std::printf("  ROUTER (producers) <-> DEALER (workers), zmq::proxy in its own process; echo workers are\n"
                "  single-threaded processes answering each SUBMIT with RESULT; both built by protocol/ encode,\n"
                "  so frame counts and sizes match Corsair's SUBMIT and RESULT (no ACCEPTED, JOB or DONE legs).\n");
    nlohmann::json ceiling = {
        {"description", "zero-logic ZeroMQ ROUTER/DEALER proxy (zmq::proxy) and single-threaded echo worker "
                        "processes; SUBMIT and RESULT encoded by protocol/"},
        {"seed", options_.seed},
        {"throughput", nlohmann::json::array()},
    };
    for (int workers : worker_counts) ceiling["throughput"].push_back(measure_ceiling_throughput(workers));
    if (measures_latency) ceiling["latency"] = measure_ceiling_latency();
    report_["workloads"]["ceiling"] = ceiling;
}

void Suite::run_throughput() {
    std::printf("\n== throughput (seed %llu) ==\n", static_cast<unsigned long long>(options_.seed));
    const int workers = options_.sizes.throughput_workers;
    report_["workloads"]["throughput"] = measure_corsair_throughput("throughput", workers, false, "", asked_worker_shape());
    report_["workloads"]["throughput"]["seed"] = options_.seed;
    // Issue 17: the same jobs through the CLI users run, `corsair submit --file --wait`.
    report_["workloads"]["throughput_cli"] = measure_cli_throughput(workers, asked_worker_shape());
    report_["workloads"]["throughput_cli"]["seed"] = options_.seed;
    // Issue 17: one job per worker at a time, the shape the peers' workers have, with the
    // worker's default flags other than the echo handler; then with a handler thread, as a
    // worker running a command has.
    report_["workloads"]["throughput_capacity_1"] = measure_corsair_throughput(
        "throughput-capacity-1", workers, false, "", WorkerShape{1, EchoPlacement::worker_default});
    report_["workloads"]["throughput_capacity_1"]["seed"] = options_.seed;
    report_["workloads"]["throughput_capacity_1_threads"] = measure_corsair_throughput(
        "throughput-capacity-1-threads", workers, false, "", WorkerShape{1, EchoPlacement::handler_threads});
    report_["workloads"]["throughput_capacity_1_threads"]["seed"] = options_.seed;
    run_throughput_direct();
}

void Suite::run_throughput_direct() {
    std::printf("\n== throughput over the direct transport (seed %llu) ==\n",
                static_cast<unsigned long long>(options_.seed));
    if (const char* why = direct_transport_unusable()) {
        std::printf("  skipped: %s\n", why);
        report_["workloads"]["throughput_direct"] = {{"skipped", why}};
        return;
    }
    // The same three shapes as above that a user picks between (pipelined through the library,
    // the CLI, one job per worker), each against its ZeroMQ figure of this run.
    const int workers = options_.sizes.throughput_workers;
    auto& results = report_["workloads"];
    results["throughput_direct"] = measure_corsair_throughput("throughput-direct", workers, false, "",
                                                              asked_worker_shape(), Transport::direct);
    results["throughput_cli_direct"] = measure_cli_throughput(workers, asked_worker_shape(), Transport::direct);
    results["throughput_capacity_1_direct"] =
        measure_corsair_throughput("throughput-capacity-1-direct", workers, false, "",
                                   WorkerShape{1, EchoPlacement::worker_default}, Transport::direct);
    for (const char* key : {"throughput_direct", "throughput_cli_direct", "throughput_capacity_1_direct"}) {
        results[key]["seed"] = options_.seed;
    }
}

void Suite::run_durable() {
    std::printf("\n== durable: throughput with the journal (seed %llu) ==\n", static_cast<unsigned long long>(options_.seed));
    nlohmann::json durable = {{"seed", options_.seed}, {"policies", nlohmann::json::object()}};
    for (const char* policy : {"always", "interval", "never"}) {
        durable["policies"][policy] =
            measure_corsair_throughput(std::string("durable-") + policy, options_.sizes.throughput_workers, true, policy,
                                       asked_worker_shape());
    }
    report_["workloads"]["durable"] = durable;
}

void Suite::run_scaling() {
    std::printf("\n== scaling: throughput by worker processes (seed %llu) ==\n",
                static_cast<unsigned long long>(options_.seed));
    nlohmann::json scaling = {{"seed", options_.seed}, {"points", nlohmann::json::array()}};
    for (int workers : options_.sizes.scaling_workers) {
        scaling["points"].push_back(
            measure_corsair_throughput("scaling-" + std::to_string(workers), workers, false, "", asked_worker_shape()));
    }
    report_["workloads"]["scaling"] = scaling;
}

}  // namespace corsair::bench
