#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cinttypes>
#include <cstdio>
#include <random>
#include <utility>

#include "producer_impl.hpp"

namespace corsair::producer {

namespace {

using protocol::Command;
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
// A deadline already past: pump_once handles what is there and does not wait (saves a clock read).
constexpr Producer::Clock::time_point kNoWait{};
// How long submit_async waits for the broker's limit (STATS) before a payload over the default.
constexpr milliseconds kLimitQueryTimeout{5000};
// submit_async looks at the socket once per this many calls (and whenever the window is full).
constexpr std::uint32_t kSubmitsBetweenPumps = 64;
// Past this many records, an idle producer (no job tracked) gives their memory back.
constexpr std::size_t kMaxIdleRecords = 4096;
// The ids of one SUBMITS may take this much of its header (kMaxHeaderBytes): the shared fields,
// a queue name of 128 bytes at most, fit in what is left.
constexpr std::size_t kMaxBatchIdBytes = protocol::kMaxHeaderBytes - 4096;

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
                         "broker refused job " + id + " (" + describe(error) + ")", error.message);
}

// "broker refused CANCEL of j-1 (wrong_state: job j-1 is done)"
ProducerError refused_request(const protocol::Error& error, Command command, const std::string& subject) {
    std::string text = "broker refused " + std::string(protocol::to_string(command));
    if (!subject.empty()) text += " of " + subject;
    return ProducerError(ProducerError::Kind::refused, error.code, text + " (" + describe(error) + ")", error.message);
}

[[noreturn]] void reject(const std::string& message) {
    throw ProducerError(ProducerError::Kind::invalid, ErrorCode::bad_field_value, message);
}

void check_range(const char* field, std::uint64_t value, std::uint64_t min, std::uint64_t max) {
    if (value < min || value > max) {
        reject(std::string(field) + " must be between " + std::to_string(min) + " and " + std::to_string(max) +
               " (got " + std::to_string(value) + ")");
    }
}

std::string format_ms(milliseconds duration) { return std::to_string(duration.count()) + "ms"; }

// Puts `value` back to its default when the scope ends, however it ends.
template <class T>
struct ResetOnExit {
    T& value;
    ~ResetOnExit() { value = T{}; }
};
// Aggregates deduce their template arguments by themselves only from clang 17 on.
template <class T>
ResetOnExit(T&) -> ResetOnExit<T>;

// The optional SUBMIT fields of `options`. A run_at already past when the SUBMIT goes out (a resend,
// or a resubmission after a broker restart) is left out: the broker refuses a time in the past,
// and the job is due now, which is what a SUBMIT without it means.
void write_options(const JobOptions& options, protocol::Submit& message, std::chrono::system_clock::time_point now) {
    message.priority = options.priority;
    message.retry.max_attempts = options.max_attempts;
    if (options.backoff) message.retry.backoff_ms = static_cast<std::uint64_t>(options.backoff->count());
    if (options.backoff_max) message.retry.backoff_max_ms = static_cast<std::uint64_t>(options.backoff_max->count());
    message.retry.backoff_jitter_pct = options.backoff_jitter_pct;
    if (options.timeout) message.timeout_ms = static_cast<std::uint64_t>(options.timeout->count());
    message.delay_ms = static_cast<std::uint64_t>(options.delay.count());
    if (options.run_at && *options.run_at > now) message.run_at_ms = unix_milliseconds(*options.run_at);
    message.unique_key = options.unique_key;
}

}  // namespace

Producer::Impl::Impl(zmq::context_t& context, ProducerOptions options)
    : options_(std::move(options)),
      owner_thread_(std::this_thread::get_id()),
      id_prefix_(random_prefix()),
      last_heard_(Clock::now()),
      silent_since_(last_heard_),
      last_pumped_(last_heard_) {
    options_.window = std::max<std::size_t>(options_.window, 1);
    const auto accept_within = options_.accept_within.count();
    if (accept_within < 0 || static_cast<std::uint64_t>(accept_within) > protocol::kMaxAcceptWithinMs) {
        reject("accept_within must be between 0ms and " + std::to_string(protocol::kMaxAcceptWithinMs) + "ms (got " +
               format_ms(options_.accept_within) + ")");
    }
    if (options_.results_batch > protocol::kMaxBatchEntries) {
        reject("results_batch must be at most " + std::to_string(protocol::kMaxBatchEntries) + " (got " +
               std::to_string(options_.results_batch) + ")");
    }
    if (options_.submit_batch > protocol::kMaxBatchEntries) {
        reject("submit_batch must be at most " + std::to_string(protocol::kMaxBatchEntries) + " (got " +
               std::to_string(options_.submit_batch) + ")");
    }
    if (protocol::stream::is_direct_endpoint(options_.broker_endpoint)) {
        if (options_.curve.is_enabled()) {
            reject("'" + options_.broker_endpoint + "': the direct transport has no CURVE; connect to the broker's "
                   "tcp:// producer endpoint instead");
        }
        try {
            broker_.emplace(options_.broker_endpoint, protocol::stream::Role::producer);
        } catch (const std::invalid_argument& e) {
            throw ProducerError(ProducerError::Kind::invalid, ErrorCode::bad_field_value,
                                "bad broker endpoint: " + std::string(e.what()));
        }
        return;
    }
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, 0);
    // Any limit the broker announces fits: RESULTs under a raised --max-payload get through.
    socket.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(protocol::kClientMaxMessageBytes));
    // Deliberately not ZMQ_IMMEDIATE: with it, libzmq 4.3.4 aborts the whole process
    // ("Assertion failed: !_more (src/fq.cpp:112)") when the broker dies while replies stream in,
    // because the reconnect swaps the DEALER's pipe under a half-read message. Without it the pipe
    // outlives the connection: SUBMITs sent while the broker is away wait in it (up to sndhwm)
    // and go out on reconnect; any lost with the connection are resent (resend_after, or at once
    // when broker_instance changes), idempotent by job id.
    socket.set(zmq::sockopt::rcvhwm, 10'000);
    try {
        protocol::use_curve_client(socket, options_.curve);
    } catch (const std::invalid_argument& e) {
        reject(e.what());
    }
    try {
        socket.connect(options_.broker_endpoint);
    } catch (const zmq::error_t& e) {
        throw ProducerError(ProducerError::Kind::invalid, ErrorCode::bad_field_value,
                            "bad broker endpoint '" + options_.broker_endpoint + "': " + e.what());
    }
    broker_.emplace(std::move(socket));
}

void Producer::Impl::assert_owner_thread() const { assert(std::this_thread::get_id() == owner_thread_); }

std::string Producer::Impl::new_job_id() { return id_prefix_ + "-" + std::to_string(next_sequence_++); }

void Producer::Impl::check_input(std::string_view queue, std::string_view id) const {
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
}

