// corsair-soak-producer: the producer of bench/soak.py (issue 14). One raw DEALER speaking
// docs/protocol.md through protocol/, so that every RESULT on the wire is counted: the producer
// library drops a second RESULT for an id it no longer awaits, which would hide a doubled job.
// It submits jobs "PREFIX-SEQ" at a fixed rate (or, with --rate 0, as fast as --window jobs in
// flight allow, to measure the maximum), records per id how many RESULTs came and the latency
// from SUBMIT to the first, prints one "soak-window" line per --report-every and, after draining,
// one "soak-final" line. Exit status 0 when every job came back done exactly once, 1 when one
// was missing, doubled, not done, refused or unknown, 2 on a usage error. Single-threaded.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>
#include <zmq.hpp>

#include "corsair/protocol/duration.hpp"
#include "corsair/protocol/protocol.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace protocol = corsair::protocol;

struct Options {
    std::string broker;
    std::string queue = "soak";
    std::string prefix = "soak";
    double rate = 0;  // jobs per second; 0 = as fast as the window allows
    std::chrono::microseconds duration{std::chrono::seconds(60)};
    std::chrono::microseconds report_every{std::chrono::seconds(10)};
    std::chrono::microseconds drain_timeout{std::chrono::seconds(120)};
    std::size_t window = 2000;
    std::uint32_t max_attempts = 100;
    std::size_t payload_bytes = 64;
};

// Everything the producer saw, per id and per report window.
struct Tally {
    std::vector<std::uint8_t> results;  // per sequence number: RESULTs received (saturating)
    std::unordered_map<std::uint64_t, Clock::time_point> in_flight;  // submitted, no RESULT yet
    std::vector<double> window_latency_ms;
    std::uint64_t window_results = 0;
    std::uint64_t results_total = 0;  // first RESULTs
    std::uint64_t duplicate_results = 0;
    std::uint64_t not_done = 0;
    std::uint64_t refused = 0;
    std::uint64_t unknown_results = 0;
    std::uint64_t rerun_jobs = 0;  // ended on attempt > 1: leased more than once
    std::uint32_t max_attempt = 0;
};

class SoakProducer {
public:
    SoakProducer(zmq::context_t& context, Options options)
        : options_(std::move(options)), socket_(context, zmq::socket_type::dealer),
          payload_(options_.payload_bytes, 'x') {
        socket_.set(zmq::sockopt::linger, 0);
        socket_.set(zmq::sockopt::maxmsgsize,
                    static_cast<std::int64_t>(protocol::kDefaultMaxPayloadBytes + protocol::kFrameOverheadBytes));
        socket_.set(zmq::sockopt::rcvhwm, 100'000);
        socket_.set(zmq::sockopt::sndhwm, 100'000);
        socket_.connect(options_.broker);
    }

    int run();

private:
    void submit_due(Clock::time_point now);
    bool send_next();
    void receive_all();
    void on_result(const protocol::JobResult& result);
    void pump(std::chrono::milliseconds wait);
    void report_window(Clock::time_point now, bool force);
    int report_final(double active_seconds);

    Options options_;
    zmq::socket_t socket_;
    std::string payload_;
    Tally tally_;
    std::optional<protocol::Frames> unsent_;
    Clock::time_point start_{};
    Clock::time_point window_start_{};
};

bool SoakProducer::send_next() {
    const std::uint64_t seq = tally_.results.size();
    if (!unsent_) {
        auto submit = protocol::make_submit(options_.prefix + "-" + std::to_string(seq), options_.queue, true,
                                            protocol::make_payload(payload_));
        submit.retry.max_attempts = options_.max_attempts;
        // ACCEPTED is of no use here: the broker may fold it into the RESULT within a second.
        submit.accept_within_ms = 1000;
        unsent_ = protocol::encode(std::move(submit));
    }
    if (protocol::send_frames(socket_, *unsent_) != protocol::SendStatus::sent) return false;
    unsent_.reset();
    tally_.results.push_back(0);
    tally_.in_flight.emplace(seq, Clock::now());
    return true;
}

void SoakProducer::submit_due(Clock::time_point now) {
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const auto due = options_.rate > 0 ? static_cast<std::uint64_t>(options_.rate * elapsed) : UINT64_MAX;
    while (tally_.results.size() < due && tally_.in_flight.size() < options_.window) {
        if (!send_next()) return;
        // Read now and then, so that RESULTs do not pile up behind a long burst.
        if ((tally_.results.size() & 255) == 0) receive_all();
    }
}

void SoakProducer::on_result(const protocol::JobResult& result) {
    const auto dash = result.id.rfind('-');
    std::uint64_t seq = UINT64_MAX;
    if (dash != std::string::npos && result.id.compare(0, dash, options_.prefix) == 0) {
        seq = std::strtoull(result.id.c_str() + dash + 1, nullptr, 10);
    }
    if (seq >= tally_.results.size()) {
        ++tally_.unknown_results;
        std::fprintf(stderr, "soak-producer: RESULT for an id never submitted: %s\n", result.id.c_str());
        return;
    }
    if (result.state != protocol::JobState::done) ++tally_.not_done;
    if (tally_.results[seq] != 0) {
        ++tally_.duplicate_results;
        std::fprintf(stderr, "soak-producer: second RESULT for %s (attempt %u)\n", result.id.c_str(), result.attempt);
    } else {
        const auto it = tally_.in_flight.find(seq);
        tally_.window_latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - it->second).count());
        tally_.in_flight.erase(it);
        ++tally_.results_total;
        ++tally_.window_results;
        if (result.attempt > 1) ++tally_.rerun_jobs;
        tally_.max_attempt = std::max(tally_.max_attempt, result.attempt);
    }
    if (tally_.results[seq] < 255) ++tally_.results[seq];
}

