#include "statistics.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace corsair::bench {

double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const auto middle = values.size() / 2;
    return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

double percentile_of_sorted(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

LatencySummary summarize(std::vector<double>& samples_us) {
    LatencySummary summary;
    if (samples_us.empty()) return summary;
    std::sort(samples_us.begin(), samples_us.end());
    summary.min_us = samples_us.front();
    summary.p50_us = percentile_of_sorted(samples_us, 50);
    summary.p90_us = percentile_of_sorted(samples_us, 90);
    summary.p99_us = percentile_of_sorted(samples_us, 99);
    summary.p999_us = percentile_of_sorted(samples_us, 99.9);
    summary.mean_us = std::accumulate(samples_us.begin(), samples_us.end(), 0.0) / static_cast<double>(samples_us.size());
    summary.max_us = samples_us.back();
    return summary;
}

const std::vector<double>& distribution_points() {
    static const std::vector<double> kPoints = [] {
        std::vector<double> points;
        for (int p = 1; p <= 99; ++p) points.push_back(p);
        points.insert(points.end(), {99.5, 99.9, 99.99});
        return points;
    }();
    return kPoints;
}

}  // namespace corsair::bench
