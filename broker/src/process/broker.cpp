#include "corsair/broker/broker.hpp"

#include <array>
#include <cerrno>
#include <stdexcept>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <sched.h>
#include <unistd.h>

#include "allowed_keys.hpp"
#include "direct_server.hpp"
#include "corsair/broker/heap_release.hpp"
#include "corsair/options/endpoint.hpp"
#include "corsair/protocol/codec.hpp"
#include "corsair/protocol/curve.hpp"
#include "corsair/protocol/duration.hpp"
#include "corsair/protocol/wire.hpp"
#include "journal_directory.hpp"
#include "journal_error.hpp"
#include "journal_reader.hpp"
#include "journal_file.hpp"
#include "journal_sink.hpp"
#include "journal_writer.hpp"
#include "zap_handler.hpp"

namespace corsair::broker {

namespace p = corsair::protocol;

namespace {

// Messages taken from one socket per loop turn, so neither side can starve the other.
constexpr int kBatchPerTurn = 512;
// Generous high-water marks: credit, not the HWM, bounds what a worker is sent; a producer
// pipelining thousands of submits should not have RESULTs refused.
constexpr int kHighWaterMark = 100'000;
// Time allowed at exit for DISCONNECTs to reach workers.
constexpr int kLingerMs = 500;

// Binds `socket`, naming the flag and the endpoint in the error, e.g. "--producers tcp://*:5555:
// Address already in use".
void bind_endpoint(zmq::socket_t& socket, const std::string& endpoint, const char* flag) {
    try {
        socket.bind(endpoint);
    } catch (const zmq::error_t& e) {
        std::string text = std::string(flag) + " " + endpoint + ": " + e.what();
        if (e.num() == EADDRINUSE) text += " (another broker or program is bound to it)";
        throw std::runtime_error(text);
    }
}

// The Scheduler's records go straight to the writer (which encodes them under its own lock).
class WriterSink final : public JournalSink {
public:
    explicit WriterSink(JournalWriter& writer) : writer_(writer) {}
    std::uint64_t append(const JournalRecord& record) override { return writer_.append(record); }
    std::optional<JournalHistograms> histograms() const override { return writer_.histograms(); }

private:
    JournalWriter& writer_;
};

void configure_router(zmq::socket_t& socket, std::size_t max_message_bytes) {
    socket.set(zmq::sockopt::router_mandatory, 1);
    socket.set(zmq::sockopt::linger, kLingerMs);
    socket.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(max_message_bytes));
    socket.set(zmq::sockopt::sndhwm, kHighWaterMark);
    socket.set(zmq::sockopt::rcvhwm, kHighWaterMark);
}

// The address a message came from (ZeroMQ's Peer-Address property: the remote IP over TCP), or
// empty when the transport does not tell (inproc, ipc).
std::string_view peer_address_of(const p::Frames& frames) {
    // The routing id frame is made by the ROUTER itself: the peer's own frames carry the property.
    for (std::size_t i = 1; i < frames.size(); ++i) {
        if (const char* address = zmq_msg_gets(frames[i].handle(), "Peer-Address")) return address;
    }
    return {};
}

}  // namespace

Broker::Broker(zmq::context_t& context, BrokerOptions options, std::shared_ptr<spdlog::logger> log)
    : context_(context),
      options_(std::move(options)),
      log_(std::move(log)),
      producers_(context, zmq::socket_type::router),
      workers_(context, zmq::socket_type::router),
      scheduler_(options_, *this, log_),
      heap_trimmer_(log_),
      notifier_(ServiceNotifier::from_environment(log_)) {
    open_journal();
    const std::size_t max_message_bytes = p::broker_max_message_bytes(options_.max_payload_bytes);
    configure_router(producers_, max_message_bytes);
    configure_router(workers_, max_message_bytes);
    enable_curve();
    // The HTTP side's sessions connect to the inproc endpoints before the broker exists: bound
    // first, so that a TCP endpoint that cannot be bound never leaves their connects pending at
    // the context's end (libzmq then binds them itself inside zmq_ctx_term, a path on which TSan
    // found a race in libzmq 4.3.4).
    if (!options_.inproc_producer_endpoint.empty()) producers_.bind(options_.inproc_producer_endpoint);
    if (!options_.inproc_worker_endpoint.empty()) workers_.bind(options_.inproc_worker_endpoint);
    bind_endpoint(producers_, options_.producer_endpoint, "--producers");
    bind_endpoint(workers_, options_.worker_endpoint, "--workers");
    producer_endpoint_ = producers_.get(zmq::sockopt::last_endpoint);
    worker_endpoint_ = workers_.get(zmq::sockopt::last_endpoint);
    open_direct();
    scheduler_.set_endpoints(producer_endpoint_, worker_endpoint_);
    log_->info("bound producers={} workers={} direct={} heartbeat_ms={} idle_heartbeat_ms={} liveness={} curve={}",
               producer_endpoint_, worker_endpoint_, direct_ ? direct_endpoint_ : "off",
               options_.heartbeat_interval.count(), options_.idle_heartbeat_interval().count(), options_.liveness,
               zap_ ? "on" : "off");
    warn_if_open();
}

