// An intrusive FIFO of jobs, linked through JobRecord::prev/next: a priority level's pending
// jobs, a worker's leases, a queue's dead set. A job is in at most one of them at a time. Owned
// by the broker's loop thread.
#pragma once

#include "corsair/containers/intrusive_list.hpp"
#include "job_record.hpp"

namespace corsair::broker {

using JobList = containers::IntrusiveList<JobRecord>;

}  // namespace corsair::broker
