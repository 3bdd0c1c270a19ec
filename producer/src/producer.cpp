#include "corsair/producer/producer.hpp"

#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cinttypes>
#include <cstdio>
#include <random>
#include <utility>

namespace corsair::producer {

namespace {

using protocol::ErrorCode;
using std::chrono::milliseconds;

// A check round asks about this many of the oldest awaited jobs; enough to notice a restart.
constexpr std::size_t kChecksPerRound = 8;
// Bounds the search for accepted jobs among the oldest awaited ones (unaccepted ones are skipped).
constexpr std::size_t kMaxCheckScan = 4096;
// Messages handled per pump before timers and sends get another turn.
constexpr std::size_t kMaxReceivesPerPump = 4096;
// A socket poll never sleeps longer than this, so a very far deadline stays representable.
constexpr milliseconds kMaxPollSlice{60'000};

std::string random_prefix() {
    std::random_device device;
    std::uint64_t bits = (static_cast<std::uint64_t>(device()) << 32) ^ device();
    // random_device may be deterministic on odd platforms: mix in time and pid as well.
    bits ^= static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) *
            0x9E3779B97F4A7C15ULL;
    bits ^= static_cast<std::uint64_t>(::getpid()) << 17;
    char text[17];
    std::snprintf(text, sizeof text, "%016" PRIx64, bits);
    return text;
}

std::string describe(const protocol::Error& error) {
    std::string text(protocol::to_string(error.code));
    if (!error.message.empty()) text += ": " + error.message;
    return text;
}

ProducerError refused(const protocol::Error& error, const std::string& id) {
    return ProducerError(ProducerError::Kind::refused, error.code,
                         "broker refused job " + id + " (" + describe(error) + ")");
}

std::string format_ms(milliseconds duration) { return std::to_string(duration.count()) + "ms"; }

}  // namespace

Producer::Producer(zmq::context_t& context, ProducerOptions options)
    : options_(std::move(options)),
      socket_(context, zmq::socket_type::dealer),
      owner_thread_(std::this_thread::get_id()),
      id_prefix_(random_prefix()),
      last_heard_(Clock::now()) {
    options_.window = std::max<std::size_t>(options_.window, 1);
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::maxmsgsize,
                static_cast<std::int64_t>(options_.max_payload_bytes + protocol::kFrameOverheadBytes));
    // Queue nothing for a broker that is not connected: unsent SUBMITs wait in outbox_, where
    // resend logic can see them, instead of piling up in a pipe that a restart would discard.
    socket_.set(zmq::sockopt::immediate, 1);
    socket_.set(zmq::sockopt::rcvhwm, 10'000);
    try {
        socket_.connect(options_.broker_endpoint);
    } catch (const zmq::error_t& e) {
        throw ProducerError(ProducerError::Kind::invalid, ErrorCode::bad_field_value,
                            "bad broker endpoint '" + options_.broker_endpoint + "': " + e.what());
    }
}

void Producer::assert_owner_thread() const { assert(std::this_thread::get_id() == owner_thread_); }

std::string Producer::new_job_id() { return id_prefix_ + "-" + std::to_string(next_sequence_++); }

void Producer::validate(std::string_view queue, std::string_view payload, std::string_view id) const {
    using Kind = ProducerError::Kind;
    if (queue.empty()) throw ProducerError(Kind::invalid, ErrorCode::bad_field_value, "queue name is empty");
    if (queue.size() > protocol::kMaxQueueNameBytes) {
        throw ProducerError(Kind::invalid, ErrorCode::bad_field_value,
                            "queue name is " + std::to_string(queue.size()) + " bytes; the limit is " +
                                std::to_string(protocol::kMaxQueueNameBytes));
    }
    if (id.size() > protocol::kMaxJobIdBytes) {
        throw ProducerError(Kind::invalid, ErrorCode::bad_field_value,
                            "job id is " + std::to_string(id.size()) + " bytes; the limit is " +
                                std::to_string(protocol::kMaxJobIdBytes));
    }
    if (payload.size() > options_.max_payload_bytes) {
        throw ProducerError(Kind::invalid, ErrorCode::payload_too_large,
                            "payload is " + std::to_string(payload.size()) + " bytes; the limit is " +
                                std::to_string(options_.max_payload_bytes));
    }
}

std::string Producer::submit(std::string_view queue, std::string_view payload, milliseconds timeout) {
    assert_owner_thread();
    const auto deadline = Clock::now() + timeout;
    std::string id = submit_async(queue, payload, false);
    Event event;
    pump_until(deadline, [&] {
        return std::any_of(events_.begin(), events_.end(), [&](const Event& e) {
            return e.id == id && (e.kind == Event::Kind::accepted || e.kind == Event::Kind::error);
        });
    });
    if (take_event(Event::Kind::accepted, id, event)) return id;
    if (take_event(Event::Kind::error, id, event)) throw refused(event.error, id);
    forget(id);
    throw ProducerError(ProducerError::Kind::timeout, ErrorCode::internal,
                        "timed out after " + format_ms(timeout) + " waiting for the broker at " +
                            options_.broker_endpoint + " to accept job " + id + " (is the broker running?)");
}

std::string Producer::submit_async(std::string_view queue, std::string_view payload, bool wants_result,
                                   std::string id) {
    assert_owner_thread();
    validate(queue, payload, id);
    if (id.empty()) id = new_job_id();
    if (jobs_.count(id) != 0) {
        throw ProducerError(ProducerError::Kind::invalid, ErrorCode::bad_field_value,
                            "job " + id + " is already in flight from this producer");
    }
    pump_once(Clock::now());
    if (unaccepted_count_ >= options_.window) {
        const auto blocked_since = Clock::now();
        while (unaccepted_count_ >= options_.window) {
            auto deadline = Clock::time_point::max();
            if (options_.window_wait_limit.count() > 0) {
                deadline = std::max(last_heard_, blocked_since) + options_.window_wait_limit;
                if (Clock::now() >= deadline) {
                    throw ProducerError(ProducerError::Kind::timeout, ErrorCode::internal,
                                        "the broker at " + options_.broker_endpoint + " accepted nothing for " +
                                            format_ms(options_.window_wait_limit) + " while " +
                                            std::to_string(unaccepted_count_) +
                                            " submits were outstanding (is the broker running?)");
                }
            }
            pump_once(deadline);
        }
    }
    track(id, queue, payload, wants_result);
    flush_outbox();
    return id;
}

std::vector<Event> Producer::poll(milliseconds timeout) {
    assert_owner_thread();
    const auto deadline = Clock::now() + timeout;
    pump_once(Clock::now());
    pump_until(deadline, [&] { return !events_.empty(); });
    std::vector<Event> events(std::make_move_iterator(events_.begin()), std::make_move_iterator(events_.end()));
    events_.clear();
    return events;
}

Outcome Producer::wait_result(const std::string& id, milliseconds timeout) {
    assert_owner_thread();
    const auto deadline = Clock::now() + timeout;
    Event event;
    auto take_outcome = [&]() -> bool {
        if (take_event(Event::Kind::result, id, event)) return true;
        if (take_event(Event::Kind::error, id, event)) throw refused(event.error, id);
        return false;
    };
    if (take_outcome()) return std::move(event.outcome);
    const auto it = jobs_.find(id);
    if (it == jobs_.end() || !it->second.wants_result) {
        throw ProducerError(ProducerError::Kind::invalid, ErrorCode::unknown_job,
                            "no result is awaited for job " + id +
                                " (submit it with wants_result; each result is returned once)");
    }
    pump_until(deadline, [&] {
        return std::any_of(events_.begin(), events_.end(), [&](const Event& e) {
            return e.id == id && (e.kind == Event::Kind::result || e.kind == Event::Kind::error);
        });
    });
    if (take_outcome()) return std::move(event.outcome);
    throw ProducerError(ProducerError::Kind::timeout, ErrorCode::internal,
                        "timed out after " + format_ms(timeout) + " waiting for the result of job " + id +
                            " from the broker at " + options_.broker_endpoint);
}

protocol::StatusReply Producer::status(const std::string& id, milliseconds timeout) {
    assert_owner_thread();
    if (id.empty()) throw ProducerError(ProducerError::Kind::invalid, ErrorCode::bad_field_value, "job id is empty");
    validate("-", {}, id);
    const auto deadline = Clock::now() + timeout;
    status_request_id_ = id;
    status_answer_.reset();
    outbox_.push_back(OutgoingStatus{id});
    flush_outbox();
    pump_until(deadline, [&] { return status_answer_.has_value(); });
    status_request_id_.reset();
    if (!status_answer_) {
        throw ProducerError(ProducerError::Kind::timeout, ErrorCode::internal,
                            "timed out after " + format_ms(timeout) + " waiting for the broker at " +
                                options_.broker_endpoint + " to answer STATUS (is the broker running?)");
    }
    auto answer = std::move(*status_answer_);
    status_answer_.reset();
    if (auto* error = std::get_if<protocol::Error>(&answer)) {
        if (error->code == ErrorCode::unknown_job) {
            throw ProducerError(ProducerError::Kind::refused, error->code, "no job with id " + id + " is known");
        }
        throw refused(*error, id);
    }
    return std::move(std::get<protocol::StatusReply>(answer));
}

protocol::StatsReply Producer::stats(milliseconds timeout) {
    assert_owner_thread();
    const auto deadline = Clock::now() + timeout;
    is_stats_requested_ = true;
    stats_answer_.reset();
    outbox_.push_back(OutgoingStats{});
    flush_outbox();
    pump_until(deadline, [&] { return stats_answer_.has_value(); });
    is_stats_requested_ = false;
    if (!stats_answer_) {
        throw ProducerError(ProducerError::Kind::timeout, ErrorCode::internal,
                            "timed out after " + format_ms(timeout) + " waiting for the broker at " +
                                options_.broker_endpoint + " to answer STATS (is the broker running?)");
    }
    auto answer = std::move(*stats_answer_);
    stats_answer_.reset();
    return answer;
}

void Producer::track(std::string id, std::string_view queue, std::string_view payload, bool wants_result) {
    TrackedJob job;
    job.queue = std::string(queue);
    job.payload = std::string(payload);
    job.wants_result = wants_result;
    if (wants_result) {
        job.order = next_order_++;
        awaited_order_.emplace(job.order, id);
    }
    auto [it, inserted] = jobs_.emplace(std::move(id), std::move(job));
    assert(inserted);
    ++unaccepted_count_;
    queue_submit(it->first, it->second);
}

void Producer::forget(const std::string& id) {
    const auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    if (!it->second.is_accepted) --unaccepted_count_;
    if (it->second.wants_result) awaited_order_.erase(it->second.order);
    jobs_.erase(it);
}

void Producer::queue_submit(const std::string& id, TrackedJob& job) {
    if (job.is_queued_for_send) return;
    job.is_queued_for_send = true;
    outbox_.push_back(OutgoingSubmit{id});
}

template <class Predicate>
bool Producer::pump_until(Clock::time_point deadline, Predicate is_finished) {
    for (;;) {
        if (is_finished()) return true;
        if (Clock::now() >= deadline) return false;
        pump_once(deadline);
    }
}

void Producer::pump_once(Clock::time_point deadline) {
    flush_outbox();
    auto now = Clock::now();
    run_timers(now);
    flush_outbox();
    const auto wake = std::min(deadline, next_timer(now));
    if (wake > now) {
        const auto timeout = std::min(std::chrono::ceil<milliseconds>(wake - now), kMaxPollSlice);
        const short events = ZMQ_POLLIN | (outbox_.empty() ? 0 : ZMQ_POLLOUT);
        zmq::pollitem_t item{socket_.handle(), 0, events, 0};
        try {
            zmq::poll(&item, 1, timeout);
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
        }
    }
    receive_available();
    flush_outbox();
}

void Producer::flush_outbox() {
    while (!outbox_.empty()) {
        if (!send_outgoing(outbox_.front())) return;
        outbox_.pop_front();
    }
}

bool Producer::send_outgoing(const Outgoing& outgoing) {
    if (const auto* submit = std::get_if<OutgoingSubmit>(&outgoing)) {
        const auto it = jobs_.find(submit->id);
        if (it == jobs_.end() || !it->second.is_queued_for_send) return true;  // forgotten meanwhile
        TrackedJob& job = it->second;
        if (job.is_accepted) {
            job.is_queued_for_send = false;
            return true;
        }
        protocol::Submit message{submit->id, job.queue, job.wants_result, protocol::make_payload(job.payload)};
        if (protocol::send_message(socket_, std::move(message)) != protocol::SendStatus::sent) return false;
        job.is_queued_for_send = false;
        job.sent_at = Clock::now();
        resend_queue_.emplace_back(job.sent_at, submit->id);
        return true;
    }
    if (const auto* status = std::get_if<OutgoingStatus>(&outgoing)) {
        return protocol::send_message(socket_, protocol::StatusRequest{status->id}) == protocol::SendStatus::sent;
    }
    return protocol::send_message(socket_, protocol::StatsRequest{}) == protocol::SendStatus::sent;
}

void Producer::run_timers(Clock::time_point now) {
    while (!resend_queue_.empty() && resend_queue_.front().first + options_.resend_after <= now) {
        auto [sent_at, id] = std::move(resend_queue_.front());
        resend_queue_.pop_front();
        const auto it = jobs_.find(id);
        // Only the latest send of a still-unaccepted job counts; older entries are stale.
        if (it == jobs_.end() || it->second.is_accepted || it->second.sent_at != sent_at) continue;
        ++resubmissions_;
        queue_submit(it->first, it->second);
    }
    if (awaited_order_.empty() || now - last_heard_ < options_.check_after ||
        now - last_check_round_ < options_.check_after) {
        return;
    }
    // The broker is quiet while we await results: make sure it still knows the oldest jobs.
    last_check_round_ = now;
    std::size_t scanned = 0;
    std::size_t checked = 0;
    for (const auto& [order, id] : awaited_order_) {
        if (++scanned > kMaxCheckScan || checked == kChecksPerRound) break;
        const auto it = jobs_.find(id);
        if (it == jobs_.end() || !it->second.is_accepted) continue;
        if (protocol::send_message(socket_, protocol::StatusRequest{id}) != protocol::SendStatus::sent) break;
        ++checked;
    }
}

Producer::Clock::time_point Producer::next_timer(Clock::time_point now) const {
    auto next = Clock::time_point::max();
    if (!resend_queue_.empty()) next = resend_queue_.front().first + options_.resend_after;
    if (!awaited_order_.empty()) {
        next = std::min(next, std::max(last_heard_, last_check_round_) + options_.check_after);
    }
    return std::max(next, now);
}

void Producer::receive_available() {
    protocol::Frames frames;
    const protocol::DecodeLimits limits{options_.max_payload_bytes};
    for (std::size_t i = 0; i < kMaxReceivesPerPump; ++i) {
        if (!protocol::receive_frames(socket_, frames)) return;
        last_heard_ = Clock::now();
        auto decoded = protocol::decode(frames, 0, limits);
        if (!decoded) {
            ++dropped_messages_;
            continue;
        }
        handle(std::move(decoded).value());
    }
}

void Producer::handle(protocol::Message&& message) {
    std::visit(
        [this](auto&& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, protocol::Accepted>) {
                on_accepted(m);
            } else if constexpr (std::is_same_v<T, protocol::JobResult>) {
                on_result(std::move(m));
            } else if constexpr (std::is_same_v<T, protocol::StatusReply>) {
                on_status_reply(std::move(m));
            } else if constexpr (std::is_same_v<T, protocol::StatsReply>) {
                if (is_stats_requested_) stats_answer_ = std::move(m);
            } else if constexpr (std::is_same_v<T, protocol::Error>) {
                on_error(std::move(m));
            } else {
                ++dropped_messages_;  // a worker-side or request command has no business here
            }
        },
        std::move(message));
}

