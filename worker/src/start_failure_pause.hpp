// StartFailurePause: what the worker does when a handler cannot start (NotStarted: the command is
// missing, not executable, or no process can be forked). The job goes back to the broker
// uncounted, and the worker takes no jobs for a pause that doubles each round (1, 2, 4, 8 s);
// after kMaxRounds rounds with no start in between, it gives up: it drains and exits with
// the fatal exit status (6, docs/cli.md), so that a supervisor sees the failure instead of a worker that
// looks alive and runs nothing. Failures during a pause (jobs already sent) are part of its
// round. Plain data on the Worker's I/O thread; time is passed in.
#pragma once

#include <chrono>
#include <cstdint>

namespace corsair::worker {

class StartFailurePause {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::uint32_t kMaxRounds = 5;
    static constexpr std::chrono::milliseconds kFirstPause{1000};

    enum class Action { none, pause, give_up };

    // A handler could not start at `now`. Returns pause when a new round begins (its length is
    // pause_length()), give_up on the round past kMaxRounds, none during a pause.
    Action on_failure(Clock::time_point now) {
        if (is_paused_) return Action::none;
        if (++rounds_ > kMaxRounds) return Action::give_up;
        is_paused_ = true;
        paused_until_ = now + pause_length();
        return Action::pause;
    }
    // A handler started (its attempt ended done or failed): the next failure begins anew.
    void on_started() { rounds_ = 0; }
    // True once when the pause is over at `now`: the worker takes jobs again.
    bool take_resume(Clock::time_point now) {
        if (!is_paused_ || now < paused_until_) return false;
        is_paused_ = false;
        return true;
    }

    bool is_paused() const noexcept { return is_paused_; }
    Clock::time_point paused_until() const noexcept { return paused_until_; }
    std::uint32_t rounds() const noexcept { return rounds_; }
    // The current round's pause: kFirstPause doubled for each earlier round.
    std::chrono::milliseconds pause_length() const noexcept {
        return kFirstPause * (1u << (rounds_ > 0 ? rounds_ - 1 : 0));
    }

private:
    std::uint32_t rounds_ = 0;  // rounds in a row with no start in between
    bool is_paused_ = false;
    Clock::time_point paused_until_{};
};

}  // namespace corsair::worker
