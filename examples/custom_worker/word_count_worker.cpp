// word-count-worker: a custom Corsair worker in ~60 lines. It serves the queue "wordcount":
// each payload is text, each result is {"lines":L,"words":W,"bytes":B} (like `wc`).
// Logs go to stderr; nothing is printed on stdout.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <exception>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "corsair/worker/shutdown_signals.hpp"
#include "corsair/worker/worker.hpp"

namespace {

std::string count_words(const corsair::worker::JobContext& job) {
    std::size_t lines = 0, words = 0;
    bool is_in_word = false;
    const std::size_t half = job.payload.size() / 2;
    for (std::size_t i = 0; i < job.payload.size(); ++i) {
        // Shown by the broker's STATUS and sent on to a producer waiting on the job.
        if (i == half && half > 0) job.report_progress(50, "halfway through the text");
        const char c = job.payload[i];
        if (c == '\n') ++lines;
        const bool is_space = std::isspace(static_cast<unsigned char>(c)) != 0;
        if (!is_space && !is_in_word) ++words;
        is_in_word = !is_space;
    }
    return nlohmann::json{{"lines", lines}, {"words", words}, {"bytes", job.payload.size()}}.dump();
}

}  // namespace

int main(int argc, char** argv) {
    corsair::worker::ShutdownSignals::block();

    corsair::worker::WorkerOptions options;
    std::string queue = "wordcount";
    CLI::App app("word-count-worker: counts lines, words and bytes of each job's payload (JSON result)");
    app.add_option("--broker", options.broker_endpoint, "Broker's worker endpoint, e.g. tcp://127.0.0.1:5556")
        ->envname("CORSAIR_WORKER_ENDPOINT")
        ->required();
    app.add_option("--queue", queue, "Queue to serve")->capture_default_str();
    app.add_option("--capacity", options.capacity, "Jobs run at once")->check(CLI::Range(1, 64))->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    auto log = std::make_shared<spdlog::logger>("worker", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    zmq::context_t context;
    try {
        corsair::worker::Worker worker(context, options, log);
        worker.add_handler(queue, count_words);
        corsair::worker::ShutdownSignals signals(worker, log);
        worker.run();
    } catch (const std::exception& e) {
        log->error("word-count-worker failed: {}", e.what());
        return 1;
    }
    return 0;
}
