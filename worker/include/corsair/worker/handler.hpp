// What a handler sees of a job, and the handler type itself. Handlers run on the worker's
// handler threads, never on its I/O thread, so a slow handler never delays heartbeats.
#pragma once

#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>

namespace corsair::worker {

// One attempt of one job. `payload` is valid only during the handler call.
struct JobContext {
    std::string id;
    std::string queue;
    std::uint32_t attempt = 1;
    std::string_view payload;
    // Requested when the worker stops without draining: a long handler may check it and give up.
    std::stop_token stop_token;
};

// Returns the job's result (sent as DONE). Throwing fails the attempt: the exception's what()
// is sent as the FAIL error text.
using Handler = std::function<std::string(const JobContext&)>;

}  // namespace corsair::worker
