// SessionPool: cpp-httplib's task queue for the broker's HTTP side. A fixed set of request
// threads, each owning its own connection to the broker's producer endpoint (a Producer made by
// that thread at its first request that needs the broker and closed when the thread ends, reached
// through broker_session()), and a
// bounded backlog of accepted connections. A connection past the backlog is served at once on
// the listener thread, as "overloaded": it gets 503 and is closed.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <httplib.h>
#include <zmq.hpp>

namespace corsair::http {

struct HttpContext;

class SessionPool final : public httplib::TaskQueue {
public:
    SessionPool(zmq::context_t& zmq_context, HttpContext& context);
    ~SessionPool() override;

    // Called by cpp-httplib's listener thread for each accepted connection.
    void enqueue(std::function<void()> serve_connection) override;
    // Serves what is queued, then joins every thread.
    void shutdown() override;

    // Whether the calling thread is serving a connection past the backlog (answer 503).
    static bool is_overloaded() noexcept;

private:
    void serve();

    zmq::context_t& zmq_context_;
    HttpContext& context_;
    std::mutex mutex_;
    std::condition_variable has_work_;
    std::deque<std::function<void()>> backlog_;
    bool is_shut_down_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace corsair::http
