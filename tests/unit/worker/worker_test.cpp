// The Worker against a fake broker: a ROUTER bound here on tcp://127.0.0.1:*, speaking the
// protocol through corsair::protocol. Every wait is a poll under a deadline.
#include "corsair/worker/worker.hpp"

#include <spdlog/sinks/null_sink.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <iterator>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "corsair/protocol/protocol.hpp"
#include "corsair/worker/builtin_handlers.hpp"
#include "corsair/worker/exec_handler.hpp"
#include "corsair/worker/not_started.hpp"
#include "corsair/worker/permanent_failure.hpp"
#include "deadline.hpp"
#include "loopback_router.hpp"
#include "process_group_probe.hpp"
#include "start_failure_pause.hpp"

using namespace std::chrono_literals;
using namespace corsair;
using worker::JobContext;
using worker::Worker;
using worker::WorkerOptions;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kDeadline = 3s;

std::shared_ptr<spdlog::logger> quiet_log() {
    return std::make_shared<spdlog::logger>("worker", std::make_shared<spdlog::sinks::null_sink_mt>());
}

std::string id_text(const zmq::message_t& routing_id) { return routing_id.to_string(); }

// Plays the broker's side. Answers each worker HEARTBEAT with one of its own unless silent.
class FakeBroker : public test::LoopbackRouter {
public:
    using LoopbackRouter::LoopbackRouter;
    void set_silent(bool is_silent) { is_silent_ = is_silent; }

    // The next message from any worker, or nullopt once `timeout` passes.
    std::optional<Received> receive(std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        while (true) {
            protocol::Frames frames;
            if (protocol::receive_frames(socket_, frames)) {
                REQUIRE(frames.size() >= 2);
                zmq::message_t routing_id = std::move(frames[0]);
                auto decoded = protocol::decode(frames, 1);
                REQUIRE(decoded.has_value());
                if (std::holds_alternative<protocol::Heartbeat>(decoded.value()) && !is_silent_) {
                    send(routing_id, protocol::Heartbeat{});
                }
                return Received{std::move(routing_id), std::move(decoded.value())};
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left <= 0ms) return std::nullopt;
            zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
            zmq::poll(&item, 1, left);
        }
    }

    // Receives until a T arrives, skipping heartbeats; anything else fails the test.
    template <class T>
    std::pair<zmq::message_t, T> expect(std::chrono::milliseconds timeout = kDeadline) {
        const auto deadline = Clock::now() + timeout;
        while (true) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            auto received = receive(std::max(left, 0ms));
            if (!received) FAIL("timed out waiting for " << protocol::to_string(protocol::kCommandOf<T>));
            if (auto* message = std::get_if<T>(&received->message)) {
                return {std::move(received->routing_id), std::move(*message)};
            }
            const auto command = protocol::command_of(received->message);
            if (command != protocol::Command::heartbeat) {
                FAIL("expected " << protocol::to_string(protocol::kCommandOf<T>) << ", got "
                                 << protocol::to_string(command));
            }
        }
    }

    // True if no message other than heartbeats arrives within `window`.
    bool stays_quiet(std::chrono::milliseconds window) {
        const auto deadline = Clock::now() + window;
        while (true) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left <= 0ms) return true;
            auto received = receive(left);
            if (!received) return true;
            if (!std::holds_alternative<protocol::Heartbeat>(received->message)) return false;
        }
    }

    template <class T>
    void send(const zmq::message_t& routing_id, T&& message) {
        REQUIRE(protocol::send_message(socket_, std::forward<T>(message), &routing_id) == protocol::SendStatus::sent);
    }

    void send_job(const zmq::message_t& routing_id, std::string id, std::string queue, std::uint32_t attempt,
                  std::string_view payload) {
        send(routing_id, protocol::Job{std::move(id), std::move(queue), attempt, protocol::make_payload(payload)});
    }

private:
    bool is_silent_ = false;
};

// Handlers that block until the test opens the gate; counts how many run at once.
class Gate {
public:
    std::string pass(const JobContext& job) {
        std::unique_lock lock(mutex_);
        ++started_;
        ++running_;
        max_running_ = std::max(max_running_, running_);
        changed_.notify_all();
        changed_.wait(lock, job.stop_token, [this] { return is_open_; });
        --running_;
        changed_.notify_all();
        return "passed " + job.id;
    }
    void open() {
        std::lock_guard lock(mutex_);
        is_open_ = true;
        changed_.notify_all();
    }
    bool wait_running(int count, std::chrono::milliseconds timeout = kDeadline) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return running_ == count; });
    }
    int running() {
        std::lock_guard lock(mutex_);
        return running_;
    }
    int max_running() {
        std::lock_guard lock(mutex_);
        return max_running_;
    }
    int started() {
        std::lock_guard lock(mutex_);
        return started_;
    }

private:
    std::mutex mutex_;
    std::condition_variable_any changed_;
    int started_ = 0;
    int running_ = 0;
    int max_running_ = 0;
    bool is_open_ = false;
};

// A handler that runs until its stop_token fires (unless it ignores it) or the test releases it.
class StopProbe {
public:
    explicit StopProbe(bool ignores_stop = false) : ignores_stop_(ignores_stop) {}

    // Returns "finished ID"; throws std::runtime_error after a stop when `throws_when_stopped`.
    std::string run(const JobContext& job, bool throws_when_stopped = false) {
        std::unique_lock lock(mutex_);
        token_ = job.stop_token;
        is_running_ = true;
        changed_.notify_all();
        if (ignores_stop_) {
            changed_.wait(lock, [this] { return is_released_; });
        } else {
            changed_.wait(lock, job.stop_token, [this] { return is_released_; });
        }
        has_returned_ = true;
        changed_.notify_all();
        if (throws_when_stopped && job.stop_token.stop_requested()) throw std::runtime_error("gave up");
        return "finished " + job.id;
    }
    void release() {
        std::lock_guard lock(mutex_);
        is_released_ = true;
        changed_.notify_all();
    }
    bool wait_running() {
        return wait_for([this] { return is_running_; });
    }
    bool wait_stop_requested() {
        return wait_for([this] { return token_.stop_requested(); });
    }
    bool wait_returned() {
        return wait_for([this] { return has_returned_; });
    }
    bool is_stop_requested() {
        std::lock_guard lock(mutex_);
        return token_.stop_requested();
    }
    bool has_returned() {
        std::lock_guard lock(mutex_);
        return has_returned_;
    }

private:
    template <class Predicate>
    bool wait_for(Predicate predicate) {
        // The stop token is no condition of ours to be notified about: re-check it under the deadline.
        return test::wait_until(
            [&] {
                std::lock_guard lock(mutex_);
                return predicate();
            },
            kDeadline);
    }

    const bool ignores_stop_;
    std::mutex mutex_;
    std::condition_variable_any changed_;
    std::stop_token token_;
    bool is_running_ = false;
    bool is_released_ = false;
    bool has_returned_ = false;
};

// Releases a StopProbe when the test leaves, before the worker joins its handler threads.
class ReleaseOnExit {
public:
    explicit ReleaseOnExit(StopProbe& probe) : probe_(probe) {}
    ~ReleaseOnExit() { probe_.release(); }
    ReleaseOnExit(const ReleaseOnExit&) = delete;
    ReleaseOnExit& operator=(const ReleaseOnExit&) = delete;

private:
    StopProbe& probe_;
};

