#include "corsair/worker/worker.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <cassert>
#include <stdexcept>
#include <utility>
#include <variant>

#include "broker_outage.hpp"
#include "corsair/loop/socket_wait.hpp"
#include "corsair/options/endpoint.hpp"
#include "corsair/protocol/duration.hpp"
#include "corsair/protocol/text.hpp"
#include "corsair/protocol/wire.hpp"
#include "connection_state.hpp"
#include "handler_pool.hpp"
#include "reconnect_backoff.hpp"
#include "start_failure_pause.hpp"

namespace corsair::worker {

namespace {

constexpr char kDrainCommand = 'D';
// The error of a FAIL not_started for a job a draining worker will not run.
constexpr const char* kGivenBackWhileDraining = "given back unstarted: the worker is draining";
constexpr const char* kGivenBackWhilePaused = "given back unstarted: the worker pauses after a job it could not start";
constexpr char kStopCommand = 'S';
// Lets the final DISCONNECT reach the broker without letting shutdown hang on a dead one.
constexpr std::chrono::milliseconds kDisconnectLinger{500};
// Inline handlers run for at most this long before the I/O thread looks at its sockets again.
constexpr std::chrono::milliseconds kInlineTurn{1};
// READY's `holding` stays well inside the broker's header bound (protocol::kMaxHeaderBytes).
constexpr std::size_t kMaxHoldingBytes = protocol::kMaxHeaderBytes / 2;

std::string unique_inproc_endpoint(const char* role) {
    static std::atomic<std::uint64_t> counter{0};
    return "inproc://corsair-worker-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + role;
}

zmq::socket_t bound_pull(zmq::context_t& context, const std::string& endpoint) {
    zmq::socket_t socket(context, zmq::socket_type::pull);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::rcvhwm, 0);
    socket.bind(endpoint);
    return socket;
}

void validate(const WorkerOptions& options) {
    if (options.capacity == 0 || options.capacity > protocol::kMaxCapacity) {
        throw std::invalid_argument("capacity must be between 1 and " + std::to_string(protocol::kMaxCapacity));
    }
    if (options.name.size() > protocol::kMaxWorkerNameBytes) {
        throw std::invalid_argument("worker name longer than " + std::to_string(protocol::kMaxWorkerNameBytes) +
                                    " bytes");
    }
    if (options.heartbeat_interval < protocol::kMinHeartbeatInterval ||
        options.heartbeat_interval > protocol::kMaxHeartbeatInterval) {
        throw std::invalid_argument("heartbeat interval must be between " +
                                    protocol::format_duration(protocol::kMinHeartbeatInterval) + " and " +
                                    protocol::format_duration(protocol::kMaxHeartbeatInterval));
    }
    if (options.liveness == 0) throw std::invalid_argument("liveness must be at least 1");
    if (options.reconnect_min.count() <= 0 || options.reconnect_max < options.reconnect_min) {
        throw std::invalid_argument("reconnect backoff must satisfy 0 < reconnect_min <= reconnect_max");
    }
    if (options.drain_timeout.count() < 0) throw std::invalid_argument("drain timeout must not be negative");
    if (options.prefetch > protocol::kMaxPrefetch) {
        throw std::invalid_argument("prefetch must be between 0 and " + std::to_string(protocol::kMaxPrefetch));
    }
}

}  // namespace

std::string default_worker_name() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    return std::string(host[0] != '\0' ? host : "unknown") + ":" + std::to_string(::getpid());
}

Worker::Worker(zmq::context_t& context, WorkerOptions options, std::shared_ptr<spdlog::logger> log)
    : context_(context),
      options_(std::move(options)),
      log_(std::move(log)),
      control_endpoint_(unique_inproc_endpoint("control")),
      results_endpoint_(unique_inproc_endpoint("results")),
      control_(bound_pull(context_, control_endpoint_)),
      results_(bound_pull(context_, results_endpoint_)),
      state_(ConnectionState::not_started),
      outage_(std::make_unique<BrokerOutage>()),
      start_failures_(std::make_unique<StartFailurePause>()) {
    if (options_.name.empty()) options_.name = default_worker_name();
    validate(options_);
    interval_ = options_.heartbeat_interval;
    idle_interval_ = interval_;
    liveness_ = options_.liveness;
    std::random_device random;
    while (instance_ == 0) instance_ = (std::uint64_t{random()} << 32) | random();
}

Worker::~Worker() {
    if (pool_) pool_->stop();
    pool_.reset();  // joins handler threads before the result socket closes
}

void Worker::add_handler(std::string queue, Handler handler) {
    if (queue.empty() || queue.size() > protocol::kMaxQueueNameBytes) {
        throw std::invalid_argument("queue name must be 1 to " + std::to_string(protocol::kMaxQueueNameBytes) +
                                    " bytes: '" + queue + "'");
    }
    if (!handler) throw std::invalid_argument("empty handler for queue " + queue);
    if (pool_) throw std::logic_error("add_handler() called after run()");
    handlers_.insert_or_assign(std::move(queue), std::move(handler));
    if (handlers_.size() > protocol::kMaxQueuesPerWorker) {
        throw std::invalid_argument("a worker serves at most " + std::to_string(protocol::kMaxQueuesPerWorker) +
                                    " queues");
    }
}

void Worker::send_control(char command) {
    // A short-lived socket per request: nothing is shared with the I/O thread but the endpoint.
    zmq::socket_t socket(context_, zmq::socket_type::push);
    socket.set(zmq::sockopt::linger, 1000);
    socket.connect(control_endpoint_);
    socket.send(zmq::const_buffer(&command, 1), zmq::send_flags::dontwait);
}