void Producer::Impl::check_payload(std::string_view payload) {
    const auto too_large = [&](const std::string& limit) {
        return ProducerError(ProducerError::Kind::invalid, ErrorCode::payload_too_large,
                             "payload is " + std::to_string(payload.size()) + " bytes; " + limit);
    };
    if (options_.max_payload_bytes != 0 && payload.size() > options_.max_payload_bytes) {
        throw too_large("this producer's max_payload_bytes is " + std::to_string(options_.max_payload_bytes));
    }
    // Every broker reads frames of the default limit and answers a larger payload with ERROR;
    // past it, a broker with a smaller limit would cut the connection without a word: ask first.
    if (!broker_max_payload_bytes_ && payload.size() > protocol::kDefaultMaxPayloadBytes) {
        try {
            stats(kLimitQueryTimeout);
        } catch (const ProducerError& e) {
            if (e.kind() != ProducerError::Kind::timeout) throw;
            throw ProducerError(ProducerError::Kind::timeout, e.code(),
                                "payload is " + std::to_string(payload.size()) +
                                    " bytes, over the default limit: asked the broker at " +
                                    options_.broker_endpoint + " for its --max-payload and got no answer within " +
                                    format_ms(kLimitQueryTimeout) + " (is the broker running?)");
        }
        // A broker too old to say has the default limit unless its operator changed it.
        if (!broker_max_payload_bytes_) broker_max_payload_bytes_ = protocol::kDefaultMaxPayloadBytes;
    }
    const std::size_t limit = broker_max_payload_bytes_.value_or(protocol::kDefaultMaxPayloadBytes);
    if (payload.size() > limit) {
        throw too_large("the broker at " + options_.broker_endpoint + " takes at most " + std::to_string(limit) +
                        " bytes (its --max-payload)");
    }
}

std::size_t Producer::Impl::window() const noexcept {
    return broker_max_in_flight_ ? std::min(options_.window, *broker_max_in_flight_) : options_.window;
}

void Producer::Impl::adopt_max_payload(std::optional<std::uint64_t> max_payload_bytes) {
    if (max_payload_bytes) {
        broker_max_payload_bytes_ = static_cast<std::size_t>(std::min<std::uint64_t>(*max_payload_bytes, SIZE_MAX));
    }
}

void Producer::Impl::check_id(std::string_view id) const {
    if (id.empty()) reject("job id is empty");
    check_input("-", id);
}

void Producer::Impl::check_queue_settings(const protocol::QueueSettings& settings) const {
    check_input(settings.queue, {});
    const auto& retry = settings.retry;
    if (retry.max_attempts) check_range("max_attempts", *retry.max_attempts, 1, protocol::kMaxAttemptsLimit);
    if (retry.backoff_ms) check_range("backoff_ms", *retry.backoff_ms, 1, protocol::kMaxBackoffMs);
    if (retry.backoff_max_ms) check_range("backoff_max_ms", *retry.backoff_max_ms, 1, protocol::kMaxBackoffMs);
    if (retry.backoff_jitter_pct) check_range("backoff_jitter_pct", *retry.backoff_jitter_pct, 0, 100);
    if (settings.timeout_ms) check_range("timeout_ms", *settings.timeout_ms, 0, protocol::kMaxTimeoutMs);
    if (settings.dead_max_age_ms) check_range("dead_max_age_ms", *settings.dead_max_age_ms, 1, protocol::kMaxDeadAgeMs);
}

protocol::Accepted Producer::Impl::submit(std::string_view queue, std::string_view payload,
                                          const JobOptions& options, milliseconds timeout, std::string id) {
    assert_owner_thread();
    const auto deadline = Clock::now() + timeout;
    id = submit_async(queue, payload, false, options, std::move(id));
    const ResetOnExit clear_waiter{waiter_};
    waiter_.id = &id;
    waiter_.kind = Event::Kind::accepted;
    pump_until(deadline, [&] { return waiter_.event.has_value(); });
    if (waiter_.event) {
        Event& event = *waiter_.event;
        if (event.kind == Event::Kind::error) throw refused(event.error, id);
        protocol::Accepted accepted;
        accepted.id = id;
        accepted.existed = event.existed;
        accepted.job_id = std::move(event.job_id);
        return accepted;
    }
    forget(id);
    throw ProducerError(ProducerError::Kind::timeout, ErrorCode::internal,
                        "timed out after " + format_ms(timeout) + " waiting for the broker at " +
                            options_.broker_endpoint + " to accept job " + id + " (is the broker running?)");
}

std::string Producer::Impl::submit_async(std::string_view queue, std::string_view payload, bool wants_result,
                                         const JobOptions& options, std::string id) {
    assert_owner_thread();
    check_input(queue, id);
    check_payload(payload);
    validate(options);
    if (id.empty()) id = new_job_id();
    if (find(id) != nullptr) {
        throw ProducerError(ProducerError::Kind::invalid, ErrorCode::bad_field_value,
                            "job " + id + " is already in flight from this producer");
    }
    // Take the answers that came now and then, leaving SUBMITs a Batch holds back where they are.
    // Not on every call: each look at the socket costs libzmq system calls (a receive attempt, a
    // getpid for its fork check), which were the producer's largest cost per job.
    if (submits_since_pump_ >= kSubmitsBetweenPumps) pump_once(kNoWait, false);
    ++submits_since_pump_;
    while (unaccepted_count_ >= window()) {
        const auto silent_at = silence_deadline();
        if (const auto now = Clock::now(); now >= silent_at) {
            report_silence(now, "the broker at " + options_.broker_endpoint + " accepted nothing for " +
                                    format_ms(options_.silence_limit) + " while " +
                                    std::to_string(unaccepted_count_) +
                                    " submits were outstanding (is the broker running?)");
        }
        pump_once(silent_at);
    }
    track(id, queue, payload, wants_result, share(options));
    // A held batch that is full leaves now: holding it longer would only delay it.
    if (submit_holds_ == 0 || outbox_.size() >= options_.submit_batch) flush_outbox();
    return id;
}

void Producer::Impl::release_submits() {
    assert(submit_holds_ > 0);
    if (--submit_holds_ == 0) flush_outbox();
}

void Producer::Impl::send_held_submits() {
    assert_owner_thread();
    flush_outbox();
}

std::vector<Event> Producer::Impl::poll(milliseconds timeout) {
    assert_owner_thread();
    const auto deadline = Clock::now() + timeout;
    pump_once(kNoWait);
    while (events_.empty()) {
        const auto now = Clock::now();
        const auto silent_at = silence_deadline();
        if (now >= silent_at) {
            report_silence(now, "heard nothing from the broker at " + options_.broker_endpoint + " for " +
                                    format_ms(options_.silence_limit) + " while " +
                                    std::to_string(unaccepted_count_) + " submits awaited acceptance and " +
                                    std::to_string(awaited_.size()) +
                                    " jobs their result (is the broker running?)");
        }
        if (now >= deadline) break;
        pump_once(std::min(deadline, silent_at));
    }
    std::vector<Event> events = std::move(events_);
    events_.clear();
    // The next batch is likely as large: one allocation now rather than a regrowth per doubling.
    events_.reserve(events.size());
    return events;
}

