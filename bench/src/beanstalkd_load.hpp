// The beanstalkd peer's producer: puts jobs into one tube and reserves and deletes their results
// from a result tube, which the workers (beanstalkd_worker) put them into. Owned by the thread
// that made it.
#pragma once

#include <deque>

#include "beanstalkd_reply.hpp"
#include "peer_load.hpp"
#include "tcp_connection.hpp"

namespace corsair::bench {

class BeanstalkdLoad : public PeerLoad {
public:
    // Connects twice to `server` and chooses the tubes; blocks up to 10 s. Throws
    // std::runtime_error if it cannot.
    explicit BeanstalkdLoad(const LoopbackAddress& server);

    // One thread, two connections in one poll loop: pipelined puts on one; on the other, up to
    // kReservesAhead reserves of results waiting at once, each result deleted (pipelined with the
    // next reserve) once it is in.
    double run_pipelined(const JobSource& source, std::uint64_t first, std::uint64_t count,
                         std::chrono::milliseconds timeout) override;
    // put the job and reserve its result, pipelined in one write; the clock stops at the result,
    // which is then deleted (a round trip outside the timed part).
    std::vector<double> run_sequential(const JobSource& source, std::uint64_t first, std::uint64_t count,
                                       std::chrono::milliseconds per_job_timeout) override;

private:
    // Takes the replies the result connection has; counts results into `results`.
    void take_results(const JobSource& source, std::uint64_t& results);

    TcpConnection submits_;  // uses the job tube, watches the result tube (sequential runs reserve here)
    TcpConnection results_;  // watches the result tube, pipelined runs only
    // The commands sent on results_ whose replies are still to come, oldest first: true for a
    // reserve, false for a delete. A reserve blocks the connection until a result is there, so
    // the delete sent behind it is answered after it.
    std::deque<bool> awaited_is_reserve_;
    std::uint64_t reserves_waiting_ = 0;
};

}  // namespace corsair::bench