void Worker::request_drain() { send_control(kDrainCommand); }
void Worker::request_stop() { send_control(kStopCommand); }

void Worker::check_owner_thread() const { assert(owner_thread_ == std::this_thread::get_id()); }

void Worker::run() {
    if (handlers_.empty()) throw std::logic_error("Worker::run() needs at least one handler");
    if (options_.broker_endpoint.empty()) throw std::invalid_argument("no broker endpoint given");
    if (pool_) throw std::logic_error("Worker::run() called twice");
    owner_thread_ = std::this_thread::get_id();
    const std::uint32_t threads = start_handler_pool();
    change_state(ConnectionEvent::started);  // throws on a malformed endpoint: a startup error

    // Inline, no thread reports on results_: it is left out of the wait. Items: control_, then
    // results_ when waited on, then the DEALER while there is one.
    const bool waits_on_results = threads > 0;
    const std::size_t broker_item = waits_on_results ? 2 : 1;
    std::optional<loop::SocketWait> waiting;
    LinkGeneration waiting_generation{0, 0};  // the connection `waiting` knows
    while (state_ != ConnectionState::gone) {
        // A direct connection that was refused or broke is known at once, where a DEALER's
        // broker is lost only after its heartbeats: reconnect now, with the usual backoff.
        if (broker_ && broker_->is_direct() && broker_->descriptor() < 0) {
            // Never answered: refused, or closed at once (a ZeroMQ port given as direct://).
            connection_lost(Clock::now(),
                            is_broker_heard_ ? "direct_connection_closed" : "direct_connection_closed_unanswered");
        }
        // Each new connection has its own descriptor: rebuilt on a (re)connection, not per turn.
        if (!waiting || waiting_generation != link_generation()) {
            make_wait(waiting, waits_on_results);
            waiting_generation = link_generation();
        }
        const bool is_dealer = broker_ && !broker_->is_direct();
        if (std::exchange(has_sent_to_broker_, false) && is_dealer) waiting->touch(broker_item);
        const auto before_wait = Clock::now();
        const bool spins = before_wait < spin_until_;
        // Spinning: let whatever is runnable on this CPU go first (the broker or a producer just
        // woken, on a machine with fewer cores than busy processes), then look again.
        if (spins) ::sched_yield();
        std::uint32_t ready = waiting->wait(spins ? std::chrono::milliseconds{0} : poll_timeout(before_wait));

        if (ready & 1U) {
            handle_control();
            waiting->drained(0);
        }
        if (state_ == ConnectionState::gone) break;
        if (waits_on_results && (ready & 2U)) {
            handle_outcome();
            waiting->drained(1);
        }
        if (broker_ && waiting_generation.first == generation_ && (ready & (1U << broker_item))) {
            handle_broker_message(Clock::now());
            // Received until EAGAIN, unless the message ended the connection (a new DEALER, or none).
            if (is_dealer && broker_ && generation_ == waiting_generation.first) waiting->drained(broker_item);
        }
        run_inline_jobs();
        send_held_dones();  // everything at hand has been handled: what ended goes out now

        run_due_duties(Clock::now());
    }
    pool_->stop();
    log_->info("worker stopped name={}", options_.name);
}

std::uint32_t Worker::start_handler_pool() {
    // Inline handlers run on this thread: the pool is then an empty one that run() can still stop.
    // Never more threads than the capacity: an extra one would start a job held ready (§11).
    const std::uint32_t asked_threads = options_.handler_threads != 0 ? options_.handler_threads : options_.capacity;
    const std::uint32_t threads = options_.runs_handlers_inline ? 0 : std::min(asked_threads, options_.capacity);
    if (options_.handler_threads > options_.capacity && !options_.runs_handlers_inline) {
        log_->warn("handler threads capped at the capacity threads={} capacity={}: more would run jobs held ready",
                   options_.handler_threads, options_.capacity);
    }
    pool_ = std::make_unique<HandlerPool>(context_, results_endpoint_, threads, log_);
    log_->info("worker starting name={} broker={} capacity={} prefetch={} handler_threads={} queues={}", options_.name,
               options_.broker_endpoint, options_.capacity, options_.prefetch,
               options_.runs_handlers_inline ? std::string("inline") : std::to_string(threads), handlers_.size());
    return threads;
}

Worker::LinkGeneration Worker::link_generation() const noexcept {
    return broker_ ? LinkGeneration{generation_, broker_->descriptor_generation()} : LinkGeneration{0, 0};
}

void Worker::make_wait(std::optional<loop::SocketWait>& waiting, bool waits_on_results) {
    std::vector<zmq::socket_t*> sockets{&control_};
    if (waits_on_results) sockets.push_back(&results_);
    std::vector<int> descriptors;
    if (broker_ && broker_->dealer()) sockets.push_back(broker_->dealer());
    if (broker_ && broker_->is_direct()) descriptors.push_back(broker_->descriptor());
    waiting.emplace(sockets, descriptors);
}

