// word-count-producer FILE...: submits each file to queue `wordcount` (pipelined), waits for every
// result and prints one line per file: the path, a tab, and the worker's JSON
// ({"lines":..,"words":..,"bytes":..}). Exit code 1 if a job failed, 2 on usage errors, 3 if the
// broker did not answer.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <corsair/producer/producer.hpp>

namespace {

constexpr const char* kUsage =
    "usage: word-count-producer [--broker ENDPOINT] FILE...\n"
    "Counts lines, words and bytes of each FILE on a word-count-worker, through a Corsair broker.\n"
    "  --broker ENDPOINT  broker endpoint for producers (default: $CORSAIR_PRODUCER_ENDPOINT, else tcp://127.0.0.1:5555)\n"
    "Exit codes (docs/cli.md): 0 ok, 1 a job failed, 2 usage error, 4 broker unreachable.\n";

// Prints each result as it comes; returns the exit code (0, 1 if a job failed, 4 if the broker went silent).
int print_results(corsair::producer::Producer& producer, std::map<std::string, std::string>& path_of,
                  const std::string& broker) {
    using namespace std::chrono_literals;
    int exit_code = 0;
    while (producer.awaiting_results() > 0) {
        std::vector<corsair::producer::Event> events;
        try {
            events = producer.poll(200ms);
        } catch (const corsair::producer::ProducerError&) {  // broker_silent: poll() throws nothing else
            std::cerr << "word-count-producer: no answer from the broker at " << broker << '\n';
            return 4;
        }
        for (const auto& event : events) {
            if (event.kind == corsair::producer::Event::Kind::result) {
                const auto& outcome = event.outcome;
                if (outcome.state == corsair::protocol::JobState::done) {
                    std::cout << path_of[event.id] << '\t' << outcome.result << std::endl;
                } else {
                    std::cerr << "word-count-producer: " << path_of[event.id] << ": " << outcome.error << '\n';
                    exit_code = 1;
                }
            } else if (event.kind == corsair::producer::Event::Kind::error) {
                std::cerr << "word-count-producer: " << path_of[event.id] << ": refused: " << event.error.message
                          << '\n';
                exit_code = 1;
            }
        }
    }
    return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace std::chrono_literals;
    const char* from_environment = std::getenv("CORSAIR_PRODUCER_ENDPOINT");
    std::string broker = from_environment != nullptr ? from_environment : "tcp://127.0.0.1:5555";
    std::vector<std::string> paths;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << kUsage;
            return 0;
        }
        if (arg == "--broker" && i + 1 < argc) {
            broker = argv[++i];
        } else if (arg.rfind("--", 0) == 0) {
            std::cerr << "word-count-producer: unknown flag " << arg << "\n" << kUsage;
            return 2;
        } else {
            paths.push_back(arg);
        }
    }
    if (paths.empty()) {
        std::cerr << kUsage;
        return 2;
    }

    zmq::context_t context;
    corsair::producer::ProducerOptions options;
    options.broker_endpoint = broker;
    // The producer asks a quiet broker about awaited jobs, so 30 s of silence means it is gone:
    // poll() then throws a broker_silent ProducerError.
    options.silence_limit = 30s;
    corsair::producer::Producer producer(context, options);
    std::map<std::string, std::string> path_of;  // job id -> file
    try {
        // The files' jobs leave together, in SUBMITS of up to 64 (docs/protocol.md §5.33).
        corsair::producer::Producer::Batch batch(producer);
        for (const auto& path : paths) {
            std::ifstream file(path, std::ios::binary);
            if (!file) {
                std::cerr << "word-count-producer: cannot read " << path << '\n';
                return 2;
            }
            std::string content((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
            path_of[producer.submit_async("wordcount", content, /*wants_result=*/true)] = path;
        }
    } catch (const corsair::producer::ProducerError& e) {
        std::cerr << "word-count-producer: " << e.what() << '\n';
        return e.is_broker_silent() ? 3 : 2;
    }

    return print_results(producer, path_of, broker);
}