void Broker::enable_curve() {
    if (options_.curve_secret_key_file.empty() && options_.allowed_keys_dir.empty()) return;
    if (options_.curve_secret_key_file.empty() || options_.allowed_keys_dir.empty()) {
        throw std::invalid_argument("--curve-secret-key and --allowed-keys go together: without allowed keys any "
                                    "client key would be let in");
    }
    const auto own = p::read_secret_key_file(options_.curve_secret_key_file);
    zap_ = std::make_unique<ZapHandler>(context_, options_.allowed_keys_dir, log_);
    keys_ = zap_->keys();
    keys_generation_ = zap_->generation();
    p::use_curve_server(producers_, own, "producers");
    p::use_curve_server(workers_, own, "workers");
    log_->info("CURVE on public_key={}", own.public_key);
}

void Broker::open_direct() {
    if (options_.direct_endpoint.empty()) return;
    if (zap_) {
        throw std::invalid_argument("--direct cannot be used with CURVE (--curve-secret-key): the direct transport "
                                    "has no encryption and no keys, so it would let in anyone CURVE keeps out "
                                    "(docs/security.md)");
    }
    DirectLimits limits;
    limits.max_frame_bytes = p::broker_max_message_bytes(options_.max_payload_bytes);
    direct_ = std::make_unique<DirectServer>(options_.direct_endpoint, limits, log_);
    direct_endpoint_ = direct_->endpoint();
}

void Broker::warn_if_open() const {
    if (zap_) return;
    for (const auto* endpoint : {&producer_endpoint_, &worker_endpoint_, &direct_endpoint_}) {
        if (endpoint->empty() || options::is_loopback_endpoint(*endpoint)) continue;
        log_->warn("{} is open to anyone who can reach this host: without --curve-secret-key any peer can submit "
                   "jobs, take them, read their payloads and run admin commands (docs/security.md)",
                   *endpoint);
    }
}

void Broker::reload_allowed_keys() {
    if (zap_) zap_->reload();
}

Peer Broker::identify_sender() const {
    Peer peer;
    // The routing id frame is made by the ROUTER itself: the peer's own frames carry the property.
    const char* user_id = frames_.size() > 1 ? zmq_msg_gets(frames_[1].handle(), "User-Id") : nullptr;
    if (user_id == nullptr || *user_id == '\0') return peer;  // in-process: the HTTP side
    peer.is_keyed = true;
    if (const AllowedKey* key = keys_->find(user_id)) {
        peer.key_name = key->name;
        peer.role = key->role;
    } else {
        peer.key_name = user_id;  // removed since it connected: its public key is all there is
    }
    return peer;
}

Broker::~Broker() {
    // The writer flushes and syncs everything appended, then the directory's lock is released.
    scheduler_.set_journal(nullptr);
    writer_.reset();
    directory_.reset();
}

void Broker::open_journal() {
    if (options_.data_dir.empty()) {
        log_->warn("no data directory: jobs are kept in memory only and lost if the broker stops");
        return;
    }
    const auto policy = parse_fsync_policy(options_.fsync);
    if (!policy) throw JournalError("unknown --fsync policy '" + options_.fsync + "' (always, interval, never)");
    const auto started = std::chrono::steady_clock::now();
    directory_ = std::make_unique<JournalDirectory>(options_.data_dir);
    directory_->remove_stale_compaction();
    const auto path = directory_->journal_path();
    std::optional<JournalEnding> ending;
    if (std::filesystem::exists(path)) {
        JournalReader reader(path);
        const auto now = std::chrono::steady_clock::now();
        while (auto record = reader.next()) scheduler_.recover(*record, now);
        ending = reader.ending();
    }
    if (ending && ending->kind == JournalEnding::Kind::corrupt) {
        throw JournalError(ending->describe() + "; the broker will not start on a damaged journal. Run `corsair-broker "
                           "--salvage --data-dir " + options_.data_dir + "` to keep every intact record");
    }
    if (ending && ending->kind == JournalEnding::Kind::torn_tail) {
        log_->warn("journal ends in a torn record (a crash mid-write); cutting it off path={} offset={} dropped_bytes={}",
                   path.string(), ending->valid_bytes, ending->file_bytes - ending->valid_bytes);
        truncate_journal(path, ending->valid_bytes);
    }
    const auto counts = scheduler_.finish_recovery(std::chrono::steady_clock::now());
    JournalWriterOptions writer_options;
    writer_options.fsync = *policy;
    writer_options.fsync_interval = options_.fsync_interval;
    writer_ = std::make_unique<JournalWriter>(path, writer_options, log_);
    journal_sink_ = std::make_unique<WriterSink>(*writer_);
    scheduler_.set_journal(journal_sink_.get());
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    log_->info("journal recovered dir={} fsync={} records={} pending={} delayed={} running_at_stop={} dead={} "
               "results={} queues={} took_ms={}",
               options_.data_dir, options_.fsync, counts.records, counts.pending, counts.delayed,
               counts.running_at_stop, counts.dead, counts.results, counts.queues, took.count());
}