void Worker::run_due_duties(Clock::time_point now) {
    send_held_progress(now);
    resume_after_pause(now);
    warn_while_cut_off(now);
    if (has_socket(state_)) {
        // Both ways at the interval that applies now: a JOB after a long idle stretch makes the
        // next HEARTBEAT due at once, within the window the broker gives a worker it just leased to.
        const auto interval = heartbeat_interval_now();
        if (now >= last_heard_ + interval * liveness_) {
            connection_lost(now, "heartbeat_timeout");
        } else if (now >= last_heartbeat_sent_ + interval) {
            send_to_broker(protocol::Heartbeat{});
            last_heartbeat_sent_ = now;
        }
    }
    if (is_draining(state_)) {
        if (in_flight_ == 0 && (unsent_.empty() || !has_socket(state_))) {
            finish(ConnectionEvent::drain_finished, "drained");
        } else if (now >= drain_deadline_) {
            log_->warn("drain timed out in_flight={} timeout={}; the broker will requeue them", in_flight_,
                       protocol::format_duration(options_.drain_timeout));
            finish(ConnectionEvent::drain_finished, "drain_timeout");
        }
    }
    if (state_ == ConnectionState::waiting_to_reconnect && now >= reconnect_at_) {
        change_state(ConnectionEvent::backoff_elapsed);
    }
}

std::chrono::milliseconds Worker::poll_timeout(Clock::time_point now) const {
    auto next = now + std::chrono::seconds(1);
    if (has_socket(state_)) {
        const auto interval = heartbeat_interval_now();
        next = std::min({next, last_heartbeat_sent_ + interval, last_heard_ + interval * liveness_});
    } else if (state_ == ConnectionState::waiting_to_reconnect) {
        next = std::min(next, reconnect_at_);
    }
    if (options_.runs_handlers_inline && pool_->has_queued()) return std::chrono::milliseconds{0};
    if (is_draining(state_)) next = std::min(next, drain_deadline_);
    if (start_failures_->is_paused()) next = std::min(next, start_failures_->paused_until());
    if (const auto warning = outage_->next_warning()) next = std::min(next, *warning);
    if (held_progress_count_ > 0) {
        for (const auto& [key, job] : running_) {
            if (job.held_progress) next = std::min(next, job.last_progress_sent + kMinProgressInterval);
        }
    }
    if (next <= now) return std::chrono::milliseconds{0};
    // Round up so a wake-up never comes a fraction of a millisecond early and spins.
    return std::chrono::ceil<std::chrono::milliseconds>(next - now);
}

std::chrono::milliseconds Worker::heartbeat_interval_now() const noexcept {
    return state_ == ConnectionState::ready ? idle_interval_ : interval_;
}

void Worker::open_connection(Clock::time_point now) {
    check_owner_thread();
    if (protocol::stream::is_direct_endpoint(options_.broker_endpoint)) {
        if (options_.curve.is_enabled()) {
            throw std::invalid_argument("'" + options_.broker_endpoint + "': the direct transport has no CURVE; "
                                        "connect to the broker's tcp:// worker endpoint instead");
        }
        try {
            // Never connects again by itself: a new connection is a new worker to the broker, so
            // the state machine makes each one, READY first (protocol.md §7).
            broker_.emplace(options_.broker_endpoint, protocol::stream::Role::worker, false);
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument("cannot connect to broker endpoint: " + std::string(e.what()));
        }
    } else {
        open_dealer();
    }
    opened_connection(now);
}

void Worker::open_dealer() {
    zmq::socket_t socket(context_, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, 0);
    // Any limit the broker announces fits, so a JOB under a raised --max-payload gets through.
    socket.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(protocol::kClientMaxMessageBytes));
    protocol::use_curve_client(socket, options_.curve);
    try {
        socket.connect(options_.broker_endpoint);
    } catch (const zmq::error_t& e) {
        throw std::invalid_argument("cannot connect to broker endpoint '" + options_.broker_endpoint +
                                    "': " + e.what());
    }
    broker_.emplace(std::move(socket));
}

void Worker::opened_connection(Clock::time_point now) {
    ++generation_;
    is_broker_heard_ = false;
    broker_batch_ = 0;  // a new broker may not read DONES: wait for its HEARTBEAT
    broker_reads_packed_ = false;
    max_result_bytes_ = protocol::kDefaultMaxPayloadBytes;  // until its HEARTBEAT says otherwise
    // Wait for the broker's own numbers again: a restarted broker may use different ones.
    interval_ = options_.heartbeat_interval;
    idle_interval_ = interval_;
    liveness_ = options_.liveness;
    last_heard_ = now;
    last_heartbeat_sent_ = now;
    log_->debug("connecting broker={}", options_.broker_endpoint);
    send_ready();
    // A new connection is a new worker to the broker: the pause must be said again.
    if (start_failures_->is_paused()) send_to_broker(protocol::Drain{});
    last_ready_again_ = {};
}

void Worker::change_state(ConnectionEvent event) {
    check_owner_thread();
    const auto next = next_connection_state(state_, event);
    // Raised only where kConnectionTransitions has a row: a missing one is our bug, never the broker's.
    assert(next.has_value() && "no protocol.md §7 row for this event in this state");
    if (!next) {
        log_->error("no connection transition state={} event={}", to_string(state_), to_string(event));
        return;
    }
    // The DEALER follows the state: it is open in exactly the states that have one.
    if (*next == ConnectionState::connecting) {
        open_connection(Clock::now());
    } else if (has_socket(state_) && !has_socket(*next)) {
        // Linger only for our own DISCONNECT, so that it gets out; a lost broker is owed nothing.
        close_connection(*next == ConnectionState::gone ? kDisconnectLinger : std::chrono::milliseconds{0});
        // protocol.md §7: the leases stay ours; READY on the next connection names them, and the
        // DONEs not yet sent go out once it is answered.
        for (auto& done : std::exchange(held_dones_, {})) {
            JobKey key{done.id, done.attempt};
            unsent_.insert_or_assign(std::move(key), Report(std::move(done)));
        }
        leases_held_ = 0;
    }
    if (*next != state_) {
        log_->debug("connection state={} event={} previous={}", to_string(*next), to_string(event), to_string(state_));
    }
    state_ = *next;
    assert(broker_.has_value() == has_socket(state_));
}

