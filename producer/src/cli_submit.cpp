// `corsair submit`: one job, or one job per line of a file, pipelined through the Producer's window.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <ostream>

#include "base64.hpp"
#include "cli_app.hpp"
#include "cli_output.hpp"
#include "corsair/options/exit_code.hpp"
#include "corsair/protocol/duration.hpp"
#include "corsair/protocol/text.hpp"
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

std::string shown(const std::string& text) { return protocol::printable(text); }

// A broker that fell silent, reported like every other failed call (one wording, JSON or text).
int report_silence(const CommonOptions& options, CliStreams& streams) {
    return report_error(ProducerError(ProducerError::Kind::broker_silent, protocol::ErrorCode::internal, "silent"),
                        options, {}, streams);
}

// A broker ERROR event, reported like a failed call.
int report_refusal(const protocol::Error& error, const CommonOptions& options, CliStreams& streams) {
    return report_error(ProducerError(ProducerError::Kind::refused, error.code, error_text(error), error.message),
                        options, error.id, streams);
}

// The payload of a one-job submit: PAYLOAD as typed, or the bytes of --payload-file FILE or of
// stdin ("-"), as they are. Nullopt (errno set) when the file cannot be read.
std::optional<std::string> payload_of(const SubmitOptions& options, CliStreams& streams) {
    const bool is_stdin = options.payload_file == "-" || (options.payload_file.empty() && options.payload == "-");
    if (!is_stdin && options.payload_file.empty()) return options.payload;
    std::ifstream file;
    if (!is_stdin) {
        file.open(options.payload_file, std::ios::binary);
        if (!file) return std::nullopt;
    }
    std::istream& input = is_stdin ? streams.in : file;
    std::string bytes{std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>()};
    if (input.bad()) return std::nullopt;
    return bytes;
}

// One job of an NDJSON --file line: {"payload": text} or {"payload_base64": base64}.
protocol::Result<std::string, std::string> ndjson_payload(const std::string& line) {
    const auto object = nlohmann::json::parse(line, nullptr, false);
    if (!object.is_object()) return protocol::unexpected(std::string("not a JSON object"));
    const auto text = object.find("payload");
    const auto base64 = object.find("payload_base64");
    if ((text == object.end()) == (base64 == object.end())) {
        return protocol::unexpected(std::string("give exactly one of \"payload\" and \"payload_base64\""));
    }
    if (text != object.end()) {
        if (!text->is_string()) return protocol::unexpected(std::string("\"payload\" is not a string"));
        return text->get<std::string>();
    }
    if (!base64->is_string()) return protocol::unexpected(std::string("\"payload_base64\" is not a string"));
    auto bytes = from_base64(base64->get<std::string>());
    if (!bytes) return protocol::unexpected(std::string("\"payload_base64\" is not base64"));
    return *std::move(bytes);
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
                if (options_.common.is_json && !options_.should_wait) {
                    out_line(json_line(accepted_json(event, options_.queue)));
                }
                break;
            case Event::Kind::result:
                ended(event.outcome);
                break;
            case Event::Kind::progress:
                // Per-job lines would drown a terminal; the JSON stream has room for them.
                if (options_.common.is_json) {
                    out_line(json_line(progress_json(event.job_id, options_.queue, event.progress)));
                }
                break;
            case Event::Kind::error:
                refused(event);
                break;
        }
    }

    void invalid_line(std::uint64_t line_number, const std::string& why) {
        ++invalid_;
        const std::string text = "line " + std::to_string(line_number) + " skipped: " + why;
        if (options_.common.is_json) {
            out_line(json_line(error_json("usage", text)));
        } else {
            problem(text, {Diagnostics::number_field("line", static_cast<std::int64_t>(line_number))});
        }
    }

    void submitted() { ++submitted_; }

    void draw_progress(bool is_final = false) {
        if (!shows_bar()) return;
        const auto now = Clock::now();
        if (!is_final && now - last_draw_ < kRedrawEvery) return;
        last_draw_ = now;
        std::string line = meter_.line(progress_count(), now);
        if (const auto bad = failed_ + cancelled_ + refused_ + invalid_; bad > 0) {
            line += "  not done " + std::to_string(bad);
        }
        streams_.log.stream() << '\r' << line << "\x1b[K" << std::flush;
    }

    void clear_progress() {
        if (shows_bar()) streams_.log.stream() << "\r\x1b[K" << std::flush;
    }

    // The summary line on stderr, and the exit code of the run.
    int finish(bool has_timed_out, std::size_t unacknowledged) {
        clear_progress();
        const auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start_);
        const double rate = meter_.rate(options_.should_wait ? ended() : accepted_, Clock::now());
        char rate_text[32];
        std::snprintf(rate_text, sizeof rate_text, "%.0f", rate);
        std::string text;
        std::vector<Diagnostics::Field> fields{Diagnostics::text_field("queue", options_.queue)};
        auto count = [&](const char* key, const char* words, std::uint64_t value) {
            text += std::string(text.empty() || text.back() == ' ' ? "" : ", ") + words + " " + std::to_string(value);
            fields.push_back(Diagnostics::number_field(key, static_cast<std::int64_t>(value)));
        };
        if (options_.should_wait) {
            count("done", "done", done_);
            count("failed", "failed", failed_);
            if (cancelled_ > 0) count("cancelled", "cancelled", cancelled_);
            count("refused", "refused", refused_);
        } else {
            text = "submitted " + std::to_string(submitted_) + " jobs to queue " + shown(options_.queue) + ": ";
            fields.push_back(Diagnostics::number_field("submitted", static_cast<std::int64_t>(submitted_)));
            count("accepted", "accepted", accepted_);
            count("refused", "refused", refused_);
        }
        if (invalid_ > 0) count("invalid_lines", "invalid lines", invalid_);
        if (has_timed_out) count("unanswered", "unanswered", unacknowledged);
        text += ", elapsed " + human_duration(elapsed) + ", rate " + rate_text + " jobs/s";
        fields.push_back(Diagnostics::number_field("elapsed_ms", elapsed.count()));
        fields.push_back(Diagnostics::number_field("rate", static_cast<std::int64_t>(rate + 0.5)));
        streams_.log.say(Diagnostics::Level::info, text, fields, "");
        // The most telling problem decides: no answer, bad input, a refusal, then a failed job.
        if (has_timed_out) return code(ExitCode::unreachable);
        if (invalid_ > 0) return code(ExitCode::usage);
        if (refused_ > 0) return code(refusal_);
        if (failed_ > 0 || cancelled_ > 0) return code(ExitCode::job_failed);
        return code(ExitCode::ok);
    }

