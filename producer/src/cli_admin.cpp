// `corsair cancel`, `retry`, `purge`, `dead`, `pause`, `resume` and `queue`: one request, one
// answer. A refusal (the broker's ERROR) reaches run_cli as a ProducerError (exit codes: docs/cli.md).
#include <ostream>

#include "cli_app.hpp"
#include "cli_output.hpp"
#include "corsair/protocol/text.hpp"

namespace corsair::producer::cli {

namespace {

int code(ExitCode exit_code) { return static_cast<int>(exit_code); }

std::string shown(const std::string& text) { return protocol::printable(text); }

const char* jobs_word(std::uint64_t count) { return count == 1 ? " job" : " jobs"; }

}  // namespace

int run_cancel(zmq::context_t& context, const CommonOptions& options, const std::string& id, CliStreams& streams) {
    Producer producer(context, producer_options_for(options));
    producer.cancel(id, options.wait_timeout);
    if (options.is_json) {
        streams.out << json_line({{"id", json_text(id)}, {"state", "cancelled"}}) << '\n';
    } else {
        streams.out << "cancelled job " << shown(id) << '\n';
    }
    return code(ExitCode::ok);
}

int run_retry(zmq::context_t& context, const CommonOptions& options, const std::string& target, bool is_whole_queue,
              CliStreams& streams) {
    Producer producer(context, producer_options_for(options));
    if (!is_whole_queue) {
        producer.retry(target, options.wait_timeout);
        if (options.is_json) {
            streams.out << json_line({{"id", json_text(target)}, {"state", "pending"}}) << '\n';
        } else {
            streams.out << "job " << shown(target) << " is pending again\n";
        }
        return code(ExitCode::ok);
    }
    const auto count = producer.retry_all(target, options.wait_timeout);
    if (options.is_json) {
        streams.out << json_line({{"queue", json_text(target)}, {"retried", count}}) << '\n';
    } else {
        streams.out << "retried " << count << jobs_word(count) << " from the dead set of queue " << shown(target)
                    << '\n';
    }
    return code(ExitCode::ok);
}

int run_purge(zmq::context_t& context, const CommonOptions& options, const std::string& queue, const std::string& id,
              CliStreams& streams) {
    Producer producer(context, producer_options_for(options));
    const auto count = producer.purge(queue, id, options.wait_timeout);
    if (options.is_json) {
        const nlohmann::json line{{"queue", json_text(queue)},
                                  {"id", id.empty() ? nlohmann::json(nullptr) : nlohmann::json(json_text(id))},
                                  {"purged", count}};
        streams.out << json_line(line) << '\n';
    } else {
        streams.out << "purged " << count << jobs_word(count) << " from the dead set of queue " << shown(queue)
                    << '\n';
    }
    return code(ExitCode::ok);
}

int run_dead(zmq::context_t& context, const CommonOptions& options, const std::string& queue, std::uint32_t limit,
             CliStreams& streams) {
    Producer producer(context, producer_options_for(options));
    const auto dead = producer.dead(queue, limit, options.wait_timeout);
    if (!options.is_json) {
        streams.out << dead_table(dead);
        return code(ExitCode::ok);
    }
    streams.out << json_line(dead_json(dead)) << '\n';
    if (dead.jobs.size() < dead.total) {
        streams.log.info("listed the newest " + std::to_string(dead.jobs.size()) + " of " + std::to_string(dead.total) +
                             " dead jobs (see --limit)",
                         {Diagnostics::number_field("listed", static_cast<std::int64_t>(dead.jobs.size())),
                          Diagnostics::number_field("total", static_cast<std::int64_t>(dead.total))});
    }
    return code(ExitCode::ok);
}

int run_pause(zmq::context_t& context, const CommonOptions& options, const std::string& queue, bool should_pause,
              CliStreams& streams) {
    Producer producer(context, producer_options_for(options));
    const auto settings =
        should_pause ? producer.pause(queue, options.wait_timeout) : producer.resume(queue, options.wait_timeout);
    if (options.is_json) {
        streams.out << json_line(queue_settings_json(settings)) << '\n';
    } else {
        streams.out << "queue " << shown(queue) << (should_pause ? " is paused" : " is dispatching again") << '\n';
    }
    return code(ExitCode::ok);
}

int run_queue(zmq::context_t& context, const CommonOptions& options, const protocol::QueueSettings& settings,
              CliStreams& streams) {
    Producer producer(context, producer_options_for(options));
    const auto now_set = producer.queue_settings(settings, options.wait_timeout);
    if (options.is_json) {
        streams.out << json_line(queue_settings_json(now_set)) << '\n';
    } else {
        streams.out << queue_settings_text(now_set);
    }
    return code(ExitCode::ok);
}

}  // namespace corsair::producer::cli
