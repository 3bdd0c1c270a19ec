#include "http_load.hpp"

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace corsair::bench {

namespace {

using Clock = std::chrono::steady_clock;

// One job object of the JSON API; nlohmann escapes the payload's quotes and backslashes.
nlohmann::json job_object(const JobSource& source, std::uint64_t n) {
    return {{"id", source.job_id(n)}, {"payload", std::string(source.payload(n))}};
}

std::string request_body(const JobSource& source, std::uint64_t first, std::uint64_t count) {
    if (count == 1) return job_object(source, first).dump();
    nlohmann::json jobs = nlohmann::json::array();
    for (std::uint64_t n = first; n < first + count; ++n) jobs.push_back(job_object(source, n));
    return jobs.dump();
}

// Why a submit request failed, or empty when it was answered 202.
std::string problem_of(const httplib::Result& result) {
    if (!result) return "HTTP submit failed: " + httplib::to_string(result.error());
    if (result->status != 202) {
        return "HTTP submit answered " + std::to_string(result->status) + ": " + result->body.substr(0, 300);
    }
    return {};
}

}  // namespace

std::pair<std::string, int> split_http_address(const std::string& address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos || colon + 1 == address.size()) {
        throw std::runtime_error("no port in the broker's HTTP address '" + address + "'");
    }
    return {address.substr(0, colon), std::stoi(address.substr(colon + 1))};
}

HttpLoad::HttpLoad(std::string address, std::string queue, int connections)
    : path_("/api/v1/queues/" + queue + "/jobs"), connections_(connections) {
    std::tie(host_, port_) = split_http_address(address);
}

double HttpLoad::submit(const JobSource& source, std::uint64_t first, std::uint64_t count, std::size_t batch,
                        std::chrono::milliseconds timeout) const {
    const std::uint64_t requests = (count + batch - 1) / batch;
    const auto deadline = Clock::now() + timeout;
    std::atomic<std::uint64_t> next_request{0};
    std::mutex problem_mutex;
    std::string problem;
    const auto connection = [&] {
        httplib::Client client(host_, port_);
        client.set_keep_alive(true);
        client.set_tcp_nodelay(true);  // headers and body leave in separate writes: Nagle would hold the body
        client.set_read_timeout(std::chrono::seconds(30));
        for (;;) {
            const auto request = next_request.fetch_add(1);
            if (request >= requests || Clock::now() > deadline) return;
            const auto begin = first + request * batch;
            const auto jobs = std::min<std::uint64_t>(batch, first + count - begin);
            const auto failure = problem_of(client.Post(path_, request_body(source, begin, jobs), "application/json"));
            if (!failure.empty()) {
                const std::lock_guard lock(problem_mutex);
                if (problem.empty()) problem = failure;
                next_request = requests;  // the other connections stop too
                return;
            }
        }
    };
    const auto started = Clock::now();
    std::vector<std::thread> threads;
    for (int i = 0; i < connections_; ++i) threads.emplace_back(connection);
    for (auto& thread : threads) thread.join();
    const std::chrono::duration<double> seconds = Clock::now() - started;
    if (!problem.empty()) throw std::runtime_error(problem);
    if (Clock::now() > deadline) throw std::runtime_error("HTTP submits missed their deadline");
    return seconds.count();
}

}  // namespace corsair::bench
