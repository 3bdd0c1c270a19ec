// What a process costs, read from /proc: resident memory and CPU time (all its threads).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include <sys/types.h>

namespace corsair::bench {

using CpuSeconds = std::chrono::duration<double>;

// VmRSS of /proc/PID/status in bytes; nullopt if the process is gone or the line is missing.
std::optional<std::uint64_t> resident_bytes(pid_t pid);
// utime + stime of /proc/PID/stat (user and system CPU of every thread, in clock ticks turned into
// seconds); nullopt if the process is gone.
std::optional<CpuSeconds> cpu_time(pid_t pid);
// The calling process's own user + system CPU (getrusage), every thread included.
CpuSeconds own_cpu_time();
// The CPU time of `pids` together so far, counting 0 for a process already gone.
CpuSeconds cpu_time_of(const std::vector<pid_t>& pids);

}  // namespace corsair::bench
