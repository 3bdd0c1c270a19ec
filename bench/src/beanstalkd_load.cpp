#include "beanstalkd_load.hpp"

#include <stdexcept>
#include <string>


namespace corsair::bench {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kSetupTimeout = std::chrono::seconds(10);
// Reserves on the result connection at once: enough that results never wait for the producer.
constexpr std::uint64_t kReservesAhead = 100;

[[noreturn]] void fail(const std::string& what, std::uint64_t results, std::uint64_t count) {
    throw std::runtime_error("beanstalkd producer: " + what + " with " + std::to_string(results) + " of " +
                             std::to_string(count) + " results back");
}

void check_result(const BeanstalkdReply& reply, const JobSource& source) {
    if (reply.body.size() != source.payload_bytes()) {
        throw std::runtime_error("beanstalkd producer: a result of " + std::to_string(reply.body.size()) +
                                 " bytes, not " + std::to_string(source.payload_bytes()));
    }
}

}  // namespace

BeanstalkdLoad::BeanstalkdLoad(const LoopbackAddress& server) : submits_(server), results_(server) {
    const auto deadline = Clock::now() + kSetupTimeout;
    submits_.outgoing() += std::string("use ") + kPeerJobQueue + "\r\nwatch " + kPeerResultQueue + "\r\nignore default\r\n";
    results_.outgoing() += std::string("watch ") + kPeerResultQueue + "\r\nignore default\r\n";
    submits_.flush(deadline);
    results_.flush(deadline);
    read_beanstalkd_reply(submits_, "USING", deadline);
    for (auto* connection : {&submits_, &results_}) {
        read_beanstalkd_reply(*connection, "WATCHING", deadline);
        read_beanstalkd_reply(*connection, "WATCHING", deadline);
    }
}

void BeanstalkdLoad::take_results(const JobSource& source, std::uint64_t& results) {
    while (auto reply = take_beanstalkd_reply(results_)) {
        if (awaited_is_reserve_.empty()) throw std::runtime_error("beanstalkd producer: an unasked reply: " + reply->line);
        const bool is_reserve = awaited_is_reserve_.front();
        awaited_is_reserve_.pop_front();
        if (!is_reserve) {
            if (!reply->is("DELETED")) throw std::runtime_error("beanstalkd producer: delete answered " + reply->line);
            continue;
        }
        --reserves_waiting_;
        // protocol.txt: a reserve answers DEADLINE_SOON when a job this connection holds is a
        // second from its time to run; the reserve is simply sent again.
        if (reply->is("DEADLINE_SOON")) continue;
        if (!reply->is("RESERVED")) throw std::runtime_error("beanstalkd producer: reserve answered " + reply->line);
        check_result(*reply, source);
        ++results;
        results_.outgoing() += "delete " + std::to_string(reply->number(0)) + "\r\n";
        awaited_is_reserve_.push_back(false);
    }
}

double BeanstalkdLoad::run_pipelined(const JobSource& source, std::uint64_t first, std::uint64_t count,
                                     std::chrono::milliseconds timeout) {
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    std::uint64_t sent = 0, acknowledged = 0, results = 0;
    while (results < count) {
        while (sent < count && sent - acknowledged < kPeerWindow) {
            append_beanstalkd_put(submits_.outgoing(), source.payload(first + sent));
            ++sent;
        }
        // No reserve beyond the results still to come, so none is left blocking the connection
        // (and the deletes behind it) when the run ends.
        while (reserves_waiting_ < kReservesAhead && results + reserves_waiting_ < count) {
            results_.outgoing() += "reserve\r\n";
            awaited_is_reserve_.push_back(true);
            ++reserves_waiting_;
        }
        if (!exchange_both(submits_, results_, deadline)) fail("timed out", results, count);
        while (auto reply = take_beanstalkd_reply(submits_)) {
            if (!reply->is("INSERTED")) fail("put answered " + reply->line, results, count);
            ++acknowledged;
        }
        take_results(source, results);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    // The last deletes go out now; their replies are taken by the next run, or dropped with the connection.
    results_.flush(Clock::now() + kSetupTimeout);
    return seconds;
}

std::vector<double> BeanstalkdLoad::run_sequential(const JobSource& source, std::uint64_t first, std::uint64_t count,
                                                   std::chrono::milliseconds per_job_timeout) {
    std::vector<double> samples_us;
    samples_us.reserve(count);
    for (std::uint64_t n = first; n < first + count; ++n) {
        const auto start = Clock::now();
        const auto deadline = start + per_job_timeout;
        append_beanstalkd_put(submits_.outgoing(), source.payload(n));
        submits_.outgoing() += "reserve\r\n";
        submits_.flush(deadline);
        read_beanstalkd_reply(submits_, "INSERTED", deadline);
        const auto result = read_beanstalkd_reply(submits_, "RESERVED", deadline);
        const auto end = Clock::now();
        check_result(result, source);
        samples_us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
        submits_.outgoing() += "delete " + std::to_string(result.number(0)) + "\r\n";
        submits_.flush(deadline);
        read_beanstalkd_reply(submits_, "DELETED", deadline);
    }
    return samples_us;
}

}  // namespace corsair::bench
