// `corsair status`, `corsair result` and `corsair stats`: one request, one reply.
#include <ostream>

#include "cli_app.hpp"
#include "cli_output.hpp"

namespace corsair::producer::cli {

namespace {

int code(ExitCode exit_code) { return static_cast<int>(exit_code); }

}  // namespace

int run_status(zmq::context_t& context, const CommonOptions& options, const std::string& id, CliStreams& streams) {
    Producer producer(context, producer_options_for(options));
    const auto status = producer.status(id, options.wait_timeout);
    if (options.is_json) {
        streams.out << json_line(status_json(status)) << '\n';
    } else {
        streams.out << status_text(status);
    }
    return code(ExitCode::ok);
}

int run_result(zmq::context_t& context, const CommonOptions& options, const std::string& id, CliStreams& streams) {
    Producer producer(context, producer_options_for(options));
    protocol::StatusReply status;
    try {
        status = producer.status(id, options.wait_timeout);
    } catch (const ProducerError& e) {
        if (e.code() != protocol::ErrorCode::unknown_job || e.is_timeout()) throw;
        if (options.is_json) {
            streams.out << json_line({{"id", id}, {"state", "unknown"}, {"error", "no job with this id is known"}})
                        << '\n';
        }
        streams.err << "corsair: no job with id " << id
                    << " is known (never submitted, expired after 24 h, or the broker restarted)\n";
        return code(ExitCode::job_failed);
    }
    const std::string state(protocol::to_string(status.state));
    switch (status.state) {
        case protocol::JobState::done: {
            const auto bytes = protocol::view_of(status.payload);
            if (options.is_json) {
                const Outcome outcome{id, status.state, status.attempt, std::string(bytes), {}, {}};
                streams.out << json_line(outcome_json(outcome)) << '\n';
            } else {
                streams.out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
                streams.out.flush();
            }
            return code(ExitCode::ok);
        }
        case protocol::JobState::failed:
        case protocol::JobState::cancelled:
            if (options.is_json) {
                streams.out << json_line(outcome_json(Outcome{id, status.state, status.attempt, {}, status.error, {}}))
                            << '\n';
            }
            if (status.state == protocol::JobState::cancelled) {
                streams.err << "corsair: job " << id << " was cancelled";
                if (!status.error.empty()) streams.err << ": " << status.error;
                streams.err << '\n';
            } else {
                streams.err << "corsair: job " << id << " failed (attempt " << status.attempt << "): " << status.error
                            << '\n';
            }
            return code(ExitCode::job_failed);
        case protocol::JobState::pending:
        case protocol::JobState::delayed:
        case protocol::JobState::running:
            if (options.is_json) {
                streams.out << json_line({{"id", id}, {"state", state}, {"attempt", status.attempt}}) << '\n';
            }
            streams.err << "corsair: job " << id << " is not done yet (state " << state << ", attempt "
                        << status.attempt << ")\n";
            return code(ExitCode::job_failed);
    }
    return code(ExitCode::job_failed);
}

int run_stats(zmq::context_t& context, const CommonOptions& options, CliStreams& streams) {
    Producer producer(context, producer_options_for(options));
    const auto stats = producer.stats(options.wait_timeout);
    if (options.is_json) {
        streams.out << json_line(stats_json(stats)) << '\n';
    } else {
        streams.out << stats_table(stats);
    }
    return code(ExitCode::ok);
}

}  // namespace corsair::producer::cli
