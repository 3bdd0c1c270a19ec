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
#include <stop_token>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "corsair/protocol/codec.hpp"
#include "corsair/worker/handler.hpp"
#include "corsair/worker/worker_options.hpp"

namespace corsair::worker {

class HandlerPool;
struct HandlerOutcome;
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
    // finished. Throws only on startup errors (no handler, bad endpoint). Call once.
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

private:
    using Clock = std::chrono::steady_clock;

    // One attempt handed to the pool and not yet ended, owned by the I/O thread.
    struct JobKey {
        std::uint64_t generation = 0;  // the connection it came on
        std::string id;
        std::uint32_t attempt = 0;
        auto operator<=>(const JobKey&) const = default;
    };
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
    void open_connection(Clock::time_point now);
    void close_connection(std::chrono::milliseconds linger);
    // A lease held on this connection ended (reported, or abandoned by the broker).
    void end_lease();
    void connection_lost(Clock::time_point now, const char* reason);
    void send_ready();
    // Sends `message`, after any DONEs still held (so DRAIN, DISCONNECT and the rest follow them).
    template <class T>
    void send_to_broker(T&& message);
    // The DONEs held for a DONES, sent now (one DONE if only one is held).
    void send_held_dones();
    void handle_control();
    void handle_outcome();
    // The end of an attempt (from a handler thread, or inline): DONE or FAIL to the broker.
    void end_attempt(HandlerOutcome&& outcome);
    void handle_progress(HandlerOutcome& outcome, Clock::time_point now);
    void send_held_progress(Clock::time_point now);
    std::optional<protocol::Progress> take_held_progress(RunningJob& job);
    void handle_broker_message(Clock::time_point now);
    // protocol.md §5.13: the broker's HEARTBEAT `max_payload_bytes` bounds this connection's results.
    void adopt_max_result_bytes(std::uint64_t max_payload_bytes);
    void handle_job(protocol::Job&& job);
    void handle_abandon(const protocol::Abandon& abandon);
    void begin_drain(Clock::time_point now);
    // Sends DISCONNECT with `reason` (when a socket is open) and goes to `gone` by `event`.
    void finish(ConnectionEvent event, const char* reason);
    std::chrono::milliseconds poll_timeout(Clock::time_point now) const;
    void check_owner_thread() const;

    zmq::context_t& context_;
    WorkerOptions options_;
    std::shared_ptr<spdlog::logger> log_;
    std::map<std::string, Handler, std::less<>> handlers_;
    std::string control_endpoint_;
    std::string results_endpoint_;
    zmq::socket_t control_;                // PULL: request_drain / request_stop
    zmq::socket_t results_;                // PULL: outcomes from handler threads
    std::optional<zmq::socket_t> broker_;  // DEALER; open exactly when has_socket(state_)
    std::thread::id owner_thread_;

    // Connection state, touched only by the I/O thread.
    ConnectionState state_;         // changed only by change_state()
    std::uint64_t generation_ = 0;  // bumped for every new DEALER: results of older ones are dropped
    std::chrono::milliseconds interval_;
    std::uint32_t liveness_;
    std::chrono::milliseconds backoff_;
    Clock::time_point last_heard_{};
    Clock::time_point next_heartbeat_{};
    Clock::time_point reconnect_at_{};
    Clock::time_point last_ready_again_{};  // READY re-sent after ERROR unknown_worker
    std::uint32_t in_flight_ = 0;           // jobs received and not yet reported nor abandoned, any connection
    std::uint32_t leases_held_ = 0;         // of those, the ones received on this connection: serving vs ready
    std::uint32_t broker_batch_ = 0;        // the HEARTBEAT `batch` of this connection's broker; 0: no DONES
    // The HEARTBEAT `max_payload_bytes` of this connection's broker: a larger result is a permanent FAIL.
    std::size_t max_result_bytes_ = protocol::kDefaultMaxPayloadBytes;
    std::vector<protocol::Done> held_dones_;  // ended attempts waiting to go out as one DONES
    std::map<JobKey, RunningJob> running_;  // every attempt submitted to the pool and not yet ended
    std::size_t held_progress_count_ = 0;   // RunningJobs with held_progress
    Clock::time_point drain_deadline_{};

    std::unique_ptr<HandlerPool> pool_;  // declared last: joined before the sockets close
};

}  // namespace corsair::worker