void Producer::mark_accepted(const std::string& id, TrackedJob& job) {
    job.is_accepted = true;
    --unaccepted_count_;
    if (job.is_acceptance_reported) return;  // accepted again after a resubmission
    job.is_acceptance_reported = true;
    Event event;
    event.kind = Event::Kind::accepted;
    event.id = id;
    events_.push_back(std::move(event));
}

void Producer::on_accepted(const protocol::Accepted& accepted) {
    const auto it = jobs_.find(accepted.id);
    if (it == jobs_.end() || it->second.is_accepted) return;  // a resend's second ACCEPTED
    mark_accepted(it->first, it->second);
    // Accepted and nobody awaits the result: the payload is no longer needed.
    if (!it->second.wants_result) jobs_.erase(it);
}

void Producer::on_result(protocol::JobResult&& result) {
    const auto it = jobs_.find(result.id);
    if (it == jobs_.end() || !it->second.wants_result) return;  // duplicate, or not asked for
    if (!it->second.is_accepted) mark_accepted(it->first, it->second);
    Outcome outcome{result.id, result.state, result.attempt, std::string(protocol::view_of(result.payload)),
                    std::move(result.error)};
    deliver(std::move(outcome));
}

void Producer::on_status_reply(protocol::StatusReply&& reply) {
    const auto it = jobs_.find(reply.id);
    const bool has_ended = reply.state == protocol::JobState::done || reply.state == protocol::JobState::failed;
    if (it != jobs_.end() && it->second.wants_result && has_ended) {
        // The RESULT push was lost (or is still on its way): the STATUS_REPLY carries the same outcome.
        if (!it->second.is_accepted) mark_accepted(it->first, it->second);
        deliver(Outcome{reply.id, reply.state, reply.attempt, std::string(protocol::view_of(reply.payload)), reply.error});
    }
    if (status_request_id_ && *status_request_id_ == reply.id && !status_answer_) status_answer_ = std::move(reply);
}