Outcome Producer::Impl::wait_result(const std::string& id, milliseconds timeout) {
    assert_owner_thread();
    const auto deadline = Clock::now() + timeout;
    // Nobody polls for them now: a waiter on the outcome is not reading progress.
    auto drop_progress = [&] {
        std::erase_if(events_, [&](const Event& e) { return e.kind == Event::Kind::progress && e.id == id; });
    };
    // Its outcome may have been observed already, if the caller did not poll since.
    const bool had_events = !events_.empty();
    if (had_events) {
        Event event;
        if (take_event(Event::Kind::result, id, event)) {
            drop_progress();
            return std::move(event.outcome);
        }
        if (take_event(Event::Kind::error, id, event)) throw refused(event.error, id);
    }
    const TrackedJob* job = find(id);
    if (job == nullptr || !job->wants_result) {
        throw ProducerError(ProducerError::Kind::invalid, ErrorCode::unknown_job,
                            "no result is awaited for job " + id +
                                " (submit it with wants_result; each result is returned once)");
    }
    const ResetOnExit clear_waiter{waiter_};
    waiter_.id = &id;
    waiter_.kind = Event::Kind::result;
    pump_until(deadline, [&] { return waiter_.event.has_value(); });
    if (!waiter_.event) {
        throw ProducerError(ProducerError::Kind::timeout, ErrorCode::internal,
                            "timed out after " + format_ms(timeout) + " waiting for the result of job " + id +
                                " from the broker at " + options_.broker_endpoint);
    }
    Event& event = *waiter_.event;
    if (event.kind == Event::Kind::error) throw refused(event.error, id);
    if (had_events || waiter_.has_queued_progress) drop_progress();
    return std::move(event.outcome);
}

template <class T>
protocol::Message Producer::Impl::request(T message, PendingRequest pending, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    const auto command = pending.command;
    const auto number = next_request_++;
    pending_ = std::move(pending);
    answer_.reset();
    outbox_.push_back(OutgoingRequest{number, protocol::encode(std::move(message))});
    flush_outbox();
    pump_until(deadline, [&] { return answer_.has_value(); });
    pending_.reset();
    if (!answer_) {
        // The caller hears "timed out": a request still unsent must not go out later.
        std::erase_if(outbox_, [&](const Outgoing& outgoing) {
            const auto* request = std::get_if<OutgoingRequest>(&outgoing);
            return request != nullptr && request->number == number;
        });
        throw ProducerError(ProducerError::Kind::timeout, ErrorCode::internal,
                            "timed out after " + format_ms(timeout) + " waiting for the broker at " +
                                options_.broker_endpoint + " to answer " + std::string(protocol::to_string(command)) +
                                " (is the broker running?)");
    }
    auto answer = std::move(*answer_);
    answer_.reset();
    return answer;
}

std::uint64_t Producer::Impl::ok_count(protocol::Message&& answer, Command command, const std::string& subject) {
    if (const auto* error = std::get_if<protocol::Error>(&answer)) throw refused_request(*error, command, subject);
    return std::get<protocol::Ok>(answer).count;
}

protocol::StatusReply Producer::Impl::status(const std::string& id, milliseconds timeout, bool wants_payload) {
    assert_owner_thread();
    check_id(id);
    auto answer = request(protocol::StatusRequest{id, wants_payload}, {Command::status, id, {}}, timeout);
    if (const auto* error = std::get_if<protocol::Error>(&answer)) {
        if (error->code == ErrorCode::unknown_job) {
            throw ProducerError(ProducerError::Kind::refused, error->code, "no job with id " + id + " is known");
        }
        throw refused(*error, id);
    }
    auto reply = std::move(std::get<protocol::StatusReply>(answer));
    if (wants_payload && !reply.holds_job_payload) {
        // A broker from before STATUS's `payload` flag answers with the result instead.
        throw ProducerError(ProducerError::Kind::refused, ErrorCode::unknown_command,
                            "the broker at " + options_.broker_endpoint + " does not send job payloads (upgrade it)");
    }
    return reply;
}

protocol::StatsReply Producer::Impl::stats(milliseconds timeout) {
    assert_owner_thread();
    auto answer = request(protocol::StatsRequest{}, {Command::stats, {}, {}}, timeout);
    if (const auto* error = std::get_if<protocol::Error>(&answer)) throw refused_request(*error, Command::stats, {});
    auto& reply = std::get<protocol::StatsReply>(answer);
    adopt_max_payload(reply.max_payload_bytes);
    return std::move(reply);
}

void Producer::Impl::cancel(const std::string& id, milliseconds timeout) {
    assert_owner_thread();
    check_id(id);
    ok_count(request(protocol::Cancel{id}, {Command::cancel, id, {}}, timeout), Command::cancel, id);
}

void Producer::Impl::retry(const std::string& id, milliseconds timeout) {
    assert_owner_thread();
    check_id(id);
    protocol::Retry message;
    message.id = id;
    ok_count(request(std::move(message), {Command::retry, id, {}}, timeout), Command::retry, id);
}

std::uint64_t Producer::Impl::retry_all(const std::string& queue, milliseconds timeout) {
    assert_owner_thread();
    check_input(queue, {});
    protocol::Retry message;
    message.queue = queue;
    return ok_count(request(std::move(message), {Command::retry, queue, {}}, timeout), Command::retry,
                    "queue " + queue);
}

std::uint64_t Producer::Impl::purge(const std::string& queue, const std::string& id, milliseconds timeout) {
    assert_owner_thread();
    check_input(queue, id);
    return ok_count(request(protocol::Purge{queue, id}, {Command::purge, queue, id}, timeout), Command::purge,
                    id.empty() ? "queue " + queue : id + " in queue " + queue);
}

protocol::DeadReply Producer::Impl::dead(const std::string& queue, std::uint32_t limit, milliseconds timeout) {
    assert_owner_thread();
    check_input(queue, {});
    check_range("limit", limit, 1, protocol::kMaxDeadListed);
    auto answer = request(protocol::DeadRequest{queue, limit}, {Command::dead, queue, {}}, timeout);
    if (const auto* error = std::get_if<protocol::Error>(&answer)) {
        throw refused_request(*error, Command::dead, "queue " + queue);
    }
    return std::move(std::get<protocol::DeadReply>(answer));
}

