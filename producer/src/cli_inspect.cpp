#include "cli_inspect.hpp"

#include <algorithm>
#include <fstream>
#include <ostream>
#include <sstream>

#include "corsair/protocol/text.hpp"
#include "timestamp.hpp"

namespace corsair::producer::cli {

namespace {

int code(ExitCode exit_code) { return static_cast<int>(exit_code); }

constexpr const char* kListDetails =
    R"(List one page of a queue's jobs in one state:
  pending   in the order they will run (priority, then arrival)
  delayed   soonest ready first (a delay, --at, or a retry's backoff)
  running   oldest attempt first, with the worker holding each
  failed    the dead set, newest first
Each row: id, attempt/max attempts, priority, payload size, age, and per state when it is ready,
its worker or its last error. A page holds --limit jobs; when more follow, the heading names the
--after value of the next page (with --json it goes to stderr); --all lists every page. Pages are
read live: a job that moves between pages may be missed or shown twice.)";

constexpr const char* kPayloadDetails =
    R"(Print a job's own payload (the bytes it was submitted with) to stdout as they are, or to FILE
with --output. The broker keeps a payload only while the job is pending, delayed, running or in
the dead set: an ended job is refused (exit 1). With --json: {"id","queue","state","payload"},
or "payload_base64" instead of "payload" when the bytes are not UTF-8.)";

constexpr const char* kCreateDetails =
    R"(Create a queue with the given settings (the defaults for the rest) and print its settings.
Creating a queue that exists only applies the settings. Every other command refuses a queue that
does not exist (unknown_queue, exit 1), so a typo never makes a queue; a SUBMIT still makes its
queue with the defaults.)";

constexpr const char* kDeleteDetails =
    R"(Delete a queue: its settings, counts and dead set. A queue holding jobs (pending, delayed,
running or failed) is refused unless --force, which cancels the waiting and running jobs (a
waiting producer gets state cancelled; a running attempt is told to stop) and purges the dead
set. Workers serving the queue stay connected; a later SUBMIT, or a worker announcing it, makes
the queue again with the defaults.)";

std::string time_text(std::uint64_t ms) {
    const auto at = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
    return format_timestamp(std::chrono::time_point_cast<std::chrono::system_clock::duration>(at));
}

// Per state, the time that matters most to an operator looking at the list.
std::string when_text(protocol::ListedState state, const protocol::ListedJob& job) {
    const std::optional<std::uint64_t> at = state == protocol::ListedState::delayed   ? job.ready_at_ms
                                            : state == protocol::ListedState::running ? job.started_ms
                                            : state == protocol::ListedState::failed  ? job.died_ms
                                                                                      : job.created_ms;
    return at ? time_text(*at) : "-";
}

const char* when_heading(protocol::ListedState state) {
    switch (state) {
        case protocol::ListedState::pending: return "CREATED";
        case protocol::ListedState::delayed: return "READY AT";
        case protocol::ListedState::running: return "STARTED";
        case protocol::ListedState::failed: return "DIED";
    }
    return "CREATED";
}

std::string one_line(const std::string& text, std::size_t max_bytes) {
    return protocol::printable(text, max_bytes);
}

}  // namespace

std::string list_table(const protocol::ListReply& page) {
    std::ostringstream out;
    out << "Queue " << protocol::printable(page.queue) << ": " << page.total << ' ' << protocol::to_string(page.state);
    if (!page.next.empty()) {
        out << " (showing " << page.jobs.size() << "; next page: --after " << protocol::printable(page.next) << ")";
    }
    out << '\n';
    if (page.jobs.empty()) return out.str();
    const bool shows_worker = page.state == protocol::ListedState::running;
    const bool shows_error = page.state == protocol::ListedState::failed;
    out << "ID\tATTEMPT\tCHARGED\tPRIORITY\tBYTES\t" << when_heading(page.state);
    if (shows_worker) out << "\tWORKER";
    if (shows_error) out << "\tLAST ERROR";
    out << '\n';
    for (const auto& job : page.jobs) {
        out << protocol::printable(job.id) << '\t' << job.attempt << '\t'
            << job.counted_attempts.value_or(job.attempt) << '/' << job.max_attempts << '\t' << job.priority
            << '\t' << job.payload_bytes << '\t' << when_text(page.state, job);
        if (shows_worker) out << '\t' << protocol::printable(job.worker) << (job.is_held_ready ? " (held ready)" : "");
        if (shows_error) out << '\t' << one_line(job.error, 80);
        out << '\n';
    }
    return out.str();
}

