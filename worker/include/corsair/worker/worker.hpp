// Worker: serves queues for a broker. It owns the DEALER socket facing the broker and runs the
// I/O loop (READY, heartbeats, JOB dispatch, PROGRESS, DONE/FAIL, ABANDON, reconnect, drain) on
// the thread that calls run(); handlers run on threads of its own (WorkerOptions::handler_threads),
// or inline on that thread. Its connection follows protocol.md §7 (src/connection_state.hpp).
// The protocol stays hidden here.
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>
#include <zmq.hpp>

#include "corsair/protocol/broker_link.hpp"
#include "corsair/protocol/codec.hpp"
#include "corsair/worker/handler.hpp"
#include "corsair/worker/worker_options.hpp"

namespace corsair::loop {
class SocketWait;  // loop/, the broker's and the worker's wait: private to the build
}  // namespace corsair::loop

namespace corsair::worker {

class HandlerPool;
struct HandlerOutcome;
class BrokerOutage;
class StartFailurePause;
enum class ConnectionState : std::uint8_t;  // connection_state.hpp: protocol.md §7
enum class ConnectionEvent : std::uint8_t;

class Worker {
public:
    // Binds the worker's inproc result and control endpoints; does not touch the network.
    // Throws std::invalid_argument for options no broker would accept (capacity 0, ...).
    Worker(zmq::context_t& context, WorkerOptions options, std::shared_ptr<spdlog::logger> log);
    // Joins the handler threads: a handler still running is asked to stop (JobContext::stop_token)
    // and waited for.
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    Worker(Worker&&) = delete;
    Worker& operator=(Worker&&) = delete;

    // Serves `queue` with `handler`. Call before run(); a second handler for a queue replaces the first.
    void add_handler(std::string queue, Handler handler);

    // The I/O loop, on the caller's thread. Blocks until request_stop(), or until a drain has
    // finished. Throws only on startup errors: no handler, a bad endpoint, or (std::invalid_argument
    // naming the endpoint to use) the broker's producer endpoint (ERROR wrong_endpoint). Call once.
    // When the broker abandons a job it runs (ABANDON: timed out or cancelled), the handler's
    // JobContext::stop_token is requested and neither DONE nor FAIL is sent for that attempt.
    void run();

    // Thread-safe, non-blocking: sends DRAIN, lets in-flight jobs finish (at most drain_timeout),
    // then sends DISCONNECT and makes run() return. May be called before run() starts.
    void request_drain();

    // Thread-safe, non-blocking: makes run() return promptly after sending DISCONNECT; the broker
    // requeues the jobs this worker held. Jobs not started yet are dropped; running ones are asked
    // to stop.
    void request_stop();

    const WorkerOptions& options() const noexcept { return options_; }

    // Whether run() returned because handlers could not be started StartFailurePause::kMaxRounds
    // rounds in a row (NotStarted): corsair-worker then exits with the fatal status (6).
    bool has_given_up() const noexcept { return has_given_up_; }

private:
    using Clock = std::chrono::steady_clock;

    // A lease, (id, attempt): it outlives the connection it came on (protocol.md §7, §10).
    struct JobKey {
        std::string id;
        std::uint32_t attempt = 0;
        auto operator<=>(const JobKey&) const = default;
    };
    struct JobKeyHash {
        std::size_t operator()(const JobKey& key) const noexcept {
            return std::hash<std::string>{}(key.id) ^ (std::size_t{key.attempt} * 0x9e3779b97f4a7c15ULL);
        }
    };
    // The end of an attempt not yet delivered: kept across a reconnect, named in READY `holding`
    // and sent once the new connection's READY is answered.
    using Report = std::variant<protocol::Done, protocol::Fail>;
    struct RunningJob {
        std::stop_source stop;      // shared with the handler's JobContext
        bool is_abandoned = false;  // the broker revoked the lease: its end is not reported
        Clock::time_point last_progress_sent{};
        std::optional<protocol::Progress> held_progress;  // newest report held back by the interval
    };

