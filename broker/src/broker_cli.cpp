#include "corsair/broker/broker_cli.hpp"

#include <chrono>

#include "corsair/protocol/duration.hpp"

namespace corsair::broker {

namespace {

// A CLI11 option that reads a protocol duration ("250ms", "1s", "24h") into `target`.
CLI::Option* add_duration(CLI::App& app, const std::string& name, std::chrono::milliseconds& target,
                          const std::string& description) {
    auto* option = app.add_option_function<std::string>(
        name,
        [&target, name](const std::string& text) {
            auto parsed = protocol::parse_duration(text);
            if (!parsed) throw CLI::ValidationError(name, "not a duration (examples: 250ms, 1s, 2m, 24h): " + text);
            target = std::chrono::duration_cast<std::chrono::milliseconds>(*parsed);
        },
        description + " (default " + protocol::format_duration(target) + ")");
    option->type_name("DURATION");
    return option;
}

}  // namespace

void add_broker_flags(CLI::App& app, BrokerOptions& options, std::string& log_level) {
    app.add_option("--producers", options.producer_endpoint, "endpoint producers connect to")
        ->capture_default_str()
        ->type_name("ENDPOINT");
    app.add_option("--workers", options.worker_endpoint, "endpoint workers connect to")
        ->capture_default_str()
        ->type_name("ENDPOINT");
    add_duration(app, "--heartbeat", options.heartbeat_interval,
                 "heartbeat interval, told to every worker; 10ms to 60s")
        ->check([](const std::string& text) -> std::string {
            auto parsed = protocol::parse_duration(text);
            if (parsed && (*parsed < protocol::kMinHeartbeatInterval || *parsed > protocol::kMaxHeartbeatInterval)) {
                return "heartbeat must be between 10ms and 60s";
            }
            return {};
        });
    app.add_option("--liveness", options.liveness, "missed heartbeats before a worker is declared dead")
        ->capture_default_str()
        ->check(CLI::Range(1, 100));
    app.add_option("--max-payload", options.max_payload_bytes,
                   "largest job payload or result accepted, in bytes (ZMQ_MAXMSGSIZE adds 64 KiB for headers)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30));
    add_duration(app, "--result-ttl", options.result_ttl, "how long ended jobs' results are kept");
    app.add_option("--result-memory", options.max_result_bytes,
                   "bytes of results kept at most; the oldest are dropped first")
        ->capture_default_str();
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
        ->capture_default_str()
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
}

}  // namespace corsair::broker
