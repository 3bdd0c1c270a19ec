#include "process_usage.hpp"

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include <sys/resource.h>
#include <unistd.h>

namespace corsair::bench {

std::optional<std::uint64_t> resident_bytes(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) != 0) continue;
        std::istringstream fields(line.substr(6));
        std::uint64_t kilobytes = 0;
        if (fields >> kilobytes) return kilobytes * 1024;
    }
    return std::nullopt;
}

std::optional<CpuSeconds> cpu_time(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    const std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // The command name (field 2) may hold spaces; fields are counted after its closing ')'.
    const auto paren = text.rfind(')');
    if (paren == std::string::npos) return std::nullopt;
    std::istringstream fields(text.substr(paren + 2));
    std::string field;
    // After ')' come field 3 (state) onwards; utime and stime are fields 14 and 15.
    for (int index = 3; index < 14; ++index) fields >> field;
    unsigned long long user_ticks = 0, system_ticks = 0;
    if (!(fields >> user_ticks >> system_ticks)) return std::nullopt;
    const double ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
    return CpuSeconds(static_cast<double>(user_ticks + system_ticks) / ticks_per_second);
}

CpuSeconds own_cpu_time() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return CpuSeconds(seconds(usage.ru_utime) + seconds(usage.ru_stime));
}

CpuSeconds cpu_time_of(const std::vector<pid_t>& pids) {
    CpuSeconds total(0);
    for (const pid_t pid : pids) total += cpu_time(pid).value_or(CpuSeconds(0));
    return total;
}

}  // namespace corsair::bench