private:
    std::uint64_t ended() const { return done_ + failed_ + cancelled_; }

    // Only work that went as asked moves the bar: done jobs (--wait) or accepted ones.
    std::uint64_t progress_count() const { return options_.should_wait ? done_ : accepted_; }

    void ended(const Outcome& outcome) {
        switch (outcome.state) {
            case protocol::JobState::done: ++done_; break;
            case protocol::JobState::cancelled: ++cancelled_; break;
            default: ++failed_; break;
        }
        if (options_.common.is_json) {
            out_line(json_line(outcome_json(outcome, options_.queue)));
        } else if (outcome.state == protocol::JobState::cancelled) {
            problem("job " + shown(outcome.job_id) + " was cancelled",
                    {Diagnostics::text_field("id", outcome.job_id), Diagnostics::text_field("state", "cancelled")});
        } else if (outcome.state != protocol::JobState::done) {
            problem("job " + shown(outcome.job_id) + " failed (attempt " + std::to_string(outcome.attempt) +
                        "): " + protocol::printable(outcome.error, 200),
                    {Diagnostics::text_field("id", outcome.job_id), Diagnostics::text_field("state", "failed"),
                     Diagnostics::number_field("attempt", outcome.attempt),
                     Diagnostics::text_field("error", outcome.error)});
        }
    }

    void refused(const Event& event) {
        // The wrong endpoint refuses every job alike: stop at once and say where to go.
        if (event.error.code == protocol::ErrorCode::wrong_endpoint) {
            throw ProducerError(ProducerError::Kind::refused, event.error.code, error_text(event.error),
                                event.error.message);
        }
        ++refused_;
        if (refused_ == 1) refusal_ = options::exit_code_for(event.error.code);
        if (options_.common.is_json) {
            protocol::Error error = event.error;
            error.id = event.id;
            out_line(json_line(error_json(error)));
        } else {
            problem("job " + shown(event.id) + " refused by the broker: " + error_text(event.error),
                    {Diagnostics::text_field("id", event.id),
                     Diagnostics::text_field("code", std::string(protocol::to_string(event.error.code))),
                     Diagnostics::text_field("error", event.error.message)});
        }
    }

    void out_line(const std::string& line) {
        clear_progress();
        streams_.out << line << '\n';
    }

    // A job that did not go as asked, said at warn: the command goes on, the summary counts it.
    void problem(const std::string& text, const std::vector<Diagnostics::Field>& fields) {
        ++problems_;
        if (problems_ > kMaxReportedProblems) return;
        clear_progress();
        streams_.log.warn(text, fields);
        if (problems_ == kMaxReportedProblems) streams_.log.warn("(further problems are only counted)");
    }

    bool shows_bar() const { return streams_.log.shows_progress_bar(streams_.is_err_terminal); }

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
    ExitCode refusal_ = ExitCode::refused;
};