void Worker::end_lease() {
    assert(leases_held_ > 0);
    if (leases_held_ == 0) return;
    --leases_held_;
    change_state(leases_held_ == 0 ? ConnectionEvent::last_lease_ended : ConnectionEvent::lease_ended);
}

void Worker::close_connection(std::chrono::milliseconds linger) {
    check_owner_thread();
    if (!broker_) return;
    broker_->set_linger(linger);
    broker_.reset();
}

void Worker::connection_lost(Clock::time_point now, const char* reason) {
    change_state(ConnectionEvent::broker_lost);
    if (state_ == ConnectionState::draining_disconnected) {
        log_->info("broker lost reason={} while draining; not reconnecting", reason);
        return;
    }
    const bool is_new_outage = !outage_->next_warning();
    const auto window = interval_ * liveness_;
    outage_->begin(last_heard_, window);
    const auto cap = reconnect_cap(window, options_.reconnect_min, options_.reconnect_max);
    const auto delay = reconnect_delay(++reconnect_tries_, options_.reconnect_min, cap,
                                       std::uniform_real_distribution<double>(0.0, 1.0)(random_));
    reconnect_at_ = now + delay;
    // Each failed reconnect is debug: warn_while_cut_off() says at a bounded rate how long it has been.
    log_->log(is_new_outage ? spdlog::level::info : spdlog::level::debug,
              "broker lost reason={} broker={}; reconnecting in {}", reason, options_.broker_endpoint,
              protocol::format_duration(delay));
}

void Worker::warn_while_cut_off(Clock::time_point now) {
    const auto length = outage_->warning_due(now);
    if (!length) return;
    const bool is_direct = protocol::stream::is_direct_endpoint(options_.broker_endpoint);
    log_->warn("no broker for {} broker={} reconnects={} in_flight={}; still trying{}",
               protocol::format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(*length)),
               options_.broker_endpoint, reconnect_tries_, in_flight_,
               options_.curve.is_enabled() ? options::kCurveSilenceHint
               : is_direct ? " (is it the broker's --direct endpoint? a ZeroMQ port closes a direct connection at once)"
                           : "");
}

void Worker::send_ready() {
    protocol::Ready ready;
    for (const auto& [queue, handler] : handlers_) ready.queues.push_back(queue);
    ready.capacity = options_.capacity;
    ready.name = options_.name;
    // Up to every job it may hold: at capacity 1 a job and the one held ready travel together.
    ready.batch = std::min({options_.batch, options_.capacity + options_.prefetch, protocol::kMaxBatchEntries});
    if (ready.batch == 1) ready.batch = 0;
    ready.instance = instance_;
    ready.holding = held_leases();
    ready.prefetch = options_.prefetch;
    // While it holds no lease, heartbeat at the broker's idle interval (protocol.md §9).
    ready.idle_heartbeat = true;
    // A JOBS may carry its payloads in one frame: a ZeroMQ frame costs more than its bytes.
    ready.reads_packed = true;
    send_to_broker(std::move(ready));
}

std::vector<protocol::HeldLease> Worker::held_leases() const {
    std::vector<protocol::HeldLease> held;
    std::size_t bytes = 0;
    auto add = [&](const JobKey& key) {
        bytes += key.id.size() + 8;
        if (bytes > kMaxHoldingBytes || held.size() >= protocol::kMaxHeldLeases) return false;
        held.push_back({key.id, key.attempt});
        return true;
    };
    bool is_complete = true;
    for (const auto& [key, job] : running_) {
        if (!job.is_abandoned) is_complete = is_complete && add(key);
    }
    for (const auto& [key, report] : unsent_) is_complete = is_complete && add(key);
    // Leases left out are not re-adopted: the broker requeues them and their reports are stale.
    if (!is_complete) log_->warn("READY names only some held leases named={}", held.size());
    return held;
}

bool Worker::is_answered() const {
    return state_ == ConnectionState::ready || state_ == ConnectionState::serving ||
           (state_ == ConnectionState::draining && is_broker_heard_);
}

void Worker::hold_leases_on_new_connection() {
    std::size_t held = unsent_.size();
    for (const auto& [key, job] : running_) held += job.is_abandoned ? 0 : 1;
    for (std::size_t i = 0; i < held; ++i) {
        ++leases_held_;
        change_state(ConnectionEvent::job_received);
    }
}

void Worker::deliver_unsent() {
    if (unsent_.empty() || !is_answered()) return;
    log_->info("delivering results kept across a reconnect count={}", unsent_.size());
    for (auto& [key, report] : std::exchange(unsent_, {})) {
        end_lease();
        send_report(std::move(report));
    }
}

void Worker::send_report(Report&& report) {
    if (auto* done = std::get_if<protocol::Done>(&report)) {
        if (broker_batch_ > 1) {
            held_dones_.push_back(std::move(*done));
            if (held_dones_.size() >= broker_batch_) send_held_dones();
        } else {
            send_to_broker(std::move(*done));
        }
    } else {
        send_to_broker(std::move(std::get<protocol::Fail>(report)));
    }
}

