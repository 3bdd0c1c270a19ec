#include "namespace_pair.hpp"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string_view>

#include <sys/wait.h>
#include <unistd.h>

#include "child_process.hpp"

namespace corsair::test {

namespace {

using namespace std::chrono_literals;

constexpr auto kCommandTimeout = 10s;

// Runs argv (a path first) and waits for it; the failure as text, or an empty string.
std::string run(const std::vector<std::string>& argv) {
    ChildProcess child(argv, {}, {}, ChildProcess::Stdout::discarded);
    const auto status = child.wait_exit(kCommandTimeout);
    std::string command;
    for (const auto& word : argv) command += (command.empty() ? "" : " ") + word;
    if (!status) return "`" + command + "` did not end within 10 s";
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return {};
    return "`" + command + "` failed (wait status " + std::to_string(*status) + ")";
}

constexpr std::string_view kPrefix = "corsair-test-";

std::string own_name(const char* role) { return std::string(kPrefix) + std::to_string(::getpid()) + "-" + role; }

// A run killed before its destructors ran leaves its namespaces behind; they carry its PID, so a
// later run deletes those whose process is gone, and nobody else's.
void remove_leftovers(const std::string& ip) {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator("/run/netns", error)) {
        const std::string name = entry.path().filename().string();
        if (!name.starts_with(kPrefix)) continue;
        const long pid = std::strtol(name.c_str() + kPrefix.size(), nullptr, 10);
        if (pid > 0 && pid != ::getpid() && process_has_ended(static_cast<pid_t>(pid))) run({ip, "netns", "delete", name});
    }
}

}  // namespace

std::string ip_binary() {
    for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
        if (::access(path, X_OK) == 0) return path;
    }
    return {};
}

std::optional<std::string> NamespacePair::unavailable_reason() {
    if (::geteuid() != 0) return "network namespaces need root; running as uid " + std::to_string(::geteuid());
    const std::string ip = ip_binary();
    if (ip.empty()) return "no `ip` (iproute2) in /usr/sbin, /sbin, /usr/bin or /bin";
    remove_leftovers(ip);
    const std::string probe = own_name("probe");
    if (auto failure = run({ip, "netns", "add", probe}); !failure.empty()) return failure;
    run({ip, "netns", "delete", probe});
    return std::nullopt;
}

NamespacePair::NamespacePair()
    : near_(own_name("near")),
      far_(own_name("far")),
      near_device_("cn" + std::to_string(::getpid())),
      far_device_("cf" + std::to_string(::getpid())) {
    try {
        ip({"netns", "add", near_});
        made_.push_back(near_);
        ip({"netns", "add", far_});
        made_.push_back(far_);
        // Made inside the namespaces at once: the test's own host never sees the pair.
        ip({"link", "add", near_device_, "netns", near_, "type", "veth", "peer", "name", far_device_, "netns", far_});
        ip({"-n", near_, "address", "add", std::string(kNearAddress) + "/30", "dev", near_device_});
        ip({"-n", far_, "address", "add", std::string(kFarAddress) + "/30", "dev", far_device_});
        for (const auto& [name, device] : {std::pair{near_, near_device_}, std::pair{far_, far_device_}}) {
            // lo too: a process reaching its own namespace's address goes through it.
            ip({"-n", name, "link", "set", "lo", "up"});
            ip({"-n", name, "link", "set", device, "up"});
        }
    } catch (...) {
        remove();
        throw;
    }
}

NamespacePair::~NamespacePair() { remove(); }

void NamespacePair::remove() {
    for (const auto& name : made_) run({ip_binary(), "netns", "delete", name});
    made_.clear();
}

std::vector<std::string> NamespacePair::exec_in(const std::string& name) { return {ip_binary(), "netns", "exec", name}; }

void NamespacePair::ip(std::vector<std::string> args) {
    args.insert(args.begin(), ip_binary());
    if (auto failure = run(args); !failure.empty()) throw std::runtime_error(failure);
}

// A zero-length FIFO queue drops every packet as it is queued: netem's 100% loss without the
// sch_netem module (absent where the kernel has no modules), with the always-built-in pfifo.
void NamespacePair::cut() {
    ip({"netns", "exec", near_, "tc", "qdisc", "add", "dev", near_device_, "root", "pfifo", "limit", "0"});
    ip({"netns", "exec", far_, "tc", "qdisc", "add", "dev", far_device_, "root", "pfifo", "limit", "0"});
}

void NamespacePair::heal() {
    ip({"netns", "exec", near_, "tc", "qdisc", "delete", "dev", near_device_, "root"});
    ip({"netns", "exec", far_, "tc", "qdisc", "delete", "dev", far_device_, "root"});
}

}  // namespace corsair::test
