// `corsair submit`: one job, or one job per line of a file, pipelined through the Producer's window.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>

#include "cli_app.hpp"
#include "cli_output.hpp"
#include "corsair/protocol/duration.hpp"
#include "line_reader.hpp"
#include "progress_meter.hpp"

namespace corsair::producer::cli {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPollSlice{100};
constexpr milliseconds kRedrawEvery{100};
// Per-job complaints in text mode stop after this many; the summary has the totals.
constexpr std::uint64_t kMaxReportedProblems = 10;

int code(ExitCode exit_code) { return static_cast<int>(exit_code); }

std::string quiet_message(const CommonOptions& options) {
    return "corsair: no answer from the broker at " + options.broker + " for " +
           protocol::format_duration(options.wait_timeout) + " (is it running? see --broker, " +
           kBrokerEnvironmentVariable + ", --wait-timeout)\n";
}

// Counts and reports the events of a --file run; owns no socket.
class FileRun {
public:
    FileRun(const SubmitOptions& options, CliStreams& streams, std::optional<std::uint64_t> total)
        : options_(options), streams_(streams), start_(Clock::now()), meter_(total, start_) {}

    void handle(const Event& event) {
        switch (event.kind) {
            case Event::Kind::accepted:
                ++accepted_;
                if (options_.common.is_json && !options_.should_wait) out_line(json_line(accepted_json(event)));
                break;
            case Event::Kind::result:
                switch (event.outcome.state) {
                    case protocol::JobState::done: ++done_; break;
                    case protocol::JobState::cancelled: ++cancelled_; break;
                    default: ++failed_; break;
                }
                if (options_.common.is_json) out_line(json_line(outcome_json(event.outcome)));
                break;
            case Event::Kind::progress:
                // Per-job lines would drown a terminal; the JSON stream has room for them.
                if (options_.common.is_json) out_line(json_line(progress_json(event.id, event.progress, event.job_id)));
                break;
            case Event::Kind::error:
                ++refused_;
                if (options_.common.is_json) {
                    out_line(json_line(refused_json(event.id, event.error)));
                } else {
                    problem("job " + event.id + " refused by the broker: " + error_text(event.error));
                }
                break;
        }
    }

    void invalid_line(std::uint64_t line_number, const ProducerError& error) {
        ++invalid_;
        if (options_.common.is_json) {
            out_line(json_line({{"line", line_number}, {"state", "invalid"}, {"error", error.what()}}));
        } else {
            problem("line " + std::to_string(line_number) + " skipped: " + error.what());
        }
    }

    void submitted() { ++submitted_; }

    void draw_progress(bool is_final = false) {
        if (!streams_.is_err_terminal) return;
        const auto now = Clock::now();
        if (!is_final && now - last_draw_ < kRedrawEvery) return;
        last_draw_ = now;
        streams_.err << '\r' << meter_.line(progress_count(), now) << "\x1b[K" << std::flush;
    }

    void clear_progress() {
        if (streams_.is_err_terminal) streams_.err << "\r\x1b[K" << std::flush;
    }

    // The summary line on stderr, and the exit code of the run.
    int finish(bool has_timed_out, std::size_t unacknowledged) {
        clear_progress();
        const auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start_);
        const double rate = meter_.rate(options_.should_wait ? ended() : accepted_, Clock::now());
        char rate_text[32];
        std::snprintf(rate_text, sizeof rate_text, "%.0f", rate);
        if (options_.should_wait) {
            streams_.err << "done " << done_ << ", failed " << failed_;
            if (cancelled_ > 0) streams_.err << ", cancelled " << cancelled_;
            streams_.err << ", refused " << refused_;
        } else {
            streams_.err << "submitted " << submitted_ << " jobs to queue " << options_.queue << ": accepted "
                         << accepted_ << ", refused " << refused_;
        }
        if (invalid_ > 0) streams_.err << ", invalid lines " << invalid_;
        if (has_timed_out) streams_.err << ", unanswered " << unacknowledged;
        streams_.err << ", elapsed " << human_duration(elapsed) << ", rate " << rate_text << " jobs/s\n";
        if (has_timed_out) return code(ExitCode::unreachable);
        if (invalid_ > 0) return code(ExitCode::usage);
        if (refused_ > 0 || failed_ > 0 || cancelled_ > 0) return code(ExitCode::job_failed);
        return code(ExitCode::ok);
    }

private:
    std::uint64_t ended() const { return done_ + failed_ + cancelled_; }

