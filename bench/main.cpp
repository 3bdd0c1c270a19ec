// corsair-bench: parses flags, then runs the benchmark suite and writes its report; re-executed by
// itself, it is one of the ceiling's processes (--serve-proxy, --serve-echo-worker) or a peer's
// worker (--serve-redis-worker, --serve-beanstalkd-worker) instead.
#include <cstdio>
#include <exception>
#include <fstream>
#include <variant>

#include <zmq.hpp>

#include "bench_options.hpp"
#include "ceiling_proxy.hpp"
#include "echo_worker.hpp"
#include "peer_worker.hpp"
#include "suite.hpp"

int main(int argc, char** argv) {
    using namespace corsair::bench;
    auto parsed = parse_options(argc, argv);
    if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
    const auto& options = std::get<BenchOptions>(parsed);

    if (!options.redis_worker_address.empty()) return run_redis_worker(options.redis_worker_address);
    if (!options.beanstalkd_worker_address.empty()) return run_beanstalkd_worker(options.beanstalkd_worker_address);

    zmq::context_t context;
    try {
        if (options.serves_proxy) return run_proxy(context);
        if (!options.echo_worker_endpoint.empty()) return run_echo_worker(context, options.echo_worker_endpoint);

        Suite suite(options, context);
        const auto report = suite.run();
        if (!options.json_path.empty()) {
            std::ofstream file(options.json_path);
            file << report.dump(2) << '\n';
            if (!file) throw std::runtime_error("cannot write " + options.json_path);
            std::printf("\nreport written to %s\n", options.json_path.c_str());
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "corsair-bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