void Broker::release_durable_replies() { scheduler_.on_journal_durable(writer_->take_durable()); }

void Broker::watch_storage(std::chrono::steady_clock::time_point now) {
    const bool is_stalled = writer_->is_stalled();
    if (is_stalled == is_storage_stalled_) return;
    is_storage_stalled_ = is_stalled;
    scheduler_.set_storage_available(!is_stalled, writer_->failure(), now);
}

void Broker::maybe_compact(std::chrono::steady_clock::time_point now) {
    if (!writer_ || writer_->is_compacting() || is_storage_stalled_) return;
    const auto journal_bytes = writer_->stats().journal_bytes;
    // The live state's size is estimated, not measured: measuring would mean encoding it, which
    // is the very work compaction moves off this thread.
    const auto live_bytes = scheduler_.estimated_snapshot_bytes();
    if (journal_bytes < options_.compact_min_bytes ||
        static_cast<double>(journal_bytes) < options_.compact_ratio * static_cast<double>(live_bytes)) {
        return;
    }
    const auto started = std::chrono::steady_clock::now();
    // Runs in the forked child, against its copy-on-write image of this scheduler.
    auto write_snapshot = [this, now](JournalFile& file) {
        int error = 0;
        auto drain = [&](std::string& chunk) {
            if (error == 0) error = file.write({chunk});
            chunk.clear();
        };
        std::string out;
        out.reserve(Scheduler::kSnapshotChunkBytes + 64 * 1024);
        scheduler_.write_snapshot(out, now, drain);
        drain(out);
        return error;
    };
    if (writer_->compact(write_snapshot)) {
        // The loop pauses only for the fork: this is that pause.
        const auto paused = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
        log_->info("journal compaction started journal_bytes={} estimated_live_bytes={} paused_us={} rss_bytes={}",
                   journal_bytes, live_bytes, paused.count(), resident_bytes());
    }
}

void Broker::request_stop() { stop_requests_.notify(); }

void Broker::run() {
    // The items, in this order (kProducers...): the sockets, the stop requests and, when there
    // is a journal, the writer's "durable up to N" notifications.
    std::vector<int> descriptors{stop_requests_.fd()};
    if (writer_) descriptors.push_back(writer_->durable_fd());
    if (direct_) {
        direct_item_ = kStopRequests + descriptors.size();
        descriptors.push_back(direct_->fd());
    }
    waiting_.emplace(std::vector<zmq::socket_t*>{&producers_, &workers_}, descriptors);
    auto next_tick = std::chrono::steady_clock::now() + options_.heartbeat_interval;
    // The journal is recovered and both endpoints are bound (the constructor): ready to serve.
    notifier_.ready(service_status(), std::chrono::steady_clock::now());
    for (;;) {
        const std::uint32_t ready = waiting_->wait(time_to_wait(std::chrono::steady_clock::now(), next_tick));
        const auto now = std::chrono::steady_clock::now();
        if (ready & (1U << kProducers)) receive_from_producers(now);
        if (ready & (1U << kWorkers)) receive_from_workers(now);
        if (direct_ && (ready & (1U << direct_item_))) serve_direct(now);
        if ((ready & (1U << kStopRequests)) && !continues_after_stop_request(now)) break;
        if (writer_ && (ready & (1U << kJournalDurable))) {
            release_durable_replies();
            if (writer_->has_failed()) {
                // An fdatasync failure cannot be retried safely: stop rather than acknowledge more.
                log_->error("journal failed: {}; stopping", writer_->failure());
                has_journal_failed_ = true;
                break;
            }
            watch_storage(now);
        }
        if (auto deadline = scheduler_.next_deadline(); deadline && now >= *deadline) scheduler_.fire_timers(now);
        if (now >= next_tick) {
            scheduler_.tick(now);
            maybe_compact(now);
            heap_trimmer_.maybe_trim(now);
            next_tick = now + options_.heartbeat_interval;
        }
        // Pinged from here, so that a loop stuck anywhere above stops the pings.
        if (now >= notifier_.next_due()) notifier_.send_due(now, [this] { return service_status(); });
        // Whatever this turn queued for direct connections (replies, JOBs, heartbeats) goes out
        // before the next wait.
        if (direct_) direct_->flush();
        if (drain_ && is_drain_over(now)) break;
    }
    if (has_journal_failed_) notifier_.stopping("stopping: the journal failed: " + writer_->failure());
    scheduler_.shut_down();
    // The DISCONNECTs shut_down() queued for direct workers: as far as their sockets take them
    // now (a DEALER's go out within kLingerMs).
    if (direct_) direct_->flush();
    log_->info("stopped");
}

