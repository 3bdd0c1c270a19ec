// Where a command's executable is: argv[0] looked up as execvp() would (a name with a '/' as it
// is, otherwise the first PATH entry holding an executable regular file), but without execvp()'s
// fallback of running a file it cannot execute with /bin/sh. Used by ExecHandler before each job
// and by corsair-worker at startup, so that both refuse a missing or non-executable command in
// the same words. Pure lookups on the file system; any thread.
#pragma once

#include <string>
#include <string_view>

namespace corsair::worker {

struct CommandPath {
    std::string path;     // the file to execute; empty when `problem` is set
    std::string problem;  // e.g. "command not found in PATH: convert"; empty when found
    int error = 0;        // errno-like: ENOENT, EACCES, EISDIR; 0 when found

    bool is_found() const noexcept { return problem.empty(); }
};

// Looks `name` up in `path_variable` (a PATH value: entries separated by ':', an empty entry
// meaning the current folder). Never throws for a missing file; std::bad_alloc only.
CommandPath find_command(std::string_view name, std::string_view path_variable);

// find_command() with this process's PATH ("/usr/local/bin:/usr/bin:/bin" when it is unset).
CommandPath find_command(std::string_view name);

}  // namespace corsair::worker