// Without --wait: blocks for the ACCEPTED and prints the job's id (or, with --json, the event).
int submit_once(Producer& producer, const SubmitOptions& options, const std::string& payload, CliStreams& streams) {
    const std::string id = producer.new_job_id();
    protocol::Accepted accepted;
    try {
        accepted = producer.submit(options.queue, payload, options.job, options.common.wait_timeout, id);
    } catch (const ProducerError& e) {
        return report_error(e, options.common, id, streams);
    }
    if (options.common.is_json) {
        Event event;
        event.id = accepted.id;
        event.job_id = accepted.job_id;
        event.existed = accepted.existed;
        streams.out << json_line(accepted_json(event, options.queue)) << '\n';
    } else {
        // The id to ask about later is the job's, which a unique key may have matched.
        streams.out << accepted.job_id << '\n';
        if (accepted.job_id != accepted.id) {
            streams.log.info("unique key '" + shown(options.job.unique_key) + "' matched job " +
                                 shown(accepted.job_id) + "; nothing new was queued",
                             {Diagnostics::text_field("unique_key", options.job.unique_key),
                              Diagnostics::text_field("id", accepted.job_id)});
        }
    }
    return code(ExitCode::ok);
}

// With --wait: prints what becomes of `outcome`'s job; returns the exit code it means.
int report_outcome(const Outcome& outcome, const SubmitOptions& options, CliStreams& streams) {
    if (options.common.is_json) {
        streams.out << json_line(outcome_json(outcome, options.queue)) << '\n';
    } else if (outcome.state == protocol::JobState::done) {
        streams.out.write(outcome.result.data(), static_cast<std::streamsize>(outcome.result.size()));
        // A terminal's prompt must not land after the result; a pipe gets the bytes as they are.
        if (streams.is_out_terminal && !outcome.result.empty() && outcome.result.back() != '\n') streams.out << '\n';
        streams.out.flush();
    }
    const std::string job = shown(outcome.job_id.empty() ? outcome.id : outcome.job_id);
    switch (outcome.state) {
        case protocol::JobState::done: return code(ExitCode::ok);
        case protocol::JobState::cancelled:
            streams.log.error("job " + job + " was cancelled" + (outcome.error.empty() ? "" : ": " + shown(outcome.error)),
                              {Diagnostics::text_field("id", outcome.job_id.empty() ? outcome.id : outcome.job_id),
                               Diagnostics::text_field("state", "cancelled"),
                               Diagnostics::text_field("error", outcome.error)});
            return code(ExitCode::job_failed);
        default:
            streams.log.error("job " + job + " failed (attempt " + std::to_string(outcome.attempt) +
                                  "): " + shown(outcome.error),
                              {Diagnostics::text_field("id", outcome.job_id.empty() ? outcome.id : outcome.job_id),
                               Diagnostics::text_field("state", "failed"),
                               Diagnostics::number_field("attempt", outcome.attempt),
                               Diagnostics::text_field("error", outcome.error)});
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
            return report_silence(options.common, streams);
        }
        for (auto& event : events) {
            if (event.id != id) continue;
            switch (event.kind) {
                case Event::Kind::accepted:
                    if (!options.common.is_json && event.job_id != id) {
                        streams.log.info("unique key '" + shown(options.job.unique_key) + "' matched job " +
                                             shown(event.job_id) + "; waiting for its outcome",
                                         {Diagnostics::text_field("unique_key", options.job.unique_key),
                                          Diagnostics::text_field("id", event.job_id)});
                    }
                    continue;
                case Event::Kind::progress:
                    if (options.common.is_json) {
                        streams.out << json_line(progress_json(event.job_id, options.queue, event.progress)) << '\n'
                                    << std::flush;
                    } else {
                        streams.log.info(progress_text(event.job_id, event.progress),
                                         {Diagnostics::text_field("id", event.job_id),
                                          Diagnostics::number_field("progress", event.progress.percent),
                                          Diagnostics::text_field("progress_message", event.progress.message)});
                    }
                    continue;
                case Event::Kind::error:
                    event.error.id = id;
                    return report_refusal(event.error, options.common, streams);
                case Event::Kind::result: break;
            }
            return report_outcome(event.outcome, options, streams);
        }
    }
}

}  // namespace

