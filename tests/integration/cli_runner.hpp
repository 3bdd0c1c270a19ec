// Runs the `corsair` CLI against a Cluster, as an operator would, and reads its --json output.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster.hpp"

namespace corsair::test {

struct CliRun {
    int exit_code = -1;
    std::string out;
};

// Runs `corsair ARGS...` with CORSAIR_PRODUCER_ENDPOINT set to the cluster and waits for it to exit
// (stderr goes to the cluster's cli.log), plus `extra_env` ("NAME=value"). Fails the test if it
// does not exit within `timeout`.
CliRun corsair_cli(Cluster& cluster, std::vector<std::string> args,
                   std::chrono::milliseconds timeout = std::chrono::seconds(30), std::vector<std::string> extra_env = {});

// One JSON value per non-empty line.
std::vector<nlohmann::json> json_lines(const std::string& text);

}  // namespace corsair::test
