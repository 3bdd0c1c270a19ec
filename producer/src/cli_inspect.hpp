// The `corsair` commands that look into queues and reshape them: `list`, `payload`,
// `purge --pending/--delayed`, `queue create` and `queue delete` (docs/jobs.md §Looking into a
// queue). cli_app.cpp registers them through InspectCommands and lends it how every command gets
// its common flags. Used on the CLI thread only.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli_app.hpp"
#include "cli_flags.hpp"
#include "cli_output.hpp"

namespace corsair::producer::cli {

// What cli_app.cpp lends the inspection commands, so that they look like every other command.
struct CommandKit {
    // A subcommand of `parent` with its summary and --help text.
    std::function<CLI::App*(CLI::App& parent, const char* name, const std::string& summary, const std::string& details)>
        add_command;
    // Adds --broker, --json and --wait-timeout to `command`; the getter returns them once parsed.
    std::function<std::function<CommonOptions()>(CLI::App* command)> add_common_options;
    // Adds the queue settings flags (--max-length ...) to `command`.
    std::function<void(CLI::App* command, QueueFlags& flags)> add_queue_flags;
};

class InspectCommands {
public:
    // Registers `list` and `payload` on `app`, `create` and `delete` under `queue_command`, and
    // --pending and --delayed on `purge_command`.
    InspectCommands(CLI::App& app, CLI::App& queue_command, CLI::App& purge_command, const CommandKit& kit);
    InspectCommands(const InspectCommands&) = delete;
    InspectCommands& operator=(const InspectCommands&) = delete;

    // Runs the command the parsed arguments chose, if it is one of these; nullopt otherwise.
    // Throws ProducerError as the other commands do.
    std::optional<int> run(zmq::context_t& context, CliStreams& streams);
    // Whether `corsair purge` was given --pending or --delayed: it then clears waiting jobs
    // (run_clear) instead of the dead set.
    bool purges_waiting() const noexcept { return purges_pending_ || purges_delayed_; }
    // Puts every flag these commands read back to its default, before another parse.
    void reset();
    int run_clear(zmq::context_t& context, const CommonOptions& options, const std::string& queue,
                  const std::string& id, CliStreams& streams) const;

private:
    struct ListFlags {
        std::string queue;
        std::string state = "pending";
        std::string after;
        std::uint32_t limit = 100;
        bool is_all = false;
    };

    int run_list(zmq::context_t& context, const CommonOptions& options, CliStreams& streams) const;
    int run_payload(zmq::context_t& context, const CommonOptions& options, CliStreams& streams) const;
    int run_create(zmq::context_t& context, const CommonOptions& options, CliStreams& streams) const;
    int run_delete(zmq::context_t& context, const CommonOptions& options, CliStreams& streams) const;

    CLI::App* list_command_ = nullptr;
    CLI::App* payload_command_ = nullptr;
    CLI::App* create_command_ = nullptr;
    CLI::App* delete_command_ = nullptr;
    std::function<CommonOptions()> list_options_;
    std::function<CommonOptions()> payload_options_;
    std::function<CommonOptions()> create_options_;
    std::function<CommonOptions()> delete_options_;
    ListFlags list_;
    std::string payload_id_;
    std::string payload_output_;
    std::string create_queue_;
    QueueFlags create_flags_;
    std::string delete_queue_;
    bool is_forced_ = false;
    bool purges_pending_ = false;
    bool purges_delayed_ = false;
};

// A table of one page of listed jobs, under a heading with the total and, when more follow, the
// --after value of the next page.
std::string list_table(const protocol::ListReply& page);

}  // namespace corsair::producer::cli
