#include "lease_keeper.hpp"

#include <algorithm>
#include <cstdio>
#include <list>
#include <random>
#include <system_error>
#include <unordered_map>

#include <sys/eventfd.h>
#include <unistd.h>

#include "corsair/protocol/codec.hpp"
#include "corsair/protocol/limits.hpp"
#include "corsair/protocol/text.hpp"
#include "corsair/protocol/wire.hpp"
#include "http_context.hpp"

namespace corsair::http {

namespace p = protocol;
using Clock = std::chrono::steady_clock;

namespace {

// How long a lease call waits for the keeper's thread, which answers at once unless stopping.
constexpr std::chrono::milliseconds kCallWithin{5'000};
// A claim's answer may come this long after its wait, while the keeper turns.
constexpr std::chrono::milliseconds kClaimGrace{5'000};
constexpr std::chrono::milliseconds kLongestPoll{1'000};

std::string random_hex(int words) {
    std::random_device random;  // the kernel's generator: tokens must not be guessable
    std::string text;
    for (int i = 0; i < words; ++i) {
        char buffer[9];
        std::snprintf(buffer, sizeof buffer, "%08x", static_cast<unsigned>(random()));
        text += buffer;
    }
    return text;
}

std::uint64_t random_instance() {
    std::random_device random;
    const std::uint64_t instance = (std::uint64_t{random()} << 32) | random();
    return instance == 0 ? 1 : instance;
}

HttpError shutting_down() { return HttpError(503, "shutting_down", "the broker is shutting down"); }

// A command that threw after it answered: the answer stands.
template <typename T>
void answer_once(LoopReply<T>& reply, const HttpError& error) {
    try {
        reply.set_error(error);
    } catch (const std::future_error&) {
    }
}

}  // namespace

// One HTTP worker's connection: claiming (waiting for a JOB), then holding one lease.
struct HttpWorkerConnection {
    explicit HttpWorkerConnection(zmq::socket_t opened) : socket(std::move(opened)) {}

    zmq::socket_t socket;
    std::string name;
    std::string queue;
    std::shared_ptr<LoopReply<std::optional<ClaimedLease>>> claim;  // set while claiming
    Clock::time_point claim_deadline;
    std::chrono::milliseconds lease_time{0};
    std::string token;  // empty while claiming
    std::string job_id;
    std::uint32_t attempt = 0;
    Clock::time_point lease_deadline;
    Clock::time_point next_heartbeat;
    std::size_t max_result_bytes = 0;
    bool is_closed = false;
};

// The keeper thread's state: every connection, the leases by token, and the tokens that ended.
// Touched only by the keeper's thread.
class LeaseKeeper::Loop {
public:
    Loop(zmq::context_t& context, const BrokerLink& link, std::shared_ptr<spdlog::logger> log)
        : context_(context), link_(link), log_(std::move(log)) {}

    void open_claim(const ClaimRequest& request, std::shared_ptr<LoopReply<std::optional<ClaimedLease>>> claim);
    HttpWorkerConnection& lease_of(const std::string& token);
    void send_done(HttpWorkerConnection& connection, std::string result);
    void send_fail(HttpWorkerConnection& connection, std::string error, bool is_permanent);
    std::chrono::milliseconds send_progress(HttpWorkerConnection& connection, std::uint32_t percent, std::string message);
    std::chrono::milliseconds extend(HttpWorkerConnection& connection, std::chrono::milliseconds lease_time);

    // Waits on the sockets and `wake_fd` until a message, a deadline or a wake-up; handles them.
    void turn(int wake_fd);
    void stop_all();
    bool is_stopped() const noexcept { return is_stopped_; }

private:
    void receive(HttpWorkerConnection& connection);
    void handle(HttpWorkerConnection& connection, p::Message& message);
    void grant(HttpWorkerConnection& connection, p::Job&& job);
    void keep_time(Clock::time_point now);
    // Ends the connection's lease or claim: remembers the token as `code` (409 for later calls)
    // and closes the socket, after DISCONNECT when `is_polite`.
    void end(HttpWorkerConnection& connection, std::string_view code, const std::string& message, bool is_polite);
    void remember_ended(const std::string& token, std::string_view code, const std::string& message);
    void sweep();

    struct Ended {
        std::string code;
        std::string message;
    };

    zmq::context_t& context_;
    BrokerLink link_;
    std::shared_ptr<spdlog::logger> log_;
    std::list<HttpWorkerConnection> connections_;
    std::unordered_map<std::string, HttpWorkerConnection*> leases_;
    std::unordered_map<std::string, Ended> ended_;
    std::deque<std::pair<Clock::time_point, std::string>> ended_order_;
    std::uint64_t next_number_ = 1;
    std::uint64_t instance_ = random_instance();
    bool is_stopped_ = false;
};

void LeaseKeeper::Loop::open_claim(const ClaimRequest& request,
                                   std::shared_ptr<LoopReply<std::optional<ClaimedLease>>> claim) {
    if (is_stopped_) throw shutting_down();
    if (connections_.size() >= kMaxConnections) {
        throw HttpError(429, "too_many_leases",
                        "the broker holds " + std::to_string(kMaxConnections) +
                            " HTTP worker connections (claims and leases) already; try again later");
    }
    zmq::socket_t socket(context_, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, 0);
    socket.connect(link_.worker_endpoint);
    auto& connection = connections_.emplace_back(std::move(socket));
    connection.name = "http:" + request.worker + "#" + std::to_string(next_number_++);
    connection.queue = request.queue;
    connection.claim = std::move(claim);
    const auto now = Clock::now();
    connection.claim_deadline = now + request.wait;
    connection.lease_time = request.lease_time;
    connection.next_heartbeat = now + link_.heartbeat_interval;
    connection.max_result_bytes = link_.max_payload_bytes;
    p::Ready ready;
    ready.queues = {request.queue};
    ready.capacity = 1;
    ready.name = connection.name;
    ready.instance = instance_ + next_number_;
    p::send_message(connection.socket, std::move(ready));
}

HttpWorkerConnection& LeaseKeeper::Loop::lease_of(const std::string& token) {
    if (is_stopped_) throw shutting_down();
    keep_time(Clock::now());  // a call after the deadline finds the lease expired, as the broker will
    if (const auto found = leases_.find(token); found != leases_.end() && !found->second->is_closed) return *found->second;
    if (const auto ended = ended_.find(token); ended != ended_.end()) {
        throw HttpError(409, ended->second.code, ended->second.message);
    }
    throw HttpError(404, "unknown_lease", "no lease has this token (it never existed, or ended over an hour ago)");
}

void LeaseKeeper::Loop::send_done(HttpWorkerConnection& connection, std::string result) {
    if (result.size() > connection.max_result_bytes) {
        throw HttpError(413, "payload_too_large",
                        "the result has " + std::to_string(result.size()) + " bytes, over the broker's limit of " +
                            std::to_string(connection.max_result_bytes) + " (--max-payload); the lease stands");
    }
    p::send_message(connection.socket, p::Done{connection.job_id, connection.attempt, zmq::message_t(result)});
    end(connection, "lease_ended", "the lease was completed already", true);
}

void LeaseKeeper::Loop::send_fail(HttpWorkerConnection& connection, std::string error, bool is_permanent) {
    if (error.size() > p::kMaxErrorTextBytes) error.resize(p::kMaxErrorTextBytes);
    p::Fail fail{connection.job_id, connection.attempt, std::move(error)};
    fail.is_permanent = is_permanent;
    p::send_message(connection.socket, std::move(fail));
    end(connection, "lease_ended", "the lease was failed already", true);
}

std::chrono::milliseconds LeaseKeeper::Loop::send_progress(HttpWorkerConnection& connection, std::uint32_t percent,
                                                           std::string message) {
    if (message.size() > p::kMaxProgressMessageBytes) message.resize(p::kMaxProgressMessageBytes);
    p::send_message(connection.socket, p::Progress{connection.job_id, connection.attempt, percent, std::move(message)});
    connection.lease_deadline = Clock::now() + connection.lease_time;
    return connection.lease_time;
}

std::chrono::milliseconds LeaseKeeper::Loop::extend(HttpWorkerConnection& connection,
                                                    std::chrono::milliseconds lease_time) {
    if (lease_time.count() > 0) connection.lease_time = lease_time;
    connection.lease_deadline = Clock::now() + connection.lease_time;
    return connection.lease_time;
}

void LeaseKeeper::Loop::turn(int wake_fd) {
    std::vector<zmq::pollitem_t> items{{nullptr, wake_fd, ZMQ_POLLIN, 0}};
    std::vector<HttpWorkerConnection*> polled;
    auto next = Clock::now() + kLongestPoll;
    for (auto& connection : connections_) {
        items.push_back({connection.socket.handle(), 0, ZMQ_POLLIN, 0});
        polled.push_back(&connection);
        next = std::min(next, connection.next_heartbeat);
        next = std::min(next, connection.token.empty() ? connection.claim_deadline : connection.lease_deadline);
    }
    const auto timeout = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now());
    zmq::poll(items, std::max(timeout, std::chrono::milliseconds(0)));
    for (std::size_t i = 0; i < polled.size(); ++i) {
        if ((items[i + 1].revents & ZMQ_POLLIN) != 0) receive(*polled[i]);
    }
    keep_time(Clock::now());
}

void LeaseKeeper::Loop::receive(HttpWorkerConnection& connection) {
    p::Frames frames;
    while (!connection.is_closed && p::receive_frames(connection.socket, frames)) {
        auto decoded = p::decode(frames, 0, p::DecodeLimits{p::kMaxPayloadLimitBytes});
        if (!decoded) {
            log_->warn("bad message from broker to http worker worker={} code={}", connection.name,
                       p::to_string(decoded.error().code));
            continue;
        }
        handle(connection, decoded.value());
    }
}

void LeaseKeeper::Loop::handle(HttpWorkerConnection& connection, p::Message& message) {
    if (auto* heartbeat = std::get_if<p::Heartbeat>(&message)) {
        if (heartbeat->max_payload_bytes) connection.max_result_bytes = *heartbeat->max_payload_bytes;
    } else if (auto* job = std::get_if<p::Job>(&message)) {
        grant(connection, std::move(*job));
    } else if (auto* jobs = std::get_if<p::Jobs>(&message)) {
        for (auto& each : jobs->jobs) grant(connection, std::move(each));
    } else if (auto* abandon = std::get_if<p::Abandon>(&message)) {
        if (abandon->id != connection.job_id || abandon->attempt != connection.attempt) return;
        end(connection, "lease_lost", "the broker revoked the lease (" + abandon->reason + ")", true);
    } else if (auto* error = std::get_if<p::Error>(&message)) {
        if (connection.claim) {
            connection.claim->set_error(
                HttpError(http_status_of(error->code), std::string(p::to_string(error->code)), error->message));
            connection.claim.reset();
            end(connection, "lease_lost", error->message, false);
        } else if (error->code == p::ErrorCode::unknown_worker) {
            end(connection, "lease_lost", "the broker no longer knows this worker: the lease is gone", false);
        } else {
            log_->warn("error from broker to http worker worker={} code={} message={}", connection.name,
                       p::to_string(error->code), p::quoted(error->message));
        }
    } else if (std::holds_alternative<p::Disconnect>(message)) {
        if (connection.claim) {
            connection.claim->set_error(shutting_down());
            connection.claim.reset();
        }
        end(connection, "lease_lost", "the broker disconnected this worker (shutting down)", false);
    }
}

void LeaseKeeper::Loop::grant(HttpWorkerConnection& connection, p::Job&& job) {
    if (!connection.claim) {
        // Capacity 1 and DRAIN at the first JOB make this a broker's bug; give it back uncounted.
        p::Fail fail{job.id, job.attempt, "this HTTP worker holds a lease already"};
        fail.is_not_started = true;
        p::send_message(connection.socket, std::move(fail));
        return;
    }
    // No further JOB after DONE or FAIL: the connection leaves once the lease ends.
    p::send_message(connection.socket, p::Drain{});
    connection.token = random_hex(4);
    connection.job_id = job.id;
    connection.attempt = job.attempt;
    connection.lease_deadline = Clock::now() + connection.lease_time;
    leases_[connection.token] = &connection;
    ClaimedLease lease{connection.token, job.id, job.queue, job.attempt,
                       std::string(static_cast<const char*>(job.payload.data()), job.payload.size()),
                       connection.name, connection.lease_time};
    connection.claim->set_value(std::move(lease));
    connection.claim.reset();
    log_->debug("http lease granted worker={} job={} attempt={}", connection.name, job.id, job.attempt);
}

void LeaseKeeper::Loop::keep_time(Clock::time_point now) {
    for (auto& connection : connections_) {
        if (connection.is_closed) continue;
        if (connection.claim && now >= connection.claim_deadline) {
            connection.claim->set_value(std::nullopt);
            connection.claim.reset();
            end(connection, "lease_ended", "", true);
            continue;
        }
        if (!connection.token.empty() && now >= connection.lease_deadline) {
            // protocol.md §9: silence makes the broker declare this worker dead and requeue the
            // job with attempt + 1, counted, exactly as for a ZeroMQ worker that stops.
            log_->info("http lease expired worker={} job={} attempt={}", connection.name, connection.job_id,
                       connection.attempt);
            end(connection, "lease_expired",
                "the lease expired before it was completed or extended; the job goes to another worker", false);
            continue;
        }
        if (now >= connection.next_heartbeat) {
            p::send_message(connection.socket, p::Heartbeat{});
            connection.next_heartbeat = now + link_.heartbeat_interval;
        }
    }
    while (!ended_order_.empty() &&
           (ended_order_.size() > kMaxEndedKept || now - ended_order_.front().first > kEndedKeptFor)) {
        ended_.erase(ended_order_.front().second);
        ended_order_.pop_front();
    }
    sweep();
}

void LeaseKeeper::Loop::end(HttpWorkerConnection& connection, std::string_view code, const std::string& message,
                            bool is_polite) {
    if (is_polite) p::send_message(connection.socket, p::Disconnect{"http worker done"});
    if (!connection.token.empty()) {
        remember_ended(connection.token, code, message);
        leases_.erase(connection.token);
    }
    connection.is_closed = true;
}

void LeaseKeeper::Loop::remember_ended(const std::string& token, std::string_view code, const std::string& message) {
    if (ended_.emplace(token, Ended{std::string(code), message}).second) {
        ended_order_.emplace_back(Clock::now(), token);
    }
}

void LeaseKeeper::Loop::sweep() {
    // Closed only here, after every loop over connections_, so no reference dangles mid-loop.
    connections_.remove_if([](const HttpWorkerConnection& connection) { return connection.is_closed; });
}

void LeaseKeeper::Loop::stop_all() {
    is_stopped_ = true;
    for (auto& connection : connections_) {
        if (connection.claim) {
            connection.claim->set_error(shutting_down());
            connection.claim.reset();
            end(connection, "lease_lost", "", true);
        } else if (!connection.is_closed) {
            end(connection, "lease_lost", "the broker shut down", false);
        }
    }
    sweep();
}

LeaseKeeper::LeaseKeeper(zmq::context_t& context, BrokerLink link, std::shared_ptr<spdlog::logger> log)
    : link_(std::move(link)), log_(std::move(log)) {
    link_.heartbeat_interval = std::max(link_.heartbeat_interval, std::chrono::milliseconds(10));
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd for the HTTP lease keeper");
    loop_ = std::make_unique<Loop>(context, link_, log_);
    thread_ = std::thread([this] { run(); });
}

LeaseKeeper::~LeaseKeeper() {
    stop();
    if (thread_.joinable()) thread_.join();
    ::close(wake_fd_);
}

void LeaseKeeper::stop() {
    {
        std::lock_guard lock(mutex_);
        if (is_stopping_) return;
        is_stopping_ = true;
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof one);
}

void LeaseKeeper::post(Command command) {
    {
        std::lock_guard lock(mutex_);
        if (is_stopping_) throw shutting_down();
        commands_.push_back(std::move(command));
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof one);
}

void LeaseKeeper::run() {
    for (;;) {
        std::deque<Command> commands;
        bool is_stopping = false;
        {
            std::lock_guard lock(mutex_);
            commands.swap(commands_);
            is_stopping = is_stopping_;
        }
        if (is_stopping) loop_->stop_all();
        for (auto& command : commands) command(*loop_);
        if (is_stopping) return;
        loop_->turn(wake_fd_);
        std::uint64_t count = 0;
        [[maybe_unused]] const auto drained = ::read(wake_fd_, &count, sizeof count);
    }
}

template <typename T>
T LeaseKeeper::call(std::function<void(Loop&, const std::shared_ptr<LoopReply<T>>&)> command,
                    std::chrono::milliseconds timeout) {
    auto reply = std::make_shared<LoopReply<T>>();
    auto future = reply->get_future();
    post([this, reply, command = std::move(command)](Loop& loop) {
        try {
            command(loop, reply);
        } catch (const HttpError& error) {
            answer_once(*reply, error);
        } catch (const std::exception& error) {
            log_->error("http worker command failed error={}", p::quoted(error.what()));
            answer_once(*reply, HttpError(500, "internal", error.what()));
        }
    });
    if (future.wait_for(timeout) != std::future_status::ready) {
        throw HttpError(503, "shutting_down", "the HTTP worker side did not answer in time");
    }
    auto outcome = future.get();
    if (outcome.error) throw HttpError(outcome.error->status, outcome.error->code, outcome.error->message, outcome.error->id);
    return std::move(*outcome.value);
}

std::optional<ClaimedLease> LeaseKeeper::claim(const ClaimRequest& request) {
    ClaimRequest adjusted = request;
    if (adjusted.lease_time.count() <= 0) adjusted.lease_time = default_lease_time();
    return call<std::optional<ClaimedLease>>(
        [adjusted](Loop& loop, const std::shared_ptr<LoopReply<std::optional<ClaimedLease>>>& reply) {
            loop.open_claim(adjusted, reply);
        },
        request.wait + kClaimGrace);
}

void LeaseKeeper::complete(const std::string& token, std::string result) {
    call<bool>(
        [token, result = std::move(result)](Loop& loop, const std::shared_ptr<LoopReply<bool>>& reply) mutable {
            loop.send_done(loop.lease_of(token), std::move(result));
            reply->set_value(true);
        },
        kCallWithin);
}

void LeaseKeeper::fail(const std::string& token, std::string error, bool is_permanent) {
    call<bool>(
        [token, error = std::move(error), is_permanent](Loop& loop,
                                                         const std::shared_ptr<LoopReply<bool>>& reply) mutable {
            loop.send_fail(loop.lease_of(token), std::move(error), is_permanent);
            reply->set_value(true);
        },
        kCallWithin);
}

std::chrono::milliseconds LeaseKeeper::progress(const std::string& token, std::uint32_t percent, std::string message) {
    return call<std::chrono::milliseconds>(
        [token, percent, message = std::move(message)](
            Loop& loop, const std::shared_ptr<LoopReply<std::chrono::milliseconds>>& reply) mutable {
            reply->set_value(loop.send_progress(loop.lease_of(token), percent, std::move(message)));
        },
        kCallWithin);
}

std::chrono::milliseconds LeaseKeeper::extend(const std::string& token, std::chrono::milliseconds lease_time) {
    return call<std::chrono::milliseconds>(
        [token, lease_time](Loop& loop, const std::shared_ptr<LoopReply<std::chrono::milliseconds>>& reply) {
            reply->set_value(loop.extend(loop.lease_of(token), lease_time));
        },
        kCallWithin);
}

std::chrono::milliseconds LeaseKeeper::default_lease_time() const noexcept {
    return link_.heartbeat_interval * static_cast<int>(link_.liveness);
}

}  // namespace corsair::http