template <class T>
void Worker::send_to_broker(T&& message) {
    check_owner_thread();
    if (!broker_) return;
    // A direct connection that broke: run() replaces it at once (the message is lost as it would
    // be with the connection, and the state machine resends what must be).
    if (broker_->is_direct() && broker_->descriptor() < 0) return;
    if constexpr (!std::is_same_v<std::decay_t<T>, protocol::Dones>) send_held_dones();
    constexpr auto command = protocol::kCommandOf<std::decay_t<T>>;
    const auto status = broker_->send_message(std::forward<T>(message));
    has_sent_to_broker_ = true;  // a send may take the DEALER's news that its descriptor announced
    if (status != protocol::SendStatus::sent) {
        log_->warn("message to broker dropped command={} reason=send_queue_full", protocol::to_string(command));
    }
}

void Worker::send_held_dones() {
    if (held_dones_.empty()) return;
    if (held_dones_.size() == 1) {
        protocol::Done done = std::move(held_dones_.front());
        held_dones_.clear();
        send_to_broker(std::move(done));
        return;
    }
    protocol::Dones dones{std::exchange(held_dones_, {}), broker_reads_packed_};
    send_to_broker(std::move(dones));
}

void Worker::handle_control() {
    zmq::message_t command;
    while (control_.recv(command, zmq::recv_flags::dontwait)) {
        if (command.size() != 1) continue;
        const char code = *command.data<char>();
        if (code == kStopCommand) {
            finish(ConnectionEvent::stop_requested, "stopping");
            return;
        }
        if (code == kDrainCommand && !is_draining(state_)) begin_drain(Clock::now());
    }
}

void Worker::begin_drain(Clock::time_point now) {
    change_state(ConnectionEvent::drain_requested);
    // A drain timeout of 0 is no limit: the jobs in flight finish however long they take.
    drain_deadline_ = options_.drain_timeout.count() == 0 ? Clock::time_point::max() : now + options_.drain_timeout;
    log_->info("draining in_flight={} timeout={}", in_flight_, protocol::format_duration(options_.drain_timeout));
    send_to_broker(protocol::Drain{});
    // DRAIN first, so that the broker hands these to other workers, not back here.
    give_back_waiting(kGivenBackWhileDraining);
}

// protocol.md §11: a worker that has sent DRAIN holds nothing ready.
void Worker::give_back_waiting(const char* why) {
    std::size_t given_back = 0;
    while (auto task = pool_->take_next()) {
        JobKey key{std::move(task->id), task->attempt};  // the task is never run: its id moves
        const auto job = running_.find(key);
        // Abandoned while it waited: the broker took the lease back already; nothing is sent.
        if (job == running_.end() || job->second.is_abandoned) {
            if (job != running_.end()) running_.erase(job);
            continue;
        }
        give_back_unstarted(key, why);
        ++given_back;
    }
    if (given_back > 0) log_->info("jobs given back unstarted count={} reason={}", given_back, protocol::quoted(why));
}

void Worker::finish(ConnectionEvent event, const char* reason) {
    if (has_socket(state_)) send_to_broker(protocol::Disconnect{reason});
    change_state(event);  // closes the socket, letting the DISCONNECT out first
    log_->info("disconnected reason={} in_flight={}", reason, in_flight_);
}

void Worker::handle_outcome() {
    while (auto outcome = receive_handler_outcome(results_)) {
        if (!outcome->is_final()) {
            handle_progress(*outcome, Clock::now());
            continue;
        }
        end_attempt(std::move(*outcome));
    }
}

void Worker::end_attempt(HandlerOutcome&& outcome) {
    std::optional<protocol::Progress> held_progress;
    bool was_running = false;
    bool was_abandoned = false;
    if (auto job = running_.find(JobKey{outcome.id, outcome.attempt}); job != running_.end()) {
        held_progress = take_held_progress(job->second);
        was_running = true;
        was_abandoned = job->second.is_abandoned;
        running_.erase(job);
    }
    if (outcome.kind != HandlerOutcomeKind::not_started) start_failures_->on_started();
    if (was_abandoned) {
        // Counted off in_flight_ when the ABANDON came; the broker has already moved on.
        log_->debug("abandoned job ended; its result is dropped job={} attempt={}", outcome.id, outcome.attempt);
        return;
    }
    if (in_flight_ > 0) --in_flight_;
    if (!is_answered()) {
        if (state_ == ConnectionState::connecting || state_ == ConnectionState::waiting_to_reconnect) {
            // protocol.md §7: kept, named in the next READY, sent once that READY is answered.
            log_->info("result kept until the broker answers job={} attempt={}", outcome.id, outcome.attempt);
            JobKey key{outcome.id, outcome.attempt};
            unsent_.insert_or_assign(std::move(key), make_report(std::move(outcome)));
        } else {
            // Draining with the broker lost: no connection will come to take it.
            log_->info("result dropped job={} attempt={} reason=broker_lost_while_draining", outcome.id,
                       outcome.attempt);
        }
        return;
    }
    if (was_running) end_lease();
    // The last report must not be lost behind the interval, and must not come after the end.
    if (held_progress) send_to_broker(std::move(*held_progress));
    if (outcome.kind == HandlerOutcomeKind::done && outcome.body.size() > max_result_bytes_) {
        // The limit may have shrunk since the job came (a broker restarted behind the same socket).
        outcome.kind = HandlerOutcomeKind::failed_permanently;
        const std::string error = result_too_large(outcome.body.size(), max_result_bytes_);
        outcome.body = protocol::make_payload(error);
    }
    if (outcome.kind == HandlerOutcomeKind::not_started) {
        give_back_not_started(std::move(outcome), Clock::now());
        return;
    }
    send_report(make_report(std::move(outcome)));
}