void SoakProducer::receive_all() {
    protocol::Frames frames;
    while (protocol::receive_frames(socket_, frames)) {
        auto decoded = protocol::decode(frames);
        if (!decoded) continue;
        if (const auto* result = std::get_if<protocol::JobResult>(&decoded.value())) {
            on_result(*result);
        } else if (const auto* error = std::get_if<protocol::Error>(&decoded.value())) {
            if (++tally_.refused <= 5) {
                std::fprintf(stderr, "soak-producer: broker refused %s: %s\n", error->id.c_str(), error->message.c_str());
            }
        }
    }
}

void SoakProducer::pump(std::chrono::milliseconds wait) {
    const short events = ZMQ_POLLIN | (unsent_ ? ZMQ_POLLOUT : 0);
    zmq::pollitem_t item{socket_.handle(), 0, events, 0};
    zmq::poll(&item, 1, wait);
    receive_all();
}

double percentile(std::vector<double>& samples, double fraction) {
    if (samples.empty()) return 0;
    const auto k = static_cast<std::size_t>(fraction * static_cast<double>(samples.size() - 1));
    std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(k), samples.end());
    return samples[k];
}

void SoakProducer::report_window(Clock::time_point now, bool force) {
    if (!force && now - window_start_ < options_.report_every) return;
    const double seconds = std::chrono::duration<double>(now - window_start_).count();
    auto& samples = tally_.window_latency_ms;
    const double p50 = percentile(samples, 0.50);
    const double p99 = percentile(samples, 0.99);
    const double max = samples.empty() ? 0 : *std::max_element(samples.begin(), samples.end());
    std::printf("soak-window t_s=%.1f submitted=%zu results=%llu in_flight=%zu rate_jobs_s=%.0f p50_ms=%.2f "
                "p99_ms=%.2f max_ms=%.1f duplicate_results=%llu rerun_jobs=%llu\n",
                std::chrono::duration<double>(now - start_).count(), tally_.results.size(),
                static_cast<unsigned long long>(tally_.results_total), tally_.in_flight.size(),
                seconds > 0 ? static_cast<double>(tally_.window_results) / seconds : 0.0, p50, p99, max,
                static_cast<unsigned long long>(tally_.duplicate_results),
                static_cast<unsigned long long>(tally_.rerun_jobs));
    std::fflush(stdout);
    samples.clear();
    tally_.window_results = 0;
    window_start_ = now;
}

