// --max-in-flight: one producer connection may have at most that many new jobs waiting for their
// ACCEPTED (held for accept_within_ms or for the journal); the next new job is refused.
#include <map>
#include <sstream>

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "corsair/broker/journal_record.hpp"
#include "corsair/broker/scheduler.hpp"
#include "journal_sink.hpp"
#include "recording_outbox.hpp"
#include "scheduler_fixture.hpp"

namespace p = corsair::protocol;
using corsair::broker::BrokerOptions;
using corsair::broker::JournalRecord;
using corsair::broker::JournalSink;
using corsair::broker::Scheduler;
using corsair::broker::test::RecordingOutbox;
using corsair::broker::test::find_job;

namespace {

// Numbers records as a JournalWriter does, and keeps nothing.
class CountingSink final : public JournalSink {
public:
    std::uint64_t append(const JournalRecord&) override { return ++sequence; }
    std::uint64_t sequence = 0;
};

struct InFlightBroker {
    explicit InFlightBroker(std::uint64_t max_in_flight)
        : scheduler(options(max_in_flight), outbox,
                    std::make_shared<spdlog::logger>("test",
                                                     std::make_shared<spdlog::sinks::ostream_sink_st>(log_text))) {}

    static BrokerOptions options(std::uint64_t max_in_flight) {
        BrokerOptions o;
        o.max_in_flight = max_in_flight;
        o.random_seed = 42;
        return o;
    }
    // A SUBMIT awaiting its result that lets the broker hold its ACCEPTED for a second.
    void submit_held(const std::string& id, const std::string& producer = "P") {
        auto submit = p::make_submit(id, "q", true, p::make_payload("x-" + id));
        submit.accept_within_ms = 1000;
        scheduler.on_producer_message(producer, std::move(submit), now);
    }
    void submit_plain(const std::string& id, const std::string& producer = "P") {
        scheduler.on_producer_message(producer, p::make_submit(id, "q", false, p::make_payload("x-" + id)), now);
    }
    // Every ERROR (ACCEPTED) sent to `producer` so far: the outbox hands each message out once,
    // so what it handed out is kept here.
    std::vector<p::Error> errors(const std::string& producer = "P") {
        auto& seen = errors_seen[producer];
        for (auto& error : outbox.to_producer_of<p::Error>(producer)) seen.push_back(std::move(error));
        return seen;
    }
    std::vector<std::string> accepted_ids(const std::string& producer = "P") {
        auto& seen = accepted_seen[producer];
        for (const auto& accepted : outbox.to_producer_of<p::Accepted>(producer)) seen.push_back(accepted.id);
        return seen;
    }
    std::map<std::string, std::vector<p::Error>> errors_seen;
    std::map<std::string, std::vector<std::string>> accepted_seen;
    bool knows(const std::string& id) { return find_job(scheduler, outbox, id, now).has_value(); }
    std::size_t log_lines_with(const std::string& text) const {
        std::istringstream lines(log_text.str());
        std::size_t count = 0;
        for (std::string line; std::getline(lines, line);) count += line.find(text) != std::string::npos ? 1 : 0;
        return count;
    }

    std::ostringstream log_text;  // before the scheduler, which logs into it
    RecordingOutbox outbox;
    Scheduler scheduler;
    Scheduler::TimePoint now{std::chrono::seconds(1000)};
};

}  // namespace

