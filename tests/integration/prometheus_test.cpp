// A real Prometheus (Debian's) scrapes a real broker's /metrics on loopback, and promtool lints
// what the broker serves (docs/http.md §Metrics).
#include <fstream>
#include <sstream>
#include <string>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cluster.hpp"
#include "deadline.hpp"
#include "http_client.hpp"
#include "scratch_dir.hpp"

using namespace std::chrono_literals;
using corsair::test::ChildProcess;
using corsair::test::Cluster;
using corsair::test::HttpClient;
using corsair::test::wait_until;
using nlohmann::json;

namespace {

// A loopback port free now. Prometheus cannot be told to pick one and report it, so the test
// picks it; the kernel does not hand out the same ephemeral port again at once.
int free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    socklen_t length = sizeof(address);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    ::close(fd);
    return ntohs(address.sin_port);
}

std::string read_text(const std::string& path) {
    std::ifstream file(path);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

void submit_jobs(HttpClient& http, const std::string& queue, int count) {
    for (int i = 0; i < count; ++i) {
        REQUIRE(http.post_json("/api/v1/queues/" + queue + "/jobs", {{"payload", "job " + std::to_string(i)}}).status == 202);
    }
}

}  // namespace

TEST_CASE("promtool finds nothing to fault in a live broker's /metrics", "[integration][http][metrics]") {
    INFO("promtool is missing: apt-get install prometheus");
    REQUIRE(std::string(CORSAIR_PROMTOOL) != "PROMTOOL-NOTFOUND");
    Cluster cluster;
    HttpClient http(cluster.endpoints().http);
    submit_jobs(http, "lint", 2);
    cluster.start_worker("echo", {"--builtin", "echo"}, "lint", 2);
    REQUIRE(wait_until([&] { return http.get("/api/v1/queues/lint").json()["done"] == 2; }, 10s));
    corsair::test::ScratchDir folder;
    const std::string metrics = folder.path().string() + "/metrics.txt";
    std::ofstream(metrics) << http.get("/metrics").body;
    const std::string report = folder.path().string() + "/promtool.txt";
    ChildProcess promtool({"/bin/sh", "-c", std::string(CORSAIR_PROMTOOL) + " check metrics < '" + metrics + "' > '" + report + "' 2>&1"});
    const auto status = promtool.wait_exit(30s);
    REQUIRE(status);
    INFO(read_text(report));
    CHECK(WEXITSTATUS(*status) == 0);
    CHECK(read_text(report).empty());
    const auto text = read_text(metrics);
    CHECK_THAT(text, Catch::Contains("corsair_jobs_done_total{queue=\"lint\"} 2"));
    CHECK_THAT(text, Catch::Contains("corsair_job_run_seconds_count{queue=\"lint\"} 2"));
    CHECK_THAT(text, Catch::Contains("process_resident_memory_bytes"));
}

TEST_CASE("a real Prometheus scrapes the broker and its query API finds the series with the right value",
          "[integration][http][metrics]") {
    INFO("prometheus is missing: apt-get install prometheus");
    REQUIRE(std::string(CORSAIR_PROMETHEUS) != "PROMETHEUS-NOTFOUND");
    Cluster cluster;
    HttpClient http(cluster.endpoints().http);
    submit_jobs(http, "scraped", 3);

    corsair::test::ScratchDir folder;
    const std::string config = folder.path().string() + "/prometheus.yml";
    std::ofstream(config) << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                             "scrape_configs:\n  - job_name: corsair\n    static_configs:\n      - targets: ['"
                          << cluster.endpoints().http << "']\n";
    const std::string listen = "127.0.0.1:" + std::to_string(free_loopback_port());
    ChildProcess prometheus({CORSAIR_PROMETHEUS, "--config.file=" + config,
                             "--storage.tsdb.path=" + folder.path().string() + "/tsdb", "--web.listen-address=" + listen},
                            {}, folder.path().string() + "/prometheus.log");
    HttpClient query(listen);
    json found;
    const bool has_value = wait_until(
        [&] {
            const auto answer = query.get("/api/v1/query?query=corsair_jobs_submitted_total%7Bqueue%3D%22scraped%22%7D");
            if (answer.status != 200) return false;
            const auto result = answer.json()["data"]["result"];
            if (!result.is_array() || result.empty()) return false;
            found = result[0];
            return found["value"][1] == "3";
        },
        60s, 200ms);
    INFO(read_text(folder.path().string() + "/prometheus.log").substr(0, 4000));
    INFO(found.dump());
    CHECK(has_value);
    CHECK(found["metric"]["job"] == "corsair");
    CHECK(found["metric"]["instance"] == cluster.endpoints().http);
    const auto targets = query.get("/api/v1/targets").json();
    CHECK(targets["data"]["activeTargets"][0]["health"] == "up");
    prometheus.kill_and_reap();
}
