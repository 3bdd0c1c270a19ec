// corsair-broker: parses flags, builds the logger, the Broker and its HTTP side, and runs them
// until SIGINT/SIGTERM (SIGHUP rereads the HTTP tokens and the allowed CURVE keys).
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "corsair/broker/broker.hpp"
#include "corsair/broker/broker_cli.hpp"
#include "corsair/broker/heap_release.hpp"
#include "corsair/broker/huge_pages.hpp"
#include "corsair/broker/process_limits.hpp"
#include "corsair/broker/ready_line.hpp"
#include "corsair/broker/signal_watcher.hpp"
#include "corsair/http/http_server.hpp"
#include "corsair/options/config_file.hpp"
#include "corsair/options/flags.hpp"
#include "corsair/options/log_format.hpp"
#include "corsair/protocol/curve.hpp"

namespace {

using corsair::options::ExitCode;
using corsair::options::exit_status;

// The HTTP side, reached from the signal thread while main builds and ends it.
struct HttpHandle {
    std::mutex mutex;
    std::unique_ptr<corsair::http::HttpServer> server;
};

int serve(corsair::broker::BrokerOptions options, const corsair::http::HttpOptions& http_options,
          const std::shared_ptr<spdlog::logger>& log) {
    zmq::context_t context(1);
    corsair::broker::size_zmq_context(
        context, http_options.address.empty() ? 0 : corsair::http::HttpServer::zmq_sockets_needed(http_options));
    const auto files = corsair::broker::raise_open_file_limit();
    if (files.now != files.before) log->info("open file limit raised from={} to={}", files.before, files.now);
    if (const auto warning = corsair::broker::open_file_limit_warning(files.now, options.max_workers); !warning.empty()) {
        log->warn("{}", warning);
    }
    std::atomic<corsair::broker::Broker*> running{nullptr};
    HttpHandle http;
    corsair::broker::SignalWatcher signals([&running, &http, &log](int signal_number) {
        const char* name = sigabbrev_np(signal_number);
        log->info("signal received signal={}", name != nullptr ? name : std::to_string(signal_number));
        std::lock_guard lock(http.mutex);
        if (signal_number == SIGHUP) {
            if (http.server) http.server->reload_tokens();
            if (auto* broker = running.load()) broker->reload_allowed_keys();
            return;
        }
        if (http.server) http.server->set_ready(false);
        if (auto* broker = running.load()) broker->request_stop();
    });
    if (!http_options.address.empty()) {
        // Started before the journal is replayed, so that /ready can say the broker is starting.
        options.inproc_producer_endpoint = "inproc://corsair-producers";
        options.inproc_worker_endpoint = "inproc://corsair-workers";
        corsair::http::BrokerLink link{options.inproc_producer_endpoint, options.inproc_worker_endpoint,
                                       options.heartbeat_interval, options.liveness, options.max_payload_bytes};
        auto server = std::make_unique<corsair::http::HttpServer>(context, http_options, link, log);
        std::lock_guard lock(http.mutex);
        http.server = std::move(server);
    }
    corsair::broker::Broker broker(context, options, log);
    running = &broker;
    // Ready before the line below: whoever reads that line may ask /health or /ready at once.
    if (http.server) http.server->set_ready(true);
    // One stdout line with the resolved endpoints, for scripts and tests binding port 0.
    const auto ready = corsair::broker::format_ready_line(
        {broker.producer_endpoint(), broker.worker_endpoint(), broker.direct_endpoint(),
         http.server ? http.server->bound_address() : ""});
    std::printf("%s\n", ready.c_str());
    std::fflush(stdout);
    broker.run();
    running = nullptr;
    {
        // Its request threads talk to the loop: end them while the broker's sockets still exist.
        std::lock_guard lock(http.mutex);
        http.server.reset();
    }
    return exit_status(broker.has_journal_failed() ? ExitCode::fatal : ExitCode::ok);
}

}  // namespace

int main(int argc, char** argv) {
    if (const auto huge_pages = corsair::broker::read_huge_pages_setting(std::getenv("CORSAIR_HUGE_PAGES"));
        huge_pages.error) {
        std::cerr << "corsair-broker: " << *huge_pages.error << "\n";
        return exit_status(ExitCode::usage);
    }
    corsair::broker::reexec_with_huge_pages(argv);
    corsair::broker::fix_malloc_mmap_threshold();
    corsair::broker::BrokerOptions options;
    corsair::http::HttpOptions http_options;
    corsair::options::LogSettings log_settings;
    bool salvage = false;
    CLI::App app{corsair::broker::kBrokerDescription, "corsair-broker"};
    corsair::broker::add_broker_flags(app, options, log_settings, salvage);
    corsair::http::add_http_flags(app, http_options);
    corsair::options::ConfigLayers settings(app, "corsair-broker", {"salvage"});
    // A usage error is already in the format asked for (one JSON object under --log-format json).
    const auto early_log_settings = corsair::options::log_settings_before_parsing(argc, argv);
    const auto usage = [&early_log_settings](std::string_view program, std::string_view message) {
        return corsair::options::usage_error_as(std::cerr, early_log_settings, "broker", program, message);
    };
    if (const auto exit_code = settings.parse(argc, argv, std::cout, usage)) return *exit_code;
    if (settings.wants_print_config()) {
        settings.print_config(std::cout);
        return exit_status(ExitCode::ok);
    }
    if (salvage) return corsair::broker::salvage_data_dir(options.data_dir);

    auto log = spdlog::stderr_color_mt("broker");
    corsair::options::use_log_settings(*log, log_settings);
    try {
        return serve(std::move(options), http_options, log);
    } catch (const corsair::protocol::KeyFileError& e) {
        log->error("cannot start: {}", e.what());
        return exit_status(ExitCode::usage);
    } catch (const std::invalid_argument& e) {
        // A setting that cannot work: a bad token file, an open HTTP port without tokens.
        log->error("cannot start: {}", e.what());
        return exit_status(ExitCode::usage);
    } catch (const std::exception& e) {
        // An endpoint that cannot be bound, a locked or damaged data directory, or a journal that
        // cannot be written.
        log->error("cannot start: {}", e.what());
        return exit_status(ExitCode::fatal);
    }
}