std::chrono::milliseconds Broker::time_to_wait(std::chrono::steady_clock::time_point now,
                                              std::chrono::steady_clock::time_point next_tick) {
    if (now < spin_until_) {
        // Spinning (--direct-spin): let whatever is runnable on this CPU go first (a producer or
        // worker just woken, on a machine with fewer cores than busy processes), then look again.
        ::sched_yield();
        return std::chrono::milliseconds(0);
    }
    // Wake for the next heartbeat, the next job deadline (a delay ending, a lease timing out),
    // the end of a drain or the service manager's next watchdog ping.
    auto wake_at = std::min(next_tick, notifier_.next_due());
    if (auto deadline = scheduler_.next_deadline()) wake_at = std::min(wake_at, *deadline);
    if (drain_) wake_at = std::min(wake_at, drain_->deadline);
    return std::max(std::chrono::ceil<std::chrono::milliseconds>(wake_at - now), std::chrono::milliseconds(0));
}

// Each stop request is one SIGTERM/SIGINT: the first drains (unless --drain-timeout is 0), the
// next stops at once.
bool Broker::continues_after_stop_request(std::chrono::steady_clock::time_point now) {
    const std::uint64_t requests = stop_requests_.take();
    if (drain_ || requests > 1 || options_.drain_timeout.count() == 0) {
        if (drain_) log_->info("drain cut short by a second stop request running={}", scheduler_.running_jobs());
        notifier_.stopping("stopping now, " + std::to_string(scheduler_.running_jobs()) + " leased");
        return false;
    }
    drain_ = Drain{now, now + options_.drain_timeout, scheduler_.counters().jobs_done + scheduler_.counters().attempts_failed};
    scheduler_.begin_drain();
    notifier_.stopping(service_status());
    log_->info("draining running={} timeout={}", scheduler_.running_jobs(),
               p::format_duration(options_.drain_timeout));
    return true;
}

// Over once no job runs and every acknowledgement of their endings has gone out, or at the timeout.
bool Broker::is_drain_over(std::chrono::steady_clock::time_point now) const {
    const std::size_t running = scheduler_.running_jobs();
    const bool is_quiet = running == 0 && scheduler_.unsent_acknowledgements() == 0;
    if (!is_quiet && now < drain_->deadline) return false;
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(now - drain_->started);
    const auto ended = scheduler_.counters().jobs_done + scheduler_.counters().attempts_failed - drain_->ended_before;
    if (is_quiet) {
        log_->info("drained ended={} took_ms={}", ended, took.count());
    } else {
        log_->info("drain timed out ended={} still_running={} took_ms={}; they stay running in the journal for the "
                   "restarted broker to re-adopt",
                   ended, running, took.count());
    }
    return true;
}

std::string Broker::service_status() const {
    const auto load = scheduler_.load();
    const char* phase = drain_ ? "draining" : is_storage_stalled_ ? "journal stalled, refusing new jobs" : "ready";
    return std::string(phase) + ": " + std::to_string(load.queues) + (load.queues == 1 ? " queue, " : " queues, ") +
           std::to_string(load.pending) + " pending, " + std::to_string(load.delayed) + " delayed, " +
           std::to_string(load.leased) + " leased, " + std::to_string(load.workers) +
           (load.workers == 1 ? " worker" : " workers");
}

void Broker::receive_from_producers(std::chrono::steady_clock::time_point now) {
    receive_turn(producers_, kProducers, now, &Scheduler::on_producer_message,
                 &Scheduler::on_malformed_producer_message);
}

