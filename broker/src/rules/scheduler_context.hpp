// What every part of the Scheduler shares: the options, the log, the counters STATS reports,
// the journal and the time of day. The Scheduler owns one and hands each part a reference.
// Owned by the broker's loop thread.
#pragma once

#include <spdlog/logger.h>

#include "corsair/broker/broker_options.hpp"
#include "corsair/broker/scheduler.hpp"
#include "job_journal.hpp"
#include "wall_time.hpp"

namespace corsair::broker {

struct SchedulerContext {
    const BrokerOptions& options;
    spdlog::logger& log;
    SchedulerCounters& counters;
    JobJournal& journal;
    const WallTime& wall;
};

}  // namespace corsair::broker
