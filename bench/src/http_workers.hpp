// HTTP workers for the http workload: client threads, each on its own keep-alive connection,
// looping POST /api/v1/queues/{q}/claim -> POST /api/v1/leases/{token}/complete with the payload
// as the result (an echo). Owned by the thread that calls run(), which blocks while they work.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace corsair::bench {

class HttpWorkers {
public:
    // `address`: the broker's ready line http=ADDR:PORT. `threads`: workers, one connection each.
    HttpWorkers(std::string address, std::string queue, int threads);

    // Claims and completes until `count` jobs are completed, and blocks until then. Returns the
    // seconds from the first claim to the last completion. Throws std::runtime_error on an
    // answer other than 200 (or 204 for an empty claim), a failed connection, or after `timeout`.
    double run(std::uint64_t count, std::chrono::milliseconds timeout) const;

private:
    std::string host_;
    int port_ = 0;
    std::string claim_path_;
    int threads_;
};

}  // namespace corsair::bench
