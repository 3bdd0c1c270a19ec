// LeaseKeeper: the worker connections of HTTP workers (docs/http.md §Workers over HTTP). A claim
// opens a DEALER on the broker's inproc worker endpoint that is a worker of capacity 1 for one
// queue; the JOB it gets becomes a lease named by a random token, and the lease calls turn into
// DONE, FAIL and PROGRESS on that connection. A lease neither completed nor extended in time is
// closed silently, so the broker sees a dead worker and requeues the job (attempt + 1, counted)
// exactly as for a ZeroMQ worker that stops.
// One thread of its own owns every socket; request threads hand it commands through a
// mutex-guarded queue and an eventfd its poll watches, and block on the answer.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <spdlog/logger.h>
#include <zmq.hpp>

#include "corsair/http/http_server.hpp"
#include "http_context.hpp"

namespace corsair::http {

// What the keeper's thread answers a request thread waiting in LeaseKeeper::call: a value, or the
// HttpError to throw on the request thread. An error crosses as its parts, never as an exception
// object: libstdc++ counts an exception_ptr's references (and shares std::runtime_error's message)
// in code ThreadSanitizer does not see, so a request thread reading a caught error that the
// keeper's thread then frees read as a race (docs/testing.md, ThreadSanitizer).
template <typename T>
class LoopReply {
public:
    struct Error {
        int status = 500;
        std::string code;
        std::string message;
        std::string id;
    };
    struct Outcome {
        std::optional<T> value;
        std::optional<Error> error;
    };

    // Each throws std::future_error if the reply was already given.
    void set_value(T value) { promise_.set_value(Outcome{std::move(value), std::nullopt}); }
    void set_error(const HttpError& error) {
        promise_.set_value(Outcome{std::nullopt, Error{error.status(), error.code(), error.what(), error.id()}});
    }
    std::future<Outcome> get_future() { return promise_.get_future(); }

private:
    std::promise<Outcome> promise_;
};

// One job leased to an HTTP worker, as a claim answers it.
struct ClaimedLease {
    std::string token;  // 32 hex digits (128 random bits): the only name of the lease
    std::string id;
    std::string queue;
    std::uint32_t attempt = 0;
    std::string payload;
    std::string worker;  // the name the broker shows for this connection
    std::chrono::milliseconds lease_time{0};
};

struct ClaimRequest {
    std::string queue;
    std::chrono::milliseconds wait{0};
    std::chrono::milliseconds lease_time{0};  // 0: liveness x heartbeat
    std::string worker;                       // shown as "http:WORKER#N"
};

class LeaseKeeper {
public:
    // Most worker connections open at once (claims waiting plus leases held); one more claim gets
    // 429 too_many_leases.
    static constexpr std::size_t kMaxConnections = 1024;
    // Longest lease one claim or extend may ask for.
    static constexpr std::chrono::milliseconds kMaxLeaseTime{10 * 60 * 1000};
    // How long, and how many, ended tokens are remembered so that late calls get 409, not 404.
    static constexpr std::chrono::milliseconds kEndedKeptFor{60 * 60 * 1000};
    static constexpr std::size_t kMaxEndedKept = 100'000;

    // Starts the keeper's thread. Throws std::system_error when no eventfd can be made.
    LeaseKeeper(zmq::context_t& context, BrokerLink link, std::shared_ptr<spdlog::logger> log);
    // Stops, as stop() does, and joins.
    ~LeaseKeeper();
    LeaseKeeper(const LeaseKeeper&) = delete;
    LeaseKeeper& operator=(const LeaseKeeper&) = delete;

    // Blocks up to request.wait (plus a little) for a job; nullopt when none came. Throws
    // HttpError: 429 too_many_leases, 503 shutting_down, or the broker's refusal of READY.
    std::optional<ClaimedLease> claim(const ClaimRequest& request);
    // Each blocks briefly for the keeper and throws HttpError: 404 unknown_lease, 409
    // lease_expired or lease_lost, 413 payload_too_large (complete), 503 shutting_down.
    void complete(const std::string& token, std::string result);
    void fail(const std::string& token, std::string error, bool is_permanent);
    // Sends PROGRESS and pushes the lease's deadline by its lease time; returns that time.
    std::chrono::milliseconds progress(const std::string& token, std::uint32_t percent, std::string message);
    // Pushes the lease's deadline to now + lease_time (0: the lease's own time); returns it.
    std::chrono::milliseconds extend(const std::string& token, std::chrono::milliseconds lease_time);

    // Answers waiting claims and later calls with 503 shutting_down and closes every connection
    // (a leased job is left to the broker's liveness rules). Does not block; idempotent.
    void stop();

    // The lease time of a claim that names none: liveness x heartbeat.
    std::chrono::milliseconds default_lease_time() const noexcept;

    class Loop;

private:
    using Command = std::function<void(Loop&)>;
    // Runs `command` on the keeper's thread and waits up to `timeout` for what it sets.
    template <typename T>
    T call(std::function<void(Loop&, const std::shared_ptr<LoopReply<T>>&)> command,
           std::chrono::milliseconds timeout);
    void post(Command command);
    void run();

    BrokerLink link_;
    std::shared_ptr<spdlog::logger> log_;
    std::unique_ptr<Loop> loop_;
    int wake_fd_ = -1;
    std::mutex mutex_;
    std::deque<Command> commands_;
    bool is_stopping_ = false;
    std::thread thread_;
};

}  // namespace corsair::http