    std::uint64_t progress_count() const { return (options_.should_wait ? ended() : accepted_) + refused_ + invalid_; }

    void out_line(const std::string& line) {
        if (streams_.is_err_terminal) clear_progress();
        streams_.out << line << '\n';
    }

    void problem(const std::string& text) {
        ++problems_;
        if (problems_ > kMaxReportedProblems) return;
        clear_progress();
        streams_.err << "corsair: " << text << '\n';
        if (problems_ == kMaxReportedProblems) streams_.err << "corsair: (further problems are only counted)\n";
    }

    const SubmitOptions& options_;
    CliStreams& streams_;
    Clock::time_point start_;
    ProgressMeter meter_;
    Clock::time_point last_draw_{};
    std::uint64_t submitted_ = 0;
    std::uint64_t accepted_ = 0;
    std::uint64_t done_ = 0;
    std::uint64_t failed_ = 0;
    std::uint64_t cancelled_ = 0;
    std::uint64_t refused_ = 0;
    std::uint64_t invalid_ = 0;
    std::uint64_t problems_ = 0;
};

// Without --wait: blocks for the ACCEPTED and prints the job's id (or, with --json, the event).
int submit_once(Producer& producer, const SubmitOptions& options, CliStreams& streams) {
    const std::string id = producer.new_job_id();
    protocol::Accepted accepted;
    try {
        accepted = producer.submit(options.queue, options.payload, options.job, options.common.wait_timeout, id);
    } catch (const ProducerError& e) {
        // With --json, stdout says what became of the job either way; stderr still explains.
        if (options.common.is_json && e.kind() == ProducerError::Kind::refused) {
            streams.out << json_line(refused_json(id, protocol::Error{e.code(), e.broker_message(), id, "SUBMIT"}))
                        << '\n';
        }
        throw;
    }
    if (options.common.is_json) {
        Event event;
        event.id = accepted.id;
        event.job_id = accepted.job_id;
        event.existed = accepted.existed;
        streams.out << json_line(accepted_json(event)) << '\n';
    } else {
        // The id to ask about later is the job's, which a unique key may have matched.
        streams.out << accepted.job_id << '\n';
        if (accepted.job_id != accepted.id) {
            streams.err << "corsair: unique key '" << options.job.unique_key << "' matched job " << accepted.job_id
                        << "; nothing new was queued\n";
        }
    }
    return code(ExitCode::ok);
}

// With --wait: prints what becomes of `outcome`'s job; returns the exit code it means.
int report_outcome(const Outcome& outcome, const SubmitOptions& options, CliStreams& streams) {
    if (options.common.is_json) {
        streams.out << json_line(outcome_json(outcome)) << '\n';
    } else if (outcome.state == protocol::JobState::done) {
        streams.out.write(outcome.result.data(), static_cast<std::streamsize>(outcome.result.size()));
        streams.out.flush();
    }
    switch (outcome.state) {
        case protocol::JobState::done: return code(ExitCode::ok);
        case protocol::JobState::cancelled:
            streams.err << "corsair: job " << outcome.job_id << " was cancelled";
            if (!outcome.error.empty()) streams.err << ": " << outcome.error;
            streams.err << '\n';
            return code(ExitCode::job_failed);
        default:
            streams.err << "corsair: job " << outcome.job_id << " failed (attempt " << outcome.attempt
                        << "): " << outcome.error << '\n';
            return code(ExitCode::job_failed);
    }
}

