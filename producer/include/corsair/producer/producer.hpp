// Producer: submits jobs to a broker over one DEALER and collects their outcomes. It owns the
// socket, so it must be used from the thread that created it (checked in debug builds).
//
// Reliability (docs/protocol.md §8): a SUBMIT not answered within resend_after is sent again with
// the same id (the broker deduplicates). While results are awaited and the broker has been quiet
// for check_after, the oldest accepted awaited jobs are checked with STATUS; an unknown_job answer
// means the broker lost its state (restart), so every awaited job is resubmitted with its id.
// Payloads are kept until a job is accepted (or, if its result is awaited, until it arrives).
//
// Acceptance: a job is accepted by its ACCEPTED or, if that has not come yet, by its RESULT (or a
// final STATUS_REPLY). A SUBMIT that awaits the result carries accept_within, which lets the broker
// hold its ACCEPTED that long and leave it out when the RESULT comes first; such a SUBMIT is resent
// only after accept_within + resend_after. "Awaiting acceptance" (the window, awaiting_acceptance())
// therefore counts every job not yet acknowledged either way: a job submitted with wants_result
// holds its window slot until its ACCEPTED or its RESULT, whichever comes first.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "corsair/producer/job_options.hpp"
#include "corsair/producer/producer_error.hpp"
#include "corsair/protocol/curve.hpp"
#include "corsair/protocol/protocol.hpp"

namespace corsair::producer {

struct ProducerOptions {
    std::string broker_endpoint;  // e.g. tcp://127.0.0.1:5555
    // Max submits awaiting acceptance (their ACCEPTED, or with wants_result their RESULT) before
    // submit_async blocks. A broker whose --max-in-flight is lower refuses the SUBMITs past it
    // (ERROR too_many_in_flight, naming the limit): the producer then keeps its window at that
    // limit and sends each refused SUBMIT again after resend_after, reporting nothing to the caller.
    std::size_t window = 1000;
    // Resend a SUBMIT not ACCEPTED by then (same id: idempotent); accept_within later for a SUBMIT
    // that carries it.
    std::chrono::milliseconds resend_after{3000};
    // Sent as accept_within_ms on each SUBMIT of submit_async with wants_result (resends too): the
    // broker may hold that job's ACCEPTED this long and send none if the RESULT comes first, which
    // saves a message per short job (docs/protocol.md §5.1). 0..protocol::kMaxAcceptWithinMs (60 s),
    // else the constructor throws. The blocking submit() and submits without wants_result send 0.
    std::chrono::milliseconds accept_within{100};
    // Sent as results_batch on each SUBMIT with wants_result: the broker may send the RESULTs of
    // jobs that end together as one RESULTS of up to this many (docs/protocol.md §5.27), which
    // saves frames and wake-ups on both sides. 0 or 1: one RESULT per message. At most
    // protocol::kMaxBatchEntries, else the constructor throws.
    std::uint32_t results_batch = 64;
    // The most jobs one SUBMITS carries (docs/protocol.md §5.33): the SUBMITs a Producer::Batch
    // held back, and the resends that fall due together, leave as SUBMITS of up to this many jobs
    // of one queue and the same options, which saves a message, a header and a wake-up per job on
    // both sides. Jobs with a unique_key always go as SUBMIT. 0 or 1: one SUBMIT per job. At most
    // protocol::kMaxBatchEntries, else the constructor throws. A broker from before SUBMITS
    // answers the first one unknown_command; the producer then sends those jobs, and all later
    // ones, as single SUBMITs.
    std::uint32_t submit_batch = 64;
    // When results are awaited and the broker has been quiet this long, ask STATUS for the oldest
    // awaited jobs; unknown_job -> resubmit with the same id.
    std::chrono::milliseconds check_after{2000};
    // How long the broker may stay silent while this producer awaits it (an ACCEPTED, a RESULT)
    // before the producer gives up waiting: submit_async blocked on a full window, and poll(), then
    // throw a ProducerError of kind broker_silent. Silence counts from the later of the last
    // message heard and the moment something began to be awaited; time the caller spent away from
    // the producer for longer than check_after does not count, since it could not ask meanwhile. A
    // live broker is asked STATUS every check_after of silence, so a limit of a few check_after
    // never fires on one. Zero: no limit (wait for ever).
    std::chrono::milliseconds silence_limit{0};
    // Largest payload this producer submits; 0 = no cap of its own. Either way the producer adopts
    // the broker's --max-payload, which the broker tells in ERROR payload_too_large and in
    // STATS_REPLY, and refuses a larger payload locally (ProducerError invalid, payload_too_large).
    // Before it knows the broker's limit, a payload over protocol::kDefaultMaxPayloadBytes makes it
    // ask for it first (one STATS); a smaller one is sent, and the broker refuses it if too large.
    std::size_t max_payload_bytes = 0;
    // Whether poll() reports an `accepted` event for every job. A caller that only wants results
    // can turn this off and save an event (two strings) per job; refusals are still reported.
    bool reports_acceptance = true;
    // CURVE (docs/security.md): the broker's public key and this producer's key pair, e.g. from
    // protocol::CurveClientKeys::from_files(). Empty: no CURVE. A broker with CURVE on drops a
    // connection whose keys it does not accept, which the producer sees as silence.
    protocol::CurveClientKeys curve;
};

// How a job ended: done, failed or cancelled. `result` holds the result bytes, `error` why it
// failed or was cancelled. `id` is the id this producer submitted; `job_id` is the broker's job
// whose outcome this is: the same, unless the submit's unique_key matched another live job.
struct Outcome {
    std::string id;
    protocol::JobState state = protocol::JobState::done;
    std::uint32_t attempt = 0;
    std::string result;
    std::string error;
    std::string job_id;
};

// How far a running job is, as its worker last reported.
struct JobProgress {
    std::uint32_t attempt = 0;
    std::uint32_t percent = 0;  // 0..100
    std::string message;
};

// Something poll() observed: a job accepted, a job's outcome, the broker refusing a SUBMIT
// (`error` holds the broker's ERROR; the job is no longer tracked), or a running job's progress.
// `id` is always the id this producer submitted, also when a unique key made the broker answer
// for another job: results and progress of that job are delivered under the submitted id.
struct Event {
    enum class Kind { accepted, result, error, progress } kind = Kind::accepted;
    std::string id;
    std::string job_id;     // accepted: the broker's job for this submit (id, or the one holding its unique_key)
    bool existed = false;   // accepted: nothing new was queued (the id was known, or unique_key matched)
    Outcome outcome;        // Kind::result only
    protocol::Error error;  // Kind::error only
    JobProgress progress;   // Kind::progress only
};

class Producer {
public:
    using Clock = std::chrono::steady_clock;
    class Batch;