TEST_CASE("a new SUBMIT past --max-in-flight held ACCEPTEDs is refused with too_many_in_flight naming the limit",
          "[broker][scheduler][in_flight_limit]") {
    InFlightBroker b(2);
    b.submit_held("a");
    b.submit_held("b");
    b.submit_held("c");
    auto errors = b.errors();
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == p::ErrorCode::too_many_in_flight);
    CHECK(errors[0].id == "c");
    CHECK(errors[0].command == "SUBMIT");
    CHECK(errors[0].max_in_flight == 2u);
    CHECK(b.knows("a"));
    CHECK_FALSE(b.knows("c"));
    CHECK(b.scheduler.counters().in_flight_refusals == 1);
    CHECK(b.scheduler.stats(b.now).counters.at("in_flight_refusals") == 1);

    SECTION("a resend of a job already taken is answered, not refused") {
        b.submit_held("a");
        CHECK(b.errors().size() == 1);
        CHECK(b.accepted_ids() == std::vector<std::string>{"a"});
    }
    SECTION("another connection has a count of its own") {
        b.submit_held("d", "P2");
        CHECK(b.errors("P2").empty());
        CHECK(b.knows("d"));
    }
    SECTION("once the held ACCEPTEDs go out the connection takes new jobs again") {
        b.now += std::chrono::milliseconds(1000);
        b.scheduler.fire_timers(b.now);
        CHECK(b.accepted_ids() == std::vector<std::string>{"a", "b"});
        b.submit_held("c");
        CHECK(b.errors().size() == 1);
        CHECK(b.knows("c"));
    }
}

TEST_CASE("submits refused at --max-in-flight are logged once a minute, not once each",
          "[broker][scheduler][in_flight_limit]") {
    InFlightBroker b(1);
    b.submit_held("a");
    for (int i = 0; i < 5; ++i) b.submit_held("late" + std::to_string(i));
    CHECK(b.errors().size() == 5);
    CHECK(b.scheduler.counters().in_flight_refusals == 5);
    CHECK(b.log_lines_with("submits refused: a producer connection is at --max-in-flight") == 1);
    CHECK(b.log_lines_with("max_in_flight=1 refused_since_last_line=1") == 1);
    // Still held past the minute (nothing fired its timer): the next refusal logs again, with the
    // four that went unlogged.
    b.now += std::chrono::seconds(61);
    b.submit_plain("late-again");
    CHECK(b.log_lines_with("submits refused") == 2);
    CHECK(b.log_lines_with("refused_since_last_line=5") == 1);
}

TEST_CASE("a RESULT that stands for a held ACCEPTED frees its place under --max-in-flight",
          "[broker][scheduler][in_flight_limit]") {
    InFlightBroker b(1);
    b.scheduler.on_worker_message("W", p::Ready{{"q"}, 1, "W"}, b.now);
    b.submit_held("a");
    b.submit_held("b");
    REQUIRE(b.errors().size() == 1);
    b.scheduler.on_worker_message("W", p::Done{"a", 1, p::make_payload("r")}, b.now);
    REQUIRE(b.outbox.to_producer_of<p::JobResult>("P").size() == 1);
    CHECK(b.accepted_ids().empty());  // folded into the RESULT
    b.submit_held("b");
    CHECK(b.errors().size() == 1);
    CHECK(b.knows("b"));
}

TEST_CASE("ACCEPTEDs held for the journal count in flight until it is durable",
          "[broker][scheduler][in_flight_limit]") {
    InFlightBroker b(2);
    CountingSink sink;
    b.scheduler.set_journal(&sink);
    b.submit_plain("a");
    b.submit_plain("b");
    b.submit_plain("c");
    REQUIRE(b.errors().size() == 1);
    CHECK(b.errors()[0].code == p::ErrorCode::too_many_in_flight);
    CHECK(b.accepted_ids().empty());
    b.scheduler.on_journal_durable(sink.sequence);
    CHECK(b.accepted_ids() == std::vector<std::string>{"a", "b"});
    b.submit_plain("c");
    b.scheduler.on_journal_durable(sink.sequence);
    CHECK(b.accepted_ids() == std::vector<std::string>{"a", "b", "c"});
    CHECK(b.errors().size() == 1);
}

TEST_CASE("a --max-in-flight of 0 takes any number of held ACCEPTEDs", "[broker][scheduler][in_flight_limit]") {
    InFlightBroker b(0);
    for (int i = 0; i < 100; ++i) b.submit_held("j" + std::to_string(i));
    CHECK(b.errors().empty());
    CHECK(b.knows("j99"));
}
