// The ceiling's worker: `corsair-bench --serve-echo-worker ENDPOINT`, one thread, one DEALER. It
// answers each SUBMIT the proxy hands it with the RESULT Corsair would send for an echo job.
#pragma once

#include <string>

#include <zmq.hpp>

namespace corsair::bench {

// Connects to the proxy's worker endpoint, prints "corsair-bench echo worker connected" once the
// handshake is done (exit code 1 if not within 10 s) and, until the process is killed, answers every
// SUBMIT (decoded with protocol/) with RESULT {id, done, attempt 1} and the payload as result,
// behind the same routing frame. Anything else is dropped. Returns an exit code only on failure.
int run_echo_worker(zmq::context_t& context, const std::string& endpoint);

}  // namespace corsair::bench
