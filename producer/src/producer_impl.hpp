// Producer::Impl: the Producer's state and event loop behind its public API (producer.hpp, which
// documents the behaviour). Owns the DEALER socket; used only from the thread that created the
// Producer (checked in debug builds). Not part of the producer API.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include <zmq.hpp>

#include "corsair/containers/id_table.hpp"
#include "corsair/containers/intrusive_list.hpp"
#include "corsair/producer/producer.hpp"
#include "corsair/protocol/broker_link.hpp"

namespace corsair::producer {

// One job from submit until it is accepted (without wants_result) or ended. Records are reused:
// a freed one keeps its strings' capacity, so a steady stream of jobs allocates no records.
struct TrackedJob {
    std::string submitted_id;      // the id this producer submitted the job under
    std::uint32_t id_hash = 0;     // IdTable's
    std::uint32_t generation = 0;  // bumped when the record is freed: older outbox entries are stale
    std::string queue;
    zmq::message_t payload;  // each SUBMIT shares it (zmq_msg_copy) rather than copying the bytes
    std::shared_ptr<const JobOptions> options;  // null for a plain job; shared by equal options
    std::string job_id;  // once accepted: the broker's job, when not this id (unique_key matched)
    bool wants_result = false;
    // Its SUBMITs carry accept_within (wants_result): the broker may fold the ACCEPTED into the RESULT.
    bool sends_accept_within = false;
    bool is_accepted = false;
    bool is_acceptance_reported = false;              // an accepted Event was emitted (once per id)
    bool is_queued_for_send = false;                  // an entry for it sits in the outbox
    bool was_sent_in_batch = false;                   // its last SUBMIT went in a SUBMITS
    std::chrono::steady_clock::time_point sent_at{};  // last SUBMIT actually sent
    // In the awaited list while wants_result: submission order.
    TrackedJob* awaited_prev = nullptr;
    TrackedJob* awaited_next = nullptr;
    // In unanswered_[sends_accept_within] from a SUBMIT's send until it is answered or due again.
    TrackedJob* unanswered_prev = nullptr;
    TrackedJob* unanswered_next = nullptr;

    std::string_view id() const noexcept { return submitted_id; }
};

class Producer::Impl {
public:
    Impl(zmq::context_t& context, ProducerOptions options);

    std::string new_job_id();
    protocol::Accepted submit(std::string_view queue, std::string_view payload, const JobOptions& options,
                              std::chrono::milliseconds timeout, std::string id);
    std::string submit_async(std::string_view queue, std::string_view payload, bool wants_result,
                             const JobOptions& options, std::string id);
    std::vector<Event> poll(std::chrono::milliseconds timeout);
    Outcome wait_result(const std::string& id, std::chrono::milliseconds timeout);
    protocol::StatusReply status(const std::string& id, std::chrono::milliseconds timeout,
                                 bool wants_payload = false);
    protocol::StatsReply stats(std::chrono::milliseconds timeout);
    void cancel(const std::string& id, std::chrono::milliseconds timeout);
    void retry(const std::string& id, std::chrono::milliseconds timeout);
    std::uint64_t retry_all(const std::string& queue, std::chrono::milliseconds timeout);
    std::uint64_t purge(const std::string& queue, const std::string& id, std::chrono::milliseconds timeout);
    protocol::DeadReply dead(const std::string& queue, std::uint32_t limit, std::chrono::milliseconds timeout);
    protocol::QueueSettings queue_settings(const protocol::QueueSettings& settings, std::chrono::milliseconds timeout);
    std::uint64_t delete_queue(const std::string& queue, bool force, std::chrono::milliseconds timeout);
    std::uint64_t clear(const std::string& queue, bool pending, bool delayed, std::chrono::milliseconds timeout);
    protocol::ListReply list(const std::string& queue, protocol::ListedState state, const std::string& after,
                             std::uint32_t limit, std::chrono::milliseconds timeout);

    // Producer::Batch: while held, submit_async leaves its SUBMITs in the outbox; releasing the
    // last hold sends them, as SUBMITS where they can share one.
    void hold_submits() noexcept { ++submit_holds_; }
    void release_submits();
    void send_held_submits();

    std::size_t awaiting_acceptance() const noexcept { return unaccepted_count_; }
    std::size_t awaiting_results() const noexcept { return awaited_.size(); }
    Clock::time_point last_heard() const noexcept { return last_heard_; }
    std::uint64_t dropped_messages() const noexcept { return dropped_messages_; }
    std::uint64_t resubmissions() const noexcept { return resubmissions_; }

private:
    using AwaitedList = containers::IntrusiveList<TrackedJob, &TrackedJob::awaited_prev, &TrackedJob::awaited_next>;
    using UnansweredList =
        containers::IntrusiveList<TrackedJob, &TrackedJob::unanswered_prev, &TrackedJob::unanswered_next>;