    void send_control(char command);
    // The only place state_ changes: to the state kConnectionTransitions gives for `event`,
    // opening or closing the DEALER so that it is open exactly in the states that have one.
    void change_state(ConnectionEvent event);
    // Starts the handler threads (none inline); returns how many.
    std::uint32_t start_handler_pool();
    // Which connection to the broker is open: its DEALER's number (generation_) and, for a
    // direct link, its descriptor's generation; {0, 0} for none.
    using LinkGeneration = std::pair<std::uint64_t, std::uint64_t>;
    LinkGeneration link_generation() const noexcept;
    // run()'s wait: control_, results_ when handler threads report there, then the connection.
    void make_wait(std::optional<loop::SocketWait>& waiting, bool waits_on_results);
    // A DEALER or a direct link, by the endpoint's scheme; then READY on it.
    void open_connection(Clock::time_point now);
    void open_dealer();
    void opened_connection(Clock::time_point now);
    void close_connection(std::chrono::milliseconds linger);
    // A lease held on this connection ended (reported, or abandoned by the broker).
    void end_lease();
    void connection_lost(Clock::time_point now, const char* reason);
    void send_ready();
    // The leases READY's `holding` names: those running and those with a report not yet delivered.
    std::vector<protocol::HeldLease> held_leases() const;
    // Whether the broker has answered on the open connection, so that reports may go out on it.
    bool is_answered() const;
    // A new connection's broker has answered: the leases still held count as held on it.
    void hold_leases_on_new_connection();
    // The reports kept while no connection could take them, sent now.
    void deliver_unsent();
    // DONE or FAIL for an ended attempt, now or in the next DONES.
    void send_report(Report&& report);
    // Sends `message`, after any DONEs still held (so DRAIN, DISCONNECT and the rest follow them).
    template <class T>
    void send_to_broker(T&& message);
    // The DONEs held for a DONES, sent now (one DONE if only one is held).
    void send_held_dones();
    void handle_control();
    void handle_outcome();
    // The end of an attempt (from a handler thread, or inline): DONE or FAIL to the broker.
    void end_attempt(HandlerOutcome&& outcome);
    // A handler could not start: DRAIN for a pause (or for good after too many rounds), then
    // FAIL not_started, so that the broker gives the job to someone else uncounted.
    void give_back_not_started(HandlerOutcome&& outcome, Clock::time_point now);
    // Once a start-failure pause is over: READY again, which ends the broker's draining.
    void resume_after_pause(Clock::time_point now);
    // Warns, at a bounded rate, while no broker has answered.
    void warn_while_cut_off(Clock::time_point now);
    // The DONE or FAIL that reports `outcome` (logged as the job's end).
    Report make_report(HandlerOutcome&& outcome);
    void handle_progress(HandlerOutcome& outcome, Clock::time_point now);
    void send_held_progress(Clock::time_point now);
    std::optional<protocol::Progress> take_held_progress(RunningJob& job);
    // The first message on a connection: the broker is there; the leases still held count as
    // held on this connection (protocol.md §7).
    void on_first_message(Clock::time_point now);
    // A JOB or JOBS came over a direct link: keep polling for WorkerOptions::direct_spin.
    void spin_after_job(Clock::time_point now);
    void handle_broker_message(Clock::time_point now);
    // An ERROR from the broker; true when it ended the connection (handle_broker_message stops).
    bool handle_broker_error(const protocol::Error& error, Clock::time_point now);
    // protocol.md §5.13: the broker's HEARTBEAT `max_payload_bytes` bounds this connection's results.
    void adopt_max_result_bytes(std::uint64_t max_payload_bytes);
    void handle_job(protocol::Job&& job);
    void handle_abandon(const protocol::Abandon& abandon);
    // protocol.md §5.32: a job still waiting for a slot goes back to the broker as FAIL not_started.
    void handle_recall(const protocol::Recall& recall);
    // A job taken back from the pool before it started: the lease goes back to the broker,
    // uncharged, as FAIL not_started with `why` as its error.
    void give_back_unstarted(JobKey key, const char* why);
    void give_back_waiting(const char* why);
    // Inline handlers: runs the jobs waiting for the I/O thread, for at most kInlineTurn, so that
    // messages (a RECALL, an ABANDON) and heartbeats are looked at between long runs of jobs.
    void run_inline_jobs();
    // Sends DRAIN and gives back the jobs held ready, not started: other workers run them now,
    // instead of after the jobs ahead of them here, or never if the drain times out first.
    void begin_drain(Clock::time_point now);
    // Sends DISCONNECT with `reason` (when a socket is open) and goes to `gone` by `event`.
    void finish(ConnectionEvent event, const char* reason);
    // What falls due with time, once per loop turn: held progress, the end of a pause, the
    // outage warning, heartbeats both ways, the drain's end, the reconnect after a backoff.
    void run_due_duties(Clock::time_point now);
    std::chrono::milliseconds poll_timeout(Clock::time_point now) const;
    // The heartbeat interval that applies now: the idle one while no lease is held (ready).
    std::chrono::milliseconds heartbeat_interval_now() const noexcept;
    void check_owner_thread() const;