// A Worker whose run() is on its own thread; the destructor stops it and joins.
class RunningWorker {
public:
    RunningWorker(zmq::context_t& context, WorkerOptions options,
                  std::vector<std::pair<std::string, worker::Handler>> handlers)
        : worker_(context, std::move(options), quiet_log()) {
        for (auto& [queue, handler] : handlers) worker_.add_handler(queue, std::move(handler));
        thread_ = std::jthread([this] {
            worker_.run();
            std::lock_guard lock(mutex_);
            has_returned_ = true;
            returned_.notify_all();
        });
    }
    ~RunningWorker() { worker_.request_stop(); }

    Worker& worker() { return worker_; }
    bool wait_returned(std::chrono::milliseconds timeout = kDeadline) {
        std::unique_lock lock(mutex_);
        return returned_.wait_for(lock, timeout, [this] { return has_returned_; });
    }
    bool has_returned() {
        std::lock_guard lock(mutex_);
        return has_returned_;
    }

private:
    Worker worker_;
    std::mutex mutex_;
    std::condition_variable returned_;
    bool has_returned_ = false;
    std::jthread thread_;  // last: joined before the worker is destroyed
};

WorkerOptions options_for(const FakeBroker& broker, std::uint32_t capacity = 1) {
    WorkerOptions options;
    options.broker_endpoint = broker.endpoint();
    options.name = "test-worker";
    options.capacity = capacity;
    options.reconnect_min = 50ms;
    options.reconnect_max = 200ms;
    return options;
}

worker::Handler describe() {
    return [](const JobContext& job) {
        return job.queue + ":" + std::string(job.payload) + ":" + std::to_string(job.attempt);
    };
}

}  // namespace

TEST_CASE("a worker sends READY and answers a JOB with DONE for the same id and attempt", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    RunningWorker running(context, options_for(broker, 2), {{"b", describe()}, {"a", describe()}});

    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    CHECK(ready.queues == std::vector<std::string>{"a", "b"});
    CHECK(ready.capacity == 2);
    CHECK(ready.name == "test-worker");
    broker.send(worker_id, protocol::Heartbeat{250, 3});

    broker.send_job(worker_id, "job-1", "a", 3, "hello");
    auto [done_from, done] = broker.expect<protocol::Done>();
    CHECK(id_text(done_from) == id_text(worker_id));
    CHECK(done.id == "job-1");
    CHECK(done.attempt == 3);
    CHECK(protocol::view_of(done.payload) == "a:hello:3");
}

