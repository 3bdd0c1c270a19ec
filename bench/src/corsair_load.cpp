#include "corsair_load.hpp"

#include <optional>
#include <stdexcept>

namespace corsair::bench {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

producer::ProducerOptions options_for(const std::string& endpoint, std::size_t window, std::uint32_t submit_batch,
                                      const protocol::CurveClientKeys& curve) {
    producer::ProducerOptions options;
    options.curve = curve;
    options.broker_endpoint = endpoint;
    options.window = window;
    options.submit_batch = submit_batch;
    // A broker that stops answering must end the run, not hang it.
    options.silence_limit = std::chrono::seconds(30);
    // The load only counts results: no accepted event per job (refusals still come as errors).
    options.reports_acceptance = false;
    // Every job here wants its result, so the broker may fold ACCEPTED into the RESULT. With 1 s,
    // far above any job's round trip in these workloads, no ACCEPTED is needed for a job that ends
    // in time (both the throughput and the latency workloads use these options); a lazily accepted
    // job holds its window slot until its RESULT, so `window` then bounds the jobs in flight.
    options.accept_within = std::chrono::milliseconds(1000);
    return options;
}

[[noreturn]] void fail_timeout(const char* what, std::uint64_t done, std::uint64_t count) {
    throw std::runtime_error(std::string(what) + ": timed out with " + std::to_string(done) + " of " +
                             std::to_string(count) + " jobs complete");
}

}  // namespace

CorsairLoad::CorsairLoad(zmq::context_t& context, const std::string& producer_endpoint, std::size_t window,
                         std::uint32_t submit_batch, std::string queue, const protocol::CurveClientKeys& curve)
    : producer_(context, options_for(producer_endpoint, window, submit_batch, curve)), queue_(std::move(queue)) {}

void CorsairLoad::wait_for_workers(std::size_t count, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::size_t seen = 0;
    while (Clock::now() < deadline) {
        try {
            seen = producer_.stats(std::chrono::seconds(5)).workers.size();
            if (seen >= count) return;
        } catch (const producer::ProducerError&) {
            // A STATS lost in a slow start: ask again until the deadline.
        }
        // Registration is the workers' doing: between asks, wait on the producer's socket (nothing
        // else is in flight yet, so whatever it returns is of no use here).
        producer_.poll(milliseconds(20));
    }
    throw std::runtime_error("only " + std::to_string(seen) + " of " + std::to_string(count) +
                             " workers registered with the broker in time");
}

void CorsairLoad::lift_queue_limit() {
    protocol::QueueSettings settings;
    settings.queue = queue_;
    settings.should_create = true;
    settings.max_length = 0;
    producer_.queue_settings(settings);
}

void CorsairLoad::absorb(std::vector<producer::Event>&& events, std::uint64_t& results) {
    for (auto& event : events) {
        if (event.kind == producer::Event::Kind::error) {
            throw std::runtime_error("broker refused job " + event.id + ": " + event.error.message);
        }
        if (event.kind != producer::Event::Kind::result) continue;
        if (event.outcome.state != protocol::JobState::done) {
            throw std::runtime_error("job " + event.id + " ended " + std::string(protocol::to_string(event.outcome.state)) +
                                     ": " + event.outcome.error);
        }
        ++results;
    }
}

double CorsairLoad::run_pipelined(const JobSource& source, std::uint64_t first, std::uint64_t count,
                                  milliseconds timeout) {
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    std::uint64_t results = 0;
    // Submits leave as SUBMITS of up to submit_batch; each poll sends what is held.
    std::optional<producer::Producer::Batch> batch(std::in_place, producer_);
    for (std::uint64_t n = first; n < first + count; ++n) {
        producer_.submit_async(queue_, source.payload(n), true, source.job_id(n));
        // Take what has arrived now and then, so the producer's event list stays short.
        if ((n & 63) == 0) {
            absorb(producer_.poll(milliseconds(0)), results);
            if (Clock::now() >= deadline) fail_timeout("pipelined run", results, count);
        }
    }
    batch.reset();
    while (results < count) {
        if (Clock::now() >= deadline) fail_timeout("pipelined run", results, count);
        absorb(producer_.poll(milliseconds(100)), results);
    }
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<double> CorsairLoad::run_sequential(const JobSource& source, std::uint64_t first, std::uint64_t count,
                                                milliseconds per_job_timeout) {
    std::vector<double> samples_us;
    samples_us.reserve(count);
    for (std::uint64_t n = first; n < first + count; ++n) {
        const auto id = source.job_id(n);
        const auto start = Clock::now();
        producer_.submit_async(queue_, source.payload(n), true, id);
        const auto outcome = producer_.wait_result(id, per_job_timeout);
        const auto end = Clock::now();
        if (outcome.state != protocol::JobState::done) throw std::runtime_error("job " + id + " did not end done");
        samples_us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
        // Anything else the producer observed is taken outside the timed span.
        std::uint64_t ignored = 0;
        absorb(producer_.poll(milliseconds(0)), ignored);
    }
    return samples_us;
}

double CorsairLoad::fill(const JobSource& source, std::uint64_t first, std::uint64_t count, milliseconds timeout) {
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    std::uint64_t ignored = 0;
    std::optional<producer::Producer::Batch> batch(std::in_place, producer_);
    for (std::uint64_t n = first; n < first + count; ++n) {
        producer_.submit_async(queue_, source.payload(n), false, source.job_id(n));
        if ((n & 255) == 0) {
            absorb(producer_.poll(milliseconds(0)), ignored);
            if (Clock::now() >= deadline) fail_timeout("fill", n - first, count);
        }
    }
    batch.reset();
    while (producer_.awaiting_acceptance() > 0) {
        if (Clock::now() >= deadline) fail_timeout("fill", count - producer_.awaiting_acceptance(), count);
        absorb(producer_.poll(milliseconds(100)), ignored);
    }
    return std::chrono::duration<double>(Clock::now() - start).count();
}

protocol::StatsReply CorsairLoad::stats() { return producer_.stats(std::chrono::seconds(10)); }

std::uint64_t counter(const protocol::StatsReply& stats, const std::string& name) {
    const auto it = stats.counters.find(name);
    return it == stats.counters.end() ? 0 : it->second;
}

}  // namespace corsair::bench
