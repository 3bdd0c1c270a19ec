// A Prometheus server's part in the speed A/B of issue 13: GETs the broker's /metrics every
// second on a keep-alive connection, on a thread of its own that it starts and joins.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace corsair::bench {

class MetricsScraper {
public:
    // Starts scraping `address` (HOST:PORT) at once, then every `every`.
    explicit MetricsScraper(const std::string& address, std::chrono::milliseconds every = std::chrono::seconds(1));
    // Stops and joins the thread.
    ~MetricsScraper();
    MetricsScraper(const MetricsScraper&) = delete;
    MetricsScraper& operator=(const MetricsScraper&) = delete;

    struct Tally {
        std::uint64_t scrapes = 0;  // answered 200
        std::uint64_t failures = 0;
        double longest_ms = 0;      // the slowest answered scrape
        std::uint64_t last_bytes = 0;
    };
    // Stops scraping (idempotent) and returns what it saw.
    Tally stop();

private:
    void scrape_until_stopped(std::string host, int port, std::chrono::milliseconds every);

    std::mutex mutex_;
    std::condition_variable stop_wanted_;
    bool is_stopping_ = false;
    Tally tally_;  // guarded by mutex_
    std::thread thread_;
};

}  // namespace corsair::bench