    struct OutgoingSubmit {
        TrackedJob* job = nullptr;
        std::uint32_t generation = 0;
    };
    // A request of a blocking call, encoded once; `number` finds it again if the call gives up.
    struct OutgoingRequest {
        std::uint64_t number = 0;
        protocol::Frames frames;
    };
    using Outgoing = std::variant<OutgoingSubmit, OutgoingRequest>;

    // The blocking call waiting for its answer: the command sent and the job or queue it named.
    struct PendingRequest {
        protocol::Command command = protocol::Command::status;
        std::string id;
        std::string other_id;  // PURGE of one job: the answer may name the job or the queue
    };

    // What submit() or wait_result() is blocked on: the `kind` event of job `id` (accepted or
    // result), or the refusal of its SUBMIT. Handlers hand it over here, not through events_.
    struct Waiter {
        const std::string* id = nullptr;
        Event::Kind kind = Event::Kind::result;
        std::optional<Event> event;
        bool has_queued_progress = false;  // a progress event of `id` went to events_ meanwhile
    };

    void assert_owner_thread() const;
    void check_input(std::string_view queue, std::string_view id) const;
    void check_id(std::string_view id) const;
    // Throws payload_too_large (invalid) over this producer's own cap or the broker's limit; asks
    // the broker its limit (STATS, blocking) first for a payload over the default one.
    void check_payload(std::string_view payload);
    // The broker's --max-payload, as its STATS_REPLY or ERROR payload_too_large told it.
    void adopt_max_payload(std::optional<std::uint64_t> max_payload_bytes);
    // The window in use: options_.window, or the broker's --max-in-flight if smaller (ERROR
    // too_many_in_flight told it).
    std::size_t window() const noexcept;
    // ERROR too_many_in_flight: adopts the limit; true if it refused a job still tracked here,
    // which its resend timer sends again.
    bool refused_in_flight(const protocol::Error& error);
    void check_queue_settings(const protocol::QueueSettings& settings) const;
    void track(const std::string& id, std::string_view queue, std::string_view payload, bool wants_result,
               std::shared_ptr<const JobOptions> options);
    std::shared_ptr<const JobOptions> share(const JobOptions& options);

    // The tracked job `id`, or nullptr.
    TrackedJob* find(std::string_view id) const noexcept { return jobs_.find(id); }
    TrackedJob* allocate();
    UnansweredList& unanswered_list(const TrackedJob& job) { return unanswered_[job.sends_accept_within ? 1 : 0]; }
    std::chrono::milliseconds resend_delay(bool sends_accept_within) const;

    // When the broker's silence reaches silence_limit: time_point::max() without a limit or while
    // nothing is awaited.
    Clock::time_point silence_deadline() const noexcept;
    // Throws the broker_silent ProducerError `what`; silence counts afresh from `now` after it.
    [[noreturn]] void report_silence(Clock::time_point now, const std::string& what);

    void forget(const std::string& id);
    // Stops tracking `job` and frees its record; references to it are invalid after.
    void forget(TrackedJob& job);
    void unalias(TrackedJob& job);
    void queue_submit(TrackedJob& job);
    // The submitted ids whose results are awaited from the broker's job `job_id`.
    std::vector<std::string> awaiting(const std::string& job_id) const;

    // Sends `message`, blocks until the answer matching `pending` arrives, and returns it (an
    // ERROR included). Throws a timeout ProducerError; an unsent request is then dropped.
    template <class T>
    protocol::Message request(T message, PendingRequest pending, std::chrono::milliseconds timeout);
    bool answers(const protocol::Message& message) const;
    // The count of an OK answer; throws the refusal if the answer is an ERROR.
    static std::uint64_t ok_count(protocol::Message&& answer, protocol::Command command, const std::string& subject);

