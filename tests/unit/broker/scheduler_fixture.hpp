// A Scheduler on manual clocks, with a RecordingOutbox: `now` (steady) and `wall` (time of day)
// move only when a test advances them, so retries, delays, timeouts and ageing run without waiting.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "corsair/broker/scheduler.hpp"
#include "recording_outbox.hpp"

namespace corsair::broker::test {

// What a producer's STATUS says of `id`, asked as a producer of its own ("status-probe"); nullopt
// when the broker does not know the job. Reads state the way users do, through the protocol.
inline std::optional<protocol::StatusReply> find_job(Scheduler& scheduler, RecordingOutbox& outbox,
                                                     const std::string& id, Scheduler::TimePoint now) {
    scheduler.on_producer_message("status-probe", protocol::StatusRequest{id}, now);
    auto replies = outbox.to_producer_of<protocol::StatusReply>("status-probe");
    outbox.to_producers.erase("status-probe");
    if (replies.empty()) return std::nullopt;
    return std::move(replies.back());
}

// A queue's pending jobs, and the workers connected, as STATS reports them.
inline std::uint64_t pending_count(const Scheduler& scheduler, const std::string& queue, Scheduler::TimePoint now) {
    for (const auto& q : scheduler.stats(now).queues) {
        if (q.name == queue) return q.pending;
    }
    return 0;
}
inline std::size_t worker_count(const Scheduler& scheduler, Scheduler::TimePoint now) {
    return scheduler.stats(now).workers.size();
}

struct Fixture {
    Fixture()
        : scheduler(options(), outbox,
                    std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(log)),
                    [this] { return wall; }) {}

    static BrokerOptions options() {
        BrokerOptions o;
        o.heartbeat_interval = std::chrono::milliseconds(1000);
        o.liveness = 3;
        o.result_ttl = std::chrono::seconds(60);
        o.random_seed = 42;  // backoff jitter is repeatable
        return o;
    }

    void ready(const std::string& worker, std::vector<std::string> queues, std::uint32_t capacity,
               std::uint32_t prefetch = 0) {
        protocol::Ready ready{std::move(queues), capacity, worker};
        ready.prefetch = prefetch;
        scheduler.on_worker_message(worker, std::move(ready), now);
    }
    // FAIL not_started: what a worker answers to a RECALL of a job it has not started.
    void give_back(const std::string& worker, const std::string& id, std::uint32_t attempt) {
        protocol::Fail fail{id, attempt, "recalled by the broker before it started"};
        fail.is_not_started = true;
        scheduler.on_worker_message(worker, std::move(fail), now);
    }
    void submit(const std::string& id, const std::string& queue = "q", bool wants_result = false,
                const std::string& producer = "P") {
        submit_message(protocol::make_submit(id, queue, wants_result, protocol::make_payload("payload-" + id)), producer);
    }
    void submit_message(protocol::Submit message, const std::string& producer = "P") {
        scheduler.on_producer_message(producer, std::move(message), now);
    }
    void request(protocol::Message message, const std::string& producer = "P") {
        scheduler.on_producer_message(producer, std::move(message), now);
    }
    void done(const std::string& worker, const std::string& id, std::uint32_t attempt,
              const std::string& result = "ok") {
        scheduler.on_worker_message(worker, protocol::Done{id, attempt, protocol::make_payload(result)}, now);
    }
    void fail(const std::string& worker, const std::string& id, std::uint32_t attempt, const std::string& error,
              bool is_permanent = false) {
        scheduler.on_worker_message(worker, protocol::Fail{id, attempt, error, is_permanent}, now);
    }
    void heartbeat(const std::string& worker) { scheduler.on_worker_message(worker, protocol::Heartbeat{}, now); }
    // Moves both clocks forward and fires whatever timers came due, as the broker's loop does.
    void advance(std::chrono::milliseconds by) {
        now += by;
        wall += by;
        if (auto deadline = scheduler.next_deadline(); deadline && *deadline <= now) scheduler.fire_timers(now);
    }
    std::optional<protocol::StatusReply> find_job(const std::string& id) {
        return test::find_job(scheduler, outbox, id, now);
    }
    std::uint64_t pending_count(const std::string& queue) const { return test::pending_count(scheduler, queue, now); }
    std::size_t worker_count() const { return test::worker_count(scheduler, now); }
    std::vector<protocol::Job> jobs_for(const std::string& worker) { return outbox.to_worker_of<protocol::Job>(worker); }
    std::vector<std::string> job_ids_for(const std::string& worker) {
        std::vector<std::string> ids;
        for (auto& job : jobs_for(worker)) ids.push_back(job.id);
        return ids;
    }

    std::ostringstream log;  // what the scheduler logged (info and above), for tests that read it
    RecordingOutbox outbox;
    std::chrono::system_clock::time_point wall{std::chrono::seconds(1'800'000'000)};
    Scheduler scheduler;
    Scheduler::TimePoint now{std::chrono::seconds(1000)};
};

}  // namespace corsair::broker::test
