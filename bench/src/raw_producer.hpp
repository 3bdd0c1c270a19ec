// A producer without the library: one raw DEALER sending SUBMITs encoded by protocol/ and
// counting RESULTs (anything else, such as Corsair's ACCEPTED, is read and dropped). It drives the
// ceiling proxy, and Corsair's broker under --producer raw. Owned by the thread that created it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "job_source.hpp"

namespace corsair::bench {

class RawProducer {
public:
    // Connects lazily; never blocks. `window`: jobs sent whose RESULT has not arrived, at most.
    RawProducer(zmq::context_t& context, const std::string& producer_endpoint, std::size_t window, std::string queue);
    RawProducer(const RawProducer&) = delete;
    RawProducer& operator=(const RawProducer&) = delete;

    // As CorsairLoad::run_pipelined: jobs first .. first+count-1, pipelined; blocks until every
    // RESULT is in and returns the seconds taken. Throws std::runtime_error after `timeout`.
    double run_pipelined(const JobSource& source, std::uint64_t first, std::uint64_t count,
                         std::chrono::milliseconds timeout);
    // As CorsairLoad::run_sequential: one job at a time; each round trip in microseconds.
    std::vector<double> run_sequential(const JobSource& source, std::uint64_t first, std::uint64_t count,
                                       std::chrono::milliseconds per_job_timeout);

private:
    // Encodes job n as Corsair's producer library would (SUBMIT, wants_result).
    std::vector<zmq::message_t> submit_frames(const JobSource& source, std::uint64_t n) const;
    // Receives every message waiting, without blocking; returns how many were done RESULTs.
    std::uint64_t receive_results();

    zmq::socket_t socket_;
    std::string queue_;
    std::size_t window_;
    std::string last_result_id_;
};

}  // namespace corsair::bench