Worker::Report Worker::make_report(HandlerOutcome&& outcome) {
    if (outcome.kind == HandlerOutcomeKind::done) {
        log_->debug("job done job={} attempt={} result_bytes={}", outcome.id, outcome.attempt, outcome.body.size());
        return protocol::Done{std::move(outcome.id), outcome.attempt, std::move(outcome.body)};
    }
    const bool is_permanent = outcome.kind == HandlerOutcomeKind::failed_permanently;
    std::string error = outcome.body.to_string();
    protocol::Fail fail{std::move(outcome.id), outcome.attempt, std::move(error), is_permanent};
    if (outcome.kind == HandlerOutcomeKind::not_started) {
        fail.is_not_started = true;
    } else {
        // The log quotes and cuts the error (a 20-line stderr is one short field); FAIL carries it whole.
        log_->warn("job failed job={} attempt={} permanent={} error={}", fail.id, fail.attempt, is_permanent,
                   protocol::quoted(fail.error));
    }
    return fail;
}

void Worker::give_back_not_started(HandlerOutcome&& outcome, Clock::time_point now) {
    std::string error = outcome.body.to_string();
    // DRAIN goes before the FAIL, so the broker does not hand the freed credit straight back to us.
    switch (start_failures_->on_failure(now)) {
        case StartFailurePause::Action::pause:
            log_->error("command could not be started; taking no jobs for {} round={} of={} error={}",
                        protocol::format_duration(start_failures_->pause_length()), start_failures_->rounds(),
                        StartFailurePause::kMaxRounds, protocol::quoted(error));
            if (!is_draining(state_)) {
                send_to_broker(protocol::Drain{});
                give_back_waiting(kGivenBackWhilePaused);  // they would only fail the same way here
            }
            break;
        case StartFailurePause::Action::give_up:
            log_->error("command could not be started in {} rounds; draining and exiting error={}",
                        StartFailurePause::kMaxRounds, protocol::quoted(error));
            has_given_up_ = true;
            if (!is_draining(state_)) begin_drain(now);
            break;
        case StartFailurePause::Action::none:
            break;
    }
    log_->warn("job not started; given back uncounted job={} attempt={} error={}", outcome.id, outcome.attempt,
               protocol::quoted(error));
    protocol::Fail fail{std::move(outcome.id), outcome.attempt, std::move(error)};
    fail.is_not_started = true;
    send_to_broker(std::move(fail));
}

void Worker::resume_after_pause(Clock::time_point now) {
    if (!start_failures_->take_resume(now) || has_given_up_) return;
    if (!has_socket(state_) || is_draining(state_)) return;  // a new connection sends READY anyway
    log_->info("taking jobs again after a pause for start failures rounds={}", start_failures_->rounds());
    send_ready();
}

void Worker::handle_progress(HandlerOutcome& outcome, Clock::time_point now) {
    auto job = running_.find(JobKey{outcome.id, outcome.attempt});
    // The broker keeps PROGRESS only from the lease holder, once it knows this connection holds it.
    if (job == running_.end() || job->second.is_abandoned || !is_answered()) {
        log_->debug("progress dropped job={} attempt={} reason=not_leased_here", outcome.id, outcome.attempt);
        return;
    }
    protocol::Progress progress{std::move(outcome.id), outcome.attempt, outcome.percent, outcome.body.to_string()};
    auto& running = job->second;
    if (now >= running.last_progress_sent + kMinProgressInterval) {
        take_held_progress(running);
        running.last_progress_sent = now;
        log_->debug("progress job={} attempt={} percent={}", progress.id, progress.attempt, progress.percent);
        send_to_broker(std::move(progress));
        return;
    }
    if (!running.held_progress) ++held_progress_count_;
    running.held_progress = std::move(progress);  // a newer report replaces one still held
}

void Worker::send_held_progress(Clock::time_point now) {
    if (held_progress_count_ == 0) return;
    for (auto& [key, job] : running_) {
        if (!job.held_progress || now < job.last_progress_sent + kMinProgressInterval) continue;
        auto progress = take_held_progress(job);
        if (!is_answered()) continue;  // no connection holds the lease right now
        job.last_progress_sent = now;
        log_->debug("progress job={} attempt={} percent={}", progress->id, progress->attempt, progress->percent);
        send_to_broker(std::move(*progress));
    }
}

std::optional<protocol::Progress> Worker::take_held_progress(RunningJob& job) {
    if (!job.held_progress) return std::nullopt;
    --held_progress_count_;
    return std::exchange(job.held_progress, std::nullopt);
}

void Worker::on_first_message(Clock::time_point now) {
    is_broker_heard_ = true;
    if (state_ == ConnectionState::connecting) {
        change_state(ConnectionEvent::broker_heard);
        reconnect_tries_ = 0;
        if (const auto outage = outage_->end(now)) {
            log_->info("connected broker={} name={} after={} without a broker", options_.broker_endpoint, options_.name,
                       protocol::format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(*outage)));
        } else {
            log_->info("connected broker={} name={}", options_.broker_endpoint, options_.name);
        }
    }
    hold_leases_on_new_connection();
}

