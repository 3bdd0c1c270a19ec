// Drives a broker's HTTP side as its producer: POST /api/v1/queues/{q}/jobs from several client
// threads, each with its own keep-alive connection (cpp-httplib's client). Owned by the thread
// that calls submit(), which blocks while the client threads run.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "job_source.hpp"

namespace corsair::bench {

class HttpLoad {
public:
    // `address`: the broker's ready line http=ADDR:PORT. `connections`: client threads, one
    // keep-alive connection each.
    HttpLoad(std::string address, std::string queue, int connections);

    // Submits jobs first .. first+count-1 of `source` (their ids and payloads), `batch` jobs per
    // request (1: one job object per request; more: a JSON array), spread over the connections,
    // and blocks until every request is answered 202. Returns the seconds from the first request
    // to the last answer. Throws std::runtime_error on any other answer, a failed connection, or
    // when `timeout` passes.
    double submit(const JobSource& source, std::uint64_t first, std::uint64_t count, std::size_t batch,
                  std::chrono::milliseconds timeout) const;

private:
    std::string host_;
    int port_ = 0;
    std::string path_;
    int connections_;
};

// "HOST:PORT" split at its last colon; throws std::runtime_error when there is no port.
std::pair<std::string, int> split_http_address(const std::string& address);

}  // namespace corsair::bench
