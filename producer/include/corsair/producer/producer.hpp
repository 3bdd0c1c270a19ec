// Producer: submits jobs to a broker over one DEALER and collects their outcomes. It owns the
// socket, so it must be used from the thread that created it (checked in debug builds).
//
// Reliability (docs/protocol.md §Producer): a SUBMIT not ACCEPTED within resend_after is sent
// again with the same id (the broker deduplicates). While results are awaited and the broker has
// been quiet for check_after, the oldest awaited jobs are checked with STATUS; an unknown_job
// answer means the broker lost its state (restart), so every awaited job is resubmitted with its
// id. Payloads are kept until a job is accepted (or, if its result is awaited, until it arrives).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include <zmq.hpp>

#include "corsair/producer/producer_error.hpp"
#include "corsair/protocol/protocol.hpp"

namespace corsair::producer {

struct ProducerOptions {
    std::string broker_endpoint;  // e.g. tcp://127.0.0.1:5555
    // Max submits awaiting ACCEPTED before submit_async blocks.
    std::size_t window = 1000;
    // Resend a SUBMIT not ACCEPTED by then (same id: idempotent).
    std::chrono::milliseconds resend_after{3000};
    // When results are awaited and the broker has been quiet this long, ask STATUS for the oldest
    // awaited jobs; unknown_job -> resubmit with the same id.
    std::chrono::milliseconds check_after{2000};
    // Longest submit_async may block on a full window without hearing from the broker; then it
    // throws a timeout ProducerError. Zero: no limit.
    std::chrono::milliseconds window_wait_limit{0};
    // Client-side payload cap; match the broker's --max-payload if it was changed.
    std::size_t max_payload_bytes = protocol::kDefaultMaxPayloadBytes;
};

// How a job ended (state done or failed). `result` holds the result bytes, `error` the failure.
struct Outcome {
    std::string id;
    protocol::JobState state = protocol::JobState::done;
    std::uint32_t attempt = 0;
    std::string result;
    std::string error;
};

// Something poll() observed: a job accepted, a job's outcome, or the broker refusing a SUBMIT
// (`error` holds the broker's ERROR; the job is no longer tracked).
struct Event {
    enum class Kind { accepted, result, error } kind = Kind::accepted;
    std::string id;
    Outcome outcome;  // Kind::result only
    protocol::Error error;  // Kind::error only
};

class Producer {
public:
    using Clock = std::chrono::steady_clock;

    // Connects (lazily, as ZeroMQ does); never blocks. Throws zmq::error_t on a malformed endpoint.
    Producer(zmq::context_t& context, ProducerOptions options);
    Producer(const Producer&) = delete;
    Producer& operator=(const Producer&) = delete;

    // A job id unique across processes: a random 64-bit prefix (hex), "-", a sequence number.
    std::string new_job_id();

