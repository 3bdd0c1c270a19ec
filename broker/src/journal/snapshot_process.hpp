// A child process that writes a compaction snapshot from a fork(2) of the broker, so the loop
// pauses only for the fork (copying page tables, docs/performance.md) instead of encoding every
// live job itself. The copy-on-write
// image is the state at the instant of the fork, which is what the journal boundary marks.
//
// Created by the loop thread (the only thread the child inherits); afterwards any one thread may
// poll exit_fd(), reap() or stop() it (the JournalWriter's thread does).
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "journal_file.hpp"

namespace corsair::broker {

class SnapshotProcess {
public:
    // What the child runs: writes the snapshot to `file` and returns 0, or an errno.
    using Writer = std::function<int(JournalFile& file)>;

    // Forks. The child first keeps only stdin/out/err and `file`'s descriptor open (so it holds
    // no listening socket and no data-directory lock), asks to be killed if the broker dies, then
    // runs `write`, fdatasyncs `file` and exits with 0 or the errno. The parent gets the child,
    // or nullopt with `error` set (fork or pidfd_open failed; nothing was started then).
    static std::optional<SnapshotProcess> start(JournalFile& file, const Writer& write, std::string& error);

    SnapshotProcess(SnapshotProcess&& other) noexcept;
    // Stops this one's child, if any, and takes over `other`'s.
    SnapshotProcess& operator=(SnapshotProcess&& other) noexcept;
    SnapshotProcess(const SnapshotProcess&) = delete;
    SnapshotProcess& operator=(const SnapshotProcess&) = delete;
    // Kills and reaps a child still running.
    ~SnapshotProcess();

    pid_t pid() const noexcept { return pid_; }
    // A pidfd: readable (POLLIN) once the child has exited. Never blocks.
    int exit_fd() const noexcept { return pidfd_; }
    // Waits for the child (blocks only if it still runs) and returns "" when it wrote and synced
    // the snapshot, otherwise what went wrong ("exit 28: No space left on device", "killed by
    // signal 9").
    std::string reap();
    // SIGKILL, then reap. For a broker stopping mid-compaction.
    void stop() noexcept;

private:
    SnapshotProcess(pid_t pid, int pidfd) noexcept : pid_(pid), pidfd_(pidfd) {}

    pid_t pid_ = -1;
    int pidfd_ = -1;
};

}  // namespace corsair::broker
