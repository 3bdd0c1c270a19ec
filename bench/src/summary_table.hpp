// The table corsair-bench prints at the end of a run: one row per figure of the report, with its
// ratio to the ceiling and, when peers were measured, to the best peer. Reads the report only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace corsair::bench {

// Prints report["workloads"] (medians of `runs` runs, `seed`) and report["load_average_at_end"].
void print_summary_table(const nlohmann::json& report, int runs, std::uint64_t seed);

// The node at `path` under `object`, or nullptr when a key is missing (a workload that did not run).
const nlohmann::json* find_figure(const nlohmann::json& object, const std::vector<std::string>& path);

}  // namespace corsair::bench
