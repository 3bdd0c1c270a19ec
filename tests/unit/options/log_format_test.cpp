// Every program's log line starts with the time in UTC, marked Z (log_format.hpp), and with
// --log-format json is one JSON object per line (json_log_formatter.hpp).
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
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

namespace {

nlohmann::json json_line_of(const std::function<void(spdlog::logger&)>& write) {
    std::ostringstream out;
    spdlog::logger log("broker", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
    corsair::options::use_log_format(log, corsair::options::LogFormat::json);
    write(log);
    const std::string text = out.str();
    INFO(text);
    REQUIRE(!text.empty());
    REQUIRE(text.back() == '\n');
    REQUIRE(text.find('\n') == text.size() - 1);  // one line
    return nlohmann::json::parse(text);
}

}  // namespace

TEST_CASE("a JSON log line holds the time, level, logger, the fixed text and each field, typed",
          "[options][log]") {
    const auto line = json_line_of([](spdlog::logger& log) {
        log.warn("worker joined worker={} capacity={} queues=emails ratio=1.5 offset=-3 inline=true",
                 corsair::protocol::quoted("host-7:311"), 4);
    });
    CHECK(line.size() == 10);
    CHECK(std::regex_match(line["time"].get<std::string>(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
    CHECK(line["level"] == "warning");
    CHECK(line["logger"] == "broker");
    CHECK(line["message"] == "worker joined");
    CHECK(line["worker"] == "host-7:311");
    CHECK(line["capacity"] == 4);
    CHECK(line["queues"] == "emails");
    CHECK(line["ratio"] == "1.5");
    CHECK(line["offset"] == -3);
    CHECK(line["inline"] == true);
}

TEST_CASE("a JSON log line gives a quoted field back as the peer wrote it, and keeps unprintable bytes visible",
          "[options][log]") {
    const std::string error = "Traceback:\n  \"x.py\" line 3\tkey=value \\ end";
    const auto line = json_line_of([&](spdlog::logger& log) {
        log.warn("job failed job={} error={}", corsair::protocol::quoted("j-17"), corsair::protocol::quoted(error));
    });
    CHECK(line["message"] == "job failed");
    CHECK(line["job"] == "j-17");
    CHECK(line["error"] == error);
    const auto bytes = json_line_of([](spdlog::logger& log) {
        log.warn("bad queue queue={}", corsair::protocol::quoted(std::string("q\x80\x01", 3)));
    });
    CHECK(bytes["queue"] == "q\\x80\\x01");
}

TEST_CASE("a JSON log line keeps a message whole when its tail is not all key=value fields", "[options][log]") {
    SECTION("free text") {
        const auto line = json_line_of([](spdlog::logger& log) { log.info("draining: a=b is not a field here"); });
        CHECK(line["message"] == "draining: a=b is not a field here");
        CHECK(line.size() == 4);
    }
    SECTION("text after the fields") {
        const auto line = json_line_of([](spdlog::logger& log) { log.info("stopped jobs=3 and then some"); });
        CHECK(line["message"] == "stopped jobs=3 and then some");
        CHECK(line.size() == 4);
    }
    SECTION("a field named like the line's own keys does not replace them") {
        const auto line = json_line_of([](spdlog::logger& log) { log.info("odd level=9 message=x queue=q"); });
        CHECK(line["level"] == "info");
        CHECK(line["message"] == "odd");
        CHECK(line["queue"] == "q");
    }
    SECTION("an unclosed quote") {
        const auto line = json_line_of([](spdlog::logger& log) { log.info("cut error=\"abc"); });
        CHECK(line["message"] == "cut error=\"abc");
    }
    SECTION("control characters and bytes that are not UTF-8 stay valid JSON") {
        const auto line = json_line_of([](spdlog::logger& log) { log.info("ctl \x01 and \xff byte"); });
        CHECK(line["message"] == "ctl \x01 and \\xff byte");
    }
}
