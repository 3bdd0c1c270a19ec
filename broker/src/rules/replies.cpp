#include "replies.hpp"

#include <algorithm>

namespace corsair::broker {

namespace p = corsair::protocol;

void Replies::send(const RoutingId& producer, p::Frames frames) {
    if (outbox_.to_producer(producer, frames) != p::SendStatus::sent) {
        // The producer's connection is gone or not reading; results stay in the store for STATUS.
        ++counters_.results_undeliverable;
    }
}

void Replies::send_error(const RoutingId& producer, p::ErrorCode code, std::string message, std::string id,
                         std::string command) {
    send(producer, p::encode(p::Error{code, std::move(message), std::move(id), std::move(command)}));
}

void Replies::send_when_durable(const RoutingId& producer, p::Frames frames) {
    const std::uint64_t sequence = journal_.last_sequence();
    if (sequence <= durable_sequence_) {
        send(producer, std::move(frames));
        return;
    }
    held_until_durable_.push_back({sequence, producer, std::move(frames)});
}

void Replies::on_durable(std::uint64_t sequence) {
    durable_sequence_ = std::max(durable_sequence_, sequence);
    while (!held_until_durable_.empty() && held_until_durable_.front().sequence <= durable_sequence_) {
        auto& held = held_until_durable_.front();
        if (held.is_in_flight) in_flight_.remove(held.producer);
        outbox_.to_producer(held.producer, held.frames);
        held_until_durable_.pop_front();
    }
}

void Replies::send_accepted(const RoutingId& producer, std::string id, bool existed, std::string job_id,
                            bool tells_reads_packed) {
    send_acceptance(producer,
                    p::encode(p::Accepted{std::move(id), existed, std::move(job_id), instance_, tells_reads_packed}));
}

void Replies::send_existed(const RoutingId& producer, std::string id, std::string job_id, bool tells_reads_packed) {
    send(producer, p::encode(p::Accepted{std::move(id), true, std::move(job_id), instance_, tells_reads_packed}));
}

void Replies::send_acceptance(const RoutingId& producer, p::Frames frames) {
    const std::uint64_t sequence = journal_.last_sequence();
    if (sequence <= durable_sequence_) {
        send(producer, std::move(frames));
        return;
    }
    held_until_durable_.push_back({sequence, producer, std::move(frames), counts_in_flight_});
    if (counts_in_flight_) in_flight_.add(producer);
}

void Replies::set_reply_to(JobRecord& job, const RoutingId& producer, std::uint32_t results_batch, bool reads_packed) {
    if (job.reply_to != nullptr && *job.reply_to == producer) {
        targets_.set_results_form(job.reply_to, results_batch, reads_packed);
        return;
    }
    if (job.reply_to != nullptr) targets_.release(job.reply_to);
    job.reply_to = targets_.hold(producer, results_batch, reads_packed);
}

void Replies::forget_reply_to(JobRecord& job) {
    if (job.reply_to != nullptr) targets_.release(job.reply_to);
    job.reply_to = nullptr;
}

void Replies::hold_accept(JobRecord& job, std::chrono::milliseconds within, TimePoint now) {
    held_accepts_.hold(job, within, now);
    if (counts_in_flight_) in_flight_.add(*job.reply_to);
}

void Replies::end_held_accept(const JobRecord& job) {
    if (counts_in_flight_) in_flight_.remove(*job.reply_to);
}

void Replies::settle_held_accept(JobRecord& job, HeldAcceptEnd end) {
    if (!held_accepts_.release(job)) return;
    end_held_accept(job);
    switch (end) {
        case HeldAcceptEnd::send_now: send_late_accepted(job); break;
        case HeldAcceptEnd::answered: break;
        case HeldAcceptEnd::folded: ++counters_.accepts_folded; break;
    }
}

void Replies::send_late_accepted(const JobRecord& job) {
    const std::string id(job.id());
    send_acceptance(*job.reply_to,
                    p::encode(p::Accepted{id, false, id, instance_, targets_.reads_packed(job.reply_to)}));
}

void Replies::fire(TimePoint now) {
    held_accepts_.fire(now, [this](JobRecord& job) {
        end_held_accept(job);
        send_late_accepted(job);
    });
}

void Replies::send_result(const JobRecord& job, p::JobResult&& result) {
    const RoutingId* producer = job.reply_to;
    const std::uint32_t batch = targets_.results_batch(producer);
    if (!is_in_turn_ || batch <= 1) {
        send_when_durable(*producer, p::encode(std::move(result)));
        return;
    }
    auto held = std::find_if(turn_results_.begin(), turn_results_.end(),
                             [producer](const TurnResults& entry) { return entry.producer == *producer; });
    if (held == turn_results_.end()) {
        turn_results_.push_back(TurnResults{*producer, targets_.reads_packed(producer), {}});
        held = std::prev(turn_results_.end());
    }
    held->results.push_back(std::move(result));
    if (held->results.size() < batch) return;
    send_turn_results(*held);
}

void Replies::send_turn_results(TurnResults& held) {
    if (held.results.size() == 1) {
        send_when_durable(held.producer, p::encode(std::move(held.results.front())));
        held.results.clear();
        return;
    }
    p::Results batch;
    batch.results.swap(held.results);
    batch.is_packed = held.reads_packed;
    send_when_durable(held.producer, p::encode(std::move(batch)));
}

void Replies::send_progress(const JobRecord& job, p::Progress&& progress) {
    if (job.reply_to != nullptr) send(*job.reply_to, p::encode(std::move(progress)));
}

void Replies::end_turn() {
    is_in_turn_ = false;
    for (TurnResults& held : turn_results_) {
        if (!held.results.empty()) send_turn_results(held);
    }
    turn_results_.clear();
}

}  // namespace corsair::broker
