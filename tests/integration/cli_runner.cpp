#include "cli_runner.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include "child_process.hpp"

namespace corsair::test {

CliRun corsair_cli(Cluster& cluster, std::vector<std::string> args, std::chrono::milliseconds timeout,
                   std::vector<std::string> extra_env) {
    std::vector<std::string> argv{CORSAIR_CLI_BIN};
    for (auto& arg : args) argv.push_back(std::move(arg));
    extra_env.push_back("CORSAIR_PRODUCER_ENDPOINT=" + cluster.endpoints().producers);
    ChildProcess cli(argv, extra_env, cluster.log_dir() + "/cli.log");
    CliRun run;
    while (cli.read_line(timeout)) {
    }
    run.out = cli.stdout_text();
    auto status = cli.wait_exit(timeout);
    REQUIRE(status);
    run.exit_code = WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
    return run;
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
    std::vector<nlohmann::json> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        if (end > start) lines.push_back(nlohmann::json::parse(text.substr(start, end - start)));
        start = end + 1;
    }
    return lines;
}

}  // namespace corsair::test