protocol::QueueSettings Producer::Impl::queue_settings(const protocol::QueueSettings& settings,
                                                      milliseconds timeout) {
    assert_owner_thread();
    check_queue_settings(settings);
    auto answer = request(settings, {Command::queue, settings.queue, {}}, timeout);
    if (const auto* error = std::get_if<protocol::Error>(&answer)) {
        throw refused_request(*error, Command::queue, "queue " + settings.queue);
    }
    return std::move(std::get<protocol::QueueSettings>(answer));
}

std::uint64_t Producer::Impl::delete_queue(const std::string& queue, bool force, milliseconds timeout) {
    assert_owner_thread();
    check_input(queue, {});
    return ok_count(request(protocol::DeleteQueue{queue, force}, {Command::delete_queue, queue, {}}, timeout),
                    Command::delete_queue, "queue " + queue);
}

std::uint64_t Producer::Impl::clear(const std::string& queue, bool pending, bool delayed, milliseconds timeout) {
    assert_owner_thread();
    check_input(queue, {});
    if (!pending && !delayed) {
        throw ProducerError(ProducerError::Kind::invalid, ErrorCode::bad_field_value,
                            "clear: choose pending, delayed or both");
    }
    return ok_count(request(protocol::Clear{queue, pending, delayed}, {Command::clear, queue, {}}, timeout),
                    Command::clear, "queue " + queue);
}

protocol::ListReply Producer::Impl::list(const std::string& queue, protocol::ListedState state,
                                         const std::string& after, std::uint32_t limit, milliseconds timeout) {
    assert_owner_thread();
    check_input(queue, {});
    check_range("limit", limit, 1, protocol::kMaxListed);
    auto answer = request(protocol::ListRequest{queue, state, after, limit}, {Command::list, queue, {}}, timeout);
    if (const auto* error = std::get_if<protocol::Error>(&answer)) {
        throw refused_request(*error, Command::list, "queue " + queue);
    }
    return std::move(std::get<protocol::ListReply>(answer));
}

std::shared_ptr<const JobOptions> Producer::Impl::share(const JobOptions& options) {
    static const JobOptions kPlain{};
    if (options == kPlain) return nullptr;
    if (!last_options_ || !(*last_options_ == options)) last_options_ = std::make_shared<const JobOptions>(options);
    return last_options_;
}

void Producer::Impl::track(const std::string& id, std::string_view queue, std::string_view payload,
                           bool wants_result, std::shared_ptr<const JobOptions> options) {
    // Silence counts only while something is awaited: from now, if nothing was.
    if (unaccepted_count_ == 0 && awaited_.empty()) silent_since_ = std::max(silent_since_, Clock::now());
    TrackedJob& job = *allocate();
    job.submitted_id.assign(id);
    job.queue.assign(queue);
    job.payload = protocol::make_payload(payload);
    job.options = std::move(options);
    job.wants_result = wants_result;
    // A unique_key match still gets its ACCEPTED at once (protocol.md §5.1: only a new job's is
    // held), and that ACCEPTED is what names the other job whose RESULT to take.
    job.sends_accept_within = wants_result && options_.accept_within.count() > 0;
    jobs_.insert(&job);
    if (wants_result) awaited_.push_back(&job);
    ++unaccepted_count_;
    queue_submit(job);
}

TrackedJob* Producer::Impl::allocate() {
    if (!free_records_.empty()) {
        TrackedJob* job = free_records_.back();
        free_records_.pop_back();
        return job;
    }
    return &records_.emplace_back();
}

milliseconds Producer::Impl::resend_delay(bool sends_accept_within) const {
    // Such a SUBMIT's ACCEPTED may lawfully take accept_within: only silence beyond that is a loss.
    return sends_accept_within ? options_.resend_after + options_.accept_within : options_.resend_after;
}

Producer::Clock::time_point Producer::Impl::silence_deadline() const noexcept {
    if (options_.silence_limit.count() <= 0 || (unaccepted_count_ == 0 && awaited_.empty())) {
        return Clock::time_point::max();
    }
    return silent_since_ + options_.silence_limit;
}

void Producer::Impl::report_silence(Clock::time_point now, const std::string& what) {
    silent_since_ = now;
    throw ProducerError(ProducerError::Kind::broker_silent, ErrorCode::internal, what);
}

void Producer::Impl::forget(const std::string& id) {
    if (TrackedJob* job = find(id)) forget(*job);
}

void Producer::Impl::forget(TrackedJob& job) {
    unalias(job);
    if (!job.is_accepted) --unaccepted_count_;
    if (UnansweredList& unanswered = unanswered_list(job); unanswered.contains(&job)) unanswered.erase(&job);
    if (job.wants_result) awaited_.erase(&job);
    jobs_.remove(job.id());
    // The strings keep their capacity for the record's next job; the payload is released now.
    job.submitted_id.clear();
    job.queue.clear();
    job.payload = zmq::message_t();
    job.options.reset();
    job.wants_result = false;
    job.sends_accept_within = false;
    job.is_accepted = false;
    job.is_acceptance_reported = false;
    job.is_queued_for_send = false;
    job.sent_at = {};
    ++job.generation;
    free_records_.push_back(&job);
    // After a burst, give the records back once nothing is tracked (no outbox entry can name one).
    if (jobs_.empty() && records_.size() > kMaxIdleRecords && outbox_.empty()) {
        std::deque<TrackedJob>().swap(records_);
        std::vector<TrackedJob*>().swap(free_records_);
        jobs_.release();
    }
}

void Producer::Impl::unalias(TrackedJob& job) {
    if (job.job_id.empty()) return;
    auto [first, last] = aliases_.equal_range(job.job_id);
    for (auto it = first; it != last; ++it) {
        if (it->second == job.submitted_id) {
            aliases_.erase(it);
            break;
        }
    }
    job.job_id.clear();
}

std::vector<std::string> Producer::Impl::awaiting(const std::string& job_id) const {
    std::vector<std::string> ids;
    // A job awaited under its own id; also before its ACCEPTED, which may have been lost or held back.
    const TrackedJob* job = find(job_id);
    if (job != nullptr && job->wants_result && job->job_id.empty()) ids.push_back(job_id);
    auto [first, last] = aliases_.equal_range(job_id);
    for (auto alias = first; alias != last; ++alias) ids.push_back(alias->second);
    return ids;
}

void Producer::Impl::queue_submit(TrackedJob& job) {
    if (job.is_queued_for_send) return;
    job.is_queued_for_send = true;
    outbox_.push_back(OutgoingSubmit{&job, job.generation});
}

template <class Predicate>
bool Producer::Impl::pump_until(Clock::time_point deadline, Predicate is_finished) {
    for (;;) {
        if (is_finished()) return true;
        if (Clock::now() >= deadline) return false;
        pump_once(deadline);
    }
}

