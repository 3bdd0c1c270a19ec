// ProcessGroupProbe: a command for ExecHandler that records its own pid and a background
// grandchild's in a file and then waits, so a test can see that killing its process group ends both.
#pragma once

#include <sys/types.h>

#include <fstream>
#include <string>
#include <vector>

#include "child_process.hpp"  // process_has_ended(), to see both recorded pids end
#include "scratch_dir.hpp"

namespace corsair::test {

class ProcessGroupProbe {
public:
    ProcessGroupProbe() : directory_("corsair-exec-test"), pid_file_((directory_ / "pids").string()) {}

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

private:
    ScratchDir directory_;
    std::string pid_file_;
};

}  // namespace corsair::test
