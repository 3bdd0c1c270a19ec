// `corsair status`, `corsair result` and `corsair stats`: one request, one reply.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <ostream>
#include <string_view>

#include "cli_app.hpp"
#include "cli_output.hpp"
#include "corsair/protocol/text.hpp"

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

namespace {

// Writes `bytes` to `path` whole; false (with errno set) if it cannot.
bool write_file(const std::string& path, std::string_view bytes) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    file.close();
    return static_cast<bool>(file);
}

// A done job's result: to --output FILE, as JSON, or to stdout as it is.
int print_result(const protocol::StatusReply& status, const CommonOptions& options, const std::string& output_path,
                 CliStreams& streams) {
    const auto bytes = protocol::view_of(status.payload);
    if (!output_path.empty() && !write_file(output_path, bytes)) {
        const std::string message = "cannot write " + output_path + ": " + std::strerror(errno);
        if (options.is_json) {
            streams.out << json_line(error_json("io", message, status.id)) << '\n';
        } else {
            streams.log.error(message, {Diagnostics::text_field("code", "io"), Diagnostics::text_field("id", status.id)});
        }
        return code(ExitCode::usage);
    }
    if (options.is_json) {
        const Outcome outcome{status.id, status.state, status.attempt, std::string(bytes), {}, {}};
        auto line = outcome_json(outcome, status.queue);
        if (!output_path.empty()) {
            line["result"] = nullptr;
            line.erase("result_base64");
            line["output"] = output_path;
            line["result_bytes"] = bytes.size();
        }
        streams.out << json_line(line) << '\n';
    } else if (output_path.empty()) {
        streams.out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        streams.out.flush();
    }
    return code(ExitCode::ok);
}

}  // namespace

int run_result(zmq::context_t& context, const CommonOptions& options, const std::string& id,
               const std::string& output_path, CliStreams& streams) {
    Producer producer(context, producer_options_for(options));
    const auto status = producer.status(id, options.wait_timeout);
    const std::string state(protocol::to_string(status.state));
    const std::string shown_id = protocol::printable(id);
    switch (status.state) {
        case protocol::JobState::done: return print_result(status, options, output_path, streams);
        case protocol::JobState::failed:
        case protocol::JobState::cancelled:
            if (options.is_json) {
                const Outcome outcome{id, status.state, status.attempt, {}, status.error, {}};
                streams.out << json_line(outcome_json(outcome, status.queue)) << '\n';
            }
            if (status.state == protocol::JobState::cancelled) {
                streams.log.error("job " + shown_id + " was cancelled" +
                                      (status.error.empty() ? "" : ": " + protocol::printable(status.error)),
                                  {Diagnostics::text_field("id", id), Diagnostics::text_field("state", state),
                                   Diagnostics::text_field("error", status.error)});
            } else {
                streams.log.error("job " + shown_id + " failed (attempt " + std::to_string(status.attempt) +
                                      "): " + protocol::printable(status.error),
                                  {Diagnostics::text_field("id", id), Diagnostics::text_field("state", state),
                                   Diagnostics::number_field("attempt", status.attempt),
                                   Diagnostics::text_field("error", status.error)});
            }
            return code(ExitCode::job_failed);
        case protocol::JobState::pending:
        case protocol::JobState::delayed:
        case protocol::JobState::running:
            if (options.is_json) streams.out << json_line(status_json(status)) << '\n';
            streams.log.error("job " + shown_id + " is not done yet (state " + state + ", attempt " +
                                  std::to_string(status.attempt) + "); try again later",
                              {Diagnostics::text_field("id", id), Diagnostics::text_field("state", state),
                               Diagnostics::number_field("attempt", status.attempt)});
            return code(ExitCode::try_later);
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