InspectCommands::InspectCommands(CLI::App& app, CLI::App& queue_command, CLI::App& purge_command,
                                 const CommandKit& kit) {
    list_command_ = kit.add_command(app, "list", "List a queue's pending, delayed, running or failed jobs", kListDetails);
    list_command_->add_option("QUEUE", list_.queue, "The queue")->required();
    list_command_->add_option("--state,-s", list_.state, "pending, delayed, running or failed")
        ->check(CLI::IsMember(std::vector<std::string>{"pending", "delayed", "running", "failed"}))
        ->capture_default_str();
    list_command_->add_option("--limit", list_.limit, "Jobs per page")
        ->check(CLI::Range(std::uint32_t{1}, protocol::kMaxListed))
        ->capture_default_str();
    list_command_->add_option("--after", list_.after, "Start after this job id (the previous page's next)");
    list_command_->add_flag("--all", list_.is_all, "List every page");
    list_options_ = kit.add_common_options(list_command_);

    payload_command_ = kit.add_command(app, "payload", "Print a waiting, running or dead job's payload", kPayloadDetails);
    payload_command_->add_option("JOB_ID", payload_id_, "The job's id")->required();
    payload_command_->add_option("--output,-o", payload_output_, "Write the bytes to FILE instead of stdout");
    payload_options_ = kit.add_common_options(payload_command_);

    create_command_ = kit.add_command(queue_command, "create", "Create a queue, with settings", kCreateDetails);
    create_command_->add_option("NAME", create_queue_, "The queue's name")->required();
    kit.add_queue_flags(create_command_, create_flags_);
    create_options_ = kit.add_common_options(create_command_);

    delete_command_ = kit.add_command(queue_command, "delete", "Delete a queue", kDeleteDetails);
    delete_command_->add_option("NAME", delete_queue_, "The queue's name")->required();
    delete_command_->add_flag("--force", is_forced_, "Delete its jobs too");
    delete_options_ = kit.add_common_options(delete_command_);

    purge_command.add_flag("--pending", purges_pending_,
                           "Delete the queue's pending jobs instead of its dead set (each ends cancelled)");
    purge_command.add_flag("--delayed", purges_delayed_,
                           "Delete the queue's delayed jobs instead of its dead set (each ends cancelled)");
}

void InspectCommands::reset() {
    list_ = {};
    payload_id_.clear();
    payload_output_.clear();
    create_queue_.clear();
    create_flags_ = {};
    delete_queue_.clear();
    is_forced_ = false;
    purges_pending_ = false;
    purges_delayed_ = false;
}

std::optional<int> InspectCommands::run(zmq::context_t& context, CliStreams& streams) {
    if (*list_command_) return run_list(context, list_options_(), streams);
    if (*payload_command_) return run_payload(context, payload_options_(), streams);
    if (*create_command_) return run_create(context, create_options_(), streams);
    if (*delete_command_) return run_delete(context, delete_options_(), streams);
    return std::nullopt;
}

int InspectCommands::run_list(zmq::context_t& context, const CommonOptions& options, CliStreams& streams) const {
    Producer producer(context, producer_options_for(options));
    const auto state = *protocol::parse_listed_state(list_.state);
    std::string after = list_.after;
    do {
        const auto page = producer.list(list_.queue, state, after, list_.limit, options.wait_timeout);
        after = page.next;
        if (!options.is_json) {
            streams.out << list_table(page);
        } else {
            for (const auto& job : page.jobs) streams.out << json_line(listed_job_json(page.queue, state, job)) << '\n';
            if (!after.empty() && !list_.is_all) {
                streams.log.info("listed " + std::to_string(page.jobs.size()) + " of " + std::to_string(page.total) +
                                     "; the next page starts with --after " + protocol::printable(after),
                                 {Diagnostics::number_field("listed", static_cast<std::int64_t>(page.jobs.size())),
                                  Diagnostics::number_field("total", static_cast<std::int64_t>(page.total)),
                                  Diagnostics::text_field("after", after)});
            }
        }
    } while (list_.is_all && !after.empty());
    return code(ExitCode::ok);
}

