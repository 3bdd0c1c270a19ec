// At most one log line per key per period: a peer that retries a refused handshake, command,
// READY past --max-workers or SUBMIT past --max-in-flight many times a second is counted every
// time but logged once a minute. Memory is bounded: past
// kMaxKeys remembered keys, keys quiet for a whole period are forgotten, and if none is, new keys
// are logged without being remembered. Owned by one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace corsair::broker {

class LogLimiter {
public:
    using TimePoint = std::chrono::steady_clock::time_point;
    static constexpr std::size_t kMaxKeys = 10'000;

    explicit LogLimiter(std::chrono::steady_clock::duration period = std::chrono::minutes(1)) : period_(period) {}

    // Counts an event for `key`; returns how many earlier events of that key went unlogged since
    // its last line if this one should be logged, nothing if it should not.
    std::optional<std::uint64_t> admit(const std::string& key, TimePoint now) {
        auto it = seen_.find(key);
        if (it != seen_.end()) {
            if (now - it->second.logged_at < period_) {
                ++it->second.suppressed;
                return std::nullopt;
            }
            const auto suppressed = it->second.suppressed;
            it->second = {now, 0};
            return suppressed;
        }
        if (seen_.size() >= kMaxKeys) forget_quiet(now);
        if (seen_.size() < kMaxKeys) seen_.emplace(key, Entry{now, 0});
        return 0;
    }

    std::size_t remembered() const noexcept { return seen_.size(); }

private:
    struct Entry {
        TimePoint logged_at;
        std::uint64_t suppressed = 0;
    };

    void forget_quiet(TimePoint now) {
        for (auto it = seen_.begin(); it != seen_.end();) {
            it = now - it->second.logged_at >= period_ ? seen_.erase(it) : std::next(it);
        }
    }

    std::chrono::steady_clock::duration period_;
    std::unordered_map<std::string, Entry> seen_;
};

}  // namespace corsair::broker