    zmq::context_t& context_;
    WorkerOptions options_;
    std::shared_ptr<spdlog::logger> log_;
    std::map<std::string, Handler, std::less<>> handlers_;
    std::string control_endpoint_;
    std::string results_endpoint_;
    zmq::socket_t control_;                // PULL: request_drain / request_stop
    zmq::socket_t results_;                // PULL: outcomes from handler threads
    // A DEALER or a direct connection (direct://); open exactly when has_socket(state_).
    std::optional<protocol::BrokerLink> broker_;
    std::thread::id owner_thread_;

    // Connection state, touched only by the I/O thread.
    ConnectionState state_;         // changed only by change_state()
    std::uint64_t generation_ = 0;  // bumped for every new DEALER
    bool is_broker_heard_ = false;  // the open DEALER's broker has sent something
    // WorkerOptions::direct_spin: until then the I/O thread does not block (set by spin_after_job()).
    Clock::time_point spin_until_{};
    bool has_sent_to_broker_ = false;  // since run()'s last wait: the DEALER must be asked for messages
    std::chrono::milliseconds interval_;
    // HEARTBEAT `idle_interval_ms`: the interval while no lease is held (protocol.md §9); the
    // interval itself until the broker says otherwise.
    std::chrono::milliseconds idle_interval_;
    std::uint32_t liveness_;
    std::uint32_t reconnect_tries_ = 0;  // reconnects in a row without an answer (reconnect_backoff.hpp)
    // READYs in a row refused with too_many_workers: the backoff keeps growing across them, though
    // each refusal is an answer.
    std::uint32_t ready_refusals_ = 0;
    std::mt19937 random_{std::random_device{}()};  // the reconnect backoff's jitter
    std::unique_ptr<BrokerOutage> outage_;          // how long no broker has answered
    std::unique_ptr<StartFailurePause> start_failures_;
    bool has_given_up_ = false;
    Clock::time_point last_heard_{};
    Clock::time_point last_heartbeat_sent_{};  // or READY: the next HEARTBEAT is due one interval on
    Clock::time_point reconnect_at_{};
    Clock::time_point last_ready_again_{};  // READY re-sent after ERROR unknown_worker
    std::uint32_t in_flight_ = 0;           // jobs received and not yet reported nor abandoned, any connection
    std::uint32_t leases_held_ = 0;         // leases held on this connection (running or unsent): serving vs ready
    std::uint32_t broker_batch_ = 0;        // the HEARTBEAT `batch` of this connection's broker; 0: no DONES
    bool broker_reads_packed_ = false;      // its HEARTBEAT `reads_packed`: DONES go packed (protocol.md §3.1)
    // The HEARTBEAT `max_payload_bytes` of this connection's broker: a larger result is a permanent FAIL.
    std::size_t max_result_bytes_ = protocol::kDefaultMaxPayloadBytes;
    std::vector<protocol::Done> held_dones_;  // ended attempts waiting to go out as one DONES
    std::map<JobKey, Report> unsent_;         // ended attempts waiting for a connection to take them
    std::uint64_t instance_ = 0;              // READY's `instance`: this Worker, drawn at random
    // Every attempt submitted to the pool and not yet ended: up to capacity + prefetch, found
    // once per job on arrival and once on its end. Hashed, since a producer's ids share a long
    // prefix that every comparison of an ordered map would read (issue 17).
    std::unordered_map<JobKey, RunningJob, JobKeyHash> running_;
    std::size_t held_progress_count_ = 0;   // RunningJobs with held_progress
    Clock::time_point drain_deadline_{};

    std::unique_ptr<HandlerPool> pool_;  // declared last: joined before the sockets close
};

}  // namespace corsair::worker
