// Which role may send which command (docs/security.md, "Roles"): the rule the Scheduler applies
// to every message from a keyed connection before anything else.
#pragma once

#include <optional>
#include <string>

#include "corsair/broker/peer.hpp"
#include "corsair/protocol/command.hpp"

namespace corsair::broker {

// Why `peer` may not send `command` (ERROR forbidden's message), or nothing if it may. A peer
// without a key (no CURVE, or in-process) may send anything.
std::optional<std::string> access_refusal(const Peer& peer, protocol::Command command);

}  // namespace corsair::broker
