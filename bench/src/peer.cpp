#include "peer.hpp"

#include <chrono>
#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include <unistd.h>

#include "beanstalkd_load.hpp"
#include "child_process.hpp"  // the harness, tests/support
#include "redis_load.hpp"
#include "resp_reply.hpp"

namespace corsair::bench {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kAnswerTimeout = std::chrono::seconds(10);

// The number after `key` in `text` ("process_id:" in Redis INFO, "pid: " in beanstalkd stats); -1 if absent.
long long number_after(const std::string& text, const std::string& key) {
    const auto at = text.find(key);
    return at == std::string::npos ? -1 : std::strtoll(text.c_str() + at + key.size(), nullptr, 10);
}

}  // namespace

const std::vector<Peer>& all_peers() {
    static const std::vector<Peer> kAll = {Peer::redis, Peer::beanstalkd};
    return kAll;
}

std::string_view to_string(Peer peer) { return peer == Peer::redis ? "redis" : "beanstalkd"; }

std::string_view server_program_name(Peer peer) { return peer == Peer::redis ? "redis-server" : "beanstalkd"; }

std::string_view worker_flag(Peer peer) {
    return peer == Peer::redis ? "--serve-redis-worker" : "--serve-beanstalkd-worker";
}

std::optional<std::string> find_server_program(Peer peer) {
    std::string folders;
    if (const char* path = std::getenv("PATH")) folders = path;
    folders += ":/usr/bin:/usr/sbin";
    std::size_t start = 0;
    while (start <= folders.size()) {
        const auto end = std::min(folders.find(':', start), folders.size());
        if (end > start) {
            const std::string candidate = folders.substr(start, end - start) + "/" + std::string(server_program_name(peer));
            if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        }
        start = end + 1;
    }
    return std::nullopt;
}

std::string server_version(Peer peer, const std::string& program) {
    test::ChildProcess child({program, peer == Peer::redis ? "--version" : "-v"});
    auto line = child.read_line(kAnswerTimeout);
    child.wait_exit(kAnswerTimeout);
    return line && !line->empty() ? *line : "unknown";
}

std::vector<std::string> server_command(Peer peer, const std::string& program, const LoopbackAddress& address,
                                        const std::string& folder) {
    const std::string port = std::to_string(address.port);
    if (peer == Peer::redis) {
        // No snapshots, no append-only file: Corsair's throughput workload runs memory-only too.
        return {program, "--save", "", "--appendonly", "no", "--port", port, "--bind", address.host,
                "--dir", folder, "--logfile", folder + "/redis.log"};
    }
    // Without -b beanstalkd keeps no binlog: memory only. It logs to stderr (the harness's log file).
    return {program, "-l", address.host, "-p", port};
}

bool server_is_process(Peer peer, const LoopbackAddress& address, int pid) {
    TcpConnection server(address);
    const auto deadline = Clock::now() + kAnswerTimeout;
    std::string text;
    if (peer == Peer::redis) {
        append_resp_command(server.outgoing(), {"INFO", "server"});
        server.flush(deadline);
        text = read_resp_reply(server, deadline).text;
        return number_after(text, "process_id:") == pid;
    }
    server.outgoing() += "stats\r\n";
    server.flush(deadline);
    return number_after(read_beanstalkd_reply(server, "OK", deadline).body, "\npid: ") == pid;
}

std::unique_ptr<PeerLoad> make_peer_load(Peer peer, const LoopbackAddress& address) {
    if (peer == Peer::redis) return std::make_unique<RedisLoad>(address);
    return std::make_unique<BeanstalkdLoad>(address);
}

}  // namespace corsair::bench