int InspectCommands::run_payload(zmq::context_t& context, const CommonOptions& options, CliStreams& streams) const {
    Producer producer(context, producer_options_for(options));
    const auto status = producer.peek(payload_id_, options.wait_timeout);
    const auto bytes = protocol::view_of(status.payload);
    if (options.is_json) {
        nlohmann::json line{{"id", json_text(status.id)},
                            {"queue", json_text(status.queue)},
                            {"state", protocol::to_string(status.state)}};
        put_bytes(line, "payload", bytes);
        streams.out << json_line(line) << '\n';
        return code(ExitCode::ok);
    }
    if (!payload_output_.empty()) {
        std::ofstream file(payload_output_, std::ios::binary | std::ios::trunc);
        file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!file.flush()) {
            streams.log.say(Diagnostics::Level::err, "cannot write " + payload_output_,
                            {Diagnostics::text_field("code", "io")}, "corsair payload");
            return code(ExitCode::usage);
        }
        return code(ExitCode::ok);
    }
    streams.out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    streams.out.flush();
    return code(ExitCode::ok);
}

int InspectCommands::run_clear(zmq::context_t& context, const CommonOptions& options, const std::string& queue,
                               const std::string& id, CliStreams& streams) const {
    if (!id.empty()) {
        return streams.log.usage("corsair purge", "--pending and --delayed take no JOB_ID (cancel one job with corsair cancel)");
    }
    Producer producer(context, producer_options_for(options));
    const auto count = producer.clear(queue, purges_pending_, purges_delayed_, options.wait_timeout);
    const std::string which = purges_pending_ && purges_delayed_ ? "pending and delayed"
                              : purges_pending_                  ? "pending"
                                                                 : "delayed";
    if (options.is_json) {
        streams.out << json_line({{"queue", queue}, {"purged", count}, {"states", which}}) << '\n';
    } else {
        streams.out << "purged " << count << ' ' << which << (count == 1 ? " job" : " jobs") << " from queue "
                    << protocol::printable(queue) << '\n';
    }
    return code(ExitCode::ok);
}

int InspectCommands::run_create(zmq::context_t& context, const CommonOptions& options, CliStreams& streams) const {
    auto settings = queue_settings_from(create_queue_, create_flags_);
    if (!settings) {
        return streams.log.usage("corsair queue create", settings.error());
    }
    Producer producer(context, producer_options_for(options));
    const auto now_set = producer.create_queue(settings.value(), options.wait_timeout);
    if (options.is_json) {
        auto line = queue_settings_json(now_set);
        line["created"] = now_set.was_created;
        streams.out << json_line(line) << '\n';
    } else {
        streams.out << "queue " << protocol::printable(now_set.queue)
                    << (now_set.was_created ? " created\n" : " exists; settings applied\n")
                    << queue_settings_text(now_set);
    }
    return code(ExitCode::ok);
}

int InspectCommands::run_delete(zmq::context_t& context, const CommonOptions& options, CliStreams& streams) const {
    Producer producer(context, producer_options_for(options));
    const auto count = producer.delete_queue(delete_queue_, is_forced_, options.wait_timeout);
    if (options.is_json) {
        streams.out << json_line({{"queue", delete_queue_}, {"deleted", true}, {"jobs", count}}) << '\n';
    } else {
        streams.out << "queue " << protocol::printable(delete_queue_) << " deleted";
        if (count > 0) streams.out << " with its " << count << (count == 1 ? " job" : " jobs");
        streams.out << '\n';
    }
    return code(ExitCode::ok);
}

}  // namespace corsair::producer::cli