    // Connects (lazily, as ZeroMQ does); never blocks. Throws ProducerError (invalid) on a malformed
    // endpoint or an accept_within out of range.
    Producer(zmq::context_t& context, ProducerOptions options);
    ~Producer();
    Producer(const Producer&) = delete;
    Producer& operator=(const Producer&) = delete;

    // A job id unique across processes: a random 64-bit prefix (hex), "-", a sequence number.
    std::string new_job_id();

    // Blocks: submits a job with `options`, waits for ACCEPTED (resending after resend_after) and
    // returns it: the id sent, whether nothing new was queued (existed), and job_id, the job this
    // submit stands for (the id, or the live job in the queue holding options.unique_key).
    // Throws ProducerError: invalid input or options, the broker's ERROR, or a timeout (the job is
    // then forgotten locally; it may or may not have been queued). `id`: the job id to use, or
    // empty for a new one (so that a caller can name the job in its own report of a refusal).
    protocol::Accepted submit(std::string_view queue, std::string_view payload, const JobOptions& options,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10), std::string id = {});
    // The same for a plain job; returns its job id.
    std::string submit(std::string_view queue, std::string_view payload,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

    // Pipelined: sends now and returns the id (`id` or a new one). Blocks, pumping the socket,
    // only while `window` submits await acceptance (see the top of this file). Outcomes arrive
    // through poll()/wait_result(), under this id even when options.unique_key makes the broker
    // answer for another job.
    // Resends (and resubmissions after a broker restart) carry the same options, except that a
    // run_at already past by then is left out: the job is ready at once, as it would have been.
    // Throws ProducerError on invalid input or options, on an id already in flight, or (kind
    // broker_silent) when the window stays full while the broker is silent past silence_limit.
    std::string submit_async(std::string_view queue, std::string_view payload, bool wants_result,
                             const JobOptions& options, std::string id = {});
    // The same for a plain job.
    std::string submit_async(std::string_view queue, std::string_view payload, bool wants_result, std::string id = {});

    // Sends the SUBMITs a Batch holds back now, without waiting for the Batch to end.
    void send_held_submits();

    // Pumps the socket for up to `timeout`, returning early once something is observed; handles
    // resends and STATUS checks. Returns what was observed (possibly nothing). Never throws on
    // peer input: malformed messages are dropped and counted in dropped_messages(). Throws a
    // ProducerError of kind broker_silent when it observed nothing and the broker has been silent
    // past silence_limit while jobs are awaited (see ProducerOptions); the producer stays usable,
    // and the next report comes after another silence_limit of silence.
    std::vector<Event> poll(std::chrono::milliseconds timeout);

    // Blocks until the outcome of `id` (submitted with wants_result) arrives and returns it; a
    // failed or cancelled job is an Outcome with that state, not an exception. Progress events of
    // `id` not yet taken by poll() are dropped. Throws ProducerError on timeout, if the broker
    // refused the SUBMIT, or if no result of `id` is awaited.
    Outcome wait_result(const std::string& id, std::chrono::milliseconds timeout);

    // Blocks for the broker's STATUS_REPLY. Throws ProducerError (unknown_job, timeout, ...).
    protocol::StatusReply status(const std::string& id, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // STATUS with the job's own payload in `payload` (holds_job_payload set). The broker keeps a
    // payload only until the job ends: an ended job is refused with wrong_state, and a broker
    // too old to send payloads with unknown_command.
    protocol::StatusReply peek(const std::string& id, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Blocks for the broker's STATS_REPLY. Throws ProducerError on timeout.
    protocol::StatsReply stats(std::chrono::milliseconds timeout = std::chrono::seconds(5));

    // Queue and job administration (docs/jobs.md). Each blocks for the broker's answer, matched by
    // command and id (other traffic, including unrelated ERRORs, is handled meanwhile), and throws
    // ProducerError: invalid (bad input, nothing sent), refused (the broker's ERROR; code() is its
    // code, e.g. unknown_job or wrong_state) or timeout (the request may or may not have been applied).
    //
    // Cancels a pending, delayed or running job. A producer awaiting its result gets state cancelled.
    void cancel(const std::string& id, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Puts one job of a dead set back in its queue, with a fresh count of attempts.
    void retry(const std::string& id, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Puts a queue's whole dead set back; returns how many jobs.
    std::uint64_t retry_all(const std::string& queue, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Removes a queue's dead set, or only job `id` in it; returns how many jobs.
    std::uint64_t purge(const std::string& queue, const std::string& id = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Lists up to `limit` (1..kMaxDeadListed) jobs of a queue's dead set, newest first, and its total.
    protocol::DeadReply dead(const std::string& queue, std::uint32_t limit = 100,
                             std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Sets the fields of `settings` that hold a value (the rest stay) and returns every setting
    // of the queue as now set. With only `queue` set it just reads them.
    protocol::QueueSettings queue_settings(const protocol::QueueSettings& settings,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Stop or restart dispatch from a queue (SUBMITs are still accepted); return its settings.
    protocol::QueueSettings pause(const std::string& queue,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(5));
    protocol::QueueSettings resume(const std::string& queue,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Creates the queue with the settings `settings` holds (an existing queue just takes them);
    // the answer's was_created says which. Every other request on a queue that does not exist
    // is refused with unknown_queue.
    protocol::QueueSettings create_queue(const protocol::QueueSettings& settings,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Deletes a queue. A queue holding jobs is refused (wrong_state) unless `force`, which ends
    // its jobs (cancelled, or purged from the dead set). Returns how many jobs were removed.
    std::uint64_t delete_queue(const std::string& queue, bool force = false,
                               std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Removes a queue's pending jobs, and its delayed ones with `delayed` (each ends cancelled);
    // returns how many. Running jobs and the dead set are left alone.
    std::uint64_t clear(const std::string& queue, bool pending = true, bool delayed = false,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // One page of up to `limit` (1..kMaxListed) jobs of `queue` in `state`, starting after job
    // `after` (empty: from the start; pass the previous page's `next`, empty after the last page).
    protocol::ListReply list(const std::string& queue, protocol::ListedState state, const std::string& after = {},
                             std::uint32_t limit = 100, std::chrono::milliseconds timeout = std::chrono::seconds(5));

    // Submits neither ACCEPTED nor ended yet: those that fill the window.
    std::size_t awaiting_acceptance() const noexcept;
    std::size_t awaiting_results() const noexcept;
    // When the broker was last heard from (construction time until then).
    Clock::time_point last_heard() const noexcept;
    // Messages from the broker that failed to decode or made no sense.
    std::uint64_t dropped_messages() const noexcept;
    // SUBMITs sent again (resend or resubmission after a broker restart).
    std::uint64_t resubmissions() const noexcept;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

// Holds back the SUBMITs of its producer's submit_async while it lives, so that they leave
// together as SUBMITS of up to ProducerOptions::submit_batch jobs instead of one message each:
//
//     {
//         Producer::Batch batch(producer);
//         for (const auto& line : lines) producer.submit_async("thumbnails", line, true);
//     }  // sent here
//
// Held SUBMITs are sent when the last Batch of the producer ends, by send_held_submits(), and by
// any call that waits on the broker: submit_async on a full window, poll(), wait_result(), the
// blocking requests. So hold one around a loop of submits, not across a pause: a job held is not
// at the broker. Batches nest. Same thread as the producer.
class Producer::Batch {
public:
    explicit Batch(Producer& producer);
    // Sends what is held (unless an outer Batch still holds). Never throws: a send the socket
    // cannot take now is left to the next call into the producer.
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

private:
    Producer& producer_;
};

}  // namespace corsair::producer
