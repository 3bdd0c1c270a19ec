#include "metrics_scraper.hpp"

#include <httplib.h>

#include "http_load.hpp"

namespace corsair::bench {

MetricsScraper::MetricsScraper(const std::string& address, std::chrono::milliseconds every) {
    auto [host, port] = split_http_address(address);
    thread_ = std::thread([this, host = std::move(host), port, every] { scrape_until_stopped(host, port, every); });
}

MetricsScraper::~MetricsScraper() { stop(); }

MetricsScraper::Tally MetricsScraper::stop() {
    {
        const std::lock_guard lock(mutex_);
        is_stopping_ = true;
    }
    stop_wanted_.notify_all();
    if (thread_.joinable()) thread_.join();
    const std::lock_guard lock(mutex_);
    return tally_;
}

void MetricsScraper::scrape_until_stopped(std::string host, int port, std::chrono::milliseconds every) {
    httplib::Client client(host, port);
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);  // headers and body leave in separate writes: Nagle would hold the body
    client.set_read_timeout(std::chrono::seconds(10));
    auto next = std::chrono::steady_clock::now();
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            if (stop_wanted_.wait_until(lock, next, [this] { return is_stopping_; })) return;
        }
        const auto started = std::chrono::steady_clock::now();
        const auto result = client.Get("/metrics");
        const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - started;
        next = started + every;
        const std::lock_guard lock(mutex_);
        if (result && result->status == 200) {
            ++tally_.scrapes;
            tally_.longest_ms = std::max(tally_.longest_ms, took.count());
            tally_.last_bytes = result->body.size();
        } else {
            ++tally_.failures;
        }
    }
}

}  // namespace corsair::bench
