// What the figures were measured on: the machine, the kernel, the build and the commit.
#pragma once

#include <nlohmann/json.hpp>

namespace corsair::bench {

// {nproc, cpu_model, memory_bytes, kernel, libzmq, compiler, build_type, commit}; a field that
// cannot be read is an empty string (commit: read from the source tree's .git, if there).
nlohmann::json machine_info();
// The first three fields of /proc/loadavg: how busy the machine was besides us (1, 5, 15 min).
nlohmann::json load_average();

}  // namespace corsair::bench
