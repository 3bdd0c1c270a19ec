// The examples build and work against a real broker.
#include <fstream>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace std::chrono_literals;
using corsair::test::ChildProcess;
using corsair::test::Cluster;

TEST_CASE("the word-count example worker and producer count a file's words", "[integration][examples]") {
    Cluster cluster;
    ChildProcess worker({CORSAIR_WORD_COUNT_WORKER_BIN, "--broker", cluster.endpoints().workers}, {},
                        cluster.log_dir() + "/word-count-worker.log");
    REQUIRE(cluster.wait_for_workers(1));
    const std::string path = cluster.log_dir() + "/words.txt";
    {
        std::ofstream file(path);
        file << "the quick brown fox\njumps over\nthe lazy dog\n";
    }
    ChildProcess producer({CORSAIR_WORD_COUNT_PRODUCER_BIN, "--broker", cluster.endpoints().producers, path}, {},
                          cluster.log_dir() + "/word-count-producer.log");
    while (producer.read_line(30s)) {
    }
    auto status = producer.wait_exit(30s);
    REQUIRE(status);
    CHECK(WEXITSTATUS(*status) == 0);
    const auto& out = producer.stdout_text();
    INFO(out);
    CHECK(out.find("\"words\":9") != std::string::npos);
    CHECK(out.find("\"lines\":3") != std::string::npos);
}
