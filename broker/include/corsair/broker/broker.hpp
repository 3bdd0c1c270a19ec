// The broker process: one event loop owning the producer and worker ROUTER sockets, feeding
// decoded messages to the Scheduler. run() and every socket belong to the thread that calls run().
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>
#include <zmq.hpp>

#include "corsair/broker/broker_options.hpp"
#include "corsair/broker/heap_release.hpp"
#include "corsair/broker/outbox.hpp"
#include "corsair/broker/scheduler.hpp"
#include "corsair/broker/service_notifier.hpp"
#include "corsair/loop/socket_wait.hpp"
#include "corsair/loop/wake_signal.hpp"

namespace corsair::broker {

class AllowedKeys;
class DirectServer;
class JournalDirectory;
class JournalWriter;
class ZapHandler;

class Broker final : private Outbox {
public:
    // Opens and replays the journal in options.data_dir (throws JournalError: locked, corrupt),
    // then binds both endpoints (throws zmq::error_t, e.g. address in use) so main can report it.
    Broker(zmq::context_t& context, BrokerOptions options, std::shared_ptr<spdlog::logger> log);
    ~Broker() override;
    Broker(const Broker&) = delete;
    Broker& operator=(const Broker&) = delete;

    // The endpoints as bound, with wildcard ports resolved (e.g. tcp://127.0.0.1:41234).
    const std::string& producer_endpoint() const noexcept { return producer_endpoint_; }
    const std::string& worker_endpoint() const noexcept { return worker_endpoint_; }
    // The direct transport's endpoint as bound (direct://127.0.0.1:41234); empty when it is off.
    const std::string& direct_endpoint() const noexcept { return direct_endpoint_; }

    // Blocks serving until a stop request, or until the journal fails for good (see
    // has_journal_failed()); then tells workers and returns. The first request drains (no job
    // handed out, the running ones may end) for at most options.drain_timeout; a second one, or
    // a drain timeout of 0, stops at once.
    // Under systemd (NOTIFY_SOCKET), it says READY=1 as it starts, then keeps the unit's STATUS
    // and watchdog up to date from the loop, and says STOPPING=1 when a stop begins (docs/service.md).
    void run();
    // Whether run() returned because the journal could not be written and could not wait (a
    // failed fdatasync, or a full disk holding more than it may in memory): main exits with the
    // fatal status then (docs/cli.md, exit codes), so that a supervisor restarts it and alerts.
    bool has_journal_failed() const noexcept { return has_journal_failed_; }
    // Thread-safe and non-blocking: one stop request (one SIGTERM/SIGINT).
    void request_stop();
    // Rereads --allowed-keys (SIGHUP); no-op without CURVE. Thread-safe. Connected peers stay
    // connected; from their next message on, each is held to its key's role as now written, and
    // a key no longer there gets ERROR forbidden for everything (docs/security.md).
    void reload_allowed_keys();

private:
    protocol::SendStatus to_worker(const RoutingId& worker, protocol::Frames& frames) override;
    protocol::SendStatus to_producer(const RoutingId& producer, protocol::Frames& frames) override;
    void open_journal();
    bool continues_after_stop_request(std::chrono::steady_clock::time_point now);
    // How long the loop may block: until the next heartbeat tick, job deadline, drain end or
    // watchdog ping; 0 (after a sched_yield) while --direct-spin keeps it polling.
    std::chrono::milliseconds time_to_wait(std::chrono::steady_clock::time_point now,
                                           std::chrono::steady_clock::time_point next_tick);
    bool is_drain_over(std::chrono::steady_clock::time_point now) const;
    void release_durable_replies();
    // Tells the Scheduler when the journal stalls on a full disk, and when it can write again.
    void watch_storage(std::chrono::steady_clock::time_point now);
    void maybe_compact(std::chrono::steady_clock::time_point now);
    // One turn's messages from one socket: what is waiting, up to a bound, then dispatch.
    void receive_from_producers(std::chrono::steady_clock::time_point now);
    void receive_from_workers(std::chrono::steady_clock::time_point now);
    using MessageHandler = void (Scheduler::*)(const RoutingId&, protocol::Message&&, std::chrono::steady_clock::time_point,
                                               const Peer&);
    using MalformedHandler = void (Scheduler::*)(const RoutingId&, const protocol::DecodeError&, std::string_view);
    // What the direct transport's connections brought, and what is queued for them written.
    void serve_direct(std::chrono::steady_clock::time_point now);
    // With --direct: checks it may be used (not with CURVE) and binds it.
    void open_direct();
    // `item`: the socket's place in waiting_.
    void receive_turn(zmq::socket_t& socket, std::size_t item, std::chrono::steady_clock::time_point now,
                      MessageHandler on_message, MalformedHandler on_malformed);
    // With CURVE: turns both ROUTERs into CURVE servers and starts the ZAP handler (before any
    // bind, so that no connection is ever let in unchecked).
    void enable_curve();
    // Who sent frames_: with CURVE, the key its connection proved and that key's role now.
    Peer identify_sender() const;
    // Logs loudly when an endpoint is reachable from other hosts without CURVE.
    void warn_if_open() const;
    // The service manager's one-line status, e.g. "ready: 3 queues, 12 pending, 0 delayed, 4
    // leased, 2 workers".
    std::string service_status() const;

    zmq::context_t& context_;
    BrokerOptions options_;
    std::shared_ptr<spdlog::logger> log_;
    // Declared before the sockets, so that it outlives them.
    std::unique_ptr<ZapHandler> zap_;
    std::shared_ptr<const AllowedKeys> keys_;  // the loop's snapshot of zap_->keys()
    std::uint64_t keys_generation_ = 0;
    zmq::socket_t producers_;
    zmq::socket_t workers_;
    loop::WakeSignal stop_requests_;  // one notify() per request_stop(): SIGTERM/SIGINT
    // The loop's wait (run() makes it): its items are these, in this order.
    // kJournalDurable is there only with a journal; the direct transport's item (direct_item_),
    // when it is on, comes after the last of these.
    enum WaitItem : std::size_t { kProducers, kWorkers, kStopRequests, kJournalDurable };
    std::optional<loop::SocketWait> waiting_;
    std::string producer_endpoint_;
    std::string worker_endpoint_;
    std::unique_ptr<DirectServer> direct_;
    std::string direct_endpoint_;
    std::size_t direct_item_ = 0;
    // --direct-spin: until then the loop polls without blocking (a message came over the
    // direct transport less than that long ago).
    std::chrono::steady_clock::time_point spin_until_{};
    Scheduler scheduler_;
    protocol::Frames frames_;  // reused receive buffer
    // A drain under way: when it began, when it must end, and the attempts ended before it.
    struct Drain {
        std::chrono::steady_clock::time_point started;
        std::chrono::steady_clock::time_point deadline;
        std::uint64_t ended_before = 0;
    };
    std::optional<Drain> drain_;

    std::unique_ptr<JournalDirectory> directory_;
    std::unique_ptr<JournalWriter> writer_;
    std::unique_ptr<JournalSink> journal_sink_;
    bool is_storage_stalled_ = false;
    bool has_journal_failed_ = false;
    HeapTrimmer heap_trimmer_;
    ServiceNotifier notifier_;
};

}  // namespace corsair::broker
