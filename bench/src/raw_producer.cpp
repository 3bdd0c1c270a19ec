#include "raw_producer.hpp"

#include <optional>
#include <stdexcept>
#include <variant>

#include "corsair/protocol/protocol.hpp"

namespace corsair::bench {

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail_timeout(const char* what, std::uint64_t done, std::uint64_t count) {
    throw std::runtime_error(std::string("raw producer, ") + what + ": timed out with " + std::to_string(done) + " of " +
                             std::to_string(count) + " jobs complete");
}

// Longer than any job here takes: a RESULT always comes first.
constexpr std::uint64_t kAcceptWithinMs = 10'000;

}  // namespace

RawProducer::RawProducer(zmq::context_t& context, const std::string& producer_endpoint, std::size_t window,
                         std::string queue)
    : socket_(context, zmq::socket_type::dealer), queue_(std::move(queue)), window_(window) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::maxmsgsize,
                static_cast<std::int64_t>(protocol::kDefaultMaxPayloadBytes + protocol::kFrameOverheadBytes));
    // The same receive high-water mark as the producer library's socket.
    socket_.set(zmq::sockopt::rcvhwm, 10'000);
    socket_.connect(producer_endpoint);
}

std::vector<zmq::message_t> RawProducer::submit_frames(const JobSource& source, std::uint64_t n) const {
    auto submit = protocol::make_submit(source.job_id(n), queue_, true, protocol::make_payload(source.payload(n)));
    // It waits for RESULTs only, so the broker may leave every ACCEPTED out (protocol.md §5.1).
    submit.accept_within_ms = kAcceptWithinMs;
    return protocol::encode(std::move(submit));
}

std::uint64_t RawProducer::receive_results() {
    std::uint64_t results = 0;
    protocol::Frames frames;
    while (protocol::receive_frames(socket_, frames)) {
        auto decoded = protocol::decode(frames);
        if (!decoded) continue;
        auto* result = std::get_if<protocol::JobResult>(&decoded.value());
        if (result == nullptr || result->state != protocol::JobState::done) continue;
        last_result_id_ = std::move(result->id);
        ++results;
    }
    return results;
}

double RawProducer::run_pipelined(const JobSource& source, std::uint64_t first, std::uint64_t count,
                                  std::chrono::milliseconds timeout) {
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    std::uint64_t sent = 0;
    std::uint64_t done = 0;
    std::optional<protocol::Frames> unsent;
    while (done < count) {
        while (sent < count && sent - done < window_) {
            if (!unsent) unsent = submit_frames(source, first + sent);
            if (protocol::send_frames(socket_, *unsent) != protocol::SendStatus::sent) break;
            unsent.reset();
            ++sent;
        }
        if (Clock::now() >= deadline) fail_timeout("pipelined run", done, count);
        const short events = ZMQ_POLLIN | (unsent ? ZMQ_POLLOUT : 0);
        zmq::pollitem_t item{socket_.handle(), 0, events, 0};
        zmq::poll(&item, 1, std::chrono::milliseconds(100));
        done += receive_results();
    }
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<double> RawProducer::run_sequential(const JobSource& source, std::uint64_t first, std::uint64_t count,
                                                std::chrono::milliseconds per_job_timeout) {
    std::vector<double> samples_us;
    samples_us.reserve(count);
    for (std::uint64_t n = first; n < first + count; ++n) {
        const auto start = Clock::now();
        const auto deadline = start + per_job_timeout;
        auto frames = submit_frames(source, n);
        while (protocol::send_frames(socket_, frames) != protocol::SendStatus::sent) {
            if (Clock::now() >= deadline) fail_timeout("sequential run", n - first, count);
            zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLOUT, 0};
            zmq::poll(&item, 1, std::chrono::milliseconds(10));
        }
        std::uint64_t results = 0;
        while (results == 0) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) fail_timeout("sequential run", n - first, count);
            zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
            zmq::poll(&item, 1, left);
            results = receive_results();
        }
        const auto end = Clock::now();
        if (results != 1 || last_result_id_ != source.job_id(n)) {
            throw std::runtime_error("raw producer, sequential run: unexpected RESULT " + last_result_id_);
        }
        samples_us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
    return samples_us;
}

}  // namespace corsair::bench
