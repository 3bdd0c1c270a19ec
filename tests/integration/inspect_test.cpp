// Looking into queues with the real CLI and broker (docs/jobs.md §Queues, §Looking into a queue):
// a typo names no queue, queues are created and deleted explicitly and that survives a restart,
// and list, payload and purge --pending see and clear what waits.
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "cluster.hpp"

using namespace std::chrono_literals;
using corsair::test::Cluster;
using corsair::test::corsair_cli;
using corsair::test::json_lines;
using nlohmann::json;

namespace {

bool lists_queue(Cluster& cluster, const std::string& name) {
    const auto stats = json_lines(corsair_cli(cluster, {"stats", "--json"}).out);
    REQUIRE(stats.size() == 1);
    for (const auto& queue : stats[0]["queues"]) {
        if (queue["queue"] == name) return true;
    }
    return false;
}

void restart_broker(Cluster& cluster) {
    const auto endpoints = cluster.endpoints();
    cluster.kill_broker();
    cluster.start_broker(endpoints);
}

}  // namespace

TEST_CASE("a typo names no queue, queues are created and deleted explicitly, across a restart",
          "[integration][cli][inspect]") {
    Cluster cluster;
    for (const auto& command : std::vector<std::vector<std::string>>{{"pause", "typo4"},
                                                                      {"resume", "typo4"},
                                                                      {"queue", "typo4"},
                                                                      {"dead", "typo4"},
                                                                      {"purge", "typo4"},
                                                                      {"retry", "--all", "typo4"},
                                                                      {"list", "typo4"}}) {
        INFO(command.front());
        CHECK(corsair_cli(cluster, command).exit_code == 5);  // unknown_queue: refused (docs/cli.md, Exit codes)
    }
    CHECK_FALSE(lists_queue(cluster, "typo4"));

    auto created = corsair_cli(cluster, {"queue", "create", "emails", "--max-length", "5", "--json"});
    REQUIRE(created.exit_code == 0);
    const auto settings = json_lines(created.out).at(0);
    CHECK(settings["created"] == true);
    CHECK(settings["max_length"] == 5);
    CHECK(corsair_cli(cluster, {"pause", "emails"}).exit_code == 0);

    restart_broker(cluster);
    CHECK(lists_queue(cluster, "emails"));
    CHECK_FALSE(lists_queue(cluster, "typo4"));
    CHECK(json_lines(corsair_cli(cluster, {"queue", "emails", "--json"}).out).at(0)["paused"] == true);

    REQUIRE(corsair_cli(cluster, {"submit", "emails", "held"}).exit_code == 0);
    CHECK(corsair_cli(cluster, {"queue", "delete", "emails"}).exit_code == 5);  // holds a job: wrong_state
    auto deleted = corsair_cli(cluster, {"queue", "delete", "emails", "--force", "--json"});
    REQUIRE(deleted.exit_code == 0);
    CHECK(json_lines(deleted.out).at(0)["jobs"] == 1);
    CHECK_FALSE(lists_queue(cluster, "emails"));

    restart_broker(cluster);
    CHECK_FALSE(lists_queue(cluster, "emails"));
}

TEST_CASE("corsair list, payload and purge --pending see into a paused queue and clear it",
          "[integration][cli][inspect]") {
    Cluster cluster;
    REQUIRE(corsair_cli(cluster, {"queue", "create", "backlog"}).exit_code == 0);
    REQUIRE(corsair_cli(cluster, {"pause", "backlog"}).exit_code == 0);
    std::vector<std::string> ids;
    for (const std::string payload : {"first", "second \xc3\xa9", "third"}) {
        auto submit = corsair_cli(cluster, {"submit", "backlog", payload});
        REQUIRE(submit.exit_code == 0);
        ids.push_back(submit.out.substr(0, submit.out.find('\n')));
    }

    auto listed = json_lines(corsair_cli(cluster, {"list", "backlog", "--json"}).out);
    REQUIRE(listed.size() == 3);
    CHECK(listed[0]["id"] == ids[0]);
    CHECK(listed[0]["state"] == "pending");
    CHECK(listed[0]["payload_bytes"] == 5);
    CHECK(listed[0]["created_at_ms"].is_number());
    CHECK(listed[0]["started_at_ms"].is_null());
    CHECK(json_lines(corsair_cli(cluster, {"list", "backlog", "--json", "--limit", "2"}).out).size() == 2);
    auto paged = json_lines(corsair_cli(cluster, {"list", "backlog", "--json", "--limit", "1", "--all"}).out);
    REQUIRE(paged.size() == 3);
    CHECK(paged[2]["id"] == ids[2]);
    CHECK(corsair_cli(cluster, {"list", "backlog"}).out.find("Queue backlog: 3 pending") != std::string::npos);

    auto payload = corsair_cli(cluster, {"payload", ids[1]});
    CHECK(payload.exit_code == 0);
    CHECK(payload.out == "second \xc3\xa9");
    CHECK(json_lines(corsair_cli(cluster, {"payload", ids[1], "--json"}).out).at(0)["payload"] == "second \xc3\xa9");
    auto status = json_lines(corsair_cli(cluster, {"status", ids[0], "--json"}).out).at(0);
    CHECK(status["created_at_ms"].is_number());
    auto stats = json_lines(corsair_cli(cluster, {"stats", "--json"}).out).at(0);
    CHECK(stats["version"].is_string());
    CHECK(stats["uptime_ms"].is_number());
    for (const auto& queue : stats["queues"]) {
        if (queue["queue"] == "backlog") CHECK(queue["oldest_pending_ms"].is_number());
    }

    auto purged = corsair_cli(cluster, {"purge", "backlog", "--pending"});
    CHECK(purged.exit_code == 0);
    CHECK(purged.out.find("purged 3 pending jobs") != std::string::npos);
    CHECK(json_lines(corsair_cli(cluster, {"list", "backlog", "--json"}).out).empty());
    CHECK(json_lines(corsair_cli(cluster, {"status", ids[0], "--json"}).out).at(0)["state"] == "cancelled");
    CHECK(corsair_cli(cluster, {"payload", ids[0]}).exit_code == 5);  // refused (wrong_state): the payload is gone
}
