#include "handler_pool.hpp"

#include <algorithm>
#include <exception>
#include <utility>

#include "corsair/protocol/limits.hpp"
#include "corsair/protocol/messages.hpp"
#include "corsair/worker/not_started.hpp"
#include "corsair/worker/permanent_failure.hpp"

namespace corsair::worker {

namespace {

zmq::message_t failure(std::string text) {
    text = truncate_text(std::move(text), protocol::kMaxErrorTextBytes);
    return zmq::message_t(text.data(), text.size());
}

// Hands the string's buffer to ZeroMQ instead of copying a result of up to several megabytes.
zmq::message_t message_owning(std::string text) {
    auto* owned = new std::string(std::move(text));
    return zmq::message_t(
        owned->data(), owned->size(), [](void*, void* hint) { delete static_cast<std::string*>(hint); }, owned);
}

}  // namespace

std::string truncate_text(std::string text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) return text;
    std::size_t cut = max_bytes;
    // Step back over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    return text;
}

HandlerPool::HandlerPool(zmq::context_t& context, std::string results_endpoint, std::uint32_t threads,
                         std::shared_ptr<spdlog::logger> log)
    : context_(context), results_endpoint_(std::move(results_endpoint)), log_(std::move(log)) {
    threads_.reserve(threads);
    for (std::uint32_t i = 0; i < threads; ++i) {
        threads_.emplace_back([this](std::stop_token stop) { serve(stop); });
    }
}

HandlerPool::~HandlerPool() {
    stop();
    threads_.clear();  // joins
}

void HandlerPool::submit(Task task) {
    {
        std::lock_guard lock(mutex_);
        tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
}

bool HandlerPool::take_back(const std::string& id, std::uint32_t attempt) {
    std::lock_guard lock(mutex_);
    const auto found = std::find_if(tasks_.begin(), tasks_.end(),
                                    [&](const Task& task) { return task.attempt == attempt && task.id == id; });
    if (found == tasks_.end()) return false;
    tasks_.erase(found);
    return true;
}

std::optional<Task> HandlerPool::take_next() {
    std::lock_guard lock(mutex_);
    if (tasks_.empty()) return std::nullopt;
    Task task = std::move(tasks_.front());
    tasks_.pop_front();
    return task;
}

bool HandlerPool::has_queued() {
    std::lock_guard lock(mutex_);
    return !tasks_.empty();
}

void HandlerPool::stop() {
    {
        std::lock_guard lock(mutex_);
        tasks_.clear();
    }
    for (auto& thread : threads_) thread.request_stop();
}

std::optional<Task> HandlerPool::next_task(std::stop_token& stop) {
    std::unique_lock lock(mutex_);
    if (!wake_.wait(lock, stop, [this] { return !tasks_.empty(); })) return std::nullopt;
    Task task = std::move(tasks_.front());
    tasks_.pop_front();
    return task;
}

void HandlerPool::serve(std::stop_token stop) {
    zmq::socket_t results(context_, zmq::socket_type::push);
    results.set(zmq::sockopt::linger, 0);
    results.set(zmq::sockopt::sndhwm, 0);  // never block a handler thread on a slow I/O thread
    results.connect(results_endpoint_);
    while (auto task = next_task(stop)) {
        HandlerOutcome outcome = run_task(*task, stop, results);
        send_handler_outcome(results, std::move(outcome));
    }
}

std::string result_too_large(std::size_t result_bytes, std::size_t max_result_bytes) {
    return "result too large: " + std::to_string(result_bytes) + " bytes, over the broker's limit of " +
           std::to_string(max_result_bytes) + " bytes (its --max-payload)";
}

HandlerOutcome run_attempt(Task& task, const ProgressSink& progress) {
    HandlerOutcome outcome;
    outcome.id = task.id;
    outcome.attempt = task.attempt;
    outcome.generation = task.generation;
    // The I/O thread drops this outcome: the attempt was abandoned while it waited for a thread.
    if (task.stop.stop_requested()) {
        outcome.body = failure("abandoned before it started");
        return outcome;
    }
    const JobContext context{task.id,
                             task.queue,
                             task.attempt,
                             protocol::view_of(task.payload),
                             task.stop.get_token(),
                             progress,
                             task.max_result_bytes};
    try {
        std::string result = (*task.handler)(context);
        if (result.size() > task.max_result_bytes) {
            // The same result would come back on every retry: fail for good, freeing the credit.
            outcome.kind = HandlerOutcomeKind::failed_permanently;
            outcome.body = failure(result_too_large(result.size(), task.max_result_bytes));
        } else {
            outcome.kind = HandlerOutcomeKind::done;
            outcome.body = message_owning(std::move(result));
        }
    } catch (const PermanentFailure& e) {
        outcome.kind = HandlerOutcomeKind::failed_permanently;
        outcome.body = failure(e.what());
    } catch (const NotStarted& e) {
        outcome.kind = HandlerOutcomeKind::not_started;
        outcome.body = failure(e.what());
    } catch (const std::exception& e) {
        outcome.body = failure(e.what());
    } catch (...) {
        outcome.body = failure("handler threw an exception that is not a std::exception");
    }
    return outcome;
}

HandlerOutcome HandlerPool::run_task(Task& task, std::stop_token pool_stop, zmq::socket_t& results) {
    const std::stop_callback stop_with_pool(pool_stop, [&task] { task.stop.request_stop(); });
    const auto owner = std::this_thread::get_id();
    auto send_progress = [&task, &results, owner](std::uint32_t percent, std::string_view message) {
        // `results` belongs to this thread: a report from a thread the handler started is dropped.
        if (std::this_thread::get_id() != owner) return;
        try {
            send_handler_outcome(results, HandlerOutcome{HandlerOutcomeKind::progress, task.id, task.attempt,
                                                         task.generation, percent, protocol::make_payload(message)});
        } catch (const zmq::error_t&) {
            // Only when the context is terminating: the worker is gone and no one wants the report.
        }
    };
    return run_attempt(task, send_progress);
}

}  // namespace corsair::worker
