// Medians and percentiles of measured samples (plain functions, no state).
#pragma once

#include <vector>

namespace corsair::bench {

// The median (mean of the middle two for an even count); 0 for no values.
double median(std::vector<double> values);
// Nearest-rank percentile `p` (0..100) of samples sorted ascending; 0 for none.
double percentile_of_sorted(const std::vector<double>& sorted, double p);

struct LatencySummary {
    double min_us = 0;
    double p50_us = 0;
    double p90_us = 0;
    double p99_us = 0;
    double p999_us = 0;
    double mean_us = 0;
    double max_us = 0;
};

// Sorts `samples_us` in place and summarises it.
LatencySummary summarize(std::vector<double>& samples_us);

// The percentiles written to the JSON for a latency distribution (p1..p99, p99.5, p99.9, p99.99).
const std::vector<double>& distribution_points();

}  // namespace corsair::bench