    // Blocks: submits, waits for ACCEPTED (resending after resend_after), returns the id.
    // Throws ProducerError: invalid input, the broker's ERROR, or a timeout (the job is then
    // forgotten locally; it may or may not have been queued).
    std::string submit(std::string_view queue, std::string_view payload,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

    // Pipelined: sends now and returns the id (`id` or a new one). Blocks, pumping the socket,
    // only while `window` submits await ACCEPTED. Outcomes arrive through poll()/wait_result().
    // Throws ProducerError on invalid input, on an id already in flight, or when the window stays
    // full past window_wait_limit.
    std::string submit_async(std::string_view queue, std::string_view payload, bool wants_result,
                             std::string id = {});

    // Pumps the socket for up to `timeout`, returning early once something is observed; handles
    // resends and STATUS checks. Returns what was observed (possibly nothing). Never throws on
    // peer input: malformed messages are dropped and counted in dropped_messages().
    std::vector<Event> poll(std::chrono::milliseconds timeout);

    // Blocks until the outcome of `id` (submitted with wants_result) arrives and returns it; a
    // failed job is an Outcome with state failed, not an exception. Throws ProducerError on
    // timeout, if the broker refused the SUBMIT, or if no result of `id` is awaited.
    Outcome wait_result(const std::string& id, std::chrono::milliseconds timeout);

    // Blocks for the broker's STATUS_REPLY. Throws ProducerError (unknown_job, timeout, ...).
    protocol::StatusReply status(const std::string& id, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Blocks for the broker's STATS_REPLY. Throws ProducerError on timeout.
    protocol::StatsReply stats(std::chrono::milliseconds timeout = std::chrono::seconds(5));

    std::size_t awaiting_acceptance() const noexcept { return unaccepted_count_; }
    std::size_t awaiting_results() const noexcept { return awaited_order_.size(); }
    // When the broker was last heard from (construction time until then).
    Clock::time_point last_heard() const noexcept { return last_heard_; }
    // Messages from the broker that failed to decode or made no sense.
    std::uint64_t dropped_messages() const noexcept { return dropped_messages_; }
    // SUBMITs sent again (resend or resubmission after a broker restart).
    std::uint64_t resubmissions() const noexcept { return resubmissions_; }

private:
    struct TrackedJob {
        std::string queue;
        std::string payload;
        bool wants_result = false;
        bool is_accepted = false;
        bool is_acceptance_reported = false;  // an accepted Event was emitted (once per id)
        bool is_queued_for_send = false;  // an entry for it sits in outbox_
        Clock::time_point sent_at{};      // last SUBMIT actually sent
        Clock::time_point checked_at{};   // last STATUS check sent
        std::uint64_t order = 0;          // key in awaited_order_ when wants_result
    };
    struct OutgoingSubmit {
        std::string id;
    };
    struct OutgoingStatus {
        std::string id;
    };
    struct OutgoingStats {};
    using Outgoing = std::variant<OutgoingSubmit, OutgoingStatus, OutgoingStats>;

    void assert_owner_thread() const;
    void validate(std::string_view queue, std::string_view payload, std::string_view id) const;
    void track(std::string id, std::string_view queue, std::string_view payload, bool wants_result);
    void forget(const std::string& id);
    void queue_submit(const std::string& id, TrackedJob& job);

    // Runs the loop until `is_finished()` holds or `deadline` passes; returns is_finished().
    template <class Predicate>
    bool pump_until(Clock::time_point deadline, Predicate is_finished);
    void pump_once(Clock::time_point deadline);
    void flush_outbox();
    bool send_outgoing(const Outgoing& outgoing);
    void run_timers(Clock::time_point now);
    Clock::time_point next_timer(Clock::time_point now) const;
    void receive_available();
    void handle(protocol::Message&& message);
    void on_accepted(const protocol::Accepted& accepted);
    void on_result(protocol::JobResult&& result);
    void on_status_reply(protocol::StatusReply&& reply);
    void on_error(protocol::Error&& error);
    void mark_accepted(const std::string& id, TrackedJob& job);
    void deliver(Outcome outcome);
    void resubmit_awaited();
    bool take_event(Event::Kind kind, const std::string& id, Event& out);

    ProducerOptions options_;
    zmq::socket_t socket_;
    std::thread::id owner_thread_;

    std::string id_prefix_;
    std::uint64_t next_sequence_ = 1;
    std::uint64_t next_order_ = 1;

    std::unordered_map<std::string, TrackedJob> jobs_;
    std::size_t unaccepted_count_ = 0;
    std::map<std::uint64_t, std::string> awaited_order_;  // awaited results, oldest first
    std::deque<Outgoing> outbox_;                         // waiting for the socket to accept
    std::deque<std::pair<Clock::time_point, std::string>> resend_queue_;  // SUBMITs in send order
    std::deque<Event> events_;                                            // observed, not yet returned

    Clock::time_point last_heard_;
    Clock::time_point last_check_round_{};

    // Replies to the blocking status()/stats() calls.
    std::optional<std::string> status_request_id_;
    std::optional<std::variant<protocol::StatusReply, protocol::Error>> status_answer_;
    bool is_stats_requested_ = false;
    std::optional<protocol::StatsReply> stats_answer_;

    std::uint64_t dropped_messages_ = 0;
    std::uint64_t resubmissions_ = 0;
};

}  // namespace corsair::producer
