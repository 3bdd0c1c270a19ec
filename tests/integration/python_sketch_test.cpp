// The Python worker of docs/protocol.md §18, taken from the document itself, against the real
// broker: an outsider copies that sketch, so it must keep up with a broker whose heartbeat is
// faster than the default (§7, the warning on rescheduling heartbeats).
#include <catch2/catch.hpp>

#include "child_process.hpp"
#include "cluster.hpp"
#include "deadline.hpp"

using namespace std::chrono_literals;
using corsair::test::ChildProcess;
using corsair::test::Cluster;
namespace p = corsair::protocol;

namespace {

// Runs the sketch's serve() (the first ```python block of protocol.md, without its __main__) on
// queue "sketch", upper-casing payloads, and prints "serving" once its code is loaded.
ChildProcess start_sketch(Cluster& cluster) {
    const std::string program =
        "import re, sys\n"
        "text = open(sys.argv[1]).read()\n"
        "code = re.search(r'```python\\n(.*?)\\n```', text, re.S).group(1)\n"
        "code = code.split('if __name__ == \"__main__\":')[0]\n"
        "exec(code)\n"
        "print('serving', flush=True)\n"
        "serve(sys.argv[2], ['sketch'], lambda queue, payload: payload.upper(), name='sketch')\n";
    return ChildProcess({"/usr/bin/python3", "-c", program, CORSAIR_PROTOCOL_DOC, cluster.endpoints().workers}, {},
                        cluster.log_dir() + "/sketch-worker.log");
}

}  // namespace

TEST_CASE("the Python worker sketch of protocol.md stays alive against a 250 ms heartbeat, and runs each job once",
          "[integration][sketch]") {
    Cluster cluster({"--heartbeat", "250ms", "--liveness", "3"});
    ChildProcess sketch = start_sketch(cluster);
    REQUIRE(sketch.wait_for_line("serving", 10s));
    REQUIRE(cluster.wait_for_workers(1));
    // Idle after its READY, it lives on heartbeats alone: a sketch whose first HEARTBEAT kept the
    // default 1 s deadline would be declared dead within this broker's 750 ms liveness window.
    CHECK_FALSE(corsair::test::wait_until([&] { return cluster.counter("workers_dead") > 0; }, 2s, 50ms));
    auto producer = cluster.make_producer();
    // Then jobs for three seconds, each run once, by the same registration.
    const auto until = std::chrono::steady_clock::now() + 3s;
    int jobs = 0;
    while (std::chrono::steady_clock::now() < until) {
        const auto id = producer->submit_async("sketch", "hello", true);
        const auto outcome = producer->wait_result(id, 10s);
        REQUIRE(outcome.state == p::JobState::done);
        CHECK(outcome.attempt == 1);
        CHECK(outcome.result == "HELLO");
        ++jobs;
    }
    CHECK(jobs > 0);
    CHECK(cluster.counter("workers_dead") == 0);
    CHECK(cluster.counter("jobs_requeued") == 0);
}
