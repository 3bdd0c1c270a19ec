// corsair-broker: parses flags, builds the logger and the Broker, runs it until SIGINT/SIGTERM.
#include <atomic>
#include <csignal>
#include <cstring>
#include <string>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "corsair/broker/broker.hpp"
#include "corsair/broker/broker_cli.hpp"
#include "corsair/broker/huge_pages.hpp"
#include "corsair/broker/ready_line.hpp"
#include "corsair/broker/signal_watcher.hpp"
#include "corsair/options/flags.hpp"
#include "corsair/options/log_format.hpp"

int main(int argc, char** argv) {
    corsair::broker::reexec_with_huge_pages(argv);
    corsair::broker::BrokerOptions options;
    std::string log_level = "info";
    bool salvage = false;
    CLI::App app{corsair::broker::kBrokerDescription, "corsair-broker"};
    corsair::broker::add_broker_flags(app, options, log_level, salvage);
    if (const auto exit_code = corsair::options::parse_or_exit(app, argc, argv, std::cout, std::cerr)) return *exit_code;
    if (salvage) return corsair::broker::salvage_data_dir(options.data_dir);

    auto log = spdlog::stderr_color_mt("broker");
    corsair::options::use_log_format(*log);
    log->set_level(spdlog::level::from_str(log_level));
    try {
        zmq::context_t context(1);
        std::atomic<corsair::broker::Broker*> running{nullptr};
        corsair::broker::SignalWatcher signals([&running, &log](int signal_number) {
            const char* name = sigabbrev_np(signal_number);
            log->info("signal received signal={}", name != nullptr ? name : std::to_string(signal_number));
            if (auto* broker = running.load()) broker->request_stop();
        });
        corsair::broker::Broker broker(context, options, log);
        running = &broker;
        // One stdout line with the resolved endpoints, for scripts and tests binding port 0.
        const auto ready = corsair::broker::format_ready_line({broker.producer_endpoint(), broker.worker_endpoint()});
        std::printf("%s\n", ready.c_str());
        std::fflush(stdout);
        broker.run();
        running = nullptr;
        if (broker.has_journal_failed()) return corsair::options::exit_status(corsair::options::ExitCode::fatal);
    } catch (const std::exception& e) {
        // An endpoint that cannot be bound, a locked or damaged data directory, or a journal that
        // cannot be written.
        log->error("cannot start: {}", e.what());
        return corsair::options::exit_status(corsair::options::ExitCode::fatal);
    }
    return corsair::options::exit_status(corsair::options::ExitCode::ok);
}