void Worker::spin_after_job(Clock::time_point now) {
    // Only after jobs: a heartbeat every idle interval must not keep an idle worker's core busy.
    if (options_.direct_spin.count() > 0 && broker_ && broker_->is_direct()) spin_until_ = now + options_.direct_spin;
}

void Worker::handle_broker_message(Clock::time_point now) {
    protocol::Frames frames;
    while (broker_ && broker_->receive(frames)) {
        last_heard_ = now;
        if (!is_broker_heard_) on_first_message(now);
        // The broker enforces its own limit on what it sends; the socket bounds each frame.
        auto decoded = protocol::decode(frames, 0, protocol::DecodeLimits{protocol::kMaxPayloadLimitBytes});
        if (!decoded) {
            log_->warn("bad message from broker code={} detail={}", protocol::to_string(decoded.error().code),
                       protocol::quoted(decoded.error().detail));
            continue;
        }
        auto& message = decoded.value();
        if (auto* heartbeat = std::get_if<protocol::Heartbeat>(&message)) {
            ready_refusals_ = 0;
            // protocol.md §7: the worker adopts the broker's heartbeat interval and liveness.
            const auto interval =
                heartbeat->interval_ms ? std::chrono::milliseconds(*heartbeat->interval_ms) : interval_;
            const auto liveness = heartbeat->liveness.value_or(liveness_);
            // Never below the interval, whatever a broker says (absent: a broker before it).
            const auto idle_interval = std::max(
                interval, heartbeat->idle_interval_ms ? std::chrono::milliseconds(*heartbeat->idle_interval_ms) : interval);
            if (interval != interval_ || liveness != liveness_ || idle_interval != idle_interval_) {
                interval_ = interval;
                idle_interval_ = idle_interval;
                liveness_ = liveness;
                log_->debug("heartbeat adopted interval={} idle_interval={} liveness={}",
                            protocol::format_duration(interval_), protocol::format_duration(idle_interval_), liveness_);
            }
            // The next HEARTBEAT is due one adopted interval after the last (protocol.md §7's
            // warning): heartbeat_interval_now() reads the adopted values.
            if (heartbeat->batch) broker_batch_ = std::min(*heartbeat->batch, options_.batch);
            broker_reads_packed_ = heartbeat->reads_packed;
            if (heartbeat->max_payload_bytes) adopt_max_result_bytes(*heartbeat->max_payload_bytes);
            // The broker answers READY with a HEARTBEAT, after the ABANDONs of the leases it does
            // not know: what is still kept is its to take.
            deliver_unsent();
        } else if (auto* job = std::get_if<protocol::Job>(&message)) {
            spin_after_job(now);
            handle_job(std::move(*job));
        } else if (auto* jobs = std::get_if<protocol::Jobs>(&message)) {
            spin_after_job(now);
            for (auto& each : jobs->jobs) handle_job(std::move(each));
        } else if (auto* abandon = std::get_if<protocol::Abandon>(&message)) {
            handle_abandon(*abandon);
        } else if (auto* recall = std::get_if<protocol::Recall>(&message)) {
            handle_recall(*recall);
        } else if (auto* error = std::get_if<protocol::Error>(&message)) {
            if (handle_broker_error(*error, now)) return;
        } else if (auto* disconnect = std::get_if<protocol::Disconnect>(&message)) {
            log_->info("broker disconnected us reason={}", protocol::quoted(disconnect->reason));
            connection_lost(now, "broker_disconnect");
            return;
        } else {
            log_->warn("unexpected message from broker command={}", protocol::to_string(protocol::command_of(message)));
        }
    }
}

// An ERROR from the broker (protocol.md §6, §7); true when it ended this connection.
bool Worker::handle_broker_error(const protocol::Error& error, Clock::time_point now) {
    if (error.code == protocol::ErrorCode::wrong_endpoint) {
        // protocol.md §6: this is the producer endpoint; retrying cannot help.
        throw std::invalid_argument(options::wrong_endpoint_text(options_.broker_endpoint, error.message));
    }
    if (error.code == protocol::ErrorCode::forbidden) {
        // docs/security.md: this worker's key may not serve (wrong role, or removed from the
        // broker's --allowed-keys); only the operator can change that.
        throw std::invalid_argument("the broker at " + options_.broker_endpoint +
                                    " refused this worker's key: " + error.message);
    }
    if (error.code == protocol::ErrorCode::unknown_worker) {
        // The broker restarted or declared us dead: announce ourselves again on this socket.
        // Heartbeats already on their way draw one such error each; one READY per interval answers them all.
        if (now < last_ready_again_ + interval_) return false;
        log_->info("broker does not know this worker; sending READY again broker={}", options_.broker_endpoint);
        send_ready();
        last_ready_again_ = now;
        // A fresh registration is not draining, nor paused.
        if (state_ == ConnectionState::draining || start_failures_->is_paused()) {
            send_to_broker(protocol::Drain{});
        }
    } else if (error.code == protocol::ErrorCode::id_conflict && error.command == "READY") {
        // protocol.md §5.9: another connected worker has this name. It may be this worker's
        // own predecessor, not yet declared dead: try again after the backoff.
        log_->error("broker refused this worker: another connected worker is named {}; give each worker its "
                    "own --id broker={}",
                    options_.name, options_.broker_endpoint);
        connection_lost(now, "name_in_use");
        return true;
    } else if (error.command == "READY" && (error.code == protocol::ErrorCode::too_many_workers ||
                                            error.code == protocol::ErrorCode::too_many_queues)) {
        // protocol.md §6, §7: the broker is at its --max-workers, or cannot create the queues this
        // worker serves (its --max-queues: an operator must act). Try again after a backoff that
        // grows with each refusal in a row, so that refused workers do not hammer it (rather than
        // once per interval through unknown_worker).
        const bool is_worker_limit = error.code == protocol::ErrorCode::too_many_workers;
        log_->log(is_worker_limit ? spdlog::level::warn : spdlog::level::err,
                  "broker refused this worker: {}; retrying broker={} message={}",
                  is_worker_limit ? "it has as many workers as its --max-workers allows"
                                  : "its queues would take the broker past its --max-queues",
                  options_.broker_endpoint, protocol::quoted(error.message));
        reconnect_tries_ = ready_refusals_++;
        connection_lost(now, is_worker_limit ? "too_many_workers" : "too_many_queues");
        return true;
    } else {
        log_->warn("error from broker code={} message={} job={}", protocol::to_string(error.code),
                   protocol::quoted(error.message), error.id);
    }
    return false;
}

