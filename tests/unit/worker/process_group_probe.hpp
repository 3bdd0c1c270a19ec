// ProcessGroupProbe: a command for ExecHandler that records its own pid and a background
// grandchild's in a file and then waits, so a test can see that killing its process group ends both.
#pragma once

#include <stdlib.h>
#include <sys/types.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace corsair::test {

class ProcessGroupProbe {
public:
    ProcessGroupProbe() {
        char pattern[] = "/tmp/corsair-exec-test-XXXXXX";
        if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
        directory_ = pattern;
        pid_file_ = directory_ + "/pids";
    }
    ~ProcessGroupProbe() {
        std::error_code ignored;
        std::filesystem::remove_all(directory_, ignored);
    }
    ProcessGroupProbe(const ProcessGroupProbe&) = delete;
    ProcessGroupProbe& operator=(const ProcessGroupProbe&) = delete;

    // A /bin/sh -c script: starts `sleep 30` in the background, writes both pids at once (mv), waits.
    std::string script() const {
        return "sleep 30 & echo $! > " + pid_file_ + ".tmp; echo $$ >> " + pid_file_ + ".tmp; mv " + pid_file_ +
               ".tmp " + pid_file_ + "; wait";
    }

    // The recorded pids: empty until the script has written both.
    std::vector<pid_t> pids() const {
        std::vector<pid_t> pids;
        std::ifstream in(pid_file_);
        for (long pid = 0; in >> pid;) pids.push_back(static_cast<pid_t>(pid));
        return pids;
    }

    // Gone, or a zombie: killed but not yet reaped by whoever inherited it (not our child).
    static bool has_ended(pid_t pid) {
        if (kill(pid, 0) != 0 && errno == ESRCH) return true;
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        const auto paren = text.rfind(')');
        return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'Z';
    }

private:
    std::string directory_;
    std::string pid_file_;
};

}  // namespace corsair::test