int run_submit(zmq::context_t& context, const SubmitOptions& options, CliStreams& streams) {
    const auto payload = payload_of(options, streams);
    if (!payload) {
        const std::string from = options.payload_file.empty() || options.payload_file == "-" ? "stdin"
                                                                                             : options.payload_file;
        return report_usage(options.common, "submit", "cannot read " + from + ": " + std::strerror(errno), streams);
    }
    Producer producer(context, producer_options_for(options.common));
    if (!options.should_wait) return submit_once(producer, options, *payload, streams);
    const auto id = producer.submit_async(options.queue, *payload, true, options.job);
    return follow_job(producer, id, options, streams);
}

namespace {

ProducerOptions file_producer_options(const SubmitOptions& options) {
    auto producer_options = producer_options_for(options.common);
    producer_options.window = options.window;
    producer_options.submit_batch = options.submit_batch;
    // With --wait the run reports outcomes only: an accepted event per job would be built to be counted and dropped.
    producer_options.reports_acceptance = !options.should_wait;
    return producer_options;
}

// Submits a job per line of `reader` (a bad line is counted and skipped), taking the outcomes
// that come meanwhile. Throws ProducerError as submit_async and poll do, but for invalid input.
void submit_lines(Producer& producer, LineReader& reader, const SubmitOptions& options, FileRun& run) {
    std::uint64_t since_poll = 0;
    // The lines read between two polls leave as SUBMITS batches (docs/protocol.md §5.33).
    const Producer::Batch batch(producer);
    while (auto line = reader.next()) {
        try {
            if (options.file_format == FileFormat::ndjson) {
                auto payload = ndjson_payload(*line);
                if (!payload) {
                    run.invalid_line(reader.line_number(), payload.error());
                    continue;
                }
                producer.submit_async(options.queue, payload.value(), options.should_wait, options.job);
            } else {
                producer.submit_async(options.queue, *line, options.should_wait, options.job);
            }
            run.submitted();
        } catch (const ProducerError& e) {
            if (e.kind() != ProducerError::Kind::invalid) throw;
            run.invalid_line(reader.line_number(), e.what());
        }
        // Drain outcomes regularly so they are printed as they come, not all at the end.
        if (++since_poll == 64) {
            since_poll = 0;
            for (const auto& event : producer.poll(milliseconds(0))) run.handle(event);
            run.draw_progress();
        }
    }
}

}  // namespace

int run_submit_file(zmq::context_t& context, const SubmitOptions& options, CliStreams& streams) {
    std::ifstream file;
    std::optional<std::uint64_t> total;
    if (options.file != "-") {
        file.open(options.file, std::ios::binary);
        if (!file) {
            return report_usage(options.common, "submit", "cannot read " + options.file + ": " + std::strerror(errno),
                                streams);
        }
        std::error_code ignored;
        if (std::filesystem::is_regular_file(options.file, ignored)) {
            total = count_jobs(file);  // a second pass is cheap next to submitting
            file.clear();
            file.seekg(0);
        }
    }
    std::istream& input = options.file == "-" ? streams.in : file;

    Producer producer(context, file_producer_options(options));
    FileRun run(options, streams, total);
    LineReader reader(input);
    try {
        submit_lines(producer, reader, options, run);
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
        report_silence(options.common, streams);
        return run.finish(true, producer.awaiting_acceptance() + producer.awaiting_results());
    }
    run.draw_progress(true);
    return run.finish(false, 0);
}

}  // namespace corsair::producer::cli
