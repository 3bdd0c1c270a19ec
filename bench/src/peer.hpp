// The peers corsair-bench measures beside Corsair with --peers (Debian's redis-server and
// beanstalkd): what each is called, how its server is started, which flag re-executes the bench
// as its worker, and its producer. One table, read by the suite and the peer cluster.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "peer_load.hpp"
#include "tcp_connection.hpp"

namespace corsair::bench {

enum class Peer { redis, beanstalkd };

// Every peer, in the order the suite measures them.
const std::vector<Peer>& all_peers();
// "redis", "beanstalkd": the report's key.
std::string_view to_string(Peer peer);
// "redis-server", "beanstalkd".
std::string_view server_program_name(Peer peer);
// The hidden corsair-bench flag that runs one worker: "--serve-redis-worker", ...
std::string_view worker_flag(Peer peer);
// The server's path: the first executable `server_program_name` on $PATH, then in /usr/bin and
// /usr/sbin; nullopt when the peer is not installed.
std::optional<std::string> find_server_program(Peer peer);
// The version line the server prints ("Redis server v=7.0.15 ...", "beanstalkd 1.12"); blocks up
// to 10 s; "unknown" if it prints none.
std::string server_version(Peer peer, const std::string& program);
// The server's command line: on `address` only, memory only, its files in `folder`.
std::vector<std::string> server_command(Peer peer, const std::string& program, const LoopbackAddress& address,
                                        const std::string& folder);
// Whether the server answering at `address` is the process `pid` (Redis INFO's process_id,
// beanstalkd stats' pid): a port found free may be taken by someone else before our server
// binds it. Blocks up to 10 s for the answer; throws std::runtime_error when nothing answers.
bool server_is_process(Peer peer, const LoopbackAddress& address, int pid);
// A producer for the peer's server at `address`; throws std::runtime_error if it cannot connect.
std::unique_ptr<PeerLoad> make_peer_load(Peer peer, const LoopbackAddress& address);

}  // namespace corsair::bench
