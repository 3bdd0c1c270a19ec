#include "redis_load.hpp"

#include <stdexcept>
#include <string>


namespace corsair::bench {

namespace {

using Clock = std::chrono::steady_clock;

// Results popped by one BLMPOP at most.
constexpr const char* kResultsPerPop = "1000";

[[noreturn]] void fail(const std::string& what, std::uint64_t results, std::uint64_t count) {
    throw std::runtime_error("redis producer: " + what + " with " + std::to_string(results) + " of " +
                             std::to_string(count) + " results back");
}

void check_result(std::string_view result, const JobSource& source) {
    if (result.size() != source.payload_bytes()) {
        throw std::runtime_error("redis producer: a result of " + std::to_string(result.size()) + " bytes, not " +
                                 std::to_string(source.payload_bytes()));
    }
}

}  // namespace

RedisLoad::RedisLoad(const LoopbackAddress& server) : submits_(server), results_(server) {}

double RedisLoad::run_pipelined(const JobSource& source, std::uint64_t first, std::uint64_t count,
                                std::chrono::milliseconds timeout) {
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    std::uint64_t sent = 0, acknowledged = 0, results = 0;
    bool is_popping = false;
    while (results < count) {
        while (sent < count && sent - acknowledged < kPeerWindow) {
            append_resp_command(submits_.outgoing(), {"LPUSH", kPeerJobQueue, source.payload(first + sent)});
            ++sent;
        }
        if (!is_popping) {
            append_resp_command(results_.outgoing(),
                                {"BLMPOP", "0", "1", kPeerResultQueue, "RIGHT", "COUNT", kResultsPerPop});
            is_popping = true;
        }
        if (!exchange_both(submits_, results_, deadline)) fail("timed out", results, count);
        while (auto reply = take_resp_reply(submits_)) {
            if (reply->kind != RespReply::Kind::integer) fail("LPUSH answered '" + reply->text + "'", results, count);
            ++acknowledged;
        }
        while (auto reply = take_resp_reply(results_)) {
            // BLMPOP answers [list name, [result, ...]].
            if (reply->kind != RespReply::Kind::array || reply->elements.size() != 2) {
                fail("BLMPOP answered '" + reply->text + "'", results, count);
            }
            for (const auto& result : reply->elements[1].elements) check_result(result.text, source);
            results += reply->elements[1].elements.size();
            is_popping = false;
        }
    }
    if (results != count) fail("more results than jobs", results, count);
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<double> RedisLoad::run_sequential(const JobSource& source, std::uint64_t first, std::uint64_t count,
                                              std::chrono::milliseconds per_job_timeout) {
    std::vector<double> samples_us;
    samples_us.reserve(count);
    for (std::uint64_t n = first; n < first + count; ++n) {
        const auto start = Clock::now();
        const auto deadline = start + per_job_timeout;
        append_resp_command(submits_.outgoing(), {"LPUSH", kPeerJobQueue, source.payload(n)});
        append_resp_command(submits_.outgoing(), {"BRPOP", kPeerResultQueue, "0"});
        submits_.flush(deadline);
        if (read_resp_reply(submits_, deadline).kind != RespReply::Kind::integer) fail("LPUSH answered", n - first, count);
        const auto popped = read_resp_reply(submits_, deadline);
        const auto end = Clock::now();
        if (popped.kind != RespReply::Kind::array || popped.elements.size() != 2) fail("BRPOP answered", n - first, count);
        check_result(popped.elements[1].text, source);
        samples_us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
    return samples_us;
}

}  // namespace corsair::bench
