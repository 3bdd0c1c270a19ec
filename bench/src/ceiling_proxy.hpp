// The ceiling's broker: a zero-logic ZeroMQ proxy, run by `corsair-bench --serve-proxy` in its
// own process. Its thread owns both sockets.
#pragma once

#include <string_view>

#include <zmq.hpp>

namespace corsair::bench {

// Opens the proxy's ready line, which has the broker's format (corsair/broker/ready_line.hpp).
inline constexpr std::string_view kProxyProgram = "corsair-bench proxy";

// Binds a ROUTER for producers and a DEALER for echo workers on tcp://127.0.0.1:*, prints
// "corsair-bench proxy ready producers=EP workers=EP" on stdout, then forwards every message
// both ways (zmq::proxy) until the process is killed. Returns an exit code only on failure.
int run_proxy(zmq::context_t& context);

}  // namespace corsair::bench