void Broker::receive_from_workers(std::chrono::steady_clock::time_point now) {
    receive_turn(workers_, kWorkers, now, &Scheduler::on_worker_message, &Scheduler::on_malformed_worker_message);
}

void Broker::receive_turn(zmq::socket_t& socket, std::size_t item, std::chrono::steady_clock::time_point now,
                          MessageHandler on_message, MalformedHandler on_malformed) {
    // The socket bounds each frame; a payload over --max-payload is the Scheduler's to answer,
    // since only it knows the job the message names.
    const p::DecodeLimits limits{p::broker_max_message_bytes(options_.max_payload_bytes)};
    if (zap_ && zap_->generation() != keys_generation_) {
        keys_generation_ = zap_->generation();
        keys_ = zap_->keys();
    }
    if (zap_) scheduler_.set_auth_refusals(zap_->refusals());
    scheduler_.begin_turn();
    // Until EAGAIN, which settles the socket for the wait; a turn cut short at kBatchPerTurn
    // leaves it touched (it may hold more).
    waiting_->touch(item);
    for (int i = 0; i < kBatchPerTurn; ++i) {
        if (!p::receive_frames(socket, frames_)) {
            waiting_->drained(item);
            break;
        }
        const RoutingId routing_id(static_cast<const char*>(frames_[0].data()), frames_[0].size());
        // A ZeroMQ peer that set itself a direct connection's kind of id would be answered on
        // that connection: never taken (libzmq itself never assigns one).
        if (DirectServer::is_direct_id(routing_id)) continue;
        auto decoded = p::decode(frames_, 1, limits);
        if (decoded) {
            Peer peer = zap_ ? identify_sender() : Peer{};
            // Only READY keeps the address: reading it costs a lookup per message.
            if (std::holds_alternative<p::Ready>(decoded.value())) peer.address = peer_address_of(frames_);
            (scheduler_.*on_message)(routing_id, std::move(decoded).value(), now, peer);
        } else {
            (scheduler_.*on_malformed)(routing_id, decoded.error(), peer_address_of(frames_));
        }
    }
    scheduler_.end_turn(now);
}

void Broker::serve_direct(std::chrono::steady_clock::time_point now) {
    const p::DecodeLimits limits{p::broker_max_message_bytes(options_.max_payload_bytes)};
    scheduler_.begin_turn();
    bool is_busy = false;  // a message other than HEARTBEAT came: --direct-spin applies
    direct_->serve([&](const RoutingId& routing_id, DirectServer::Role role, p::Frames& frames,
                       std::string_view address) {
        // The same Scheduler entry points as the ROUTER of the connection's role.
        const bool is_worker = role == DirectServer::Role::worker;
        const MessageHandler on_message = is_worker ? &Scheduler::on_worker_message : &Scheduler::on_producer_message;
        const MalformedHandler on_malformed =
            is_worker ? &Scheduler::on_malformed_worker_message : &Scheduler::on_malformed_producer_message;
        auto decoded = p::decode(frames, 0, limits);
        if (!decoded) {
            (scheduler_.*on_malformed)(routing_id, decoded.error(), address);
            return;
        }
        // Idle workers' heartbeats must not keep the loop spinning.
        if (!std::holds_alternative<p::Heartbeat>(decoded.value())) is_busy = true;
        // No CURVE on this transport (open_direct): nothing is checked against a key's role.
        (scheduler_.*on_message)(routing_id, std::move(decoded).value(), now, Peer{address});
    });
    scheduler_.set_direct_connections_dropped(direct_->dropped());
    scheduler_.end_turn(now);
    if (is_busy && options_.direct_spin.count() > 0) spin_until_ = now + options_.direct_spin;
}

p::SendStatus Broker::to_worker(const RoutingId& worker, p::Frames& frames) {
    if (direct_ && DirectServer::is_direct_id(worker)) return direct_->send(worker, frames);
    zmq::message_t routing_id(worker.data(), worker.size());
    if (waiting_) waiting_->touch(kWorkers);
    return p::send_frames(workers_, frames, &routing_id);
}

p::SendStatus Broker::to_producer(const RoutingId& producer, p::Frames& frames) {
    if (direct_ && DirectServer::is_direct_id(producer)) return direct_->send(producer, frames);
    zmq::message_t routing_id(producer.data(), producer.size());
    if (waiting_) waiting_->touch(kProducers);
    return p::send_frames(producers_, frames, &routing_id);
}

}  // namespace corsair::broker