void Producer::Impl::pump_once(Clock::time_point deadline, bool sends_held) {
    submits_since_pump_ = 0;
    const auto flush = [&] {
        if (sends_held || submit_holds_ == 0) flush_outbox();
    };
    flush();
    auto now = Clock::now();
    // The caller was away longer than a check round: the producer could not ask a quiet broker
    // about its jobs meanwhile, so that time is not the broker's silence.
    if (now - last_pumped_ > options_.check_after) silent_since_ = std::max(silent_since_, now);
    last_pumped_ = now;
    run_timers(now);
    flush();
    const auto wake = std::min(deadline, next_timer(now));
    if (wake > now) {
        const short events = ZMQ_POLLIN | (outbox_.empty() ? 0 : ZMQ_POLLOUT);
        zmq::pollitem_t item{nullptr, broker_->descriptor(), events, 0};
        if (zmq::socket_t* dealer = broker_->dealer()) item.socket = dealer->handle();
        auto timeout = std::min(std::chrono::ceil<milliseconds>(wake - now), kMaxPollSlice);
        // A direct link without a connection tries again (at the next send or receive) when due.
        if (broker_->is_direct() && broker_->descriptor() < 0) {
            timeout = std::min(timeout, std::chrono::ceil<milliseconds>(std::max(broker_->reconnect_at() - now, Clock::duration{0})));
        }
        try {
            zmq::poll(&item, 1, timeout);
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
        }
        last_pumped_ = Clock::now();
    }
    receive_available();
    flush();
}

void Producer::Impl::flush_outbox() {
    std::vector<TrackedJob*>& batch = batch_jobs_;
    while (!outbox_.empty()) {
        // A lone submit (the usual case without a Batch) goes straight to send_submit.
        if (outbox_.size() > 1 && std::holds_alternative<OutgoingSubmit>(outbox_.front())) {
            std::size_t scanned = 0;
            batchable_submits(batch, scanned);
            if (batch.size() > 1) {
                if (!send_submits(batch)) return;
                outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<std::ptrdiff_t>(scanned));
                continue;
            }
        }
        if (!send_outgoing(outbox_.front())) return;
        outbox_.pop_front();
    }
}

void Producer::Impl::batchable_submits(std::vector<TrackedJob*>& batch, std::size_t& scanned) {
    batch.clear();
    scanned = 0;
    const std::size_t most = options_.submit_batch;
    if (most < 2 || !broker_reads_submits_) return;
    std::size_t id_bytes = 0;
    for (const auto& outgoing : outbox_) {
        const auto* submit = std::get_if<OutgoingSubmit>(&outgoing);
        if (submit == nullptr) break;
        TrackedJob& job = *submit->job;
        const bool is_own_entry = job.generation == submit->generation;
        // Accepted while it waited here (as send_outgoing does): this entry is spent, so that a
        // later resubmission queues the job again.
        if (is_own_entry && job.is_accepted) job.is_queued_for_send = false;
        const bool is_live = is_own_entry && job.is_queued_for_send;
        if (is_live) {
            // A unique_key is per job, and SUBMITS has none (protocol.md §5.33).
            if (job.options && !job.options->unique_key.empty()) break;
            if (!batch.empty()) {
                const TrackedJob& first = *batch.front();
                // Options are shared while equal (share()), so the pointer compares them.
                if (job.queue != first.queue || job.options != first.options ||
                    job.wants_result != first.wants_result || job.sends_accept_within != first.sends_accept_within) {
                    break;
                }
            }
            // A str header of at most 2 bytes before each id of up to kMaxJobIdBytes.
            id_bytes += job.submitted_id.size() + 2;
            if (batch.size() == most || id_bytes > kMaxBatchIdBytes) break;
            batch.push_back(&job);
        }
        ++scanned;
    }
}

bool Producer::Impl::send_submits(const std::vector<TrackedJob*>& jobs) {
    const TrackedJob& first = *jobs.front();
    protocol::Submits& message = sent_batch_;
    message.shared = protocol::Submit{};
    message.shared.queue = first.queue;
    message.shared.wants_result = first.wants_result;
    if (first.options) write_options(*first.options, message.shared, std::chrono::system_clock::now());
    if (first.sends_accept_within) {
        message.shared.accept_within_ms = static_cast<std::uint64_t>(options_.accept_within.count());
    }
    if (first.wants_result) message.shared.results_batch = options_.results_batch;
    message.shared.reads_packed = true;
    message.is_packed = broker_reads_packed_;
    message.entries.resize(jobs.size());
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        // Ids are lent for encoding and taken back, as in send_submit.
        message.entries[i].id = std::move(jobs[i]->submitted_id);
        message.entries[i].payload.copy(jobs[i]->payload);
    }
    sent_frames_.clear();
    protocol::encode_into(message, sent_frames_);
    for (std::size_t i = 0; i < jobs.size(); ++i) jobs[i]->submitted_id = std::move(message.entries[i].id);
    if (broker_->send(sent_frames_) != protocol::SendStatus::sent) return false;
    for (TrackedJob* job : jobs) note_sent(*job, true);
    return true;
}

void Producer::Impl::note_sent(TrackedJob& job, bool in_batch) {
    job.is_queued_for_send = false;
    job.was_sent_in_batch = in_batch;
    job.sent_at = Clock::now();
    UnansweredList& unanswered = unanswered_list(job);
    if (unanswered.contains(&job)) unanswered.erase(&job);
    unanswered.push_back(&job);
}

bool Producer::Impl::send_outgoing(Outgoing& outgoing) {
    if (auto* request = std::get_if<OutgoingRequest>(&outgoing)) {
        return broker_->send(request->frames) == protocol::SendStatus::sent;
    }
    const auto& submit = std::get<OutgoingSubmit>(outgoing);
    // Records are given back only when the outbox is empty, so the pointer is still valid.
    TrackedJob& job = *submit.job;
    if (job.generation != submit.generation || !job.is_queued_for_send) return true;
    if (job.is_accepted) {
        job.is_queued_for_send = false;
        return true;
    }
    return send_submit(job);
}

bool Producer::Impl::send_submit(TrackedJob& job) {
    protocol::Submit message;
    // The id and queue are lent to the message for encoding and taken back: no copy per send.
    message.id = std::move(job.submitted_id);
    message.queue = std::move(job.queue);
    message.wants_result = job.wants_result;
    message.payload.copy(job.payload);
    if (job.options) write_options(*job.options, message, std::chrono::system_clock::now());
    if (job.sends_accept_within) {
        message.accept_within_ms = static_cast<std::uint64_t>(options_.accept_within.count());
    }
    if (job.wants_result) message.results_batch = options_.results_batch;
    // RESULTS may come packed, and the ACCEPTED says whether SUBMITS may go packed (protocol.md §3.1).
    message.reads_packed = true;
    sent_frames_.clear();
    protocol::encode_into(message, sent_frames_);
    job.submitted_id = std::move(message.id);
    job.queue = std::move(message.queue);
    if (broker_->send(sent_frames_) != protocol::SendStatus::sent) return false;
    note_sent(job, false);
    return true;
}

