// A producer that drives a peer's queue (a Redis list, a beanstalkd tube) as Corsair's throughput
// and latency workloads drive Corsair: the job is complete when its result is back at this
// producer. Owned by the thread that made it, which owns its connections.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "job_source.hpp"

namespace corsair::bench {

// Where jobs wait and where the workers put results: a Redis list or a beanstalkd tube of that
// name (beanstalkd allows no ':' in a tube's name). One producer per server, so the result list
// is that producer's own.
inline constexpr const char* kPeerJobQueue = "corsair-bench-jobs";
inline constexpr const char* kPeerResultQueue = "corsair-bench-results";
// Submits sent and not yet acknowledged by the server, at most: the peers' pipelining.
inline constexpr std::size_t kPeerWindow = 1'000;

class PeerLoad {
public:
    virtual ~PeerLoad() = default;

    // Submits jobs first .. first+count-1 of `source`, pipelined with up to kPeerWindow
    // unacknowledged, and blocks until each one's result (the echoed payload) is back. Returns
    // the seconds from the first submit to the last result. Throws std::runtime_error after
    // `timeout`, on an error reply, or on a result that is not the payload's size.
    virtual double run_pipelined(const JobSource& source, std::uint64_t first, std::uint64_t count,
                                 std::chrono::milliseconds timeout) = 0;
    // One job at a time: submit, wait for its result, then the next. Returns each round trip in
    // microseconds. Throws like run_pipelined, or when one job takes longer than `per_job_timeout`.
    virtual std::vector<double> run_sequential(const JobSource& source, std::uint64_t first, std::uint64_t count,
                                               std::chrono::milliseconds per_job_timeout) = 0;
};

}  // namespace corsair::bench
