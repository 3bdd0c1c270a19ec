#include "access_policy.hpp"

namespace corsair::broker {

namespace {

using protocol::Command;

// The least a producer-endpoint command needs. SUBMIT and looking at one's jobs or at the broker
// are a producer's; everything that changes or reveals other producers' jobs is an operator's.
// CANCEL is admin only: the broker does not record which key submitted a job, so a producer key
// allowed to cancel could cancel anyone's (the same rule as HTTP's DELETE /jobs/ID).
bool needs_admin(Command command) {
    switch (command) {
        case Command::submit:
        case Command::submits:
        case Command::status:
        case Command::stats: return false;
        default: return true;
    }
}

}  // namespace

std::optional<std::string> access_refusal(const Peer& peer, Command command) {
    if (!peer.is_keyed) return std::nullopt;
    const std::string name(protocol::to_string(command));
    const std::string key = "key '" + std::string(peer.key_name) + "'";
    if (!peer.role) return key + " is no longer in the broker's --allowed-keys";
    const KeyRole role = *peer.role;
    const std::string has = key + " has role " + std::string(to_string(role));
    if (protocol::is_worker_command(command)) {
        if (role == KeyRole::worker) return std::nullopt;
        return has + "; " + name + " needs a worker key";
    }
    if (role == KeyRole::admin) return std::nullopt;
    if (role == KeyRole::producer && !needs_admin(command)) return std::nullopt;
    return has + "; " + name + (needs_admin(command) ? " needs an admin key" : " needs a producer or admin key");
}

}  // namespace corsair::broker