void Producer::Impl::run_timers(Clock::time_point now) {
    for (const bool sends_accept_within : {false, true}) {
        // Each list is in send order, so only its head can be due.
        UnansweredList& unanswered = unanswered_[sends_accept_within ? 1 : 0];
        const auto delay = resend_delay(sends_accept_within);
        while (!unanswered.empty() && unanswered.front()->sent_at + delay <= now) {
            TrackedJob& job = *unanswered.front();
            unanswered.pop_front();
            ++resubmissions_;
            queue_submit(job);
        }
    }
    if (awaited_.empty() || now - last_heard_ < options_.check_after ||
        now - last_check_round_ < options_.check_after) {
        return;
    }
    // The broker is quiet while we await results: make sure it still knows the oldest jobs. Jobs
    // not accepted yet are skipped: their SUBMIT is still being answered (its ACCEPTED may take up
    // to accept_within) or resent, and an unknown_job would mean nothing.
    last_check_round_ = now;
    std::size_t scanned = 0;
    std::size_t checked = 0;
    for (const TrackedJob* job = awaited_.front(); job != nullptr; job = AwaitedList::next(job)) {
        if (++scanned > kMaxCheckScan || checked == kChecksPerRound) break;
        if (!job->is_accepted) continue;
        // A unique_key match is known to the broker by the job it matched, not by our id.
        const auto& job_id = job->job_id.empty() ? job->submitted_id : job->job_id;
        if (broker_->send_message(protocol::StatusRequest{job_id}) != protocol::SendStatus::sent) break;
        ++checked;
    }
}

Producer::Clock::time_point Producer::Impl::next_timer(Clock::time_point now) const {
    auto next = Clock::time_point::max();
    for (const bool sends_accept_within : {false, true}) {
        const UnansweredList& unanswered = unanswered_[sends_accept_within ? 1 : 0];
        if (!unanswered.empty()) {
            next = std::min(next, unanswered.front()->sent_at + resend_delay(sends_accept_within));
        }
    }
    if (!awaited_.empty()) {
        next = std::min(next, std::max(last_heard_, last_check_round_) + options_.check_after);
    }
    return std::max(next, now);
}

void Producer::Impl::receive_available() {
    // The broker enforces its own limit on what it sends; the socket bounds each frame.
    const protocol::DecodeLimits limits{protocol::kMaxPayloadLimitBytes};
    std::size_t received = 0;
    while (received < kMaxReceivesPerPump && broker_->receive(received_frames_)) {
        ++received;
        auto decoded = protocol::decode(received_frames_, 0, limits);
        if (!decoded) {
            ++dropped_messages_;
            continue;
        }
        handle(std::move(decoded).value());
    }
    // One clock read per batch: the messages of a batch arrived within microseconds.
    if (received > 0) {
        last_heard_ = Clock::now();
        silent_since_ = last_heard_;
    }
}

bool Producer::Impl::answers(const protocol::Message& message) const {
    const auto& pending = *pending_;
    auto names_subject = [&](const std::string& id) {
        return id == pending.id || (!pending.other_id.empty() && id == pending.other_id);
    };
    const auto command = protocol::to_string(pending.command);
    if (const auto* reply = std::get_if<protocol::StatusReply>(&message)) {
        return pending.command == Command::status && reply->id == pending.id;
    }
    if (std::holds_alternative<protocol::StatsReply>(message)) return pending.command == Command::stats;
    if (const auto* reply = std::get_if<protocol::DeadReply>(&message)) {
        return pending.command == Command::dead && reply->queue == pending.id;
    }
    if (const auto* reply = std::get_if<protocol::ListReply>(&message)) {
        return pending.command == Command::list && reply->queue == pending.id;
    }
    if (const auto* reply = std::get_if<protocol::QueueSettings>(&message)) {
        return pending.command == Command::queue && reply->queue == pending.id;
    }
    if (const auto* ok = std::get_if<protocol::Ok>(&message)) {
        // docs/jobs.md: PURGE's OK need not name the queue or job.
        return ok->command == command &&
               (names_subject(ok->id) || (pending.command == Command::purge && ok->id.empty()));
    }
    if (const auto* error = std::get_if<protocol::Error>(&message)) {
        // A refusal of our request names its command; its id is empty when the broker could not
        // read the request.
        if (error->command == command) return error->id.empty() || names_subject(error->id);
        if (!error->command.empty()) return false;
        // Without a command: a broker that does not know the command at all, or one from before
        // ERROR carried commands answering STATUS.
        if (error->code == ErrorCode::unknown_command && error->id.empty()) return true;
        return pending.command == Command::status && error->id == pending.id;
    }
    return false;
}

void Producer::Impl::handle(protocol::Message&& message) {
    const bool is_answer = pending_ && !answer_ && answers(message);
    std::visit(
        [this, is_answer](auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, protocol::Accepted>) {
                note_broker_instance(m.broker_instance);
                if (m.reads_packed) broker_reads_packed_ = true;
                on_accepted(m);
            } else if constexpr (std::is_same_v<T, protocol::JobResult>) {
                on_result(std::move(m));
            } else if constexpr (std::is_same_v<T, protocol::Results>) {
                for (auto& result : m.results) on_result(std::move(result));
            } else if constexpr (std::is_same_v<T, protocol::StatusReply>) {
                // Read, not moved: it may also be the answer to status().
                note_broker_instance(m.broker_instance);
                if (protocol::is_final(m.state)) {
                    deliver(m.id, m.state, m.attempt, protocol::view_of(m.payload), m.error);
                }
            } else if constexpr (std::is_same_v<T, protocol::Progress>) {
                on_progress(std::move(m));
            } else if constexpr (std::is_same_v<T, protocol::Error>) {
                on_error(m, is_answer);
            } else if constexpr (std::is_same_v<T, protocol::StatsReply> || std::is_same_v<T, protocol::Ok> ||
                                 std::is_same_v<T, protocol::DeadReply> || std::is_same_v<T, protocol::ListReply> ||
                                 std::is_same_v<T, protocol::QueueSettings>) {
                // Answers; one that answers nothing is late (its call timed out) and is ignored.
            } else {
                ++dropped_messages_;  // a worker-side or request command has no business here
            }
        },
        message);
    if (is_answer) answer_ = std::move(message);
}

