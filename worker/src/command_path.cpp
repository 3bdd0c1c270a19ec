#include "command_path.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace corsair::worker {

namespace {

// ENOENT when there is no such file, EISDIR for a folder, EACCES when it may not be executed.
int executable_problem(const std::string& file) {
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0) return errno == EACCES ? EACCES : ENOENT;
    if (S_ISDIR(info.st_mode)) return EISDIR;
    if (!S_ISREG(info.st_mode) || ::access(file.c_str(), X_OK) != 0) return EACCES;
    return 0;
}

CommandPath problem(int error, std::string_view name, bool searched_path) {
    std::string text;
    const std::string quoted_name = "'" + std::string(name) + "'";
    if (error == ENOENT) {
        text = searched_path ? "command not found in PATH: " + quoted_name : "command not found: " + quoted_name;
    } else if (error == EISDIR) {
        text = "command is a folder, not a program: " + quoted_name;
    } else {
        text = "command is not executable (permission denied): " + quoted_name;
    }
    return CommandPath{{}, std::move(text), error};
}

}  // namespace

CommandPath find_command(std::string_view name, std::string_view path_variable) {
    if (name.empty()) return problem(ENOENT, name, false);
    if (name.find('/') != std::string_view::npos) {
        const std::string file(name);
        const int error = executable_problem(file);
        if (error != 0) return problem(error, name, false);
        return CommandPath{file, {}, 0};
    }
    // As execvp(): a file found but not executable is reported only if no later entry has one.
    int first_error = ENOENT;
    for (std::size_t start = 0;;) {
        const std::size_t end = std::min(path_variable.find(':', start), path_variable.size());
        const std::string_view folder = path_variable.substr(start, end - start);
        std::string file = folder.empty() ? std::string(name) : std::string(folder) + "/" + std::string(name);
        const int error = executable_problem(file);
        if (error == 0) return CommandPath{folder.empty() ? "./" + file : std::move(file), {}, 0};
        if (error != ENOENT && first_error == ENOENT) first_error = error;
        if (end == path_variable.size()) break;
        start = end + 1;
    }
    return problem(first_error, name, true);
}

CommandPath find_command(std::string_view name) {
    const char* path = std::getenv("PATH");
    return find_command(name, path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
}

}  // namespace corsair::worker
