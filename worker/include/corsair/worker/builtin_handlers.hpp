// Handlers built into corsair-worker for tests and demos (--builtin NAME).
#pragma once

#include <optional>
#include <string_view>

#include "corsair/worker/handler.hpp"

namespace corsair::worker {

// The result is the payload, unchanged.
Handler echo_handler();

// The result is empty, whatever the payload: a handler that does nothing, for benchmarks.
Handler noop_handler();

// The payload is a decimal number of milliseconds (surrounding whitespace allowed, at most one
// day); sleeps that long and returns "slept N ms". Anything else fails the job. Gives up early,
// failing the job, when the worker stops.
Handler sleep_handler();

// Whether the built-in `name` returns within microseconds whatever the payload ("echo", "noop"):
// corsair-worker runs such a handler on its I/O thread unless --threads is given, which saves two
// thread hand-offs per job; "sleep" is not one.
bool is_instant_builtin(std::string_view name);

// The built-in handler called `name` ("echo", "noop" or "sleep"), or nullopt.
std::optional<Handler> builtin_handler(std::string_view name);

}  // namespace corsair::worker
