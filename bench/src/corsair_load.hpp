// Drives a Corsair broker as its producer, through the corsair::producer library (pipelined with
// a window). Owned by the thread that created it, which owns the producer's socket.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "corsair/producer/producer.hpp"
#include "job_source.hpp"

namespace corsair::bench {

class CorsairLoad {
public:
    // Connects lazily; never blocks. `window`: SUBMITs awaiting acceptance at once (their ACCEPTED,
    // or their RESULT: the producer lets the broker fold ACCEPTED into the RESULT for up to 1 s).
    // `curve`: the keys to reach a broker with CURVE on (empty: none).
    // `submit_batch`: ProducerOptions::submit_batch, the most jobs per SUBMITS.
    CorsairLoad(zmq::context_t& context, const std::string& producer_endpoint, std::size_t window,
                std::uint32_t submit_batch, std::string queue, const protocol::CurveClientKeys& curve = {});

    // Blocks until STATS lists `count` workers; throws std::runtime_error after `timeout`.
    void wait_for_workers(std::size_t count, std::chrono::milliseconds timeout);
    // Lifts the queue's max_length (1,000,000 waiting jobs by default), creating the queue.
    // Blocks for the broker's answer; throws ProducerError.
    void lift_queue_limit();

    // Submits jobs first .. first+count-1 of `source`, pipelined, each wanting its result, and
    // blocks until every RESULT is in. Returns the seconds from the first SUBMIT to the last
    // RESULT. Throws std::runtime_error on a refused job or one not done, or after `timeout`.
    double run_pipelined(const JobSource& source, std::uint64_t first, std::uint64_t count,
                         std::chrono::milliseconds timeout);
    // One job at a time: SUBMIT, wait for its RESULT, then the next. Returns each round trip in
    // microseconds. Throws like run_pipelined, or when one job takes longer than `per_job_timeout`.
    std::vector<double> run_sequential(const JobSource& source, std::uint64_t first, std::uint64_t count,
                                       std::chrono::milliseconds per_job_timeout);
    // Submits without wanting results and blocks until every SUBMIT is ACCEPTED. Returns the
    // seconds it took. Throws like run_pipelined.
    double fill(const JobSource& source, std::uint64_t first, std::uint64_t count, std::chrono::milliseconds timeout);

    // Blocks for STATS; throws ProducerError on timeout.
    protocol::StatsReply stats();

private:
    // Takes what the producer observed; counts RESULTs and throws on anything that is not done.
    void absorb(std::vector<producer::Event>&& events, std::uint64_t& results);

    producer::Producer producer_;
    std::string queue_;
};

// The counter `name` of a STATS reply, 0 when absent.
std::uint64_t counter(const protocol::StatsReply& stats, const std::string& name);

}  // namespace corsair::bench