// With --wait: follows job `id` until its outcome, reporting progress, and returns the exit code.
int follow_job(Producer& producer, const std::string& id, const SubmitOptions& options, CliStreams& streams) {
    for (;;) {
        std::vector<Event> events;
        try {
            events = producer.poll(kPollSlice);
        } catch (const ProducerError& e) {
            // producer_options_for set silence_limit to --wait-timeout.
            if (!e.is_broker_silent()) throw;
            streams.err << quiet_message(options.common);
            return code(ExitCode::unreachable);
        }
        for (const auto& event : events) {
            if (event.id != id) continue;
            switch (event.kind) {
                case Event::Kind::accepted:
                    if (!options.common.is_json && event.job_id != id) {
                        streams.err << "corsair: unique key '" << options.job.unique_key << "' matched job "
                                    << event.job_id << "; waiting for its outcome\n";
                    }
                    continue;
                case Event::Kind::progress:
                    if (options.common.is_json) {
                        streams.out << json_line(progress_json(event.id, event.progress, event.job_id)) << '\n'
                                    << std::flush;
                    } else {
                        streams.err << "corsair: " << progress_text(event.job_id, event.progress) << '\n';
                    }
                    continue;
                case Event::Kind::error: {
                    if (options.common.is_json) streams.out << json_line(refused_json(id, event.error)) << '\n';
                    streams.err << "corsair: the broker refused job " << id << ": " << error_text(event.error) << '\n';
                    return static_cast<int>(exit_code_for(
                        ProducerError(ProducerError::Kind::refused, event.error.code, event.error.message)));
                }
                case Event::Kind::result: break;
            }
            return report_outcome(event.outcome, options, streams);
        }
    }
}

}  // namespace

int run_submit(zmq::context_t& context, const SubmitOptions& options, CliStreams& streams) {
    Producer producer(context, producer_options_for(options.common));
    if (!options.should_wait) return submit_once(producer, options, streams);
    const auto id = producer.submit_async(options.queue, options.payload, true, options.job);
    return follow_job(producer, id, options, streams);
}

int run_submit_file(zmq::context_t& context, const SubmitOptions& options, CliStreams& streams) {
    std::ifstream file;
    std::optional<std::uint64_t> total;
    if (options.file != "-") {
        file.open(options.file, std::ios::binary);
        if (!file) {
            streams.err << "corsair: cannot read " << options.file << ": " << std::strerror(errno) << '\n';
            return code(ExitCode::usage);
        }
        std::error_code ignored;
        if (std::filesystem::is_regular_file(options.file, ignored)) {
            total = count_jobs(file);  // a second pass is cheap next to submitting
            file.clear();
            file.seekg(0);
        }
    }
    std::istream& input = options.file == "-" ? streams.in : file;

    auto producer_options = producer_options_for(options.common);
    producer_options.window = options.window;
    Producer producer(context, producer_options);
    FileRun run(options, streams, total);
    LineReader reader(input);
    try {
        std::uint64_t since_poll = 0;
        while (auto line = reader.next()) {
            try {
                producer.submit_async(options.queue, *line, options.should_wait, options.job);
                run.submitted();
            } catch (const ProducerError& e) {
                if (e.kind() != ProducerError::Kind::invalid) throw;
                run.invalid_line(reader.line_number(), e);
            }
            // Drain outcomes regularly so they are printed as they come, not all at the end.
            if (++since_poll == 64) {
                since_poll = 0;
                for (const auto& event : producer.poll(milliseconds(0))) run.handle(event);
                run.draw_progress();
            }
        }
        for (;;) {
            for (const auto& event : producer.poll(kPollSlice)) run.handle(event);
            run.draw_progress();
            const bool is_finished =
                producer.awaiting_acceptance() == 0 && (!options.should_wait || producer.awaiting_results() == 0);
            if (is_finished) break;
        }
    } catch (const ProducerError& e) {
        // producer_options_for set silence_limit to --wait-timeout: submit_async on a full window
        // and poll give up on a silent broker.
        if (!e.is_broker_silent()) throw;
        streams.err << quiet_message(options.common);
        return run.finish(true, producer.awaiting_acceptance() + producer.awaiting_results());
    }
    run.draw_progress(true);
    return run.finish(false, 0);
}

}  // namespace corsair::producer::cli