    // Runs the loop until `is_finished()` holds or `deadline` passes; returns is_finished().
    template <class Predicate>
    bool pump_until(Clock::time_point deadline, Predicate is_finished);
    // One turn: send, run timers, wait for the socket until `deadline`, receive. With `sends_held`
    // false, SUBMITs a Batch holds stay in the outbox.
    void pump_once(Clock::time_point deadline, bool sends_held = true);
    void flush_outbox();
    bool send_outgoing(Outgoing& outgoing);
    bool send_submit(TrackedJob& job);
    // Fills `batch` with the live SUBMITs at the outbox's front that can travel in one SUBMITS
    // (same queue, options and answer fields, no unique_key), up to submit_batch and the header's
    // size; `scanned` is how many outbox entries they span (stale ones included, and spent: an
    // entry whose job was accepted meanwhile).
    void batchable_submits(std::vector<TrackedJob*>& batch, std::size_t& scanned);
    bool send_submits(const std::vector<TrackedJob*>& jobs);
    void note_sent(TrackedJob& job, bool in_batch);
    // protocol.md §15: a broker from before SUBMITS answers it ERROR unknown_command with no id.
    bool refused_submits(const protocol::Error& error);
    void run_timers(Clock::time_point now);
    Clock::time_point next_timer(Clock::time_point now) const;
    void receive_available();
    void handle(protocol::Message&& message);
    void on_accepted(const protocol::Accepted& accepted);
    void on_result(protocol::JobResult&& result);
    void on_progress(protocol::Progress&& progress);
    void on_error(const protocol::Error& error, bool is_answer);
    void mark_accepted(TrackedJob& job, const protocol::Accepted* accepted);
    void deliver_to(TrackedJob& job, const std::string& job_id, protocol::JobState state, std::uint32_t attempt,
                    std::string_view result, const std::string& error);
    void deliver(const std::string& job_id, protocol::JobState state, std::uint32_t attempt, std::string_view result,
                 const std::string& error);
    void resubmit_awaited();
    // A broker_instance different from the one known means the broker restarted: its jobs came
    // back from the journal, but not our connection as their reply address, so re-attach.
    void note_broker_instance(std::uint64_t instance);
    // Hands `event` to the waiting blocking call if it is what that call waits for, else queues it.
    void emit(Event&& event);
    bool take_event(Event::Kind kind, const std::string& id, Event& out);

    ProducerOptions options_;
    // A DEALER, or a direct connection for a direct:// endpoint (docs/protocol.md §2.1).
    std::optional<protocol::BrokerLink> broker_;
    std::thread::id owner_thread_;

    std::string id_prefix_;
    std::uint64_t next_sequence_ = 1;
    std::uint64_t next_request_ = 1;

    // The tracked jobs: records_ holds them (a deque, so they never move), jobs_ finds them by id,
    // free_records_ lists the records not in use.
    std::deque<TrackedJob> records_;
    std::vector<TrackedJob*> free_records_;
    containers::IdTable<TrackedJob> jobs_;
    AwaitedList awaited_;           // jobs whose result is awaited, oldest first
    UnansweredList unanswered_[2];  // jobs with a SUBMIT out and unanswered, by send time: [1] with accept_within
    // Broker job id -> submitted ids awaiting its result through a unique_key match.
    std::unordered_multimap<std::string, std::string> aliases_;
    std::shared_ptr<const JobOptions> last_options_;  // reused while submits repeat the same options
    std::size_t unaccepted_count_ = 0;
    std::deque<Outgoing> outbox_;  // waiting for the socket to accept
    std::vector<Event> events_;    // observed, not yet returned
    Waiter waiter_;
    protocol::Frames received_frames_;      // reused for every receive
    protocol::Frames sent_frames_;          // reused for every SUBMIT
    protocol::Submits sent_batch_;          // reused for every SUBMITS
    std::vector<TrackedJob*> batch_jobs_;   // reused by flush_outbox: the jobs of the next SUBMITS
    std::size_t submit_holds_ = 0;          // live Producer::Batch objects
    std::uint32_t submits_since_pump_ = 0;  // submit_async calls since the socket was last pumped
    bool broker_reads_submits_ = true;      // until a broker from before SUBMITS says otherwise
    bool broker_reads_packed_ = false;      // an ACCEPTED said so: SUBMITS go packed (protocol.md §3.1)

    Clock::time_point last_heard_;
    Clock::time_point last_check_round_{};
    // The broker's silence counts from here: the later of last_heard_, the moment the producer began
    // to await something, and the caller's return after a gap longer than check_after.
    Clock::time_point silent_since_;
    Clock::time_point last_pumped_;  // when the last pump ended

    // The one blocking call in progress, if any, and its answer once it came.
    std::optional<PendingRequest> pending_;
    std::optional<protocol::Message> answer_;

    std::uint64_t dropped_messages_ = 0;
    std::uint64_t resubmissions_ = 0;
    std::uint64_t broker_instance_ = 0;  // 0 until a broker tells it
    std::optional<std::size_t> broker_max_payload_bytes_;  // the broker's --max-payload, once told
    std::optional<std::size_t> broker_max_in_flight_;  // the broker's --max-in-flight, once told
};

}  // namespace corsair::producer
