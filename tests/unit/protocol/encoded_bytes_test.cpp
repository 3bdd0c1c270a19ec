// The exact bytes encode() writes for every message type, pinned as hex. Round trips prove that
// decode() reads what encode() writes; these prove that what encode() writes never changes, so a
// peer built against an older Corsair reads the same frames.
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "corsair/protocol/protocol.hpp"

namespace corsair::protocol {
namespace {

// Each frame as lowercase hex, frames separated by " | ".
std::string hex_of(const Frames& frames) {
    static const char kDigits[] = "0123456789abcdef";
    std::string hex;
    for (std::size_t i = 0; i < frames.size(); ++i) {
        if (i > 0) hex += " | ";
        const auto* bytes = static_cast<const std::uint8_t*>(frames[i].data());
        for (std::size_t j = 0; j < frames[i].size(); ++j) {
            hex += kDigits[bytes[j] >> 4];
            hex += kDigits[bytes[j] & 0x0f];
        }
    }
    return hex;
}

Submit submit_with_every_field() {
    Submit m = make_submit("j1", "q", true, make_payload("hi"));
    m.priority = -5;
    m.retry = {5, 250, 60'000, 15};
    m.timeout_ms = 30'000;
    m.run_at_ms = 1'700'000'000'123;
    m.unique_key = "u1";
    m.accept_within_ms = 20;
    m.results_batch = 64;
    return m;
}

StatusReply status_reply_with_progress() {
    StatusReply m;
    m.id = "j1";
    m.queue = "q";
    m.state = JobState::running;
    m.attempt = 2;
    m.worker = "w1";
    m.error = "e";
    m.priority = 7;
    m.max_attempts = 3;
    m.progress = 50;
    m.progress_message = "half";
    m.ready_in_ms = 0;
    m.errors = {{1, "boom"}};
    m.broker_instance = 0x1122334455667788;
    return m;
}

StatsReply stats_reply_with(std::size_t counters) {
    StatsReply m;
    m.queues.push_back({"q", 1, 2, 3, 4, 5, 6, true});
    m.workers.push_back({"w1", {"q", "r"}, 4, 1, 250, false, 9, 1});
    for (std::size_t i = 0; i < counters; ++i) m.counters["c" + std::to_string(i)] = 300 * i;
    return m;
}

DeadReply dead_reply_with_one_job() {
    DeadReply m;
    m.queue = "q";
    m.total = 12;
    m.jobs.push_back({"j1", 3, 5000, 2, -5, {{1, "a"}, {2, "b"}}});
    return m;
}

QueueSettings queue_settings_with_every_field() {
    QueueSettings m;
    m.queue = "q";
    m.is_paused = true;
    m.max_length = 1000;
    m.retry = {7, 100, 5000, 0};
    m.timeout_ms = 0;
    m.dead_max_count = 12;
    m.dead_max_age_ms = 86'400'000;
    return m;
}

Jobs jobs_of(std::size_t count) {
    Jobs m;
    for (std::size_t i = 0; i < count; ++i) {
        m.jobs.push_back({"j" + std::to_string(i), "q", static_cast<std::uint32_t>(i + 1), make_payload("p")});
    }
    return m;
}

struct Sample {
    const char* name;
    std::function<Frames()> encoded;
    const char* hex;
};

const std::vector<Sample>& samples() {
    static const std::vector<Sample> list = {
        {"SUBMIT, plain", [] { return encode(make_submit("j1", "q", true, make_payload("hi"))); },
         "43535201 | 01 | 83a26964a26a31a57175657565a171ac77616e74735f726573756c74c3 | 6869"},
        {"SUBMIT, every optional field", [] { return encode(submit_with_every_field()); },
         "43535201 | 01 | 8da26964a26a31a57175657565a171ac77616e74735f726573756c74c3a87072696f72697479fbac"
         "6d61785f617474656d70747305aa6261636b6f66665f6d73ccfaae6261636b6f66665f6d61785f6d73cdea60b2626163"
         "6b6f66665f6a69747465725f7063740faa74696d656f75745f6d73cd7530a972756e5f61745f6d73cf0000018bcfe568"
         "7baa756e697175655f6b6579a27531b06163636570745f77697468696e5f6d7314ad726573756c74735f626174636840"
         " | 6869"},
        {"SUBMIT, a delay",
         [] {
             Submit m = make_submit("j1", "q", false, make_payload(""));
             m.delay_ms = 1500;
             return encode(std::move(m));
         },
         "43535201 | 01 | 84a26964a26a31a57175657565a171ac77616e74735f726573756c74c2a864656c61795f6d73cd05"
         "dc | "},
        {"ACCEPTED, plain",
         [] {
             return encode(Accepted{"j1", false, "j1"});
         },
         "43535201 | 02 | 83a26964a26a31a765786973746564c2a66a6f625f6964a26a31"},
        {"ACCEPTED, existed under another job, with the broker instance",
         [] {
             return encode(Accepted{"j1", true, "j0", 0x1122334455667788});
         },
         "43535201 | 02 | 84a26964a26a31a765786973746564c3a66a6f625f6964a26a30af62726f6b65725f696e7374616e"
         "6365cf1122334455667788"},
        {"ACCEPTED, job_id left empty",
         [] {
             return encode(Accepted{"j1", false, ""});
         },
         "43535201 | 02 | 83a26964a26a31a765786973746564c2a66a6f625f6964a26a31"},
        {"RESULT",
         [] {
             return encode(JobResult{"j1", JobState::failed, 3, "boom", make_payload("")});
         },
         "43535201 | 03 | 84a26964a26a31a57374617465a66661696c6564a7617474656d707403a56572726f72a4626f6f6d"
         " | "},
        {"STATUS", [] { return encode(StatusRequest{"j1"}); }, "43535201 | 04 | 81a26964a26a31"},
        {"STATUS_REPLY", [] { return encode(status_reply_with_progress()); },
         "43535201 | 05 | 8da26964a26a31a57175657565a171a57374617465a772756e6e696e67a7617474656d707402a677"
         "6f726b6572a27731a56572726f72a165a87072696f7269747907ac6d61785f617474656d70747303a870726f67726573"
         "7332b070726f67726573735f6d657373616765a468616c66ab72656164795f696e5f6d7300a66572726f72739182a761"
         "7474656d707401a56572726f72a4626f6f6daf62726f6b65725f696e7374616e6365cf1122334455667788 | "},
        {"STATS", [] { return encode(StatsRequest{}); }, "43535201 | 06 | 80"},
        {"STATS_REPLY", [] { return encode(stats_reply_with(2)); },
         "43535201 | 07 | 81a8636f756e7465727382a2633000a26331cd012c | 82a67175657565739188a46e616d65a171a"
         "770656e64696e6701a9696e5f666c6967687402a4646f6e6503a66661696c656404a764656c6179656405a4646561640"
         "6a6706175736564c3a7776f726b6572739188a46e616d65a27731a671756575657392a171a172a863617061636974790"
         "4a9696e5f666c6967687401b16c6173745f6865617274626561745f6d73ccfaa8647261696e696e67c2a4646f6e6509a"
         "66661696c656401"},
        {"STATS_REPLY, more than fifteen counters", [] { return encode(stats_reply_with(17)); },
         "43535201 | 07 | 81a8636f756e74657273de0011a2633000a26331cd012ca3633130cd0bb8a3633131cd0ce4a36331"
         "32cd0e10a3633133cd0f3ca3633134cd1068a3633135cd1194a3633136cd12c0a26332cd0258a26333cd0384a26334cd"
         "04b0a26335cd05dca26336cd0708a26337cd0834a26338cd0960a26339cd0a8c | 82a67175657565739188a46e616d6"
         "5a171a770656e64696e6701a9696e5f666c6967687402a4646f6e6503a66661696c656404a764656c6179656405a4646"
         "5616406a6706175736564c3a7776f726b6572739188a46e616d65a27731a671756575657392a171a172a863617061636"
         "9747904a9696e5f666c6967687401b16c6173745f6865617274626561745f6d73ccfaa8647261696e696e67c2a4646f6"
         "e6509a66661696c656401"},
        {"ERROR",
         [] {
             return encode(Error{ErrorCode::unknown_job, "no such job", "j1", "STATUS"});
         },
         "43535201 | 08 | 84a4636f6465ab756e6b6e6f776e5f6a6f62a76d657373616765ab6e6f2073756368206a6f62a269"
         "64a26a31a7636f6d6d616e64a6535441545553"},
        {"CANCEL", [] { return encode(Cancel{"j1"}); }, "43535201 | 09 | 81a26964a26a31"},
        {"RETRY, one job",
         [] {
             return encode(Retry{"j1", ""});
         },
         "43535201 | 0a | 81a26964a26a31"},
        {"RETRY, a dead set",
         [] {
             return encode(Retry{"", "q"});
         },
         "43535201 | 0a | 81a57175657565a171"},
        {"PURGE",
         [] {
             return encode(Purge{"q", "j1"});
         },
         "43535201 | 0b | 82a57175657565a171a26964a26a31"},
        {"DEAD",
         [] {
             return encode(DeadRequest{"q", 20});
         },
         "43535201 | 0c | 82a57175657565a171a56c696d697414"},
        {"DEAD_REPLY", [] { return encode(dead_reply_with_one_job()); },
         "43535201 | 0d | 82a57175657565a171a5746f74616c0c | 81a46a6f62739186a26964a26a31a8617474656d70747"
         "303ab646965645f6d735f61676fcd1388ad7061796c6f61645f627974657302a87072696f72697479fba66572726f727"
         "39282a7617474656d707401a56572726f72a16182a7617474656d707402a56572726f72a162"},
        {"QUEUE, every field", [] { return encode(queue_settings_with_every_field()); },
         "43535201 | 0e | 8aa57175657565a171a6706175736564c3aa6d61785f6c656e677468cd03e8ac6d61785f61747465"
         "6d70747307aa6261636b6f66665f6d7364ae6261636b6f66665f6d61785f6d73cd1388b26261636b6f66665f6a697474"
         "65725f70637400aa74696d656f75745f6d7300ae646561645f6d61785f636f756e740caf646561645f6d61785f616765"
         "5f6d73ce05265c00"},
        {"QUEUE, the queue only",
         [] {
             return encode(QueueSettings{"q", {}, {}, {}, {}, {}, {}});
         },
         "43535201 | 0e | 81a57175657565a171"},
        {"OK",
         [] {
             return encode(Ok{"RETRY", "q", 300});
         },
         "43535201 | 0f | 83a7636f6d6d616e64a55245545259a26964a171a5636f756e74cd012c"},
        {"READY",
         [] {
             return encode(Ready{{"q", "r"}, 4, "w1", 16});
         },
         "43535201 | 10 | 84a671756575657392a171a172a8636170616369747904a46e616d65a27731a5626174636810"},
        {"JOB",
         [] {
             return encode(Job{"j1", "q", 2, make_payload("p")});
         },
         "43535201 | 11 | 83a26964a26a31a57175657565a171a7617474656d707402 | 70"},
        {"DONE",
         [] {
             return encode(Done{"j1", 2, make_payload("r")});
         },
         "43535201 | 12 | 82a26964a26a31a7617474656d707402 | 72"},
        {"FAIL, permanent",
         [] {
             return encode(Fail{"j1", 2, "boom", true});
         },
         "43535201 | 13 | 84a26964a26a31a7617474656d707402a56572726f72a4626f6f6da97065726d616e656e74c3"},
        {"FAIL",
         [] {
             return encode(Fail{"j1", 2, "boom", false});
         },
         "43535201 | 13 | 83a26964a26a31a7617474656d707402a56572726f72a4626f6f6d"},
        {"HEARTBEAT, from the broker",
         [] {
             return encode(Heartbeat{1000u, 3u, 64u});
         },
         "43535201 | 14 | 83ab696e74657276616c5f6d73cd03e8a86c6976656e65737303a5626174636840"},
        {"HEARTBEAT, from a worker", [] { return encode(Heartbeat{}); }, "43535201 | 14 | 80"},
        {"DRAIN", [] { return encode(Drain{}); }, "43535201 | 15 | 80"},
        {"DISCONNECT", [] { return encode(Disconnect{"bye"}); }, "43535201 | 16 | 81a6726561736f6ea3627965"},
        {"PROGRESS",
         [] {
             return encode(Progress{"j1", 2, 50, "half"});
         },
         "43535201 | 17 | 84a26964a26a31a7617474656d707402a770657263656e7432a76d657373616765a468616c66"},
        {"ABANDON",
         [] {
             return encode(Abandon{"j1", 2, "timeout"});
         },
         "43535201 | 18 | 83a26964a26a31a7617474656d707402a6726561736f6ea774696d656f7574"},
        {"JOBS", [] { return encode(jobs_of(2)); },
         "43535201 | 19 | 81a46a6f62739293a26a30a1710193a26a31a17102 | 70 | 70"},
        {"JOBS, more than fifteen", [] { return encode(jobs_of(17)); },
         "43535201 | 19 | 81a46a6f6273dc001193a26a30a1710193a26a31a1710293a26a32a1710393a26a33a1710493a26a"
         "34a1710593a26a35a1710693a26a36a1710793a26a37a1710893a26a38a1710993a26a39a1710a93a36a3130a1710b93"
         "a36a3131a1710c93a36a3132a1710d93a36a3133a1710e93a36a3134a1710f93a36a3135a1711093a36a3136a17111 |"
         " 70 | 70 | 70 | 70 | 70 | 70 | 70 | 70 | 70 | 70 | 70 | 70 | 70 | 70 | 70 | 70 | 70"},
        {"DONES",
         [] {
             Dones m;
             m.done.push_back({"j1", 1, make_payload("a")});
             m.done.push_back({"j2", 3, make_payload("")});
             return encode(std::move(m));
         },
         "43535201 | 1a | 81a4646f6e659292a26a310192a26a3203 | 61 | "},
        {"RESULTS",
         [] {
             Results m;
             m.results.push_back({"j1", JobState::done, 1, "", make_payload("a")});
             m.results.push_back({"j2", JobState::cancelled, 0, "cancelled", make_payload("")});
             return encode(std::move(m));
         },
         "43535201 | 1b | 81a7726573756c74739294a26a31a4646f6e6501a094a26a32a963616e63656c6c656400a963616e"
         "63656c6c6564 | 61 | "},
        {"SUBMITS",
         [] {
             Submits m;
             m.shared.queue = "q";
             m.shared.wants_result = true;
             m.shared.accept_within_ms = 100;
             m.entries.push_back({"j1", make_payload("a")});
             m.entries.push_back({"j2", make_payload("")});
             return encode(std::move(m));
         },
         "43535201 | 21 | 84a57175657565a171ac77616e74735f726573756c74c3b06163636570745f77697468696e5f"
         "6d7364a369647392a26a31a26a32 | 61 | "},
    };
    return list;
}

TEST_CASE("every message type is encoded to the same bytes as always", "[protocol][codec]") {
    for (const auto& sample : samples()) {
        INFO(sample.name);
        CHECK(hex_of(sample.encoded()) == sample.hex);
    }
}

}  // namespace
}  // namespace corsair::protocol
