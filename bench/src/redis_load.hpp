// The Redis peer's producer: LPUSHes jobs onto a list and pops their results from its own result
// list, which the workers (redis_worker) LPUSH to. Owned by the thread that made it.
#pragma once

#include "peer_load.hpp"
#include "resp_reply.hpp"
#include "tcp_connection.hpp"

namespace corsair::bench {

class RedisLoad : public PeerLoad {
public:
    // Connects twice to `server`; throws std::runtime_error if it cannot.
    explicit RedisLoad(const LoopbackAddress& server);

    // One thread, two connections in one poll loop: pipelined LPUSHes on one, and on the other a
    // BLMPOP of up to 1,000 results, issued again as each reply comes.
    double run_pipelined(const JobSource& source, std::uint64_t first, std::uint64_t count,
                         std::chrono::milliseconds timeout) override;
    // LPUSH the job and BRPOP its result, pipelined in one write; the clock stops at the result.
    std::vector<double> run_sequential(const JobSource& source, std::uint64_t first, std::uint64_t count,
                                       std::chrono::milliseconds per_job_timeout) override;

private:
    TcpConnection submits_;  // LPUSH (and, sequential, BRPOP)
    TcpConnection results_;  // BLMPOP, pipelined runs only
};

}  // namespace corsair::bench
