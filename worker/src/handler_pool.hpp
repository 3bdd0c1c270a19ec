// HandlerPool: the threads that run handlers (WorkerOptions::handler_threads, by default one per
// unit of capacity), and the jobs waiting for one: a job held ready (READY `prefetch`) waits in
// its queue, where a RECALL can still take it back. With no threads (inline handlers) the I/O
// thread takes the queued tasks and runs them itself. The I/O thread submits tasks through a
// mutex/condvar queue; each pool thread
// owns a PUSH socket connected to the I/O thread's results endpoint and reports there, as
// HandlerOutcomes, each progress report and the end of every attempt.
#pragma once

#include <spdlog/logger.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "corsair/worker/handler.hpp"
#include "handler_outcome.hpp"

namespace corsair::worker {

struct Task {
    std::string id;
    std::string queue;
    std::uint32_t attempt = 0;
    std::uint64_t generation = 0;
    zmq::message_t payload;
    const Handler* handler = nullptr;  // owned by the Worker, immutable while the pool lives
    // The broker's limit when the job came: a larger result fails the attempt for good.
    std::size_t max_result_bytes = 0;
    // This attempt's own stop (the I/O thread keeps a copy to abandon it); stop() of the pool
    // requests it too. A task whose stop is requested before it starts is not run.
    std::stop_source stop;
};

// Runs one attempt of `task` on the calling thread and returns its end: the handler's result, or
// its exception as a failure; a result over task.max_result_bytes as a permanent failure.
// `progress` receives JobContext::report_progress() calls. Never throws.
HandlerOutcome run_attempt(Task& task, const ProgressSink& progress);

// The permanent FAIL text of a result of `result_bytes` over the broker's `max_result_bytes`.
std::string result_too_large(std::size_t result_bytes, std::size_t max_result_bytes);

class HandlerPool {
public:
    // Starts `threads` threads; `results_endpoint` must already be bound.
    HandlerPool(zmq::context_t& context, std::string results_endpoint, std::uint32_t threads,
                std::shared_ptr<spdlog::logger> log);
    // Stops (as stop()) and joins: waits for running handlers to return.
    ~HandlerPool();
    HandlerPool(const HandlerPool&) = delete;
    HandlerPool& operator=(const HandlerPool&) = delete;

    // Queues a task for the next free thread. Never blocks on a handler.
    void submit(Task task);
    // Removes the queued task of (id, attempt), not yet taken by a thread; false if there is none.
    bool take_back(const std::string& id, std::uint32_t attempt);
    // The oldest queued task, not yet taken by a thread: for the caller to run (a pool of no
    // threads, inline handlers) or to give back (a drain).
    std::optional<Task> take_next();
    bool has_queued();
    // Drops queued tasks and requests stop on every thread (JobContext::stop_token). Non-blocking.
    void stop();

private:
    void serve(std::stop_token stop);
    std::optional<Task> next_task(std::stop_token& stop);
    HandlerOutcome run_task(Task& task, std::stop_token pool_stop, zmq::socket_t& results);

    zmq::context_t& context_;
    std::string results_endpoint_;
    std::shared_ptr<spdlog::logger> log_;
    std::mutex mutex_;
    std::condition_variable_any wake_;
    std::deque<Task> tasks_;
    std::vector<std::jthread> threads_;  // last: joined before the queue is destroyed
};

// Cuts `text` to at most `max_bytes` without splitting a UTF-8 sequence.
std::string truncate_text(std::string text, std::size_t max_bytes);

}  // namespace corsair::worker
