#include "submissions.hpp"

#include <algorithm>

#include "corsair/protocol/duration.hpp"
#include "corsair/protocol/text.hpp"

namespace corsair::broker {

namespace p = corsair::protocol;

namespace {

bool is_set(const p::RetryPolicy& retry) {
    return retry.max_attempts || retry.backoff_ms || retry.backoff_max_ms || retry.backoff_jitter_pct;
}

}  // namespace

void Submissions::submit(const RoutingId& producer, p::Submit&& message, TimePoint now) {
    if (is_refusing_) {
        replies_.send_error(producer, p::ErrorCode::shutting_down, "broker is shutting down", message.id,
                                   "SUBMIT");
        return;
    }
    if (!fits_payload_limit(producer, message)) return;
    if (answers_known_id(producer, message) || answers_unique_hit(producer, message)) return;
    if (!fits_in_flight_limit(producer, message, now)) return;
    std::optional<TimePoint> ready_at;
    if (!read_ready_time(producer, message, now, ready_at)) return;
    if (QueueState* queue = queue_with_room(producer, message)) create_job(producer, std::move(message), *queue, ready_at, now);
}

// protocol.md §6 payload_too_large: the refusal carries the limit, which the producer adopts.
bool Submissions::fits_payload_limit(const RoutingId& producer, const p::Submit& message) {
    const std::size_t limit = context_.options.max_payload_bytes;
    if (message.payload.size() <= limit) return true;
    ++context_.counters.payload_refusals;
    context_.log.warn("submit refused: payload too large job={} queue={} payload_bytes={} max_payload_bytes={}",
                      message.id, message.queue, message.payload.size(), limit);
    p::Error error{p::ErrorCode::payload_too_large,
                   "payload is " + std::to_string(message.payload.size()) +
                       " bytes; this broker takes at most " + std::to_string(limit) + " bytes (--max-payload)",
                   message.id, "SUBMIT", limit};
    replies_.send(producer, p::encode(std::move(error)));
    return false;
}

// protocol.md §6 too_many_in_flight: a resend of a known job was answered above, so only a new
// job is refused; the refusal carries the limit, under which the producer keeps its window.
bool Submissions::fits_in_flight_limit(const RoutingId& producer, const p::Submit& message, TimePoint now) {
    const std::uint64_t limit = context_.options.max_in_flight;
    if (limit == 0 || replies_.in_flight(producer) < limit) return true;
    ++context_.counters.in_flight_refusals;
    if (const auto unlogged = in_flight_refusals_.admit("in_flight", now)) {
        const std::uint64_t refused = *unlogged + 1;
        context_.log.warn("submits refused: a producer connection is at --max-in-flight job={} max_in_flight={} "
                          "refused_since_last_line={}",
                          p::quoted(message.id), limit, refused);
    }
    p::Error error{p::ErrorCode::too_many_in_flight,
                   "this connection has " + std::to_string(limit) +
                       " submits not yet acknowledged (--max-in-flight); wait for their ACCEPTED and send again",
                   message.id, "SUBMIT"};
    error.max_in_flight = limit;
    replies_.send(producer, p::encode(std::move(error)));
    return false;
}

// protocol.md §12: a known id never makes a second job, and stands only for the same job: the
// same queue and payload bytes (an ended job's payload is compared by size and hash).
bool Submissions::answers_known_id(const RoutingId& producer, const p::Submit& message) {
    if (JobRecord* found = jobs_.find(message.id)) {
        JobRecord& job = *found;
        if (job.queue->name != message.queue || job.payload() != p::view_of(message.payload)) {
            refuse_conflict(producer, message, job.queue->name);
            return true;
        }
        ++context_.counters.duplicate_submits;
        // The ACCEPTED below answers for a held one from this producer; another's is sent first.
        const bool is_same_producer = job.reply_to != nullptr && *job.reply_to == producer;
        replies_.settle_held_accept(job, is_same_producer ? Replies::HeldAcceptEnd::answered
                                                         : Replies::HeldAcceptEnd::send_now);
        if (message.wants_result) replies_.set_reply_to(job, producer, message.results_batch, message.reads_packed);
        replies_.send_existed(producer, message.id, message.id, message.reads_packed);
        if (message.wants_result && job.state == JobState::dead) {
            replies_.send_when_durable(producer, p::encode(p::JobResult{message.id, p::JobState::failed, job.attempt,
                                                                       job.details().last_error, {}}));
        }
        return true;
    }
    if (const KeptResult* ended = results_.find(message.id)) {
        const std::string_view payload = p::view_of(message.payload);
        const bool is_other_payload =
            ended->payload_is_known &&
            (ended->payload_bytes != payload.size() || ended->payload_hash != payload_hash(payload));
        if (*ended->queue != message.queue || is_other_payload) {
            refuse_conflict(producer, message, *ended->queue);
            return true;
        }
        ++context_.counters.duplicate_submits;
        replies_.send_existed(producer, message.id, message.id, message.reads_packed);
        if (message.wants_result) {
            replies_.send_when_durable(producer, p::encode(p::JobResult{message.id, ended->state, ended->attempt,
                                                                       ended->error(), ended->result_message()}));
        }
        return true;
    }
    return false;
}

void Submissions::refuse_conflict(const RoutingId& producer, const p::Submit& message, const std::string& queue) {
    ++context_.counters.id_conflicts;
    const std::string what = queue != message.queue ? "in queue " + p::printable(queue, p::kMaxLoggedTextBytes)
                                                    : "with a different payload";
    context_.log.warn("submit refused: id in use job={} queue={} held_by_queue={}", p::quoted(message.id),
                      p::quoted(message.queue), p::quoted(queue));
    replies_.send_error(producer, p::ErrorCode::id_conflict,
                        "job id already used for another job " + what + "; a resubmission must repeat the queue and payload",
                        message.id, "SUBMIT");
}

// docs/jobs.md §Unique jobs: while a job holds the key, a submit with it stands for that job.
bool Submissions::answers_unique_hit(const RoutingId& producer, const p::Submit& message) {
    if (message.unique_key.empty()) return false;
    JobRecord* held = jobs_.find_unique(message.queue, message.unique_key);
    if (held == nullptr) return false;
    ++context_.counters.unique_hits;
    if (message.wants_result && (held->reply_to == nullptr || *held->reply_to != producer)) {
        replies_.settle_held_accept(*held, Replies::HeldAcceptEnd::send_now);
        replies_.set_reply_to(*held, producer, message.results_batch, message.reads_packed);
    }
    replies_.send_existed(producer, message.id, std::string(held->id()), message.reads_packed);
    return true;
}

bool Submissions::read_ready_time(const RoutingId& producer, const p::Submit& message, TimePoint now,
                                std::optional<TimePoint>& ready_at) {
    if (!message.run_at_ms) {
        if (message.delay_ms > 0) ready_at = now + std::chrono::milliseconds(message.delay_ms);
        return true;
    }
    const auto wall_now = context_.wall.now_ms();
    const auto run_at = std::chrono::milliseconds(static_cast<std::int64_t>(
        std::min<std::uint64_t>(*message.run_at_ms, static_cast<std::uint64_t>(INT64_MAX / 2))));
    if (run_at < wall_now) {
        replies_.send_error(producer, p::ErrorCode::bad_field_value,
                                   "run_at_ms: the time is in the past by " + p::format_duration(wall_now - run_at) +
                                       " (broker clock)",
                                   message.id, "SUBMIT");
        return false;
    }
    if (run_at - wall_now > std::chrono::milliseconds(p::kMaxDelayMs)) {
        replies_.send_error(producer, p::ErrorCode::bad_field_value, "run_at_ms: more than 365 days ahead",
                                   message.id, "SUBMIT");
        return false;
    }
    if (run_at > wall_now) ready_at = now + (run_at - wall_now);
    return true;
}

QueueState* Submissions::queue_with_room(const RoutingId& producer, const p::Submit& message) {
        if (!queues_.fits(message.queue)) {
        ++context_.counters.queue_limit_refusals;
        replies_.send_error(producer, p::ErrorCode::too_many_queues, queues_.limit_text(message.queue),
                                   message.id, "SUBMIT");
        return nullptr;
    }
    QueueState& queue = queues_.named(message.queue);
    if (queue.config.max_length != 0 && queue.waiting() >= queue.config.max_length) {
        ++context_.counters.queue_full_refusals;
        replies_.send_error(producer, p::ErrorCode::queue_full,
                                   "queue " + queue.name + " is full: " + std::to_string(queue.waiting()) +
                                       " jobs waiting, max_length " + std::to_string(queue.config.max_length),
                                   message.id, "SUBMIT");
        return nullptr;
    }
    return &queue;
}

void Submissions::create_job(const RoutingId& producer, p::Submit&& message, QueueState& queue,
                           std::optional<TimePoint> ready_at, TimePoint now) {
    JobRecord& job = jobs_.create(message.id, std::move(message.payload), queue);
    job.created_at = now;
    job.priority = message.priority;
    if (is_set(message.retry) || message.timeout_ms || !message.unique_key.empty()) {
        JobDetails& details = job.writable_details();
        details.retry = message.retry;
        details.timeout_ms = message.timeout_ms;
        details.unique_key = std::move(message.unique_key);
        jobs_.hold_unique_key(job);
    }
    if (message.wants_result) replies_.set_reply_to(job, producer, message.results_batch, message.reads_packed);
    ++context_.counters.jobs_submitted;
    ++queue.events.submitted;
    if (context_.journal.is_on()) {
        const JobDetails& details = job.details();
        context_.journal.append(JournalSubmitted{message.id, queue.name, std::string(job.payload()), job.priority, details.retry,
                                        details.timeout_ms, ready_at ? context_.wall.ms_at(*ready_at, now) : 0,
                                        details.unique_key, job.sequence, context_.wall.ms_at(now, now)});
    }
    if (ready_at) ++context_.counters.jobs_delayed;
    states_.move_job(job, ready_at ? JobMove::delayed(*ready_at) : JobMove::pending());
    context_.log.debug("submitted job={} queue={} priority={}", message.id, queue.name, job.priority);
    // docs/protocol.md §5.1: a producer waiting for the result may let the ACCEPTED wait for it.
    if (message.wants_result && message.accept_within_ms > 0) {
        replies_.hold_accept(job, std::chrono::milliseconds(message.accept_within_ms), now);
        return;
    }
    // docs/durability.md: ACCEPTED means the job is on disk (under the --fsync policy).
    replies_.send_accepted(producer, message.id, false, message.id, message.reads_packed);
}

}  // namespace corsair::broker