void Producer::Impl::mark_accepted(TrackedJob& job, const protocol::Accepted* accepted) {
    job.is_accepted = true;
    --unaccepted_count_;
    if (UnansweredList& unanswered = unanswered_list(job); unanswered.contains(&job)) unanswered.erase(&job);
    const std::string& job_id =
        accepted != nullptr && !accepted->job_id.empty() ? accepted->job_id : job.submitted_id;
    if (job_id != job.submitted_id && job.wants_result) {
        // The broker answers for the job holding our unique_key: its RESULT and PROGRESS come
        // under its id and are delivered under ours.
        job.job_id = job_id;
        aliases_.emplace(job_id, job.submitted_id);
    }
    if (job.is_acceptance_reported) return;  // accepted again after a resubmission
    job.is_acceptance_reported = true;
    // The blocking submit() waits for this event whether or not poll() reports it.
    const bool is_waited = waiter_.id != nullptr && waiter_.kind == Event::Kind::accepted && *waiter_.id == job.submitted_id;
    if (!options_.reports_acceptance && !is_waited) return;
    Event event;
    event.kind = Event::Kind::accepted;
    event.id = job.submitted_id;
    event.job_id = job_id;
    event.existed = accepted != nullptr && accepted->existed;
    emit(std::move(event));
}

void Producer::Impl::on_accepted(const protocol::Accepted& accepted) {
    TrackedJob* job = find(accepted.id);
    if (job == nullptr || job->is_accepted) return;  // a resend's second ACCEPTED, or after the RESULT
    mark_accepted(*job, &accepted);
    // Accepted and nobody awaits the result: the payload is no longer needed.
    if (!job->wants_result) forget(*job);
}

void Producer::Impl::on_result(protocol::JobResult&& result) {
    deliver(result.id, result.state, result.attempt, protocol::view_of(result.payload), result.error);
}

void Producer::Impl::on_progress(protocol::Progress&& progress) {
    for (const auto& id : awaiting(progress.id)) {
        Event event;
        event.kind = Event::Kind::progress;
        event.id = id;
        event.job_id = progress.id;
        event.progress = JobProgress{progress.attempt, progress.percent, progress.message};
        emit(std::move(event));
    }
}

void Producer::Impl::on_error(const protocol::Error& error, bool is_answer) {
    const auto submit = protocol::to_string(Command::submit);
    const auto status = protocol::to_string(Command::status);
    // protocol.md §6: the refusal names the limit; later payloads over it are refused here.
    if (error.code == ErrorCode::payload_too_large) adopt_max_payload(error.max_payload_bytes);
    if (error.code == ErrorCode::too_many_in_flight && refused_in_flight(error)) return;
    if (refused_submits(error)) return;
    if (error.code == ErrorCode::unknown_job && (error.command.empty() || error.command == status)) {
        // An accepted job the broker no longer knows: it restarted and lost its state. Its other
        // awaited jobs are gone too, so resubmit them all (same ids: idempotent if some survived).
        for (const auto& id : awaiting(error.id)) {
            if (const TrackedJob* job = find(id); job != nullptr && job->is_accepted) {
                resubmit_awaited();
                break;
            }
        }
        return;
    }
    // Only a refused SUBMIT ends a job here; refusals of other requests go to their blocking call.
    if (is_answer || !(error.command.empty() || error.command == submit)) return;
    TrackedJob* job = find(error.id);
    if (job == nullptr) {
        if (error.id.empty()) emit(Event{Event::Kind::error, {}, {}, false, {}, error, {}});
        return;
    }
    if (job->is_accepted) return;  // not about the SUBMIT: e.g. a refused STATUS
    std::string id = job->submitted_id;
    forget(*job);
    emit(Event{Event::Kind::error, std::move(id), {}, false, {}, error, {}});
}

// protocol.md §15: a broker from before SUBMITS cannot decode it and answers ERROR
// unknown_command with no id and no command. Nothing of the batch was queued, so its jobs go again
// at once as single SUBMITs, and every later job too. A broker from before packed batches (one
// that replaced the broker this producer learned from, not yet noticed) answers a packed SUBMITS
// ERROR bad_frame_count "SUBMITS": its jobs go again unpacked. False if no SUBMITS awaits an answer.
bool Producer::Impl::refused_submits(const protocol::Error& error) {
    if (!error.id.empty() || !error.command.empty()) return false;
    const bool is_before_submits = error.code == ErrorCode::unknown_command && broker_reads_submits_;
    const bool is_before_packed =
        error.code == ErrorCode::bad_frame_count && broker_reads_packed_ && error.message.rfind("SUBMITS", 0) == 0;
    if (!is_before_submits && !is_before_packed) return false;
    std::vector<TrackedJob*> batched;
    for (UnansweredList& unanswered : unanswered_) {
        for (TrackedJob* job = unanswered.front(); job != nullptr; job = UnansweredList::next(job)) {
            if (job->was_sent_in_batch) batched.push_back(job);
        }
    }
    if (batched.empty()) return false;
    if (is_before_submits) {
        broker_reads_submits_ = false;
    } else {
        broker_reads_packed_ = false;
    }
    for (TrackedJob* job : batched) {
        unanswered_list(*job).erase(job);
        ++resubmissions_;
        queue_submit(*job);
    }
    return true;
}

// protocol.md §6 too_many_in_flight: the job was not queued. The window shrinks to the broker's
// limit and the SUBMIT stays unanswered, so its resend timer sends it again; the caller sees no
// event. False if the refusal is not about a job waiting here for its ACCEPTED.
bool Producer::Impl::refused_in_flight(const protocol::Error& error) {
    if (error.max_in_flight) {
        broker_max_in_flight_ = static_cast<std::size_t>(std::clamp<std::uint64_t>(*error.max_in_flight, 1, SIZE_MAX));
    }
    const TrackedJob* job = find(error.id);
    return job != nullptr && !job->is_accepted;
}

void Producer::Impl::deliver(const std::string& job_id, protocol::JobState state, std::uint32_t attempt,
                       std::string_view result, const std::string& error) {
    if (aliases_.empty()) {
        // The common case, one lookup: no unique_key made another id stand for this job.
        TrackedJob* job = find(job_id);
        if (job != nullptr && job->wants_result && job->job_id.empty()) {
            deliver_to(*job, job_id, state, attempt, result, error);
        }
        return;
    }
    for (auto& id : awaiting(job_id)) {
        if (TrackedJob* job = find(id)) deliver_to(*job, job_id, state, attempt, result, error);
    }
}

void Producer::Impl::deliver_to(TrackedJob& job, const std::string& job_id, protocol::JobState state,
                          std::uint32_t attempt, std::string_view result, const std::string& error) {
    // A RESULT (or a final STATUS_REPLY) before any ACCEPTED acknowledges the SUBMIT as well: the
    // ACCEPTED was held back (accept_within) or lost. The accepted event still comes first.
    if (!job.is_accepted) mark_accepted(job, nullptr);
    Event event;
    event.kind = Event::Kind::result;
    event.id = job.submitted_id;
    event.job_id = job_id;
    event.outcome = Outcome{event.id, state, attempt, std::string(result), error, job_id};
    forget(job);
    emit(std::move(event));
}