void Worker::adopt_max_result_bytes(std::uint64_t max_payload_bytes) {
    const auto limit = static_cast<std::size_t>(std::min<std::uint64_t>(max_payload_bytes, SIZE_MAX));
    if (limit == max_result_bytes_) return;
    max_result_bytes_ = limit;
    log_->info("broker payload limit adopted max_payload_bytes={}", max_result_bytes_);
}

void Worker::handle_job(protocol::Job&& job) {
    const auto handler = handlers_.find(job.queue);
    if (handler == handlers_.end()) {
        log_->warn("job for a queue this worker does not serve job={} queue={}", job.id, job.queue);
        send_to_broker(
            protocol::Fail{job.id, job.attempt, "worker " + options_.name + " serves no queue " + job.queue});
        return;
    }
    log_->debug("job received job={} queue={} attempt={} payload_bytes={}", job.id, job.queue, job.attempt,
                job.payload.size());
    auto [running, is_new] = running_.try_emplace(JobKey{job.id, job.attempt});
    if (!is_new) {
        // The lease is already ours and running; a second copy would only race the first.
        log_->warn("duplicate job ignored job={} attempt={}", job.id, job.attempt);
        return;
    }
    ++in_flight_;
    ++leases_held_;
    change_state(ConnectionEvent::job_received);
    // Sent before the broker read our DRAIN, and no slot free: it would only wait here.
    if (is_draining(state_) && in_flight_ > options_.capacity) {
        give_back_unstarted(running->first, kGivenBackWhileDraining);
        return;
    }
    Task task{std::move(job.id),  std::move(job.queue),    job.attempt,          generation_,
              std::move(job.payload), &handler->second, max_result_bytes_, running->second.stop};
    // Inline, it waits for run_inline_jobs(), after the messages at hand: a RECALL among them
    // still finds it.
    pool_->submit(std::move(task));
}

void Worker::run_inline_jobs() {
    if (!options_.runs_handlers_inline) return;
    const auto turn_end = Clock::now() + kInlineTurn;
    while (auto task = pool_->take_next()) {
        auto report = [this, &task](std::uint32_t percent, std::string_view message) {
            HandlerOutcome progress{HandlerOutcomeKind::progress, task->id, task->attempt, task->generation, percent,
                                    protocol::make_payload(message)};
            handle_progress(progress, Clock::now());
        };
        end_attempt(run_attempt(*task, report));
        if (state_ == ConnectionState::gone || Clock::now() >= turn_end) break;
    }
}

void Worker::handle_recall(const protocol::Recall& recall) {
    JobKey key{recall.id, recall.attempt};
    const auto job = running_.find(key);
    // Started (or ended) already: the attempt ends as it would have, and the broker waits for it.
    if (job == running_.end() || job->second.is_abandoned || !pool_->take_back(recall.id, recall.attempt)) {
        log_->debug("recall ignored job={} attempt={} reason=started", recall.id, recall.attempt);
        return;
    }
    log_->debug("job recalled job={} attempt={}", recall.id, recall.attempt);
    give_back_unstarted(key, "recalled by the broker before it started");
}

void Worker::give_back_unstarted(JobKey key, const char* why) {
    if (running_.erase(key) > 0 && in_flight_ > 0) --in_flight_;
    end_lease();
    protocol::Fail fail{std::move(key.id), key.attempt, why};
    fail.is_not_started = true;
    send_to_broker(std::move(fail));
}

void Worker::handle_abandon(const protocol::Abandon& abandon) {
    JobKey key{abandon.id, abandon.attempt};
    if (unsent_.erase(key) > 0) {
        // A result kept across a reconnect for a lease the broker no longer knows: never sent.
        end_lease();
        log_->info("abandoned job={} attempt={} reason={} result=dropped", abandon.id, abandon.attempt, abandon.reason);
        return;
    }
    const auto job = running_.find(key);
    if (job == running_.end() || job->second.is_abandoned) {
        log_->debug("abandon ignored job={} attempt={} reason=not_running_here", abandon.id, abandon.attempt);
        return;
    }
    // The broker has revoked the lease, so neither DONE nor FAIL may follow; the handler is told to
    // stop (ExecHandler kills the command's process group) and its end is dropped in handle_outcome().
    auto& running = job->second;
    running.is_abandoned = true;
    take_held_progress(running);
    running.stop.request_stop();
    if (in_flight_ > 0) --in_flight_;
    end_lease();
    log_->info("abandoned job={} attempt={} reason={}", abandon.id, abandon.attempt, abandon.reason);
}

}  // namespace corsair::worker
