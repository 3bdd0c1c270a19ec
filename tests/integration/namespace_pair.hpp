// Two network namespaces of the test's own, "near" (the broker's host) and "far" (a host that the
// test partitions from it), joined by a veth pair on a private /30 whose two addresses exist only
// inside them; cut() and heal() the link between them. Made with iproute2 (`ip netns`, `ip link`,
// `tc`) as root; each namespace is named after this process's PID and deleted with the pair, so
// that side-by-side runs never meet. Owned by the test's thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace corsair::test {

class NamespacePair {
public:
    // The near end's address (the broker binds it) and the far end's.
    static constexpr const char* kNearAddress = "10.213.0.1";
    static constexpr const char* kFarAddress = "10.213.0.2";

    // Why the pair cannot be made here (not root, no `ip`, `ip netns add` refused), or nullopt
    // when it can. Creates and deletes a probe namespace.
    static std::optional<std::string> unavailable_reason();

    // Creates both namespaces, the veth pair and its addresses, links up. Throws
    // std::runtime_error naming the failed command (what was made so far is deleted).
    NamespacePair();
    // Deletes both namespaces (the veth pair goes with them). Processes still inside keep theirs
    // alive until they exit, so stop them first.
    ~NamespacePair();
    NamespacePair(const NamespacePair&) = delete;
    NamespacePair& operator=(const NamespacePair&) = delete;

    // `ip netns exec NS`: put before a program's argv to run it inside (ip execs it: same PID).
    std::vector<std::string> near_exec() const { return exec_in(near_); }
    std::vector<std::string> far_exec() const { return exec_in(far_); }

    // A partition: every packet on the link is dropped, silently, both ways, while both hosts keep
    // their links and routes up (docs/protocol.md §10 says why not `ip link set down`).
    // Blocks until `tc` has run; throws std::runtime_error if it fails.
    void cut();
    // Packets flow again; the connections that outlived the cut resume.
    void heal();

private:
    static std::vector<std::string> exec_in(const std::string& name);
    // Runs `ip ARGS...`, waits (bounded) for it, throws std::runtime_error on a failure.
    static void ip(std::vector<std::string> args);
    void remove();

    std::string near_;
    std::string far_;
    std::string near_device_;
    std::string far_device_;
    std::vector<std::string> made_;  // namespaces to delete
};

// The `ip` binary of iproute2, or an empty string if none is installed.
std::string ip_binary();

}  // namespace corsair::test