TEST_CASE("a failing job becomes FAIL with an error text", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    const std::string long_error(20'000, 'e');
    RunningWorker running(
        context, options_for(broker),
        {{"throws", [](const JobContext&) -> std::string { throw std::runtime_error("disk full"); }},
         {"permanent", [](const JobContext&) -> std::string { throw worker::PermanentFailure("no such image"); }},
         {"long", [&](const JobContext&) -> std::string { throw std::runtime_error(long_error); }},
         {"huge", [](const JobContext&) { return std::string(protocol::kDefaultMaxPayloadBytes + 1, 'x'); }}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();

    SECTION("a handler's exception gives its what()") {
        broker.send_job(worker_id, "j", "throws", 2, "");
        auto [from, fail] = broker.expect<protocol::Fail>();
        CHECK(fail.id == "j");
        CHECK(fail.attempt == 2);
        CHECK(fail.error == "disk full");
        CHECK_FALSE(fail.is_permanent);
    }
    SECTION("a handler's PermanentFailure gives FAIL marked permanent") {
        broker.send_job(worker_id, "j", "permanent", 2, "");
        auto [from, fail] = broker.expect<protocol::Fail>();
        CHECK(fail.id == "j");
        CHECK(fail.attempt == 2);
        CHECK(fail.error == "no such image");
        CHECK(fail.is_permanent);
    }
    SECTION("a long error text is cut to the protocol's limit") {
        broker.send_job(worker_id, "j", "long", 1, "");
        auto [from, fail] = broker.expect<protocol::Fail>();
        CHECK(fail.error == long_error.substr(0, protocol::kMaxErrorTextBytes));
    }
    SECTION("a result over the payload limit fails for good") {
        broker.send_job(worker_id, "j", "huge", 1, "");
        auto [from, fail] = broker.expect<protocol::Fail>();
        CHECK_THAT(fail.error, Catch::StartsWith("result too large"));
        CHECK(fail.is_permanent);
    }
    SECTION("a job for a queue the worker does not serve") {
        broker.send_job(worker_id, "j", "elsewhere", 5, "");
        auto [from, fail] = broker.expect<protocol::Fail>();
        CHECK(fail.attempt == 5);
        CHECK_THAT(fail.error, Catch::Contains("elsewhere"));
    }
}

TEST_CASE("a worker adopts the payload limit of its broker's HEARTBEAT and fails a larger result for good",
          "[worker][payload_limit]") {
    zmq::context_t context;
    FakeBroker broker(context);
    // The payload says how many bytes of result to make; "limit" answers the limit the handler sees.
    RunningWorker running(context, options_for(broker), {{"q", [](const JobContext& job) {
                              if (job.payload == "limit") return std::to_string(job.max_result_bytes);
                              return std::string(std::stoul(std::string(job.payload)), 'r');
                          }}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    broker.send(worker_id, protocol::Heartbeat{1000u, 3u, std::nullopt, 1000u});
    SECTION("a result over it is a permanent FAIL naming the limit") {
        broker.send_job(worker_id, "j", "q", 1, "1001");
        auto [from, fail] = broker.expect<protocol::Fail>();
        CHECK(fail.id == "j");
        CHECK(fail.is_permanent);
        CHECK(fail.error == "result too large: 1001 bytes, over the broker's limit of 1000 bytes (its --max-payload)");
        broker.send_job(worker_id, "k", "q", 1, "10");  // the credit is free again
        auto [from_again, done] = broker.expect<protocol::Done>();
        CHECK(done.id == "k");
    }
    SECTION("a result of exactly the limit is sent") {
        broker.send_job(worker_id, "j", "q", 1, "1000");
        auto [from, done] = broker.expect<protocol::Done>();
        CHECK(done.payload.size() == 1000);
    }
    SECTION("the handler is told the limit") {
        broker.send_job(worker_id, "j", "q", 1, "limit");
        auto [from, done] = broker.expect<protocol::Done>();
        CHECK(protocol::view_of(done.payload) == "1000");
    }
}

TEST_CASE("a worker takes a job over the default payload limit when its broker allows it", "[worker][payload_limit]") {
    zmq::context_t context;
    FakeBroker broker(context);
    RunningWorker running(context, options_for(broker),
                          {{"q", [](const JobContext& job) { return std::to_string(job.payload.size()); }}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    broker.send(worker_id, protocol::Heartbeat{1000u, 3u, std::nullopt, 20'000'000u});
    const std::size_t big = protocol::kDefaultMaxPayloadBytes + protocol::kFrameOverheadBytes + 1;
    broker.send_job(worker_id, "big", "q", 1, std::string(big, 'p'));
    // Before: the worker's socket cut the connection at the default size, and READY came again.
    auto [from, done] = broker.expect<protocol::Done>();
    CHECK(protocol::view_of(done.payload) == std::to_string(big));
}

TEST_CASE("a worker runs as many jobs at once as its capacity", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Gate gate;
    RunningWorker running(context, options_for(broker, 3),
                          {{"q", [&](const JobContext& job) { return gate.pass(job); }}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    REQUIRE(ready.capacity == 3);

    // The broker never sends more than the credit READY announced.
    for (int i = 0; i < 3; ++i) broker.send_job(worker_id, "job-" + std::to_string(i), "q", 1, "");
    REQUIRE(gate.wait_running(3));
    CHECK(broker.stays_quiet(50ms));  // nothing is reported while every handler is still busy
    gate.open();

    std::set<std::string> done_ids;
    for (int i = 0; i < 3; ++i) {
        auto [from, done] = broker.expect<protocol::Done>();
        CHECK(protocol::view_of(done.payload) == "passed " + done.id);
        done_ids.insert(done.id);
    }
    CHECK(done_ids == std::set<std::string>{"job-0", "job-1", "job-2"});
    CHECK(gate.max_running() == 3);
}

TEST_CASE("inline handlers run on the I/O thread, one at a time, and report like pooled ones", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker, 8);
    options.runs_handlers_inline = true;
    std::mutex mutex;
    std::set<std::thread::id> handler_threads;
    RunningWorker running(context, options,
                          {{"q",
                            [&](const JobContext& job) {
                                job.report_progress(50, "half");
                                std::lock_guard lock(mutex);
                                handler_threads.insert(std::this_thread::get_id());
                                return "inline " + std::string(job.payload);
                            }},
                           {"bad", [](const JobContext&) -> std::string { throw std::runtime_error("no"); }}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    CHECK(ready.capacity == 8);  // credit is still the capacity
    for (int i = 0; i < 8; ++i) broker.send_job(worker_id, "job-" + std::to_string(i), "q", 1, std::to_string(i));
    std::set<std::string> done_ids;
    while (done_ids.size() < 8) {
        auto received = broker.receive(kDeadline);
        REQUIRE(received.has_value());
        if (auto* done = std::get_if<protocol::Done>(&received->message)) {
            CHECK(protocol::view_of(done->payload) == "inline " + done->id.substr(4));
            done_ids.insert(done->id);
        }
    }
    {
        std::lock_guard lock(mutex);
        CHECK(handler_threads.size() == 1);  // every job ran on the same (I/O) thread
    }
    broker.send_job(worker_id, "j", "bad", 2, "");
    auto [from, fail] = broker.expect<protocol::Fail>();
    CHECK(fail.error == "no");
}

TEST_CASE("the noop built-in returns an empty result", "[worker][builtin]") {
    auto noop = worker::builtin_handler("noop");
    REQUIRE(noop.has_value());
    JobContext job;
    job.payload = "anything";
    CHECK((*noop)(job).empty());
}

TEST_CASE("ERROR unknown_worker makes the worker send READY again", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    RunningWorker running(context, options_for(broker), {{"q", describe()}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();

    SECTION("once") {
        broker.send(worker_id, protocol::Error{protocol::ErrorCode::unknown_worker, "who are you", "", ""});
        auto [again_from, again] = broker.expect<protocol::Ready>();
        CHECK(id_text(again_from) == id_text(worker_id));  // same socket, no reconnect
        CHECK(again.queues == std::vector<std::string>{"q"});
    }
    SECTION("a burst of errors (one per queued heartbeat) draws a single READY") {
        for (int i = 0; i < 3; ++i) {
            broker.send(worker_id, protocol::Error{protocol::ErrorCode::unknown_worker, "who are you", "", ""});
        }
        broker.expect<protocol::Ready>();
        CHECK(broker.stays_quiet(200ms));
    }
}

TEST_CASE("a draining worker told unknown_worker announces itself and drains again", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Gate gate;
    RunningWorker running(context, options_for(broker), {{"q", [&](const JobContext& job) { return gate.pass(job); }}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    broker.send_job(worker_id, "held", "q", 1, "");
    REQUIRE(gate.wait_running(1));
    running.worker().request_drain();
    broker.expect<protocol::Drain>();

    broker.send(worker_id, protocol::Error{protocol::ErrorCode::unknown_worker, "restarted", "", ""});
    broker.expect<protocol::Ready>();
    broker.expect<protocol::Drain>();
    gate.open();
    broker.expect<protocol::Done>();
    broker.expect<protocol::Disconnect>();
    CHECK(running.wait_returned());
}

TEST_CASE("heartbeats keep flowing while a handler is busy", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Gate gate;
    RunningWorker running(context, options_for(broker), {{"q", [&](const JobContext& job) { return gate.pass(job); }}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    broker.send(worker_id, protocol::Heartbeat{20, 50});  // the worker adopts the broker's 20 ms

    broker.send_job(worker_id, "slow", "q", 1, "");
    REQUIRE(gate.wait_running(1));
    const auto start = Clock::now();
    for (int i = 0; i < 10; ++i) broker.expect<protocol::Heartbeat>(1s);
    // Ten beats at the adopted 20 ms, not the default 1 s, all while the handler is still busy.
    CHECK(Clock::now() - start < 1s);
    CHECK(gate.running() == 1);

    gate.open();
    auto [from, done] = broker.expect<protocol::Done>();
    CHECK(done.id == "slow");
}

TEST_CASE("a worker holding no job heartbeats at the broker's idle interval, and at the interval once it holds one",
          "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Gate gate;
    RunningWorker running(context, options_for(broker), {{"q", [&](const JobContext& job) { return gate.pass(job); }}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    CHECK(ready.idle_heartbeat);  // protocol.md §9: it says it heartbeats idle
    // Interval 20 ms, idle interval 2 s (liveness 50): idle, it owes one HEARTBEAT 2 s after READY.
    broker.send(worker_id, protocol::Heartbeat{20, 50, std::nullopt, std::nullopt, 2000});
    int idle_beats = 0;
    const auto idle_until = Clock::now() + 500ms;
    while (Clock::now() < idle_until) {
        auto received = broker.receive(std::chrono::duration_cast<std::chrono::milliseconds>(idle_until - Clock::now()));
        if (received && std::holds_alternative<protocol::Heartbeat>(received->message)) ++idle_beats;
    }
    // At the 20 ms interval there would have been about 25.
    CHECK(idle_beats <= 1);

    broker.send_job(worker_id, "slow", "q", 1, "");
    REQUIRE(gate.wait_running(1));
    // Ten at the 20 ms interval well within one deadline; at the idle interval they would take 20 s.
    const auto busy_deadline = Clock::now() + kDeadline;
    for (int i = 0; i < 10; ++i) {
        broker.expect<protocol::Heartbeat>(
            std::max(0ms, std::chrono::duration_cast<std::chrono::milliseconds>(busy_deadline - Clock::now())));
    }
    gate.open();
    auto [from, done] = broker.expect<protocol::Done>();
    CHECK(done.id == "slow");
}

TEST_CASE("request_drain sends DRAIN, lets in-flight jobs finish, then sends DISCONNECT", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Gate gate;
    auto options = options_for(broker);

    SECTION("a job in flight finishes first") {
        RunningWorker running(context, options, {{"q", [&](const JobContext& job) { return gate.pass(job); }}});
        auto [worker_id, ready] = broker.expect<protocol::Ready>();
        broker.send_job(worker_id, "in-flight", "q", 4, "");
        REQUIRE(gate.wait_running(1));

        running.worker().request_drain();
        broker.expect<protocol::Drain>();
        CHECK(broker.stays_quiet(100ms));
        CHECK_FALSE(running.has_returned());

        gate.open();
        auto [from, done] = broker.expect<protocol::Done>();
        CHECK(done.id == "in-flight");
        CHECK(done.attempt == 4);
        auto [bye_from, bye] = broker.expect<protocol::Disconnect>();
        CHECK(bye.reason == "drained");
        CHECK(running.wait_returned());
    }
    SECTION("with nothing in flight the worker leaves at once") {
        RunningWorker running(context, options, {{"q", describe()}});
        broker.expect<protocol::Ready>();
        running.worker().request_drain();
        broker.expect<protocol::Drain>();
        broker.expect<protocol::Disconnect>();
        CHECK(running.wait_returned());
    }
    SECTION("a job that outlives the drain timeout is left to the broker") {
        options.drain_timeout = 200ms;
        RunningWorker running(context, options, {{"q", [&](const JobContext& job) { return gate.pass(job); }}});
        auto [worker_id, ready] = broker.expect<protocol::Ready>();
        broker.send_job(worker_id, "stuck", "q", 1, "");
        REQUIRE(gate.wait_running(1));
        running.worker().request_drain();
        broker.expect<protocol::Drain>();
        auto [from, bye] = broker.expect<protocol::Disconnect>();
        CHECK(bye.reason == "drain_timeout");
        CHECK(running.wait_returned());
    }
    SECTION("a drain timeout of 0 is no limit: the job in flight finishes first") {
        options.drain_timeout = 0ms;
        RunningWorker running(context, options, {{"q", [&](const JobContext& job) { return gate.pass(job); }}});
        auto [worker_id, ready] = broker.expect<protocol::Ready>();
        broker.send_job(worker_id, "long", "q", 1, "");
        REQUIRE(gate.wait_running(1));
        running.worker().request_drain();
        broker.expect<protocol::Drain>();
        CHECK(broker.stays_quiet(300ms));
        CHECK_FALSE(running.has_returned());
        gate.open();
        broker.expect<protocol::Done>();
        auto [from, bye] = broker.expect<protocol::Disconnect>();
        CHECK(bye.reason == "drained");
        CHECK(running.wait_returned());
    }
}

TEST_CASE("request_stop returns from run() promptly with DISCONNECT while a handler is busy", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Gate gate;
    RunningWorker running(context, options_for(broker), {{"q", [&](const JobContext& job) { return gate.pass(job); }}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    broker.send_job(worker_id, "busy", "q", 1, "");
    REQUIRE(gate.wait_running(1));

    running.worker().request_stop();
    auto [from, bye] = broker.expect<protocol::Disconnect>();
    CHECK(bye.reason == "stopping");
    CHECK(running.wait_returned(1s));
    // The busy handler is asked to stop through its stop_token; nothing more reaches the broker.
    CHECK(gate.wait_running(0));
    CHECK(broker.stays_quiet(50ms));
}

TEST_CASE("a worker that loses its broker reconnects and sends READY again", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    RunningWorker running(context, options_for(broker), {{"q", describe()}});
    auto [first_id, ready] = broker.expect<protocol::Ready>();

    SECTION("the broker falls silent for liveness x interval") {
        broker.set_silent(true);
        broker.send(first_id, protocol::Heartbeat{20, 2});
    }
    SECTION("the broker says DISCONNECT") { broker.send(first_id, protocol::Disconnect{"shutting down"}); }

    auto [second_id, second] = broker.expect<protocol::Ready>();
    CHECK(id_text(second_id) != id_text(first_id));  // a new DEALER, a new connection
    CHECK(second.name == "test-worker");

    // The new connection works.
    broker.set_silent(false);
    broker.send_job(second_id, "after", "q", 1, "x");
    auto [from, done] = broker.expect<protocol::Done>();
    CHECK(done.id == "after");
}

TEST_CASE("request_drain before run() makes run() leave at once", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Worker worker(context, options_for(broker), quiet_log());
    worker.add_handler("q", describe());
    worker.request_drain();
    std::atomic<bool> has_returned{false};
    std::jthread thread([&] {
        worker.run();
        has_returned = true;
    });
    broker.expect<protocol::Ready>();
    broker.expect<protocol::Drain>();
    broker.expect<protocol::Disconnect>();
    thread.join();
    CHECK(has_returned);
}

TEST_CASE("bad options are refused at construction", "[worker][worker]") {
    zmq::context_t context;
    WorkerOptions options;
    options.broker_endpoint = "tcp://127.0.0.1:1";
    options.capacity = 0;
    CHECK_THROWS_AS(Worker(context, options, quiet_log()), std::invalid_argument);
    options.capacity = 1;
    options.heartbeat_interval = 1ms;
    CHECK_THROWS_AS(Worker(context, options, quiet_log()), std::invalid_argument);
    options.heartbeat_interval = 1s;
    Worker worker(context, options, quiet_log());
    CHECK_THROWS_AS(worker.run(), std::logic_error);  // no handler
    CHECK_FALSE(worker.options().name.empty());       // defaults to host:pid
}

TEST_CASE("a handler's progress reaches the broker as PROGRESS for its job and attempt", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Gate gate;
    const std::string long_message(1000, 'm');
    std::vector<std::pair<std::string, worker::Handler>> handlers{
        {"report",
         [&](const JobContext& job) {
             job.report_progress(40, "resized 4 of 10");
             return gate.pass(job);
         }},
        {"clamp",
         [&](const JobContext& job) {
             job.report_progress(250, long_message);
             return std::string("clamped");
         }},
        {"burst",
         [](const JobContext& job) {
             for (std::uint32_t percent = 1; percent <= 50; ++percent) job.report_progress(percent, "step");
             return std::string("burst");
         }},
        {"held",
         [&](const JobContext& job) {
             job.report_progress(10, "first");
             job.report_progress(20, "second");
             return gate.pass(job);
         }},
        {"other-thread",
         [](const JobContext& job) {
             std::jthread([&job] { job.report_progress(5, "from another thread"); }).join();
             job.report_progress(6, "from the handler thread");
             return std::string("ok");
         }},
        {"exec", worker::ExecHandler({"/bin/sh", "-c", "echo 'corsair-progress 40 resized 4 of 10' >&2; echo ok"})},
    };
    RunningWorker running(context, options_for(broker), std::move(handlers));
    auto [worker_id, ready] = broker.expect<protocol::Ready>();

    SECTION("a report while the job runs") {
        broker.send_job(worker_id, "job-1", "report", 3, "");
        auto [from, progress] = broker.expect<protocol::Progress>();
        CHECK(id_text(from) == id_text(worker_id));
        CHECK(progress.id == "job-1");
        CHECK(progress.attempt == 3);
        CHECK(progress.percent == 40);
        CHECK(progress.message == "resized 4 of 10");
        CHECK(gate.wait_running(1));  // the gate is still shut: the handler has not returned
        gate.open();
        broker.expect<protocol::Done>();
    }
    SECTION("percent is clamped to 100 and the message cut to the protocol's limit") {
        broker.send_job(worker_id, "job-2", "clamp", 1, "");
        auto [from, progress] = broker.expect<protocol::Progress>();
        CHECK(progress.percent == 100);
        CHECK(progress.message == long_message.substr(0, protocol::kMaxProgressMessageBytes));
        broker.expect<protocol::Done>();
    }
    SECTION("reports in quick succession are coalesced, and the last one comes before DONE") {
        broker.send_job(worker_id, "job-3", "burst", 1, "");
        std::vector<std::uint32_t> percents;
        while (true) {
            auto received = broker.receive(kDeadline);
            REQUIRE(received);
            if (auto* progress = std::get_if<protocol::Progress>(&received->message)) {
                CHECK(progress->id == "job-3");
                percents.push_back(progress->percent);
                continue;
            }
            if (std::holds_alternative<protocol::Done>(received->message)) break;
            REQUIRE(std::holds_alternative<protocol::Heartbeat>(received->message));
        }
        REQUIRE_FALSE(percents.empty());
        CHECK(percents.front() == 1);
        CHECK(percents.back() == 50);
        CHECK(std::is_sorted(percents.begin(), percents.end()));
        CHECK(percents.size() < 50);  // 50 reports within microseconds: most are held back and replaced
    }
    SECTION("a report held back by the interval goes out once it passes, while the job still runs") {
        broker.send_job(worker_id, "job-4", "held", 1, "");
        auto [first_from, first] = broker.expect<protocol::Progress>();
        CHECK(first.percent == 10);
        auto [second_from, second] = broker.expect<protocol::Progress>();
        CHECK(second.percent == 20);
        CHECK(second.message == "second");
        CHECK(gate.wait_running(1));  // the gate is still shut: sent on the timer, not at the job's end
        gate.open();
        broker.expect<protocol::Done>();
    }
    SECTION("a report from a thread other than the handler's is dropped") {
        broker.send_job(worker_id, "job-5", "other-thread", 1, "");
        auto [from, progress] = broker.expect<protocol::Progress>();
        CHECK(progress.percent == 6);
        broker.expect<protocol::Done>();
    }
    SECTION("a command's progress lines on stderr") {
        broker.send_job(worker_id, "job-6", "exec", 2, "");
        auto [from, progress] = broker.expect<protocol::Progress>();
        CHECK(progress.id == "job-6");
        CHECK(progress.attempt == 2);
        CHECK(progress.percent == 40);
        CHECK(progress.message == "resized 4 of 10");
        auto [done_from, done] = broker.expect<protocol::Done>();
        CHECK(protocol::view_of(done.payload) == "ok\n");
    }
}

TEST_CASE("a job from an earlier connection is named in the new READY and its result delivered once it is answered",
          "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Gate gate;
    RunningWorker running(context, options_for(broker), {{"q", [&](const JobContext& job) {
                                                              auto result = gate.pass(job);
                                                              job.report_progress(70, "late");
                                                              return result;
                                                          }}});
    auto [first_id, ready] = broker.expect<protocol::Ready>();
    REQUIRE(ready.holding.has_value());
    CHECK(ready.holding->empty());
    CHECK(ready.instance != 0);
    broker.send_job(first_id, "old", "q", 1, "");
    REQUIRE(gate.wait_running(1));
    broker.send(first_id, protocol::Disconnect{"restarting"});
    auto [second_id, again] = broker.expect<protocol::Ready>();
    REQUIRE(again.holding.has_value());
    REQUIRE(again.holding->size() == 1);
    CHECK(again.holding->at(0).id == "old");
    CHECK(again.holding->at(0).attempt == 1);
    CHECK(again.instance == ready.instance);  // the same worker, on a new connection

    // It ends before the broker has answered: kept, not sent (nor its progress).
    broker.set_silent(true);
    gate.open();
    CHECK(broker.stays_quiet(300ms));

    SECTION("the broker answers: the result goes out on the new connection") {
        broker.send(second_id, protocol::Heartbeat{1000, 3});
        auto [from, done] = broker.expect<protocol::Done>();
        CHECK(done.id == "old");
        CHECK(done.attempt == 1);
        CHECK(id_text(from) == id_text(second_id));
    }
    SECTION("the broker does not know the lease: ABANDON drops the kept result") {
        broker.send(second_id, protocol::Abandon{"old", 1, "unknown_lease"});
        broker.send(second_id, protocol::Heartbeat{1000, 3});
        broker.set_silent(false);
        broker.send_job(second_id, "new", "q", 1, "");
        auto [from, progress] = broker.expect<protocol::Progress>();
        CHECK(progress.id == "new");
        auto [done_from, done] = broker.expect<protocol::Done>();
        CHECK(done.id == "new");
    }
}

TEST_CASE("a job still running across a reconnect is reported on the new connection when it ends",
          "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Gate gate;
    RunningWorker running(context, options_for(broker), {{"q", [&](const JobContext& job) { return gate.pass(job); }}});
    auto [first_id, ready] = broker.expect<protocol::Ready>();
    broker.send_job(first_id, "long", "q", 3, "");
    REQUIRE(gate.wait_running(1));
    broker.send(first_id, protocol::Disconnect{"restarting"});
    auto [second_id, again] = broker.expect<protocol::Ready>();
    REQUIRE(again.holding.has_value());
    REQUIRE(again.holding->size() == 1);
    CHECK(again.holding->at(0).attempt == 3);
    broker.send(second_id, protocol::Heartbeat{1000, 3});
    gate.open();
    auto [from, done] = broker.expect<protocol::Done>();
    CHECK(done.id == "long");
    CHECK(done.attempt == 3);
    CHECK(id_text(from) == id_text(second_id));
}

TEST_CASE("a worker refused for a name in use says so and tries again on a new connection", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    RunningWorker running(context, options_for(broker), {{"q", describe()}});
    auto [first_id, ready] = broker.expect<protocol::Ready>();
    broker.send(first_id, protocol::Error{protocol::ErrorCode::id_conflict, "name in use", "test-worker", "READY"});
    auto [second_id, again] = broker.expect<protocol::Ready>();
    CHECK(id_text(second_id) != id_text(first_id));
}

TEST_CASE("a worker refused for too many queues says so and tries again on a new connection", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    RunningWorker running(context, options_for(broker), {{"q", describe()}});
    auto [first_id, ready] = broker.expect<protocol::Ready>();
    broker.send(first_id, protocol::Error{protocol::ErrorCode::too_many_queues, "--max-queues", "test-worker", "READY"});
    auto [second_id, again] = broker.expect<protocol::Ready>();
    CHECK(id_text(second_id) != id_text(first_id));
}

TEST_CASE("ABANDON stops the job's handler and nothing is reported for that attempt", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    StopProbe probe;
    bool throws_when_stopped = false;
    bool reports_when_stopped = false;
    RunningWorker running(context, options_for(broker), {{"q", [&](const JobContext& job) {
                                                              if (job.id != "long") return "served " + job.id;
                                                              auto result = probe.run(job, throws_when_stopped);
                                                              if (reports_when_stopped)
                                                                  job.report_progress(99, "still here");
                                                              return result;
                                                          }}});
    ReleaseOnExit release(probe);
    auto [worker_id, ready] = broker.expect<protocol::Ready>();

    SECTION("the handler returns a result after the stop") {}
    SECTION("the handler throws after the stop") { throws_when_stopped = true; }
    SECTION("the handler reports progress after the stop") { reports_when_stopped = true; }

    broker.send_job(worker_id, "long", "q", 2, "");
    REQUIRE(probe.wait_running());
    CHECK_FALSE(probe.is_stop_requested());
    broker.send(worker_id, protocol::Abandon{"long", 2, "cancelled"});
    REQUIRE(probe.wait_stop_requested());
    REQUIRE(probe.wait_returned());

    // Capacity 1: the next job runs on the same thread, after the abandoned one has ended, so a
    // DONE, FAIL or PROGRESS for "long" would reach the broker before this DONE.
    broker.send_job(worker_id, "next", "q", 1, "");
    auto [from, done] = broker.expect<protocol::Done>();
    CHECK(done.id == "next");
    CHECK(protocol::view_of(done.payload) == "served next");
}

TEST_CASE("ABANDON for an attempt this worker does not run is ignored", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    StopProbe probe;
    RunningWorker running(context, options_for(broker, 2),
                          {{"q", [&](const JobContext& job) { return probe.run(job); }}, {"echo", describe()}});
    ReleaseOnExit release(probe);
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    broker.send_job(worker_id, "long", "q", 2, "");
    REQUIRE(probe.wait_running());

    broker.send(worker_id, protocol::Abandon{"long", 1, "timeout"});   // an earlier attempt
    broker.send(worker_id, protocol::Abandon{"other", 2, "timeout"});  // another job
    // Messages are handled in order: once this job is done, both ABANDONs have been too.
    broker.send_job(worker_id, "probe", "echo", 1, "x");
    auto [probe_from, probe_done] = broker.expect<protocol::Done>();
    CHECK(probe_done.id == "probe");
    CHECK_FALSE(probe.is_stop_requested());

    probe.release();
    auto [from, done] = broker.expect<protocol::Done>();
    CHECK(done.id == "long");
    CHECK(done.attempt == 2);
}

TEST_CASE("an abandoned job does not hold up a drain", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    StopProbe stubborn(true);  // ignores its stop_token
    RunningWorker running(context, options_for(broker),
                          {{"q", [&](const JobContext& job) { return stubborn.run(job); }}});
    ReleaseOnExit release(stubborn);
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    broker.send_job(worker_id, "stuck", "q", 1, "");
    REQUIRE(stubborn.wait_running());
    broker.send(worker_id, protocol::Abandon{"stuck", 1, "timeout"});
    REQUIRE(stubborn.wait_stop_requested());

    running.worker().request_drain();  // drain_timeout is 30 s: only an empty in-flight count ends it now
    broker.expect<protocol::Drain>();
    auto [from, bye] = broker.expect<protocol::Disconnect>();
    CHECK(bye.reason == "drained");
    CHECK(running.wait_returned());
    CHECK_FALSE(stubborn.has_returned());
}

TEST_CASE("ABANDON of a command's job kills its whole process group", "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    test::ProcessGroupProbe group;
    RunningWorker running(context, options_for(broker),
                          {{"exec", worker::ExecHandler({"/bin/sh", "-c", group.script()})}, {"echo", describe()}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    broker.send_job(worker_id, "convert", "exec", 1, "");
    REQUIRE(test::wait_until([&] { return group.pids().size() == 2; }, kDeadline));

    broker.send(worker_id, protocol::Abandon{"convert", 1, "timeout"});
    for (pid_t pid : group.pids()) {
        INFO("pid " << pid);
        CHECK(test::wait_until([pid] { return test::process_has_ended(pid); }, kDeadline));
    }
    // Capacity 1: this job runs once the killed command's handler has returned; no FAIL came first.
    broker.send_job(worker_id, "next", "echo", 1, "x");
    auto [from, done] = broker.expect<protocol::Done>();
    CHECK(done.id == "next");
}

TEST_CASE("a worker takes JOBS and, once the broker's HEARTBEAT allows it, answers with one DONES",
          "[worker][batches]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker, 8);
    options.runs_handlers_inline = true;  // every job of a JOBS ends before the worker looks up
    RunningWorker running(context, options, {{"q", describe()}, {"r", describe()}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    CHECK(ready.batch == 40);  // WorkerOptions::batch (64), but never more than capacity + prefetch
    CHECK(ready.reads_packed);

    auto jobs_of = [](int count) {
        protocol::Jobs jobs;
        for (int i = 0; i < count; ++i) {
            jobs.jobs.push_back(protocol::Job{"job-" + std::to_string(i), i % 2 == 0 ? "q" : "r", 1,
                                              protocol::make_payload(std::to_string(i))});
        }
        return jobs;
    };
    SECTION("the broker reads DONES") {
        // protocol.md §3.1: packed JOBS are read, and DONES go packed once the HEARTBEAT says so.
        const bool is_packed = GENERATE(false, true);
        protocol::Heartbeat heartbeat{250, 3, protocol::kMaxBatchEntries};
        heartbeat.reads_packed = is_packed;
        broker.send(worker_id, std::move(heartbeat));
        auto jobs = jobs_of(5);
        jobs.is_packed = is_packed;
        broker.send(worker_id, std::move(jobs));
        // All five end in one DONES, unless the inline jobs outlast the worker's turn (1 ms of
        // handlers, so that a RECALL can reach a waiting job): a slow sanitizer build splits them
        // 4 + 1. So: every result once, in order, and fewer messages than results.
        std::vector<protocol::Done> results;
        int messages = 0;
        while (results.size() < 5) {
            auto received = broker.receive(kDeadline);
            REQUIRE(received.has_value());
            if (auto* dones = std::get_if<protocol::Dones>(&received->message)) {
                CHECK(dones->is_packed == is_packed);
                results.insert(results.end(), std::make_move_iterator(dones->done.begin()),
                               std::make_move_iterator(dones->done.end()));
                ++messages;
            } else if (auto* done = std::get_if<protocol::Done>(&received->message)) {
                results.push_back(std::move(*done));
                ++messages;
            } else {
                REQUIRE(protocol::command_of(received->message) == protocol::Command::heartbeat);
            }
        }
        CHECK(messages < 5);
        REQUIRE(results.size() == 5);
        for (int i = 0; i < 5; ++i) {
            CHECK(results[i].id == "job-" + std::to_string(i));
            CHECK(results[i].attempt == 1);
            CHECK(protocol::view_of(results[i].payload) ==
                  std::string(i % 2 == 0 ? "q:" : "r:") + std::to_string(i) + ":1");
        }
        SECTION("a lone result still goes as a DONE") {
            broker.send_job(worker_id, "solo", "q", 2, "x");
            auto [solo_from, done] = broker.expect<protocol::Done>();
            CHECK(done.id == "solo");
        }
    }
    SECTION("a broker that never sent batch gets single DONEs") {
        broker.send(worker_id, protocol::Heartbeat{250, 3});
        broker.send(worker_id, jobs_of(3));
        for (int i = 0; i < 3; ++i) {
            auto [from, done] = broker.expect<protocol::Done>();
            CHECK(done.id == "job-" + std::to_string(i));
        }
    }
}

TEST_CASE("a worker with --batch 0 asks for single JOBs and sends single DONEs", "[worker][batches]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker, 8);
    options.batch = 0;
    options.runs_handlers_inline = true;
    RunningWorker running(context, options, {{"q", describe()}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    CHECK(ready.batch == 0);
    broker.send(worker_id, protocol::Heartbeat{250, 3, protocol::kMaxBatchEntries});
    protocol::Jobs jobs;  // a broker that sends JOBS anyway is still served
    jobs.jobs.push_back(protocol::Job{"a", "q", 1, protocol::make_payload("1")});
    jobs.jobs.push_back(protocol::Job{"b", "q", 1, protocol::make_payload("2")});
    broker.send(worker_id, std::move(jobs));
    CHECK(broker.expect<protocol::Done>().second.id == "a");
    CHECK(broker.expect<protocol::Done>().second.id == "b");
}

TEST_CASE("pooled handlers' results reach a batching broker, each exactly once", "[worker][batches]") {
    zmq::context_t context;
    FakeBroker broker(context);
    RunningWorker running(context, options_for(broker, 16), {{"q", describe()}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    CHECK(ready.batch == 48);  // capacity + prefetch (32)
    broker.send(worker_id, protocol::Heartbeat{250, 3, protocol::kMaxBatchEntries});
    protocol::Jobs jobs;
    for (int i = 0; i < 16; ++i) jobs.jobs.push_back(protocol::Job{"job-" + std::to_string(i), "q", 1, {}});
    broker.send(worker_id, std::move(jobs));
    std::multiset<std::string> ended;
    while (ended.size() < 16) {
        auto received = broker.receive(kDeadline);
        REQUIRE(received.has_value());
        if (auto* done = std::get_if<protocol::Done>(&received->message)) ended.insert(done->id);
        if (auto* dones = std::get_if<protocol::Dones>(&received->message)) {
            for (const auto& entry : dones->done) ended.insert(entry.id);
        }
    }
    for (int i = 0; i < 16; ++i) CHECK(ended.count("job-" + std::to_string(i)) == 1);
}

TEST_CASE("a worker whose broker never answers opens a new DEALER after each backoff",
          "[worker][connection_state]") {
    zmq::context_t context;
    FakeBroker broker(context);
    broker.set_silent(true);
    auto options = options_for(broker);  // backoff from 50 ms, capped at the 40 ms window raised to 50 ms
    options.heartbeat_interval = 20ms;
    options.liveness = 2;  // connecting gives up after 40 ms of silence
    const auto start = Clock::now();
    RunningWorker running(context, options, {{"q", describe()}});

    auto [first_id, first] = broker.expect<protocol::Ready>();
    auto [second_id, second] = broker.expect<protocol::Ready>();
    auto [third_id, third] = broker.expect<protocol::Ready>();
    CHECK(id_text(second_id) != id_text(first_id));
    CHECK(id_text(third_id) != id_text(second_id));
    // Two silences of 40 ms and two backoffs of at least half the 50 ms cap (jitter), since the worker began.
    CHECK(Clock::now() - start >= 2 * 40ms + 2 * 25ms);

    // The broker answers at last: the new connection serves.
    broker.set_silent(false);
    broker.send_job(third_id, "at-last", "q", 1, "x");
    auto [from, done] = broker.expect<protocol::Done>();
    CHECK(id_text(from) == id_text(third_id));
    CHECK(done.id == "at-last");
}

TEST_CASE("a draining worker that loses its broker does not reconnect and leaves once its job ends",
          "[worker][connection_state]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Gate gate;
    RunningWorker running(context, options_for(broker), {{"q", [&](const JobContext& job) { return gate.pass(job); }}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    broker.send_job(worker_id, "held", "q", 1, "");
    REQUIRE(gate.wait_running(1));
    running.worker().request_drain();
    broker.expect<protocol::Drain>();

    SECTION("the broker says DISCONNECT") { broker.send(worker_id, protocol::Disconnect{"shutting down"}); }
    SECTION("the broker falls silent") {
        broker.set_silent(true);
        broker.send(worker_id, protocol::Heartbeat{20, 2});
    }

    // A reconnect would come after the 50 ms backoff, with a READY.
    CHECK(broker.stays_quiet(300ms));
    CHECK_FALSE(running.has_returned());
    gate.open();
    CHECK(running.wait_returned());
    CHECK(broker.stays_quiet(100ms));  // the job's DONE had no connection to go out on
}

TEST_CASE("a JOB the broker sent before it read DRAIN still runs and is reported before DISCONNECT",
          "[worker][connection_state]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Gate gate;
    RunningWorker running(context, options_for(broker, 2),
                          {{"q", [&](const JobContext& job) { return gate.pass(job); }}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    broker.send_job(worker_id, "first", "q", 1, "");
    REQUIRE(gate.wait_running(1));
    running.worker().request_drain();
    broker.expect<protocol::Drain>();

    broker.send_job(worker_id, "crossed", "q", 1, "");
    REQUIRE(gate.wait_running(2));
    gate.open();
    std::set<std::string> done_ids;
    for (int i = 0; i < 2; ++i) done_ids.insert(broker.expect<protocol::Done>().second.id);
    CHECK(done_ids == std::set<std::string>{"first", "crossed"});
    auto [from, bye] = broker.expect<protocol::Disconnect>();
    CHECK(bye.reason == "drained");
    CHECK(running.wait_returned());
}

TEST_CASE("a handler that cannot start gives its job back uncounted and pauses the worker with DRAIN, then READY",
          "[worker][worker]") {
    zmq::context_t context;
    FakeBroker broker(context);
    std::atomic<bool> can_start{false};
    RunningWorker running(context, options_for(broker, 2),
                          {{"q", [&](const JobContext& job) -> std::string {
                                if (!can_start) throw worker::NotStarted("command not found in PATH: 'tool'");
                                return std::string(job.payload);
                            }}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    broker.send(worker_id, protocol::Heartbeat{1000, 3});

    const auto failed_at = Clock::now();
    broker.send_job(worker_id, "j1", "q", 4, "x");
    // DRAIN first, so the broker does not hand the freed credit straight back.
    broker.expect<protocol::Drain>();
    auto [from, fail] = broker.expect<protocol::Fail>();
    CHECK(fail.id == "j1");
    CHECK(fail.attempt == 4);
    CHECK(fail.is_not_started);
    CHECK_FALSE(fail.is_permanent);
    CHECK(fail.error == "command not found in PATH: 'tool'");

    // A job sent before the broker read the DRAIN fails in the same round: no second DRAIN.
    broker.send_job(worker_id, "j2", "q", 1, "y");
    auto [from2, fail2] = broker.expect<protocol::Fail>();
    CHECK(fail2.id == "j2");
    CHECK(fail2.is_not_started);

    // The first pause is one second; then READY takes jobs again, and a job that starts resets the rounds.
    auto [again_id, again] = broker.expect<protocol::Ready>(3s);
    CHECK(Clock::now() - failed_at >= worker::StartFailurePause::kFirstPause);
    can_start = true;
    broker.send_job(again_id, "j1", "q", 5, "x");
    auto [done_from, done] = broker.expect<protocol::Done>();
    CHECK(done.id == "j1");
    CHECK_FALSE(running.worker().has_given_up());
}

TEST_CASE("the pause after a job that cannot start gives back the jobs held ready, as a drain does",
          "[worker][prefetch]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker);
    options.runs_handlers_inline = true;  // the I/O thread runs them in order: "sick" first, the others wait
    RunningWorker running(context, options, {{"q", [](const JobContext& job) -> std::string {
                                                  if (job.id == "sick") throw worker::NotStarted("no GPU here");
                                                  return std::string(job.payload);
                                              }}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    broker.send(worker_id, protocol::Heartbeat{1000, 3});
    protocol::Jobs jobs;
    for (const char* id : {"sick", "held-1", "held-2"}) {
        jobs.jobs.push_back(protocol::Job{id, "q", 1, protocol::make_payload("x")});
    }
    broker.send(worker_id, std::move(jobs));

    broker.expect<protocol::Drain>();  // first, so that the broker does not send them back here
    std::vector<std::string> given_back;
    for (int i = 0; i < 3; ++i) {
        auto [from, fail] = broker.expect<protocol::Fail>();
        CHECK(fail.is_not_started);
        if (fail.id != "sick") {
            CHECK(fail.error == "given back unstarted: the worker pauses after a job it could not start");
        }
        given_back.push_back(fail.id);
    }
    std::sort(given_back.begin(), given_back.end());
    CHECK(given_back == std::vector<std::string>{"held-1", "held-2", "sick"});
}

TEST_CASE("more handler threads than the capacity are not started: jobs held ready stay ready",
          "[worker][prefetch]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Gate gate;
    auto options = options_for(broker);
    options.handler_threads = 4;  // capacity 1
    RunningWorker running(context, options, {{"q", [&](const JobContext& job) { return gate.pass(job); }}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    broker.send(worker_id, protocol::Heartbeat{1000, 3});
    broker.send_job(worker_id, "a", "q", 1, "");
    broker.send_job(worker_id, "b", "q", 1, "");
    broker.send_job(worker_id, "c", "q", 1, "");
    REQUIRE(gate.wait_running(1));
    // "c" still waits: with a thread per --threads it would have started, and the RECALL found nothing.
    broker.send(worker_id, protocol::Recall{"c", 1});
    auto [from, fail] = broker.expect<protocol::Fail>();
    CHECK(fail.id == "c");
    CHECK(fail.is_not_started);
    gate.open();
    for (int i = 0; i < 2; ++i) broker.expect<protocol::Done>();
    CHECK(gate.max_running() == 1);
}

TEST_CASE("a job held ready is given back on RECALL as FAIL not_started, and a started one is not",
          "[worker][prefetch]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Gate gate;
    RunningWorker running(context, options_for(broker), {{"q", [&](const JobContext& job) { return gate.pass(job); }}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    CHECK(ready.capacity == 1);
    CHECK(ready.prefetch == 32);  // the default
    broker.send(worker_id, protocol::Heartbeat{1000, 3});
    broker.send_job(worker_id, "long", "q", 1, "");
    broker.send_job(worker_id, "ready", "q", 4, "");
    REQUIRE(gate.wait_running(1));  // "long" runs; "ready" waits for the one handler thread
    broker.send(worker_id, protocol::Recall{"long", 1});   // started: ignored
    broker.send(worker_id, protocol::Recall{"ready", 4});  // held ready: given back
    broker.send(worker_id, protocol::Recall{"other", 1});  // not here: ignored
    auto [from, fail] = broker.expect<protocol::Fail>();
    CHECK(fail.id == "ready");
    CHECK(fail.attempt == 4);
    CHECK(fail.is_not_started);
    CHECK_FALSE(fail.is_permanent);
    gate.open();
    auto [done_from, done] = broker.expect<protocol::Done>();
    CHECK(done.id == "long");
    // The slot is free again: the next job runs, and "ready" never did.
    broker.send_job(worker_id, "next", "q", 1, "");
    auto [next_from, next] = broker.expect<protocol::Done>();
    CHECK(next.id == "next");
    CHECK(gate.max_running() == 1);
}

TEST_CASE("a draining worker gives back the jobs it holds ready, unstarted, and finishes the one it runs",
          "[worker][prefetch]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Gate gate;
    RunningWorker running(context, options_for(broker), {{"q", [&](const JobContext& job) { return gate.pass(job); }}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    broker.send(worker_id, protocol::Heartbeat{1000, 3});
    broker.send_job(worker_id, "long", "q", 1, "");
    REQUIRE(gate.wait_running(1));
    broker.send_job(worker_id, "ready-1", "q", 2, "");
    broker.send_job(worker_id, "ready-2", "q", 1, "");
    CHECK(broker.stays_quiet(50ms));  // both read, and waiting for the one handler thread

    running.worker().request_drain();
    // DRAIN first, so that the broker hands them to other workers rather than back here.
    broker.expect<protocol::Drain>();
    const auto expect_given_back = [&](const std::string& id, std::uint32_t attempt) {
        auto [from, fail] = broker.expect<protocol::Fail>();
        CHECK(fail.id == id);
        CHECK(fail.attempt == attempt);
        CHECK(fail.is_not_started);
        CHECK(fail.error == "given back unstarted: the worker is draining");
    };
    expect_given_back("ready-1", 2);
    expect_given_back("ready-2", 1);
    // A job the broker sent before it read the DRAIN, with no free slot: straight back too.
    broker.send_job(worker_id, "late", "q", 1, "");
    expect_given_back("late", 1);

    gate.open();
    auto [done_from, done] = broker.expect<protocol::Done>();
    CHECK(done.id == "long");
    auto [bye_from, bye] = broker.expect<protocol::Disconnect>();
    CHECK(bye.reason == "drained");
    CHECK(running.wait_returned());
    CHECK(gate.started() == 1);  // none of the others ran
}

TEST_CASE("inline handlers read the broker's messages between jobs, so a RECALL can still reach a waiting job",
          "[worker][prefetch]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Gate gate;
    auto options = options_for(broker);
    options.runs_handlers_inline = true;
    RunningWorker running(context, options, {{"q", [&](const JobContext& job) { return gate.pass(job); }}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    CHECK(ready.prefetch == 32);
    broker.send(worker_id, protocol::Heartbeat{1000, 3});
    broker.send_job(worker_id, "long", "q", 1, "");
    REQUIRE(gate.wait_running(1));
    // The I/O thread is in "long": these wait in its socket, and once "long" returns it reads
    // them all before it starts another job, so "ready" is given back, never started.
    broker.send_job(worker_id, "ready", "q", 1, "");
    broker.send(worker_id, protocol::Recall{"ready", 1});
    broker.send_job(worker_id, "after", "q", 1, "");
    CHECK(broker.stays_quiet(50ms));  // nothing while "long" runs
    gate.open();
    std::vector<std::string> order;
    for (int i = 0; i < 3; ++i) {
        auto received = broker.receive(kDeadline);
        REQUIRE(received);
        if (auto* done = std::get_if<protocol::Done>(&received->message)) order.push_back("DONE " + done->id);
        if (auto* fail = std::get_if<protocol::Fail>(&received->message)) {
            CHECK(fail->is_not_started);
            order.push_back("FAIL " + fail->id);
        }
        if (std::holds_alternative<protocol::Heartbeat>(received->message)) --i;
    }
    CHECK(order == std::vector<std::string>{"DONE long", "FAIL ready", "DONE after"});
}

TEST_CASE("a worker with --prefetch 0 announces none", "[worker][prefetch]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker, 3);
    options.prefetch = 0;
    RunningWorker running(context, options, {{"q", describe()}});
    auto [worker_id, ready] = broker.expect<protocol::Ready>();
    CHECK(ready.capacity == 3);
    CHECK(ready.prefetch == 0);
}
