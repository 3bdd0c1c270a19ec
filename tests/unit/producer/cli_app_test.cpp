// The `corsair` command line end to end (run_cli), against fake brokers: flags, what reaches the
// wire, what is printed, and exit codes.
#include "cli_app.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "corsair/options/flags.hpp"
#include "fake_broker.hpp"
#include "timestamp.hpp"

using namespace std::chrono_literals;
using corsair::test::FakeBroker;
using corsair::test::ThreadedBroker;
namespace cli = corsair::producer::cli;
namespace protocol = corsair::protocol;
namespace test = corsair::test;
using nlohmann::json;

namespace {

using TimePoint = std::chrono::system_clock::time_point;

// 2026-11-23T16:00:00Z: the wall clock every test run sees.
const TimePoint kNow{std::chrono::seconds(1'795'449'600)};

struct CliRun {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// With `app`, that CliApp parses and runs the command line; without, run_cli builds one.
CliRun run(zmq::context_t& context, const std::vector<std::string>& args, const std::string& input = {},
           TimePoint now = kNow, bool is_out_terminal = false, cli::CliApp* app = nullptr) {
    std::vector<const char*> argv{"corsair"};
    for (const auto& arg : args) argv.push_back(arg.c_str());
    std::ostringstream out;
    std::ostringstream err;
    std::istringstream in(input);
    cli::CliStreams streams{out, err, in, false, [now] { return now; }, is_out_terminal};
    CliRun result;
    const int argc = static_cast<int>(argv.size());
    result.exit_code = app != nullptr ? app->run(context, argc, argv.data(), streams)
                                      : cli::run_cli(context, argc, argv.data(), streams);
    result.out = out.str();
    result.err = err.str();
    return result;
}

std::vector<json> json_lines(const std::string& text) {
    std::vector<json> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
    return lines;
}

// Everything the threaded broker received, for the test thread to inspect once the CLI returned.
class Recorder {
public:
    // Called before the broker answers, so a CLI that got its answer finds its request here.
    void add(const protocol::Message& message) {
        std::lock_guard lock(mutex_);
        std::visit(
            [this](const auto& m) {
                using T = std::decay_t<decltype(m)>;
                if constexpr (std::is_same_v<T, protocol::Submit>) {
                    protocol::Submit copy;
                    copy.id = m.id;
                    copy.queue = m.queue;
                    copy.wants_result = m.wants_result;
                    copy.payload = protocol::make_payload(protocol::view_of(m.payload));
                    copy.priority = m.priority;
                    copy.retry = m.retry;
                    copy.timeout_ms = m.timeout_ms;
                    copy.delay_ms = m.delay_ms;
                    copy.run_at_ms = m.run_at_ms;
                    copy.unique_key = m.unique_key;
                    messages_.emplace_back(std::move(copy));
                } else if constexpr (std::is_copy_constructible_v<T> && !std::is_same_v<T, protocol::Jobs> &&
                                     !std::is_same_v<T, protocol::Dones> &&
                                     !std::is_same_v<T, protocol::Results>) {  // vectors of move-only messages
                    messages_.emplace_back(m);
                }
            },
            message);
    }

    // Moves out every recorded message of type T.
    template <class T>
    std::vector<T> take() {
        std::lock_guard lock(mutex_);
        std::vector<T> found;
        for (auto& message : messages_) {
            if (auto* m = std::get_if<T>(&message)) found.push_back(std::move(*m));
        }
        return found;
    }

private:
    std::mutex mutex_;
    std::vector<protocol::Message> messages_;
};

protocol::DeadJob dead_job(std::string id, std::vector<protocol::AttemptError> errors) {
    protocol::DeadJob job;
    job.id = std::move(id);
    job.attempts = static_cast<std::uint32_t>(errors.size());
    job.died_ms_ago = 125'000;
    job.payload_bytes = 3;
    job.errors = std::move(errors);
    return job;
}

// A broker with a little of everything: see each branch.
void answer(FakeBroker& fake, FakeBroker::Received& received) {
    const auto& to = received.routing_id;
    if (auto* submit = std::get_if<protocol::Submit>(&received.message)) {
        if (submit->queue == "full") {
            fake.send(to, test::error(protocol::ErrorCode::queue_full, submit->id, "SUBMIT", "queue full holds 1 job"));
            return;
        }
        if (submit->unique_key == "taken") {
            fake.send(to, test::accepted(submit->id, true, "holder"));
            return;
        }
        fake.send(to, test::accepted(submit->id));
        if (!submit->wants_result) return;
        const auto payload = protocol::view_of(submit->payload);
        fake.send(to, protocol::Progress{submit->id, 1, 50, "half"});
        if (payload == "to-be-cancelled") {
            fake.send(to, test::job_result(submit->id, protocol::JobState::cancelled, 1, "cancelled by operator"));
        } else if (payload == "to-fail") {
            fake.send(to, test::job_result(submit->id, protocol::JobState::failed, 3, "exit status 1"));
        } else if (payload == "echo" || payload.find('\0') != std::string_view::npos) {
            fake.send(to, test::job_result(submit->id, protocol::JobState::done, 1, "", payload));
        } else {
            fake.send(to, test::job_result(submit->id, protocol::JobState::done, 1, "", "result-bytes"));
        }
    } else if (auto* cancel = std::get_if<protocol::Cancel>(&received.message)) {
        if (cancel->id == "done-job") {
            fake.send(to,
                      test::error(protocol::ErrorCode::wrong_state, cancel->id, "CANCEL", "job done-job has ended"));
        } else {
            fake.send(to, test::ok("CANCEL", cancel->id, 1));
        }
    } else if (auto* retry = std::get_if<protocol::Retry>(&received.message)) {
        fake.send(to, test::ok("RETRY", retry->id.empty() ? retry->queue : retry->id, retry->id.empty() ? 4 : 1));
    } else if (auto* purge = std::get_if<protocol::Purge>(&received.message)) {
        fake.send(to, test::ok("PURGE", purge->queue, purge->id.empty() ? 2 : 1));
    } else if (auto* dead = std::get_if<protocol::DeadRequest>(&received.message)) {
        protocol::DeadReply reply;
        reply.queue = dead->queue;
        if (dead->queue == "empty") {
            fake.send(to, std::move(reply));
            return;
        }
        reply.total = 3;
        reply.jobs.push_back(dead_job("d-1", {{1, "timed out after 30s"}, {2, "exit status 1"}}));
        reply.jobs.push_back(dead_job("d-2", {{1, "line one\nline two"}}));
        fake.send(to, std::move(reply));
    } else if (auto* settings = std::get_if<protocol::QueueSettings>(&received.message)) {
        protocol::QueueSettings now_set;
        now_set.queue = settings->queue;
        now_set.is_paused = settings->is_paused.value_or(false);
        now_set.max_length = settings->max_length.value_or(protocol::kDefaultMaxQueueLength);
        now_set.retry.max_attempts = settings->retry.max_attempts.value_or(3);
        now_set.retry.backoff_ms = settings->retry.backoff_ms.value_or(1000);
        now_set.retry.backoff_max_ms = 600'000;
        now_set.retry.backoff_jitter_pct = 20;
        now_set.timeout_ms = settings->timeout_ms.value_or(0);
        now_set.dead_max_count = 10'000;
        now_set.dead_max_age_ms = 7ULL * 24 * 3'600'000;
        fake.send(to, std::move(now_set));
    } else if (auto* status = std::get_if<protocol::StatusRequest>(&received.message)) {
        if (status->id == "done-job") {
            auto reply = test::status_reply(status->id, protocol::JobState::done, 1);
            reply.payload = protocol::make_payload(std::string_view("\x89PNG\0\xff", 6));
            fake.send(to, std::move(reply));
            return;
        }
        if (status->id == "nosuch") {
            fake.send(to, test::error(protocol::ErrorCode::unknown_job, status->id, "STATUS", "no job nosuch"));
            return;
        }
        auto reply = test::status_reply(status->id, protocol::JobState::delayed, 2);
        reply.max_attempts = 5;
        reply.priority = 10;
        reply.ready_in_ms = 4500;
        reply.progress = 40;
        reply.progress_message = "resizing";
        reply.error = "exit status 2";
        reply.errors = {{1, "exit status 1"}, {2, "exit status 2"}};
        fake.send(to, std::move(reply));
    } else if (std::holds_alternative<protocol::StatsRequest>(received.message)) {
        protocol::StatsReply stats;
        stats.queues.push_back({"images", 1, 2, 3, 4, 5, 6, true});
        fake.send(to, std::move(stats));
    }
}

// A ThreadedBroker running answer() that records what it received.
struct RecordingBroker {
    explicit RecordingBroker(zmq::context_t& context)
        : broker(context, [this](FakeBroker& fake, FakeBroker::Received& received) {
              recorder.add(received.message);
              answer(fake, received);
          }) {}

    Recorder recorder;
    ThreadedBroker broker;
};

}  // namespace

TEST_CASE("bad flag values exit 2 naming the flag, and send nothing", "[producer][cli]") {
    zmq::context_t context;
    FakeBroker broker(context);
    std::vector<std::string> args;
    std::string flag;
    SECTION("priority out of range") { args = {"submit", "q", "p", "--priority", "5000"}, flag = "--priority"; }
    SECTION("priority not a number") { args = {"submit", "q", "p", "--priority", "urgent"}, flag = "--priority"; }
    SECTION("attempts out of range") { args = {"submit", "q", "p", "--max-attempts", "0"}, flag = "--max-attempts"; }
    SECTION("negative timeout") { args = {"submit", "q", "p", "--timeout", "-1s"}, flag = "--timeout"; }
    SECTION("unparseable timeout") { args = {"submit", "q", "p", "--timeout", "forever"}, flag = "--timeout"; }
    SECTION("negative delay") { args = {"submit", "q", "p", "--delay=-5s"}, flag = "--delay"; }
    SECTION("unparseable --at") { args = {"submit", "q", "p", "--at", "tomorrow"}, flag = "--at"; }
    SECTION("--at in the past") { args = {"submit", "q", "p", "--at", "2026-11-23T15:59:59Z"}, flag = "--at"; }
    SECTION("--delay with --at") {
        args = {"submit", "q", "p", "--delay", "1s", "--at", "2026-12-01T00:00:00Z"};
        flag = "--delay and --at";
    }
    SECTION("jitter over 100") { args = {"submit", "q", "p", "--jitter", "150"}, flag = "--jitter"; }
    SECTION("zero backoff") { args = {"submit", "q", "p", "--backoff", "0"}, flag = "--backoff"; }
    SECTION("backoff max in days") { args = {"submit", "q", "p", "--backoff-max", "2d"}, flag = "--backoff-max"; }
    SECTION("empty unique key") { args = {"submit", "q", "p", "--unique", ""}, flag = "--unique"; }
    SECTION("with --file too") { args = {"submit", "q", "--file", "-", "--priority", "-1001"}, flag = "--priority"; }
    SECTION("queue settings") { args = {"queue", "q", "--max-attempts", "101"}, flag = "--max-attempts"; }
    SECTION("queue dead max age") { args = {"queue", "q", "--dead-max-age", "0"}, flag = "--dead-max-age"; }
    SECTION("dead --limit") { args = {"dead", "q", "--limit", "0"}, flag = "--limit"; }
    SECTION("retry --all without a queue") { args = {"retry", "--all"}, flag = "TARGET"; }
    SECTION("the old --timeout of status is --wait-timeout now") {
        args = {"status", "j", "--timeout", "1s"}, flag = "--timeout";
    }
    SECTION("a bad --wait-timeout") { args = {"stats", "--wait-timeout", "soon"}, flag = "--wait-timeout"; }
    SECTION("a --wait-timeout of 0, which would give up at once") {
        args = {"stats", "--wait-timeout", "0s"}, flag = "--wait-timeout";
    }
    SECTION("a --window of 0") { args = {"submit", "q", "--file", "-", "--window", "0"}, flag = "--window"; }
    args.push_back("--broker");
    args.push_back(broker.endpoint());
    const auto result = run(context, args, "line\n");
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Catch::Contains(flag));
    CHECK(result.out.empty());
    CHECK_FALSE(broker.receive(20ms).has_value());
}

TEST_CASE("submit --at is checked against the injected clock", "[producer][cli]") {
    zmq::context_t context;
    RecordingBroker broker(context);
    SECTION("a time before 'now' is refused even when the real clock is earlier") {
        const TimePoint year_2100{std::chrono::seconds(4'102'444'800)};
        const auto result = run(context, {"submit", "q", "p", "--at", "2099-12-31T23:59:59Z", "--broker",
                                          broker.broker.endpoint()},
                                {}, year_2100);
        CHECK(result.exit_code == 2);
        CHECK_THAT(result.err, Catch::Contains("--at must be in the future") &&
                                   Catch::Contains("2099-12-31T23:59:59Z is before now, 2100-01-01T00:00:00Z"));
    }
    SECTION("@UNIX_SECONDS and offsets reach the SUBMIT as Unix milliseconds") {
        // The Producer checks run_at against the real clock too, so these times are an hour
        // ahead of it; "now" is injected as the real time, rounded to a second.
        const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
        const auto at = now + 1h;
        const auto at_seconds = std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
        // The same instant written in UTC+01:00, with half a second more.
        auto with_offset = cli::format_timestamp(at + 1h + 500ms);
        with_offset.replace(with_offset.size() - 1, 1, "+01:00");
        const auto& endpoint = broker.broker.endpoint();
        CHECK(run(context, {"submit", "q", "p", "--at", "@" + std::to_string(at_seconds), "--broker", endpoint}, {},
                  now)
                  .exit_code == 0);
        CHECK(run(context, {"submit", "q", "p", "--at", with_offset, "--broker", endpoint}, {}, now).exit_code == 0);
        const auto submits = broker.recorder.take<protocol::Submit>();
        REQUIRE(submits.size() == 2);
        const auto at_ms = static_cast<std::uint64_t>(at_seconds) * 1000;
        CHECK(submits[0].run_at_ms == at_ms);
        CHECK(submits[1].run_at_ms == at_ms + 500);
    }
    SECTION("a time more than 365 days ahead is refused") {
        const auto result =
            run(context, {"submit", "q", "p", "--at", "2027-11-23T16:00:01Z", "--broker", broker.broker.endpoint()});
        CHECK(result.exit_code == 2);
        CHECK_THAT(result.err, Catch::Contains("--at must be at most 8760h (365 days) ahead"));
    }
}

TEST_CASE("submit's job flags reach every SUBMIT header", "[producer][cli]") {
    zmq::context_t context;
    RecordingBroker broker(context);
    SECTION("one job") {
        const auto result = run(context, {"submit", "reports", "p", "--priority", "7", "--max-attempts", "5",
                                          "--timeout", "30s", "--unique", "nightly", "--backoff", "2s",
                                          "--backoff-max", "1m", "--jitter", "10", "--broker",
                                          broker.broker.endpoint()});
        CHECK(result.exit_code == 0);
        const auto submits = broker.recorder.take<protocol::Submit>();
        REQUIRE(submits.size() == 1);
        const auto& submit = submits[0];
        CHECK(result.out == submit.id + "\n");
        CHECK(submit.queue == "reports");
        CHECK(submit.priority == 7);
        CHECK(submit.retry.max_attempts == 5u);
        CHECK(submit.timeout_ms == 30'000u);
        CHECK(submit.unique_key == "nightly");
        CHECK(submit.retry.backoff_ms == 2000u);
        CHECK(submit.retry.backoff_max_ms == 60'000u);
        CHECK(submit.retry.backoff_jitter_pct == 10u);
        CHECK(submit.delay_ms == 0u);
        CHECK_FALSE(submit.run_at_ms);
    }
    SECTION("every line of --file") {
        const auto result = run(context, {"submit", "lines", "--file", "-", "--delay", "1m", "--priority", "-3",
                                          "--timeout", "0", "--broker", broker.broker.endpoint()},
                                "first\nsecond\n");
        CHECK(result.exit_code == 0);
        const auto submits = broker.recorder.take<protocol::Submit>();
        REQUIRE(submits.size() == 2);
        for (const auto& submit : submits) {
            CHECK(submit.delay_ms == 60'000u);
            CHECK(submit.priority == -3);
            CHECK(submit.timeout_ms == 0u);
        }
    }
    SECTION("a plain job carries no options") {
        CHECK(run(context, {"submit", "q", "p", "--broker", broker.broker.endpoint()}).exit_code == 0);
        const auto submits = broker.recorder.take<protocol::Submit>();
        REQUIRE(submits.size() == 1);
        CHECK_FALSE(submits[0].timeout_ms);
        CHECK_FALSE(submits[0].retry.max_attempts);
        CHECK(submits[0].unique_key.empty());
    }
}

TEST_CASE("one CliApp runs command line after command line, and none sees an earlier one's flags",
          "[producer][cli]") {
    zmq::context_t context;
    RecordingBroker broker(context);
    const auto& endpoint = broker.broker.endpoint();
    cli::CliApp app;
    const auto run_reused = [&](const std::vector<std::string>& args) {
        return run(context, args, {}, kNow, false, &app);
    };
    // Each line, run by the reused app, prints what a fresh one prints (ids aside: each SUBMIT
    // has a fresh one).
    const auto check_as_fresh = [&](const std::vector<std::string>& args) {
        const auto reused = run_reused(args);
        const auto fresh = run(context, args);
        CHECK(reused.exit_code == fresh.exit_code);
        CHECK(reused.err == fresh.err);
        return reused;
    };

    auto first = check_as_fresh({"submit", "reports", "p", "--priority", "7", "--timeout", "30s", "--unique", "k",
                                 "--json", "--broker", endpoint});
    CHECK(first.exit_code == 0);
    CHECK(json_lines(first.out).size() == 1);

    const auto plain = run_reused({"submit", "q", "p", "--broker", endpoint});
    CHECK(plain.exit_code == 0);
    const auto submits = broker.recorder.take<protocol::Submit>();
    REQUIRE(submits.size() == 3);  // the first line's, reused and fresh, then this one
    CHECK(submits[0].priority == 7);
    const auto& last = submits.back();
    CHECK(plain.out == last.id + "\n");  // text, not --json
    CHECK(last.priority == 0);
    CHECK_FALSE(last.timeout_ms);
    CHECK(last.unique_key.empty());

    // A usage error in between leaves nothing behind either.
    CHECK(check_as_fresh({"dead", "q", "--limit", "0", "--broker", endpoint}).exit_code == 2);
    CHECK(run_reused({"dead", "q", "--limit", "5", "--broker", endpoint}).exit_code == 0);
    CHECK(check_as_fresh({"dead", "q", "--broker", endpoint}).exit_code == 0);
    const auto requests = broker.recorder.take<protocol::DeadRequest>();
    REQUIRE(requests.size() == 3);  // --limit 5, then the reused app's and the fresh one's
    CHECK(requests[0].limit == 5);
    CHECK(requests[1].limit == 100);

    // --print-config shows the defaults once more, not the --broker of the line before.
    check_as_fresh({"stats", "--broker", "tcp://127.0.0.1:1", "--wait-timeout", "3s", "--print-config"});
    const auto config = check_as_fresh({"--print-config"});
    CHECK(config.out == run(context, {"--print-config"}).out);
    CHECK_THAT(config.out, !Catch::Contains("tcp://127.0.0.1:1"));

    CHECK(run_reused({"retry", "--all", "images", "--broker", endpoint}).exit_code == 0);
    const auto one = check_as_fresh({"retry", "d-1", "--broker", endpoint});
    CHECK(one.exit_code == 0);
    const auto retries = broker.recorder.take<protocol::Retry>();
    REQUIRE(retries.size() == 3);
    CHECK(retries[0].queue == "images");
    CHECK(retries[1].id == "d-1");  // not --all's queue
    CHECK(retries[1].queue.empty());
}

TEST_CASE("submit with a unique key that matched a live job prints that job's id", "[producer][cli]") {
    zmq::context_t context;
    RecordingBroker broker(context);
    const auto text = run(context, {"submit", "q", "p", "--unique", "taken", "--broker", broker.broker.endpoint()});
    CHECK(text.exit_code == 0);
    CHECK(text.out == "holder\n");
    CHECK_THAT(text.err, Catch::Contains("matched job holder"));
    const auto as_json =
        run(context, {"submit", "q", "p", "--unique", "taken", "--json", "--broker", broker.broker.endpoint()});
    const auto lines = json_lines(as_json.out);
    REQUIRE(lines.size() == 1);
    // `id` is always the job: the submit's own id names no job.
    CHECK(lines[0] == json{{"id", "holder"}, {"queue", "q"}, {"existed", true}});
}

TEST_CASE("submit --wait shows progress, and a cancelled job exits 1", "[producer][cli]") {
    zmq::context_t context;
    RecordingBroker broker(context);
    SECTION("text: progress on stderr, the result on stdout") {
        const auto result = run(context, {"submit", "q", "work", "--wait", "--broker", broker.broker.endpoint()});
        CHECK(result.exit_code == 0);
        CHECK(result.out == "result-bytes");
        CHECK_THAT(result.err, Catch::Contains(": 50% half\n"));
    }
    SECTION("text: cancelled") {
        const auto result =
            run(context, {"submit", "q", "to-be-cancelled", "--wait", "--broker", broker.broker.endpoint()});
        CHECK(result.exit_code == 1);
        CHECK(result.out.empty());
        CHECK_THAT(result.err, Catch::Contains("was cancelled: cancelled by operator"));
    }
    SECTION("JSON: one object per progress report, then the outcome") {
        const auto result =
            run(context, {"submit", "q", "to-be-cancelled", "--wait", "--json", "--broker", broker.broker.endpoint()});
        CHECK(result.exit_code == 1);
        const auto lines = json_lines(result.out);
        REQUIRE(lines.size() == 2);
        const auto id = lines[1]["id"];
        CHECK(lines[0] == json{{"id", id},           {"queue", "q"},    {"state", "running"},
                               {"attempt", 1},       {"progress", 50},  {"progress_message", "half"}});
        CHECK(lines[1]["state"] == "cancelled");
        CHECK(lines[1]["error"] == "cancelled by operator");
    }
    SECTION("--file --json --wait prints progress objects too, and counts cancelled jobs") {
        const auto result =
            run(context, {"submit", "q", "--file", "-", "--wait", "--json", "--broker", broker.broker.endpoint()},
                "work\nto-be-cancelled\n");
        CHECK(result.exit_code == 1);
        const auto lines = json_lines(result.out);
        CHECK(std::count_if(lines.begin(), lines.end(), [](const json& j) { return j["state"] == "running"; }) == 2);
        CHECK(std::count_if(lines.begin(), lines.end(), [](const json& j) { return j["state"] == "cancelled"; }) == 1);
        CHECK_THAT(result.err, Catch::Contains("done 1, failed 0, cancelled 1"));
    }
}

TEST_CASE("how long to wait for the broker is --wait-timeout", "[producer][cli]") {
    zmq::context_t context;
    FakeBroker broker(context);  // bound, never answers
    const auto stats = run(context, {"stats", "--wait-timeout", "200ms", "--broker", broker.endpoint()});
    CHECK(stats.exit_code == 4);
    CHECK(stats.err == "corsair: no answer from the broker at " + broker.endpoint() +
                           " within 200ms (is it running, and is that its producer endpoint? see --broker, "
                           "CORSAIR_PRODUCER_ENDPOINT, --wait-timeout)\n");
    const auto submit = run(context, {"submit", "q", "p", "--wait", "--wait-timeout", "300ms", "--timeout", "1h",
                                      "--broker", broker.endpoint()});
    CHECK(submit.exit_code == 4);
    CHECK_THAT(submit.err, Catch::StartsWith("corsair: no answer from the broker at ") &&
                               Catch::Contains("within 300ms"));
    // The job's own --timeout went to the broker, not into how long the CLI waited. (The STATS
    // request and the SUBMIT's resends are in the broker's queue too.)
    std::optional<protocol::Submit> sent;
    while (!sent) {
        auto received = broker.receive(1s);
        REQUIRE(received);
        if (auto* request = std::get_if<protocol::Submit>(&received->message)) sent = std::move(*request);
    }
    CHECK(sent->timeout_ms == 3'600'000u);
}

TEST_CASE("job and queue commands send their request and print the answer", "[producer][cli]") {
    zmq::context_t context;
    RecordingBroker broker(context);
    const auto& endpoint = broker.broker.endpoint();
    SECTION("cancel") {
        const auto result = run(context, {"cancel", "j-1", "--broker", endpoint});
        CHECK(result.exit_code == 0);
        CHECK(result.out == "cancelled job j-1\n");
        REQUIRE(broker.recorder.take<protocol::Cancel>().size() == 1);
        CHECK(json_lines(run(context, {"cancel", "j-1", "--json", "--broker", endpoint}).out).at(0) ==
              json{{"id", "j-1"}, {"state", "cancelled"}});
    }
    SECTION("cancel refused: the broker's code and message, exit 5") {
        const auto result = run(context, {"cancel", "done-job", "--broker", endpoint});
        CHECK(result.exit_code == 5);
        CHECK_THAT(result.err, Catch::Contains("wrong_state: job done-job has ended"));
    }
    SECTION("retry one job, and a queue's dead set") {
        CHECK(run(context, {"retry", "d-1", "--broker", endpoint}).out == "job d-1 is pending again\n");
        CHECK(run(context, {"retry", "--all", "images", "--broker", endpoint}).out ==
              "retried 4 jobs from the dead set of queue images\n");
        const auto retries = broker.recorder.take<protocol::Retry>();
        REQUIRE(retries.size() == 2);
        CHECK(retries[0].id == "d-1");
        CHECK(retries[0].queue.empty());
        CHECK(retries[1].id.empty());
        CHECK(retries[1].queue == "images");
    }
    SECTION("purge a dead set, or one job") {
        CHECK(run(context, {"purge", "images", "--broker", endpoint}).out ==
              "purged 2 jobs from the dead set of queue images\n");
        CHECK(json_lines(run(context, {"purge", "images", "d-2", "--json", "--broker", endpoint}).out).at(0) ==
              json{{"queue", "images"}, {"id", "d-2"}, {"purged", 1}});
        const auto purges = broker.recorder.take<protocol::Purge>();
        REQUIRE(purges.size() == 2);
        CHECK(purges[1].id == "d-2");
    }
    SECTION("dead: a table, or one JSON document with each job's error history") {
        const auto table = run(context, {"dead", "images", "--limit", "2", "--broker", endpoint});
        CHECK(table.exit_code == 0);
        CHECK_THAT(table.out, Catch::StartsWith("Dead jobs in queue images: 3 (showing the newest 2)\n") &&
                                  Catch::Contains("exit status 1") && Catch::Contains("2m05s ago"));
        const auto requests = broker.recorder.take<protocol::DeadRequest>();
        REQUIRE(requests.size() == 1);
        CHECK(requests[0].limit == 2);
        const auto lines = json_lines(run(context, {"dead", "images", "--json", "--broker", endpoint}).out);
        REQUIRE(lines.size() == 1);
        CHECK(lines[0]["total"] == 3);
        const auto& jobs = lines[0]["jobs"];
        REQUIRE(jobs.size() == 2);
        CHECK(jobs[0]["id"] == "d-1");
        CHECK(jobs[0]["queue"] == "images");
        CHECK(jobs[0]["attempt"] == 2);
        CHECK(jobs[0]["error"] == "exit status 1");
        CHECK(jobs[0]["errors"][0] == json{{"attempt", 1}, {"error", "timed out after 30s"}});
    }
    SECTION("pause and resume") {
        CHECK(run(context, {"pause", "images", "--broker", endpoint}).out == "queue images is paused\n");
        CHECK(run(context, {"resume", "images", "--broker", endpoint}).out == "queue images is dispatching again\n");
        const auto requests = broker.recorder.take<protocol::QueueSettings>();
        REQUIRE(requests.size() == 2);
        CHECK(requests[0].is_paused == true);
        CHECK(requests[1].is_paused == false);
        CHECK_FALSE(requests[0].max_length);
    }
    SECTION("queue: applies the flags given and prints every setting") {
        const auto result = run(context, {"queue", "images", "--max-length", "10", "--timeout", "5m", "--broker",
                                          endpoint});
        CHECK(result.exit_code == 0);
        CHECK_THAT(result.out, Catch::Contains("max length:    10\n") && Catch::Contains("timeout:       5m\n") &&
                                   Catch::Contains("paused:        no\n"));
        const auto requests = broker.recorder.take<protocol::QueueSettings>();
        REQUIRE(requests.size() == 1);
        CHECK(requests[0].max_length == 10u);
        CHECK(requests[0].timeout_ms == 300'000u);
        CHECK_FALSE(requests[0].retry.max_attempts);
        CHECK_FALSE(requests[0].is_paused);
        const auto line = json_lines(run(context, {"queue", "images", "--json", "--broker", endpoint}).out).at(0);
        CHECK(line["max_length"] == protocol::kDefaultMaxQueueLength);
        CHECK(line["timeout_ms"] == 0);
    }
    SECTION("status shows the lifecycle fields") {
        const auto text = run(context, {"status", "j-7", "--broker", endpoint});
        CHECK(text.exit_code == 0);
        CHECK_THAT(text.out, Catch::Contains("state:     delayed\n") && Catch::Contains("attempt:   2\ncharged:   2 of 5 attempts\n") &&
                                 Catch::Contains("priority:  10\n") && Catch::Contains("ready in:  4.5s\n") &&
                                 Catch::Contains("progress:  40% resizing\n") &&
                                 Catch::Contains("  attempt 1: exit status 1\n"));
        const auto line = json_lines(run(context, {"status", "j-7", "--json", "--broker", endpoint}).out).at(0);
        CHECK(line["ready_in_ms"] == 4500);
        CHECK(line["max_attempts"] == 5);
        CHECK(line["progress"] == 40);
        CHECK(line["errors"].size() == 2);
    }
    SECTION("stats shows delayed, dead and paused") {
        const auto text = run(context, {"stats", "--broker", endpoint});
        CHECK_THAT(text.out, Catch::Contains("DELAYED") && Catch::Contains("DEAD") && Catch::Contains("paused"));
        const auto line = json_lines(run(context, {"stats", "--json", "--broker", endpoint}).out).at(0);
        CHECK(line["queues"][0]["delayed"] == 5);
        CHECK(line["queues"][0]["dead"] == 6);
        CHECK(line["queues"][0]["paused"] == true);
    }
}

TEST_CASE("every command has --help, and corsair --help lists them all", "[producer][cli]") {
    zmq::context_t context;
    const auto top = run(context, {"--help"});
    CHECK(top.exit_code == 0);
    for (const std::string command :
         {"submit", "status", "result", "stats", "cancel", "dead", "retry", "purge", "pause", "resume", "queue", "list",
          "payload"}) {
        INFO(command);
        CHECK_THAT(top.out, Catch::Contains("  " + command + " "));
        const auto help = run(context, {command, "--help"});
        CHECK(help.exit_code == 0);
        CHECK_THAT(help.out, Catch::Contains("Usage: corsair " + command) && Catch::Contains("--wait-timeout"));
    }
    CHECK_THAT(run(context, {"submit", "--help"}).out,
               Catch::Contains("--priority") && Catch::Contains("--max-attempts") && Catch::Contains("--timeout") &&
                   Catch::Contains("--delay") && Catch::Contains("--at") && Catch::Contains("--unique") &&
                   Catch::Contains("--backoff") && Catch::Contains("--backoff-max") && Catch::Contains("--jitter"));
    CHECK_THAT(run(context, {"queue", "--help"}).out,
               Catch::Contains("--max-length") && Catch::Contains("--dead-max") && Catch::Contains("--dead-max-age"));
    CHECK_THAT(run(context, {"queue", "create", "--help"}).out,
               Catch::Contains("Usage: corsair queue create") && Catch::Contains("--max-length"));
    CHECK_THAT(run(context, {"queue", "delete", "--help"}).out, Catch::Contains("--force"));
    CHECK_THAT(run(context, {"purge", "--help"}).out, Catch::Contains("--pending") && Catch::Contains("--delayed"));
    CHECK(run(context, {"queue"}).exit_code == 2);
}

TEST_CASE("submit --wait reads a RESULT that came without an ACCEPTED", "[producer][cli][accept_within]") {
    zmq::context_t context;
    // A broker that holds back the ACCEPTED of every SUBMIT allowing it, and answers with the RESULT.
    std::atomic<int> held_back{0};
    ThreadedBroker broker(context, [&held_back](FakeBroker& fake, FakeBroker::Received& received) {
        auto* submit = std::get_if<protocol::Submit>(&received.message);
        if (submit == nullptr) return;
        if (submit->accept_within_ms == 0) {
            fake.send(received.routing_id, test::accepted(submit->id));
        } else {
            ++held_back;
        }
        if (submit->wants_result) {
            fake.send(received.routing_id, test::job_result(submit->id, protocol::JobState::done, 1, "", "r"));
        }
    });
    SECTION("one job") {
        const auto result = run(context, {"submit", "q", "work", "--wait", "--broker", broker.endpoint()});
        CHECK(result.exit_code == 0);
        CHECK(result.out == "r");
        CHECK(result.err.empty());
        CHECK(held_back == 1);
    }
    SECTION("a file, in text") {
        const auto result =
            run(context, {"submit", "q", "--file", "-", "--wait", "--broker", broker.endpoint()}, "a\nb\nc\n");
        CHECK(result.exit_code == 0);
        CHECK_THAT(result.err, Catch::Contains("done 3, failed 0, refused 0"));
        CHECK(held_back == 3);
    }
    SECTION("a file, in JSON: one outcome object per job and nothing else") {
        const auto result = run(
            context, {"submit", "q", "--file", "-", "--wait", "--json", "--broker", broker.endpoint()}, "a\nb\n");
        CHECK(result.exit_code == 0);
        const auto lines = json_lines(result.out);
        REQUIRE(lines.size() == 2);
        for (const auto& line : lines) CHECK(line["state"] == "done");
    }
    SECTION("a file without --wait still gets every ACCEPTED") {
        const auto result =
            run(context, {"submit", "q", "--file", "-", "--json", "--broker", broker.endpoint()}, "a\nb\n");
        CHECK(result.exit_code == 0);
        CHECK(json_lines(result.out).size() == 2);
        CHECK(held_back == 0);
    }
}

TEST_CASE("the CLI keeps a held-back ACCEPTED well inside --wait-timeout", "[producer][cli][accept_within]") {
    cli::CommonOptions common;
    CHECK(cli::producer_options_for(common).accept_within == corsair::producer::ProducerOptions{}.accept_within);
    common.wait_timeout = 90ms;
    CHECK(cli::producer_options_for(common).accept_within == 30ms);
}

TEST_CASE("an unknown command is named, with the list of commands", "[producer][cli]") {
    zmq::context_t context;
    const auto result = run(context, {"bogus"});
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Catch::StartsWith("corsair: unknown command 'bogus'; the commands are: submit, status, "));
    CHECK(run(context, {"--version"}).out == std::string("corsair ") + corsair::options::kVersion + "\n");
}

TEST_CASE("an endpoint is checked before anything is sent", "[producer][cli]") {
    zmq::context_t context;
    SECTION("no transport: say to add tcp://") {
        const auto result = run(context, {"stats", "-b", "127.0.0.1:5555"});
        CHECK(result.exit_code == 2);
        CHECK_THAT(result.err, Catch::Contains("'127.0.0.1:5555' has no transport: write tcp://127.0.0.1:5555"));
    }
    SECTION("a host that does not resolve is not a broker that is not running") {
        const auto result = run(context, {"stats", "-b", "tcp://no-such-host.invalid:5555"});
        CHECK(result.exit_code == 4);
        CHECK_THAT(result.err, Catch::Contains("cannot resolve host 'no-such-host.invalid'"));
    }
    SECTION("CORSAIR_BROKER alone is refused, naming CORSAIR_PRODUCER_ENDPOINT") {
        ::setenv("CORSAIR_BROKER", "tcp://127.0.0.1:5556", 1);
        const auto result = run(context, {"stats"});
        ::unsetenv("CORSAIR_BROKER");
        CHECK(result.exit_code == 2);
        CHECK_THAT(result.err, Catch::Contains("CORSAIR_BROKER=tcp://127.0.0.1:5556 is no longer read") &&
                                   Catch::Contains("CORSAIR_PRODUCER_ENDPOINT=tcp://HOST:5555"));
    }
}

TEST_CASE("under --json, errors are JSON objects on stdout with the table's exit code", "[producer][cli]") {
    zmq::context_t context;
    RecordingBroker broker(context);
    const auto& endpoint = broker.broker.endpoint();
    SECTION("a refusal for now: 3") {
        const auto result = run(context, {"submit", "full", "p", "--json", "--broker", endpoint});
        CHECK(result.exit_code == 3);
        const auto line = json_lines(result.out).at(0);
        CHECK(line["error"]["code"] == "queue_full");
        CHECK(line["error"]["message"] == "queue full holds 1 job");
        CHECK(line["error"]["id"].is_string());
        CHECK(run(context, {"submit", "full", "p", "--broker", endpoint}).exit_code == 3);
    }
    SECTION("a refusal for good: 5") {
        const auto result = run(context, {"cancel", "done-job", "--json", "--broker", endpoint});
        CHECK(result.exit_code == 5);
        CHECK(json_lines(result.out).at(0) ==
              json{{"error", {{"code", "wrong_state"}, {"message", "job done-job has ended"}, {"id", "done-job"}}}});
    }
    SECTION("a bad flag value") {
        const auto result = run(context, {"submit", "q", "p", "--priority", "high", "--json", "--broker", endpoint});
        CHECK(result.exit_code == 2);
        CHECK(json_lines(result.out).at(0)["error"]["code"] == "usage");
    }
    SECTION("an empty dead set is still one document") {
        const auto result = run(context, {"dead", "empty", "--json", "--broker", endpoint});
        CHECK(result.exit_code == 0);
        CHECK(json_lines(result.out) == std::vector<json>{json{{"queue", "empty"}, {"total", 0}, {"jobs", json::array()}}});
    }
}

TEST_CASE("payloads are any bytes: stdin, --payload-file and NDJSON", "[producer][cli]") {
    zmq::context_t context;
    RecordingBroker broker(context);
    const auto& endpoint = broker.broker.endpoint();
    const std::string binary("a\0b\nc\xff", 6);
    SECTION("- reads stdin whole, NUL and newlines included") {
        CHECK(run(context, {"submit", "q", "-", "--broker", endpoint}, binary).exit_code == 0);
        const auto submits = broker.recorder.take<protocol::Submit>();
        REQUIRE(submits.size() == 1);
        CHECK(protocol::view_of(submits[0].payload) == binary);
    }
    SECTION("--payload-file sends the file's bytes as they are") {
        const std::string path = "/tmp/corsair-cli-test-payload";
        std::ofstream(path, std::ios::binary) << binary;
        CHECK(run(context, {"submit", "q", "--payload-file", path, "--broker", endpoint}).exit_code == 0);
        std::remove(path.c_str());
        const auto submits = broker.recorder.take<protocol::Submit>();
        REQUIRE(submits.size() == 1);
        CHECK(protocol::view_of(submits[0].payload) == binary);
    }
    SECTION("--format ndjson takes payload or payload_base64 per line") {
        const auto result = run(context, {"submit", "q", "--file", "-", "--format", "ndjson", "--broker", endpoint},
                                "{\"payload\":\"text\"}\n{\"payload_base64\":\"YQBi\"}\n");
        CHECK(result.exit_code == 0);
        const auto submits = broker.recorder.take<protocol::Submit>();
        REQUIRE(submits.size() == 2);
        CHECK(protocol::view_of(submits[0].payload) == "text");
        CHECK(protocol::view_of(submits[1].payload) == std::string("a\0b", 3));
    }
    SECTION("a binary result is base64 under --json, never U+FFFD") {
        const auto result = run(context, {"submit", "q", "-", "--wait", "--json", "--broker", endpoint}, binary);
        CHECK(result.exit_code == 0);
        const auto line = json_lines(result.out).back();
        CHECK(line["result"].is_null());
        CHECK(line["result_base64"] == "YQBiCmP/");
    }
}

TEST_CASE("result --output writes the bytes, a job not done yet exits 3", "[producer][cli]") {
    zmq::context_t context;
    RecordingBroker broker(context);
    const auto& endpoint = broker.broker.endpoint();
    const std::string path = "/tmp/corsair-cli-test-result";
    const auto result = run(context, {"result", "done-job", "--output", path, "--broker", endpoint});
    CHECK(result.exit_code == 0);
    CHECK(result.out.empty());
    std::ifstream file(path, std::ios::binary);
    CHECK(std::string(std::istreambuf_iterator<char>(file), {}) == std::string("\x89PNG\0\xff", 6));
    std::remove(path.c_str());
    CHECK(run(context, {"result", "j-7", "--broker", endpoint}).exit_code == 3);
    const auto unknown = run(context, {"result", "nosuch", "--broker", endpoint});
    CHECK(unknown.exit_code == 5);
    CHECK_THAT(unknown.err, Catch::Contains("no job with id nosuch is known (never submitted, its result expired"));
}

TEST_CASE("submit --file --wait names the failed jobs and counts only done ones as progress", "[producer][cli]") {
    zmq::context_t context;
    RecordingBroker broker(context);
    const auto result = run(context, {"submit", "q", "--file", "-", "--wait", "--broker", broker.broker.endpoint()},
                            "work\nto-fail\nwork\n");
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Catch::Contains("failed (attempt 3): exit status 1") &&
                               Catch::Contains("done 2, failed 1"));
}

TEST_CASE("submit --wait ends a result with a newline on a terminal only", "[producer][cli]") {
    zmq::context_t context;
    RecordingBroker broker(context);
    const auto& endpoint = broker.broker.endpoint();
    CHECK(run(context, {"submit", "q", "echo", "--wait", "--broker", endpoint}, {}, kNow, true).out == "echo\n");
    CHECK(run(context, {"submit", "q", "echo", "--wait", "--broker", endpoint}, {}, kNow, false).out == "echo");
}

TEST_CASE("corsair's stderr is filtered by --log-level and shaped by --log-format", "[producer][cli][log]") {
    zmq::context_t context;
    RecordingBroker broker(context);
    const auto& endpoint = broker.broker.endpoint();
    // Every stderr line as JSON; each has the daemons' four keys and the logger "corsair".
    auto err_lines = [](const std::string& err) {
        const auto lines = json_lines(err);
        for (const auto& line : lines) {
            CHECK(line["logger"] == "corsair");
            CHECK(line["time"].get<std::string>().size() == 24);  // 2026-12-04T21:25:37.373Z
            CHECK(line.contains("level"));
            CHECK(line.contains("message"));
        }
        return lines;
    };
    SECTION("json: a progress report at info with its fields, the failure at error with its fields") {
        const auto result = run(context, {"submit", "q", "to-fail", "--wait", "--broker", endpoint, "--log-format", "json"});
        CHECK(result.exit_code == 1);
        CHECK(result.out.empty());
        const auto lines = err_lines(result.err);
        REQUIRE(lines.size() == 2);
        CHECK(lines[0]["level"] == "info");
        CHECK(lines[0]["progress"] == 50);
        CHECK(lines[0]["progress_message"] == "half");
        CHECK(lines[1]["level"] == "error");
        CHECK(lines[1]["id"] == lines[0]["id"]);
        CHECK(lines[1]["state"] == "failed");
        CHECK(lines[1]["attempt"] == 3);
        CHECK(lines[1]["error"] == "exit status 1");
        CHECK_THAT(lines[1]["message"].get<std::string>(), Catch::EndsWith("failed (attempt 3): exit status 1"));
    }
    SECTION("--json output and --log-format json side by side: output on stdout, diagnostics on stderr") {
        const auto result = run(context, {"submit", "q", "--file", "-", "--wait", "--json", "--broker", endpoint,
                                          "--log-format", "json"},
                                "work\nto-fail\n");
        CHECK(result.exit_code == 1);
        CHECK(json_lines(result.out).size() == 4);  // two progress reports, two outcomes
        const auto lines = err_lines(result.err);
        REQUIRE(lines.size() == 1);
        CHECK(lines[0]["done"] == 1);
        CHECK(lines[0]["failed"] == 1);
        CHECK(lines[0]["refused"] == 0);
        CHECK(lines[0]["queue"] == "q");
        CHECK(lines[0].contains("elapsed_ms"));
    }
    SECTION("warn: no progress report, a job that failed in a --file run still said") {
        const auto one = run(context, {"submit", "q", "work", "--wait", "--broker", endpoint, "--log-level", "warn"});
        CHECK(one.exit_code == 0);
        CHECK(one.out == "result-bytes");
        CHECK(one.err.empty());
        const auto file = run(context, {"--log-level", "warn", "submit", "q", "--file", "-", "--wait", "--broker", endpoint},
                              "work\nto-fail\n");
        CHECK(file.exit_code == 1);
        CHECK(file.err.find("failed (attempt 3)") != std::string::npos);
        CHECK(file.err.find("done 1") == std::string::npos);  // the summary is info
    }
    SECTION("off: nothing on stderr, the exit code as ever") {
        const auto result = run(context, {"submit", "q", "to-fail", "--wait", "--broker", endpoint, "--log-level", "off"});
        CHECK(result.exit_code == 1);
        CHECK(result.err.empty());
    }
    SECTION("debug: the broker and settings each command used") {
        const auto result = run(context, {"stats", "--broker", endpoint, "--log-level", "debug", "--log-format=json"});
        CHECK(result.exit_code == 0);
        const auto lines = err_lines(result.err);
        REQUIRE(lines.size() == 1);
        CHECK(lines[0]["level"] == "debug");
        CHECK(lines[0]["broker"] == endpoint);
        CHECK(lines[0]["command"] == "stats");
        CHECK(lines[0]["curve"] == false);
        CHECK(lines[0]["wait_timeout_ms"] == 10'000);
    }
    SECTION("a usage error is one object, from the flag, the variable or after a bad flag") {
        for (const auto& args : {std::vector<std::string>{"submit", "--log-format", "json"},
                                 std::vector<std::string>{"--log-format", "json", "submit", "q", "x", "--bogus"}}) {
            const auto result = run(context, args);
            CHECK(result.exit_code == 2);
            const auto lines = err_lines(result.err);
            REQUIRE(lines.size() == 1);
            CHECK(lines[0]["level"] == "error");
            CHECK(lines[0]["code"] == "usage");
            CHECK(lines[0]["command"] == "corsair submit");
        }
        ::setenv("CORSAIR_LOG_FORMAT", "json", 1);
        const auto from_environment = run(context, {"queue", "create"});
        ::unsetenv("CORSAIR_LOG_FORMAT");
        CHECK(from_environment.exit_code == 2);
        CHECK(err_lines(from_environment.err).size() == 1);
        // A bad --log-format is told as text, since it is not known what was meant.
        const auto bad = run(context, {"stats", "--log-format", "xml"});
        CHECK(bad.exit_code == 2);
        CHECK_THAT(bad.err, Catch::StartsWith("corsair stats: --log-format: xml not in {text,json}"));
    }
    SECTION("a config file's log-format and log-level apply, and a flag wins over them") {
        const std::string path = "corsair-cli-log-test.toml";
        {
            std::ofstream file(path);
            file << "log-format = \"json\"\nlog-level = \"error\"\n";
        }
        const auto from_file = run(context, {"submit", "q", "to-fail", "--wait", "--broker", endpoint, "--config", path});
        CHECK(from_file.exit_code == 1);
        const auto lines = err_lines(from_file.err);
        REQUIRE(lines.size() == 1);  // no progress: error level
        CHECK(lines[0]["state"] == "failed");
        const auto flag_wins =
            run(context, {"submit", "q", "to-fail", "--wait", "--broker", endpoint, "--config", path, "--log-format", "text"});
        CHECK_THAT(flag_wins.err, Catch::StartsWith("corsair: job "));
        std::remove(path.c_str());
    }
}

TEST_CASE("the progress bar is drawn on a terminal only as text, and never under --log-format json",
          "[producer][cli][log]") {
    zmq::context_t context;
    RecordingBroker broker(context);
    auto run_on_terminal = [&](std::vector<std::string> args) {
        std::vector<const char*> argv{"corsair"};
        for (const auto& arg : args) argv.push_back(arg.c_str());
        std::ostringstream out;
        std::ostringstream err;
        std::istringstream in("work\nwork\nwork\n");
        cli::CliStreams streams{out, err, in, true, [] { return kNow; }, false};
        CHECK(cli::run_cli(context, static_cast<int>(argv.size()), argv.data(), streams) == 0);
        return err.str();
    };
    const std::vector<std::string> submit{"submit", "q", "--file", "-", "--wait", "--broker", broker.broker.endpoint()};
    CHECK(run_on_terminal(submit).find('\r') != std::string::npos);
    auto json_args = submit;
    json_args.insert(json_args.end(), {"--log-format", "json"});
    const auto json_err = run_on_terminal(json_args);
    CHECK(json_err.find('\r') == std::string::npos);
    CHECK(json_lines(json_err).size() == 1);  // the summary only
    auto warn_args = submit;
    warn_args.insert(warn_args.end(), {"--log-level", "warn"});
    CHECK(run_on_terminal(warn_args).empty());
}
