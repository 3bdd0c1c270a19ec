// Every program's log line starts with the time in UTC, marked Z (log_format.hpp).
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <memory>
#include <regex>
#include <sstream>

#include "corsair/options/log_format.hpp"

TEST_CASE("a log line starts with the UTC time and its zone, then the logger and the level", "[options][log]") {
    std::ostringstream out;
    spdlog::logger log("broker", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
    corsair::options::use_log_format(log);
    const std::time_t before = std::time(nullptr);
    log.info("worker joined worker={}", "\"w1\"");
    const std::string line = out.str();
    INFO(line);
    std::smatch match;
    REQUIRE(std::regex_match(line, match,
                             std::regex(R"((\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):\d\d\.\d{3}Z broker info worker joined worker="w1"\n)")));
    std::tm utc{};
    gmtime_r(&before, &utc);
    // The hour is UTC's (allowing for the line being written just after a full hour).
    const int hour = std::stoi(match[4]);
    CHECK((hour == utc.tm_hour || hour == (utc.tm_hour + 1) % 24));
}
