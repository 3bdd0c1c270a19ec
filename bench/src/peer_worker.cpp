#include "peer_worker.hpp"

#include <cstdio>
#include <exception>
#include <stdexcept>

#include "beanstalkd_reply.hpp"
#include "peer_load.hpp"
#include "resp_reply.hpp"
#include "tcp_connection.hpp"

namespace corsair::bench {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kReplyTimeout = std::chrono::seconds(10);
// A worker waiting this long for a job has been forgotten: the suite stops its workers after each run.
constexpr auto kIdleLimit = std::chrono::minutes(10);

LoopbackAddress parse_or_throw(const std::string& address) {
    auto parsed = parse_loopback_address(address);
    if (!parsed) throw std::runtime_error("not a loopback HOST:PORT: " + address);
    return *parsed;
}

void say_connected(const char* peer) {
    // The suite waits for this line before it lets the producer start.
    std::printf("corsair-bench %s worker connected\n", peer);
    std::fflush(stdout);
}

void serve_redis(const std::string& address) {
    TcpConnection server(parse_or_throw(address));
    append_resp_command(server.outgoing(), {"PING"});
    server.flush(Clock::now() + kReplyTimeout);
    read_resp_reply(server, Clock::now() + kReplyTimeout);
    say_connected("redis");
    append_resp_command(server.outgoing(), {"BRPOP", kPeerJobQueue, "0"});
    server.flush(Clock::now() + kReplyTimeout);
    for (;;) {
        const auto job = read_resp_reply(server, Clock::now() + kIdleLimit);
        // BRPOP answers [list name, job].
        if (job.kind != RespReply::Kind::array || job.elements.size() != 2) {
            throw std::runtime_error("BRPOP answered something else than [list, job]");
        }
        append_resp_command(server.outgoing(), {"LPUSH", kPeerResultQueue, job.elements[1].text});
        append_resp_command(server.outgoing(), {"BRPOP", kPeerJobQueue, "0"});
        server.flush(Clock::now() + kReplyTimeout);
        if (read_resp_reply(server, Clock::now() + kReplyTimeout).kind != RespReply::Kind::integer) {
            throw std::runtime_error("LPUSH answered something else than a length");
        }
    }
}

void serve_beanstalkd(const std::string& address) {
    TcpConnection server(parse_or_throw(address));
    server.outgoing() += std::string("watch ") + kPeerJobQueue + "\r\nignore default\r\nuse " + kPeerResultQueue + "\r\n";
    server.flush(Clock::now() + kReplyTimeout);
    read_beanstalkd_reply(server, "WATCHING", Clock::now() + kReplyTimeout);
    read_beanstalkd_reply(server, "WATCHING", Clock::now() + kReplyTimeout);
    read_beanstalkd_reply(server, "USING", Clock::now() + kReplyTimeout);
    say_connected("beanstalkd");
    server.outgoing() += "reserve\r\n";
    server.flush(Clock::now() + kReplyTimeout);
    for (;;) {
        const auto job = read_beanstalkd_reply(server, "RESERVED", Clock::now() + kIdleLimit);
        append_beanstalkd_put(server.outgoing(), job.body);
        server.outgoing() += "delete " + std::to_string(job.number(0)) + "\r\nreserve\r\n";
        server.flush(Clock::now() + kReplyTimeout);
        read_beanstalkd_reply(server, "INSERTED", Clock::now() + kReplyTimeout);
        read_beanstalkd_reply(server, "DELETED", Clock::now() + kReplyTimeout);
    }
}

int run_reporting_errors(const char* peer, void (*serve)(const std::string&), const std::string& address) {
    try {
        serve(address);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "corsair-bench %s worker: %s\n", peer, e.what());
    }
    return 1;
}

}  // namespace

int run_redis_worker(const std::string& address) { return run_reporting_errors("redis", serve_redis, address); }

int run_beanstalkd_worker(const std::string& address) {
    return run_reporting_errors("beanstalkd", serve_beanstalkd, address);
}

}  // namespace corsair::bench
