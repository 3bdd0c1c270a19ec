#include "session_pool.hpp"

#include <optional>

#include "corsair/producer/producer.hpp"
#include "http_context.hpp"

namespace corsair::http {

namespace {

// The request thread's connection to the broker, made the first time a request needs it: a
// thread that never talks to the broker never connects. Before the broker is ready (/health and
// /ready answer without it) nothing connects, so a broker that cannot bind leaves no inproc
// connect pending when its context ends: libzmq 4.3.4 then binds them itself inside zmq_ctx_term
// while its reaper closes their sockets, a race TSan reports (libzmq issues #3759, #4544).
struct ThreadSession {
    zmq::context_t* zmq_context = nullptr;
    producer::ProducerOptions options;
    std::optional<producer::Producer> producer;
};
thread_local ThreadSession* thread_session = nullptr;
thread_local bool thread_is_overloaded = false;

}  // namespace

producer::Producer& broker_session() {
    if (thread_session == nullptr) throw std::logic_error("broker_session() outside an HTTP request thread");
    if (!thread_session->producer) thread_session->producer.emplace(*thread_session->zmq_context, thread_session->options);
    return *thread_session->producer;
}

SessionPool::SessionPool(zmq::context_t& zmq_context, HttpContext& context)
    : zmq_context_(zmq_context), context_(context) {
    threads_.reserve(context.options.threads);
    for (std::size_t i = 0; i < context.options.threads; ++i) threads_.emplace_back([this] { serve(); });
}

SessionPool::~SessionPool() { shutdown(); }

bool SessionPool::is_overloaded() noexcept { return thread_is_overloaded; }

void SessionPool::enqueue(std::function<void()> serve_connection) {
    {
        std::lock_guard lock(mutex_);
        if (backlog_.size() < context_.options.backlog && !is_shut_down_) {
            backlog_.push_back(std::move(serve_connection));
            has_work_.notify_one();
            return;
        }
    }
    // Dropping the task would leak the connection's socket: serve it here, refused at once.
    thread_is_overloaded = true;
    serve_connection();
    thread_is_overloaded = false;
}

void SessionPool::shutdown() {
    {
        std::lock_guard lock(mutex_);
        if (is_shut_down_ && threads_.empty()) return;
        is_shut_down_ = true;
    }
    has_work_.notify_all();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
}

void SessionPool::serve() {
    ThreadSession session;
    session.zmq_context = &zmq_context_;
    session.options.broker_endpoint = context_.link.producer_endpoint;
    session.options.window = 10'000;
    session.options.accept_within = std::chrono::milliseconds(0);
    session.options.max_payload_bytes = context_.link.max_payload_bytes;
    thread_session = &session;
    for (;;) {
        std::function<void()> serve_connection;
        {
            std::unique_lock lock(mutex_);
            has_work_.wait(lock, [this] { return is_shut_down_ || !backlog_.empty(); });
            if (backlog_.empty()) break;
            serve_connection = std::move(backlog_.front());
            backlog_.pop_front();
        }
        serve_connection();
    }
    thread_session = nullptr;
}

}  // namespace corsair::http