int SoakProducer::report_final(double active_seconds) {
    std::uint64_t missing = 0;
    for (const auto count : tally_.results) missing += count == 0 ? 1 : 0;
    std::printf("soak-final submitted=%zu results=%llu missing=%llu duplicate_results=%llu not_done=%llu "
                "refused=%llu unknown_results=%llu rerun_jobs=%llu max_attempt=%u active_s=%.1f rate_jobs_s=%.0f\n",
                tally_.results.size(), static_cast<unsigned long long>(tally_.results_total),
                static_cast<unsigned long long>(missing), static_cast<unsigned long long>(tally_.duplicate_results),
                static_cast<unsigned long long>(tally_.not_done), static_cast<unsigned long long>(tally_.refused),
                static_cast<unsigned long long>(tally_.unknown_results),
                static_cast<unsigned long long>(tally_.rerun_jobs), tally_.max_attempt, active_seconds,
                active_seconds > 0 ? static_cast<double>(tally_.results_total) / active_seconds : 0.0);
    std::fflush(stdout);
    const bool exact = missing == 0 && tally_.duplicate_results == 0 && tally_.not_done == 0 && tally_.refused == 0 &&
                       tally_.unknown_results == 0;
    return exact ? 0 : 1;
}

int SoakProducer::run() {
    start_ = window_start_ = Clock::now();
    const auto end = start_ + options_.duration;
    for (auto now = start_; now < end; now = Clock::now()) {
        submit_due(now);
        pump(std::chrono::milliseconds(1));
        report_window(Clock::now(), false);
    }
    // With --rate 0 the maximum is what came back while submitting; the drain is not counted.
    const auto results_at_end = tally_.results_total;
    const double active_seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    const auto drain_deadline = Clock::now() + options_.drain_timeout;
    while ((!tally_.in_flight.empty() || unsent_) && Clock::now() < drain_deadline) {
        if (unsent_) send_next();
        pump(std::chrono::milliseconds(100));
        report_window(Clock::now(), false);
    }
    // A second RESULT may trail the first: listen a little longer before counting.
    const auto linger_until = Clock::now() + std::chrono::seconds(2);
    while (Clock::now() < linger_until) pump(std::chrono::milliseconds(100));
    report_window(Clock::now(), true);
    std::printf("soak-max results_while_submitting=%llu active_s=%.1f max_jobs_s=%.0f\n",
                static_cast<unsigned long long>(results_at_end), active_seconds,
                static_cast<double>(results_at_end) / active_seconds);
    return report_final(active_seconds);
}

// A CLI11 option taking the duration grammar of docs/protocol.md §16.
void add_duration(CLI::App& app, const std::string& name, std::chrono::microseconds& target, const std::string& help) {
    app.add_option_function<std::string>(
           name,
           [&target, name](const std::string& text) {
               const auto parsed = protocol::parse_duration(text);
               if (!parsed) throw CLI::ValidationError(name, "not a duration: " + text);
               target = *parsed;
           },
           help)
        ->type_name("DURATION");
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    CLI::App app{"corsair-soak-producer: submits jobs at a fixed rate and checks each comes back done exactly "
                 "once (bench/soak.py runs it)."};
    app.add_option("--broker", options.broker, "producer endpoint of the broker")->required();
    app.add_option("--queue", options.queue, "queue to submit to")->capture_default_str();
    app.add_option("--prefix", options.prefix, "job ids are PREFIX-SEQ")->capture_default_str();
    app.add_option("--rate", options.rate, "jobs per second; 0 = as fast as --window allows")->capture_default_str();
    add_duration(app, "--duration", options.duration, "how long to submit (default 60s)");
    add_duration(app, "--report-every", options.report_every, "one soak-window line per this (default 10s)");
    add_duration(app, "--drain-timeout", options.drain_timeout, "longest wait for the last RESULTs (default 120s)");
    app.add_option("--window", options.window, "most jobs in flight")->capture_default_str();
    app.add_option("--max-attempts", options.max_attempts, "max_attempts of each job")->capture_default_str();
    app.add_option("--payload-bytes", options.payload_bytes, "payload size")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    zmq::context_t context;
    SoakProducer producer(context, options);
    return producer.run();
}