void Producer::on_error(protocol::Error&& error) {
    if (status_request_id_ && *status_request_id_ == error.id && !status_answer_) status_answer_ = error;
    const auto it = jobs_.find(error.id);
    if (it == jobs_.end()) {
        if (error.id.empty()) events_.push_back(Event{Event::Kind::error, {}, {}, std::move(error)});
        return;
    }
    if (error.code == ErrorCode::unknown_job) {
        // An accepted job the broker no longer knows: it restarted and lost its state. Its other
        // awaited jobs are gone too, so resubmit them all (same ids: idempotent if some survived).
        if (it->second.is_accepted && it->second.wants_result) resubmit_awaited();
        return;
    }
    if (it->second.is_accepted) return;  // not about the SUBMIT: e.g. a refused STATUS
    std::string id = it->first;
    forget(id);
    events_.push_back(Event{Event::Kind::error, std::move(id), {}, std::move(error)});
}

void Producer::deliver(Outcome outcome) {
    forget(outcome.id);
    Event event;
    event.kind = Event::Kind::result;
    event.id = outcome.id;
    event.outcome = std::move(outcome);
    events_.push_back(std::move(event));
}

void Producer::resubmit_awaited() {
    for (const auto& [order, id] : awaited_order_) {
        auto& job = jobs_.at(id);
        if (!job.is_accepted) continue;
        job.is_accepted = false;
        ++unaccepted_count_;
        ++resubmissions_;
        queue_submit(id, job);
    }
}

bool Producer::take_event(Event::Kind kind, const std::string& id, Event& out) {
    const auto it =
        std::find_if(events_.begin(), events_.end(), [&](const Event& e) { return e.kind == kind && e.id == id; });
    if (it == events_.end()) return false;
    out = std::move(*it);
    events_.erase(it);
    return true;
}

}  // namespace corsair::producer
