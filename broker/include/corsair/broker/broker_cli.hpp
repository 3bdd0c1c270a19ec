// The broker's command-line flags, kept in the library so main.cpp stays a thin shell and the
// --help text lives next to the options it sets.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "corsair/broker/broker_options.hpp"
#include "corsair/options/log_format.hpp"

namespace corsair::broker {

inline constexpr const char* kBrokerDescription =
    "corsair-broker: the Corsair job broker.\n"
    "Producers submit jobs on one endpoint; workers announce their queues and capacity on the\n"
    "other. Jobs are leased to the least recently used worker with credit (for short jobs, one\n"
    "that has just freed a slot and is awake), which takes as many of the jobs at hand as it gets\n"
    "through in 10 ms (long jobs: one per worker in turn; docs/jobs.md, Dispatch), heartbeats run\n"
    "both ways, and every job held by a worker that goes silent is requeued. On start it prints\n"
    "one line to stdout:\n"
    "'corsair-broker ready producers=ENDPOINT workers=ENDPOINT'.\n"
    "Every accepted job is journaled in --data-dir before ACCEPTED is sent (--fsync always: on\n"
    "disk), and a restart rebuilds every queue from it (docs/durability.md). A damaged journal is\n"
    "refused with the file and offset; --salvage copies every intact record and sets the damaged\n"
    "file aside. SIGINT/SIGTERM stop it cleanly.\n"
    "Environment: CORSAIR_HUGE_PAGES=1 puts the heap on transparent huge pages (the broker\n"
    "re-executes itself once with GLIBC_TUNABLES=glibc.malloc.hugetlb=1): the fork behind each\n"
    "journal compaction then pauses it about 1.5 ms instead of 15 ms per million pending jobs,\n"
    "but it holds more memory, growing at compactions (docs/durability.md). Default 0: off.";

// Registers every flag on `app`, writing into `options` and `log` (--log-level, --log-format).
// `salvage` is set by --salvage: repair the journal in options.data_dir instead of serving.
void add_broker_flags(CLI::App& app, BrokerOptions& options, corsair::options::LogSettings& log, bool& salvage);

// --salvage: copies every intact record of DIR/journal.log into a new journal, keeps the damaged
// file as journal.log.damaged-<unix seconds>, and prints what was kept. Returns the exit code.
int salvage_data_dir(const std::string& data_dir);

}  // namespace corsair::broker
