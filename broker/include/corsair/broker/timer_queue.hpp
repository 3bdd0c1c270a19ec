// Deadlines keyed by time: when a delayed job becomes ready, when a lease times out. The next
// deadline is O(1), adding and cancelling O(log n); the broker never scans all jobs for time.
// Owned by the broker's loop thread.
#pragma once

#include <chrono>
#include <map>
#include <optional>

namespace corsair::broker {

template <class Key>
class TimerQueue {
public:
    using TimePoint = std::chrono::steady_clock::time_point;
    using Handle = typename std::multimap<TimePoint, Key>::iterator;

    // Timers due at the same instant fire in the order they were added.
    Handle add(TimePoint at, Key key) { return timers_.emplace_hint(timers_.upper_bound(at), at, key); }
    void cancel(Handle handle) { timers_.erase(handle); }

    std::optional<TimePoint> next_deadline() const {
        if (timers_.empty()) return std::nullopt;
        return timers_.begin()->first;
    }
    // Removes the earliest timer if it is due at `now` and returns its key.
    std::optional<Key> pop_due(TimePoint now) {
        if (timers_.empty() || timers_.begin()->first > now) return std::nullopt;
        Key key = timers_.begin()->second;
        timers_.erase(timers_.begin());
        return key;
    }
    std::size_t size() const noexcept { return timers_.size(); }

private:
    std::multimap<TimePoint, Key> timers_;
};

}  // namespace corsair::broker
