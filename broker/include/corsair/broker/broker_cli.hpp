// The broker's command-line flags, kept in the library so main.cpp stays a thin shell and the
// --help text lives next to the options it sets.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "corsair/broker/broker_options.hpp"

namespace corsair::broker {

inline constexpr const char* kBrokerDescription =
    "corsair-broker: the Corsair job broker.\n"
    "Producers submit jobs on one endpoint; workers announce their queues and capacity on the\n"
    "other. Jobs are leased to the least recently used worker with credit, heartbeats run both\n"
    "ways, and every job held by a worker that goes silent is requeued. On start it prints one\n"
    "line to stdout: 'corsair-broker ready producers=ENDPOINT workers=ENDPOINT'.\n"
    "Jobs are held in memory: a broker restart forgets queued jobs (producers waiting on results\n"
    "resubmit them). SIGINT/SIGTERM stop it cleanly.";

// Registers every flag on `app`, writing into `options` and `log_level`.
void add_broker_flags(CLI::App& app, BrokerOptions& options, std::string& log_level);

}  // namespace corsair::broker
