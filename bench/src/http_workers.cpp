#include "http_workers.hpp"

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "http_load.hpp"

namespace corsair::bench {

namespace {

using Clock = std::chrono::steady_clock;

// A claim waits this long for a job; short, so that the workers notice the end soon.
constexpr const char* kClaimBody = R"({"wait":"200ms"})";

// Why a request failed, or empty when it was answered `expected` (or 204 when `allows_empty`).
std::string problem_of(const char* what, const httplib::Result& result, bool allows_empty) {
    if (!result) return std::string("HTTP ") + what + " failed: " + httplib::to_string(result.error());
    if (result->status == 200 || (allows_empty && result->status == 204)) return {};
    return std::string("HTTP ") + what + " answered " + std::to_string(result->status) + ": " +
           result->body.substr(0, 300);
}

// The complete request's body: the claimed payload back, as the echo handler does.
std::string echo_body(const std::string& claim_answer) {
    const auto lease = nlohmann::json::parse(claim_answer);
    nlohmann::json body = nlohmann::json::object();
    if (lease.contains("payload")) body["result"] = lease["payload"];
    if (lease.contains("payload_base64")) body["result_base64"] = lease["payload_base64"];
    return body.dump();
}

}  // namespace

HttpWorkers::HttpWorkers(std::string address, std::string queue, int threads)
    : claim_path_("/api/v1/queues/" + queue + "/claim"), threads_(threads) {
    std::tie(host_, port_) = split_http_address(address);
}

double HttpWorkers::run(std::uint64_t count, std::chrono::milliseconds timeout) const {
    const auto started = Clock::now();
    const auto deadline = started + timeout;
    std::atomic<std::uint64_t> completed{0};
    std::atomic<bool> has_failed{false};  // one worker's failure stops the others
    std::mutex mutex;
    std::string problem;
    Clock::time_point last_completion = started;
    const auto worker = [&] {
        httplib::Client client(host_, port_);
        client.set_keep_alive(true);
        client.set_tcp_nodelay(true);  // headers and body leave in separate writes: Nagle would hold the body
        client.set_read_timeout(std::chrono::seconds(30));
        std::string failure;
        while (failure.empty() && !has_failed.load() && completed.load() < count && Clock::now() < deadline) {
            const auto claim = client.Post(claim_path_, kClaimBody, "application/json");
            failure = problem_of("claim", claim, true);
            if (!failure.empty() || claim->status == 204) continue;
            const auto token = nlohmann::json::parse(claim->body).at("token").get<std::string>();
            const auto done = client.Post("/api/v1/leases/" + token + "/complete", echo_body(claim->body), "application/json");
            failure = problem_of("complete", done, false);
            if (failure.empty() && completed.fetch_add(1) + 1 == count) {
                const std::lock_guard lock(mutex);
                last_completion = Clock::now();
            }
        }
        if (failure.empty()) return;
        has_failed = true;
        const std::lock_guard lock(mutex);
        if (problem.empty()) problem = failure;
    };
    std::vector<std::thread> threads;
    for (int i = 0; i < threads_; ++i) threads.emplace_back(worker);
    for (auto& thread : threads) thread.join();
    if (!problem.empty()) throw std::runtime_error(problem);
    if (completed.load() < count) throw std::runtime_error("HTTP workers missed their deadline");
    return std::chrono::duration<double>(last_completion - started).count();
}

}  // namespace corsair::bench
