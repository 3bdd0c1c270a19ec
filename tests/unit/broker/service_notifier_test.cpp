// The service manager's notifications (service_notifier.hpp) on a manual clock: what is sent,
// when it is due, and that an off notifier is never due. The real datagrams, from the real
// broker, are in tests/integration/service_notify_test.cpp.
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>

#include "corsair/broker/service_notifier.hpp"

using corsair::broker::ServiceNotifier;
using namespace std::chrono_literals;

namespace {

struct Recorder {
    std::vector<std::string> sent;
    int answer = 1;  // what the "sd_notify" returns
    std::ostringstream log_text;
    std::shared_ptr<spdlog::logger> log =
        std::make_shared<spdlog::logger>("broker", std::make_shared<spdlog::sinks::ostream_sink_st>(log_text));

    ServiceNotifier notifier(std::chrono::microseconds watchdog_timeout) {
        return ServiceNotifier(
            [this](const std::string& text) {
                sent.push_back(text);
                return answer;
            },
            watchdog_timeout, log);
    }
};

const auto t0 = std::chrono::steady_clock::time_point{} + 1h;

}  // namespace

TEST_CASE("an off notifier sends nothing and is never due", "[broker][service_notifier]") {
    ServiceNotifier notifier;
    CHECK_FALSE(notifier.is_on());
    notifier.ready("ready", t0);
    notifier.stopping("stopping");
    int made = 0;
    notifier.send_due(t0 + 1h, [&] { return std::to_string(++made); });
    CHECK(notifier.next_due() == ServiceNotifier::TimePoint::max());
    CHECK(made == 0);
}

TEST_CASE("READY=1 carries the status, then WATCHDOG=1 goes out every half of the watchdog timeout",
          "[broker][service_notifier]") {
    Recorder recorder;
    auto notifier = recorder.notifier(1s);
    CHECK(notifier.next_due() == ServiceNotifier::TimePoint::max());
    notifier.ready("ready: 0 queues", t0);
    REQUIRE(recorder.sent == std::vector<std::string>{"READY=1\nSTATUS=ready: 0 queues"});
    CHECK(notifier.next_due() == t0 + 500ms);
    std::string status = "ready: 0 queues";
    const auto make_status = [&] { return status; };

    notifier.send_due(t0 + 499ms, make_status);
    CHECK(recorder.sent.size() == 1);
    notifier.send_due(t0 + 500ms, make_status);
    CHECK(recorder.sent.back() == "WATCHDOG=1");
    CHECK(notifier.next_due() == t0 + 1000ms);
    notifier.send_due(t0 + 1000ms, make_status);
    notifier.send_due(t0 + 1500ms, make_status);
    CHECK(recorder.sent.size() == 4);

    SECTION("an unchanged status is not sent again") {
        notifier.send_due(t0 + 2000ms, make_status);
        CHECK(recorder.sent.back() == "WATCHDOG=1");
        CHECK(notifier.next_due() == t0 + 2500ms);
    }
    SECTION("a changed status goes with the ping that is due with it") {
        status = "ready: 1 queue";
        notifier.send_due(t0 + 2000ms, make_status);
        CHECK(recorder.sent.back() == "WATCHDOG=1\nSTATUS=ready: 1 queue");
    }
    SECTION("after a stall, one ping, and the next one half a timeout later") {
        notifier.send_due(t0 + 10s, make_status);
        CHECK(recorder.sent.size() == 5);
        CHECK(recorder.sent.back() == "WATCHDOG=1");
        CHECK(notifier.next_due() == t0 + 10500ms);
    }
}

TEST_CASE("without a watchdog only a changed status is sent, at most once per status interval",
          "[broker][service_notifier]") {
    Recorder recorder;
    auto notifier = recorder.notifier(0us);
    notifier.ready("ready: 0 queues", t0);
    CHECK(notifier.next_due() == t0 + ServiceNotifier::kStatusInterval);
    int made = 0;
    std::string status = "ready: 0 queues";
    const auto make_status = [&] {
        ++made;
        return status;
    };
    notifier.send_due(t0 + 1s, make_status);
    CHECK(made == 0);
    notifier.send_due(t0 + ServiceNotifier::kStatusInterval, make_status);
    CHECK(made == 1);
    CHECK(recorder.sent.size() == 1);
    status = "ready: 2 queues";
    notifier.send_due(t0 + ServiceNotifier::kStatusInterval + 1s, make_status);
    CHECK(made == 1);
    notifier.send_due(t0 + 2 * ServiceNotifier::kStatusInterval, make_status);
    CHECK(recorder.sent.back() == "STATUS=ready: 2 queues");
}

TEST_CASE("STOPPING=1 carries the status, and the pings go on until the loop ends", "[broker][service_notifier]") {
    Recorder recorder;
    auto notifier = recorder.notifier(1s);
    notifier.ready("ready", t0);
    notifier.stopping("draining: 1 leased");
    CHECK(recorder.sent.back() == "STOPPING=1\nSTATUS=draining: 1 leased");
    notifier.send_due(t0 + 2s, [] { return std::string("draining: 1 leased"); });
    CHECK(recorder.sent.back() == "WATCHDOG=1");
}

TEST_CASE("a notification that cannot be sent is logged once until one is sent again", "[broker][service_notifier]") {
    Recorder recorder;
    auto notifier = recorder.notifier(1s);
    recorder.answer = -111;  // ECONNREFUSED: nobody reads the socket any more
    notifier.ready("ready", t0);
    notifier.send_due(t0 + 500ms, [] { return std::string("ready"); });
    notifier.send_due(t0 + 1000ms, [] { return std::string("ready"); });
    CHECK(recorder.sent.size() == 3);
    const auto text = recorder.log_text.str();
    CHECK(text.find("notification not sent error=Connection refused text=\"READY=1\"") != std::string::npos);
    CHECK(text.find("not sent", text.find("not sent") + 1) == std::string::npos);
    recorder.answer = 1;
    notifier.send_due(t0 + 1500ms, [] { return std::string("ready"); });
    CHECK(recorder.log_text.str().find("work again") != std::string::npos);
}
