#include "machine_info.hpp"

#include <fstream>
#include <sstream>
#include <string>

#include <sys/utsname.h>
#include <unistd.h>
#include <zmq.hpp>

namespace corsair::bench {

namespace {

std::string first_line(const std::string& path) {
    std::ifstream file(path);
    std::string line;
    std::getline(file, line);
    return line;
}

// The value after "KEY<spaces>:" on the first line of `path` that starts with KEY.
std::string field(const std::string& path, const std::string& key) {
    std::ifstream file(path);
    std::string line;
    while (std::getline(file, line)) {
        if (line.rfind(key, 0) != 0) continue;
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        const auto start = line.find_first_not_of(" \t", colon + 1);
        return start == std::string::npos ? std::string() : line.substr(start);
    }
    return {};
}

// The git directory of a checkout: .git itself, or where a worktree's .git file points.
std::string git_dir_of(const std::string& source_dir) {
    const std::string dot_git = source_dir + "/.git";
    const std::string pointer = first_line(dot_git);
    return pointer.rfind("gitdir: ", 0) == 0 ? pointer.substr(8) : dot_git;
}

// HEAD's commit, read from the files of .git (no git process): a ref file, else packed-refs. A
// worktree keeps its HEAD in its own git directory and its refs in the shared one (commondir).
std::string commit_of(const std::string& source_dir) {
    const std::string git = git_dir_of(source_dir);
    const std::string head = first_line(git + "/HEAD");
    if (head.rfind("ref: ", 0) != 0) return head;
    const std::string ref = head.substr(5);
    const std::string common = first_line(git + "/commondir");
    const std::string shared = common.empty() ? git : (common[0] == '/' ? common : git + "/" + common);
    for (const auto& dir : {git, shared}) {
        if (auto loose = first_line(dir + "/" + ref); !loose.empty()) return loose;
    }
    std::ifstream packed(shared + "/packed-refs");
    std::string line;
    while (std::getline(packed, line)) {
        if (line.size() > ref.size() + 41 && line.compare(41, std::string::npos, ref) == 0) return line.substr(0, 40);
    }
    return {};
}

}  // namespace

nlohmann::json load_average() {
    std::istringstream fields(first_line("/proc/loadavg"));
    double one = 0, five = 0, fifteen = 0;
    fields >> one >> five >> fifteen;
    return nlohmann::json::array({one, five, fifteen});
}

nlohmann::json machine_info() {
    utsname name{};
    uname(&name);
    int major = 0, minor = 0, patch = 0;
    zmq_version(&major, &minor, &patch);
    std::istringstream memory(field("/proc/meminfo", "MemTotal"));
    std::uint64_t memory_kilobytes = 0;
    memory >> memory_kilobytes;
    return {
        {"nproc", sysconf(_SC_NPROCESSORS_ONLN)},
        {"cpu_model", field("/proc/cpuinfo", "model name")},
        {"memory_bytes", memory_kilobytes * 1024},
        {"kernel", std::string(name.sysname) + " " + name.release},
        {"libzmq", std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch)},
        {"compiler", std::string("gcc ") + __VERSION__},
        {"build_type", CORSAIR_BENCH_BUILD_TYPE},
        {"commit", commit_of(CORSAIR_BENCH_SOURCE_DIR)},
    };
}

}  // namespace corsair::bench
