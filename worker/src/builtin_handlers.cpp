#include "corsair/worker/builtin_handlers.hpp"

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>

namespace corsair::worker {

namespace {

constexpr std::uint64_t kMaxSleepMilliseconds = 24ULL * 3600 * 1000;

std::string_view trim(std::string_view text) {
    const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
}

}  // namespace

Handler echo_handler() {
    return [](const JobContext& job) { return std::string(job.payload); };
}

Handler noop_handler() {
    return [](const JobContext&) { return std::string(); };
}

Handler sleep_handler() {
    return [](const JobContext& job) {
        const std::string_view text = trim(job.payload);
        std::uint64_t milliseconds = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), milliseconds);
        if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
            milliseconds > kMaxSleepMilliseconds) {
            const std::string shown(text.substr(0, 64));
            throw std::invalid_argument("sleep payload must be a whole number of milliseconds from 0 to " +
                                        std::to_string(kMaxSleepMilliseconds) + ", got \"" + shown + "\"");
        }
        std::mutex mutex;
        std::condition_variable_any wake;
        std::unique_lock lock(mutex);
        std::stop_token stop = job.stop_token;
        // Nothing notifies `wake`: this is a sleep that a stop request cuts short.
        wake.wait_for(lock, stop, std::chrono::milliseconds(milliseconds), [] { return false; });
        if (stop.stop_requested()) throw std::runtime_error("sleep interrupted: worker stopping");
        return "slept " + std::to_string(milliseconds) + " ms";
    };
}

bool is_instant_builtin(std::string_view name) { return name == "echo" || name == "noop"; }

std::optional<Handler> builtin_handler(std::string_view name) {
    if (name == "echo") return echo_handler();
    if (name == "noop") return noop_handler();
    if (name == "sleep") return sleep_handler();
    return std::nullopt;
}

}  // namespace corsair::worker
