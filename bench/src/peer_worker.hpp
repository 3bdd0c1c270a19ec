// The peers' workers: `corsair-bench --serve-redis-worker HOST:PORT` and
// `--serve-beanstalkd-worker HOST:PORT`, one process, one thread, one connection each. Each holds
// one job at a time, as the peers' own workers do: it takes a job, sends the payload back as the
// result (the echo handler Corsair's workers run), and asks for the next one in the same write.
#pragma once

#include <string>

namespace corsair::bench {

// Connects to the Redis server at `address` (a loopback "HOST:PORT"), prints
// "corsair-bench redis worker connected" once PING is answered, then until the process is killed:
// BRPOP a job from kPeerJobQueue; LPUSH its payload onto kPeerResultQueue and the next BRPOP,
// pipelined. Returns exit code 1 (reason on stderr) on a connection or protocol error, or when
// no job comes for 10 minutes.
int run_redis_worker(const std::string& address);

// Connects to the beanstalkd at `address`, watches kPeerJobQueue and uses kPeerResultQueue,
// prints "corsair-bench beanstalkd worker connected", then until the process is killed: reserve
// a job; put its payload into the result tube, delete the job and reserve the next, pipelined.
// Returns like run_redis_worker.
int run_beanstalkd_worker(const std::string& address);

}  // namespace corsair::bench