void Producer::Impl::note_broker_instance(std::uint64_t instance) {
    if (instance == 0 || instance == broker_instance_) return;
    const bool is_restart = broker_instance_ != 0;
    broker_instance_ = instance;
    // A restarted broker may have another --max-payload, or be another version: learn them again.
    if (is_restart) {
        broker_max_payload_bytes_.reset();
        broker_max_in_flight_.reset();
        broker_reads_packed_ = false;
    }
    // Same ids: the restarted broker answers ACCEPTED existed=true, sends the RESULT of jobs that
    // ended, and sends later ones here.
    if (is_restart) resubmit_awaited();
}

void Producer::Impl::resubmit_awaited() {
    for (TrackedJob* next = awaited_.front(); next != nullptr; next = AwaitedList::next(next)) {
        TrackedJob& job = *next;
        if (job.is_accepted) {
            // A new broker may match the unique_key to another job, or to none.
            unalias(job);
            job.is_accepted = false;
            ++unaccepted_count_;
        } else if (UnansweredList& unanswered = unanswered_list(job); unanswered.contains(&job)) {
            // Sent and not answered yet (its ACCEPTED perhaps held back by accept_within): the
            // broker that would have answered is gone, so do not wait for the resend timer.
            unanswered.erase(&job);
        } else {
            continue;  // queued for sending already
        }
        ++resubmissions_;
        queue_submit(job);
    }
}

void Producer::Impl::emit(Event&& event) {
    if (waiter_.id != nullptr && event.id == *waiter_.id) {
        const bool ends_wait = event.kind == waiter_.kind || event.kind == Event::Kind::error;
        if (ends_wait && !waiter_.event) {
            waiter_.event = std::move(event);
            return;
        }
        if (event.kind == Event::Kind::progress) waiter_.has_queued_progress = true;
    }
    events_.push_back(std::move(event));
}

bool Producer::Impl::take_event(Event::Kind kind, const std::string& id, Event& out) {
    const auto it =
        std::find_if(events_.begin(), events_.end(), [&](const Event& e) { return e.kind == kind && e.id == id; });
    if (it == events_.end()) return false;
    out = std::move(*it);
    events_.erase(it);
    return true;
}

Producer::Producer(zmq::context_t& context, ProducerOptions options)
    : impl_(std::make_unique<Impl>(context, std::move(options))) {}

Producer::~Producer() = default;

Producer::Batch::Batch(Producer& producer) : producer_(producer) { producer_.impl_->hold_submits(); }

Producer::Batch::~Batch() {
    try {
        producer_.impl_->release_submits();
    } catch (const std::exception&) {
        // The held SUBMITs stay in the outbox: the next call into the producer sends them, and the
        // resend timer covers any lost with a connection.
    }
}

void Producer::send_held_submits() { impl_->send_held_submits(); }

std::string Producer::new_job_id() { return impl_->new_job_id(); }

protocol::Accepted Producer::submit(std::string_view queue, std::string_view payload, const JobOptions& options,
                                    milliseconds timeout, std::string id) {
    return impl_->submit(queue, payload, options, timeout, std::move(id));
}

std::string Producer::submit(std::string_view queue, std::string_view payload, milliseconds timeout) {
    return impl_->submit(queue, payload, JobOptions{}, timeout, {}).job_id;
}

std::string Producer::submit_async(std::string_view queue, std::string_view payload, bool wants_result,
                                   const JobOptions& options, std::string id) {
    return impl_->submit_async(queue, payload, wants_result, options, std::move(id));
}

std::string Producer::submit_async(std::string_view queue, std::string_view payload, bool wants_result,
                                   std::string id) {
    return impl_->submit_async(queue, payload, wants_result, JobOptions{}, std::move(id));
}

std::vector<Event> Producer::poll(milliseconds timeout) { return impl_->poll(timeout); }

Outcome Producer::wait_result(const std::string& id, milliseconds timeout) { return impl_->wait_result(id, timeout); }

protocol::StatusReply Producer::status(const std::string& id, milliseconds timeout) {
    return impl_->status(id, timeout);
}

protocol::StatsReply Producer::stats(milliseconds timeout) { return impl_->stats(timeout); }

void Producer::cancel(const std::string& id, milliseconds timeout) { impl_->cancel(id, timeout); }

void Producer::retry(const std::string& id, milliseconds timeout) { impl_->retry(id, timeout); }

std::uint64_t Producer::retry_all(const std::string& queue, milliseconds timeout) {
    return impl_->retry_all(queue, timeout);
}

std::uint64_t Producer::purge(const std::string& queue, const std::string& id, milliseconds timeout) {
    return impl_->purge(queue, id, timeout);
}

protocol::DeadReply Producer::dead(const std::string& queue, std::uint32_t limit, milliseconds timeout) {
    return impl_->dead(queue, limit, timeout);
}

protocol::QueueSettings Producer::queue_settings(const protocol::QueueSettings& settings, milliseconds timeout) {
    return impl_->queue_settings(settings, timeout);
}

protocol::QueueSettings Producer::pause(const std::string& queue, milliseconds timeout) {
    protocol::QueueSettings settings;
    settings.queue = queue;
    settings.is_paused = true;
    return impl_->queue_settings(settings, timeout);
}

protocol::QueueSettings Producer::resume(const std::string& queue, milliseconds timeout) {
    protocol::QueueSettings settings;
    settings.queue = queue;
    settings.is_paused = false;
    return impl_->queue_settings(settings, timeout);
}

protocol::StatusReply Producer::peek(const std::string& id, milliseconds timeout) {
    return impl_->status(id, timeout, true);
}

protocol::QueueSettings Producer::create_queue(const protocol::QueueSettings& settings, milliseconds timeout) {
    protocol::QueueSettings request = settings;
    request.should_create = true;
    return impl_->queue_settings(request, timeout);
}

std::uint64_t Producer::delete_queue(const std::string& queue, bool force, milliseconds timeout) {
    return impl_->delete_queue(queue, force, timeout);
}

std::uint64_t Producer::clear(const std::string& queue, bool pending, bool delayed, milliseconds timeout) {
    return impl_->clear(queue, pending, delayed, timeout);
}

protocol::ListReply Producer::list(const std::string& queue, protocol::ListedState state, const std::string& after,
                                   std::uint32_t limit, milliseconds timeout) {
    return impl_->list(queue, state, after, limit, timeout);
}

std::size_t Producer::awaiting_acceptance() const noexcept { return impl_->awaiting_acceptance(); }
std::size_t Producer::awaiting_results() const noexcept { return impl_->awaiting_results(); }
Producer::Clock::time_point Producer::last_heard() const noexcept { return impl_->last_heard(); }
std::uint64_t Producer::dropped_messages() const noexcept { return impl_->dropped_messages(); }
std::uint64_t Producer::resubmissions() const noexcept { return impl_->resubmissions(); }

}  // namespace corsair::producer
