// corsair-bench: parses flags, then runs the benchmark suite and writes its report; re-executed by
// itself, it is one of the ceiling's processes instead (--serve-proxy, --serve-echo-worker).
#include <cstdio>
#include <exception>
#include <fstream>
#include <variant>

#include <zmq.hpp>

#include "bench_options.hpp"
#include "ceiling_proxy.hpp"
#include "echo_worker.hpp"
#include "suite.hpp"

int main(int argc, char** argv) {
    using namespace corsair::bench;
    auto parsed = parse_options(argc, argv);
    if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
    const auto& options = std::get<BenchOptions>(parsed);

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
