// Malformed frame sets, each mapped to the exact ErrorCode decode() must return (STYLE.md §22),
// and a seeded mutation run: decode() must return, never throw or crash, on any input.
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <iterator>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "corsair/protocol/protocol.hpp"
#include "frame_builder.hpp"

namespace corsair::protocol {
namespace {

using namespace test;

struct MalformedCase {
    std::string name;
    std::function<Frames()> frames;
    ErrorCode expected;
    std::optional<std::string> detail = std::nullopt;  // the field named by the error, when it names one
    std::size_t first = 0;
    DecodeLimits limits = {};
};

std::string nested_arrays(int depth) {
    return msgpack_bytes([depth](Packer& p) {
        for (int i = 0; i < depth; ++i) p.pack_array(1);
        p.pack(0);
    });
}

// A SUBMIT header whose unknown key "deep" holds `depth` nested arrays (the map itself is one more level).
std::string submit_with_nesting(int depth) {
    return map_of({str("id", "j"), str("queue", "q"), raw("deep", [depth](Packer& p) {
                       for (int i = 0; i < depth; ++i) p.pack_array(1);
                       p.pack(0);
                   })});
}

std::vector<MalformedCase> frame_cases() {
    const std::string sig = signature_bytes();
    const std::string submit = command_bytes(Command::submit);
    const std::string heartbeat = command_bytes(Command::heartbeat);
    const std::string empty_map = octets({0x80});
    const std::string submit_header = map_of(valid_fields(Command::submit));
    const std::string dead_header = map_of({str("queue", "q"), uint("total", 1000000)});
    auto frames = [](std::vector<std::string> parts) { return [parts] { return frames_of(parts); }; };
    auto header = [](Command c, std::string bytes) { return [c, bytes] { return message_with_header(c, bytes); }; };

    std::vector<MalformedCase> cases = {
        {"no frames", frames({}), ErrorCode::bad_frame_count},
        {"one frame", frames({sig}), ErrorCode::bad_frame_count},
        {"two frames", frames({sig, heartbeat}), ErrorCode::bad_frame_count},
        {"wrong signature", frames({"XSR\x01", heartbeat, empty_map}), ErrorCode::bad_signature},
        {"signature in lower case", frames({"csr\x01", heartbeat, empty_map}), ErrorCode::bad_signature},
        {"right signature, version 2", frames({signature_bytes(2), heartbeat, empty_map}),
         ErrorCode::unsupported_version},
        {"right signature, version 0", frames({signature_bytes(0), heartbeat, empty_map}),
         ErrorCode::unsupported_version},
        {"signature of 3 bytes", frames({"CSR", heartbeat, empty_map}), ErrorCode::bad_signature},
        {"signature of 5 bytes", frames({sig + "x", heartbeat, empty_map}), ErrorCode::bad_signature},
        {"empty signature frame", frames({"", heartbeat, empty_map}), ErrorCode::bad_signature},
        {"command frame of 0 bytes", frames({sig, "", empty_map}), ErrorCode::unknown_command},
        {"command frame of 2 bytes", frames({sig, heartbeat + heartbeat, empty_map}), ErrorCode::unknown_command},
        {"SUBMIT with 3 frames (no payload)", frames({sig, submit, submit_header}), ErrorCode::bad_frame_count},
        {"SUBMIT with 5 frames", frames({sig, submit, submit_header, "p", "extra"}), ErrorCode::bad_frame_count},
        {"HEARTBEAT with 4 frames", frames({sig, heartbeat, empty_map, "payload"}), ErrorCode::bad_frame_count},
        {"STATS with 4 frames", frames({sig, command_bytes(Command::stats), empty_map, ""}),
         ErrorCode::bad_frame_count},
        {"header of garbage bytes", header(Command::heartbeat, octets({0xc1, 0xc1, 0xc1})), ErrorCode::bad_header},
        {"header of truncated msgpack", header(Command::submit, submit_header.substr(0, submit_header.size() - 3)),
         ErrorCode::bad_header},
        {"empty header frame", header(Command::heartbeat, ""), ErrorCode::bad_header},
        {"header an array", header(Command::heartbeat, octets({0x91, 0x01})), ErrorCode::bad_header},
        {"header an integer", header(Command::heartbeat, octets({0x05})), ErrorCode::bad_header},
        {"header a string", header(Command::heartbeat, octets({0xa2, 'i', 'd'})), ErrorCode::bad_header},
        {"header nil", header(Command::heartbeat, octets({0xc0})), ErrorCode::bad_header},
        {"header with a byte after the map", header(Command::heartbeat, empty_map + octets({0x00})),
         ErrorCode::bad_header},
        {"header of two maps", header(Command::submit, submit_header + submit_header), ErrorCode::bad_header},
        {"header over kMaxHeaderBytes",
         header(Command::submit, map_of({str("id", "j"), str("queue", "q"), str("pad", std::string(kMaxHeaderBytes, 'x'))})),
         ErrorCode::bad_header, std::string("header too large")},
        {"array32 claiming 4 billion elements", header(Command::heartbeat, octets({0xdd, 0xff, 0xff, 0xff, 0xff})),
         ErrorCode::bad_header, std::string("array size overflow")},
        {"map32 claiming 4 billion entries", header(Command::heartbeat, octets({0xdf, 0xff, 0xff, 0xff, 0xff})),
         ErrorCode::bad_header, std::string("map size overflow")},
        {"str32 claiming 4 billion bytes", header(Command::heartbeat, octets({0xdb, 0xff, 0xff, 0xff, 0xff})),
         ErrorCode::bad_header},
        {"bin32 claiming 4 billion bytes inside a map",
         header(Command::heartbeat, octets({0x81, 0xa1, 'k', 0xc6, 0xff, 0xff, 0xff, 0xff})), ErrorCode::bad_header},
        {"map claiming 4 billion entries inside a map",
         header(Command::heartbeat, octets({0x81, 0xa1, 'k', 0xdf, 0xff, 0xff, 0xff, 0xff})), ErrorCode::bad_header,
         std::string("map size overflow")},
        {"array claiming 1025 elements", header(Command::heartbeat, octets({0xdc, 0x04, 0x01})), ErrorCode::bad_header,
         std::string("array size overflow")},
        {"nesting one level deeper than the limit", header(Command::submit, submit_with_nesting(8)),
         ErrorCode::bad_header, std::string("depth size overflow")},
        {"nesting far deeper than the limit", header(Command::submit, map_of({raw("deep", [](Packer& p) {
                                                         for (int i = 0; i < 10000; ++i) p.pack_array(1);
                                                         p.pack(0);
                                                     })})),
         ErrorCode::bad_header},
        {"a bare array nested deeply", header(Command::heartbeat, nested_arrays(100)), ErrorCode::bad_header},
        {"DONE with attempt as a float64 1.0",
         header(Command::done, octets({0x82, 0xa2, 'i', 'd', 0xa1, 'j', 0xa7, 'a', 't', 't', 'e', 'm', 'p', 't', 0xcb,
                                       0x3f, 0xf0, 0, 0, 0, 0, 0, 0})),
         ErrorCode::bad_field_type, std::string("attempt")},
        {"payload one byte over the default limit",
         [] { return message_with_header(Command::submit, map_of(valid_fields(Command::submit)),
                                         std::string(kDefaultMaxPayloadBytes + 1, 'p')); },
         ErrorCode::payload_too_large},
        {"payload over a configured limit",
         [] { return message_with_header(Command::done, map_of(valid_fields(Command::done)), std::string(17, 'p')); },
         ErrorCode::payload_too_large, std::nullopt, 0, DecodeLimits{16}},
        {"routing frame in front, decoded with first = 0",
         [] {
             Frames f = frames_of({std::string("\x00\x80\x00\x00\x29", 5)});
             for (auto& frame : encode(Heartbeat{})) f.push_back(std::move(frame));
             return f;
         },
         ErrorCode::bad_signature},
        {"routing frame in front, too few frames after it", frames({"id", sig, heartbeat}), ErrorCode::bad_frame_count,
         std::nullopt, 1},
        {"routing frame in front, bad signature after it", frames({"id", "CSR\x02", heartbeat, empty_map}),
         ErrorCode::unsupported_version, std::nullopt, 1},
        {"first past the end of the frames", frames({sig, heartbeat, empty_map}), ErrorCode::bad_frame_count,
         std::nullopt, 7},
        {"DEAD_REPLY with 3 frames (no body)", frames({sig, command_bytes(Command::dead_reply), dead_header}),
         ErrorCode::bad_frame_count},
        {"CANCEL with 4 frames", frames({sig, command_bytes(Command::cancel), map_of({str("id", "j")}), ""}),
         ErrorCode::bad_frame_count},
        {"PROGRESS with 4 frames", frames({sig, command_bytes(Command::progress), empty_map, "50%"}),
         ErrorCode::bad_frame_count},
        {"JOBS with 3 frames (no entry)",
         frames({sig, command_bytes(Command::jobs), map_of(valid_fields(Command::jobs))}), ErrorCode::bad_frame_count},
        {"JOBS of one entry with 2 payload frames",
         frames({sig, command_bytes(Command::jobs), map_of(valid_fields(Command::jobs)), "p1", "p2"}),
         ErrorCode::bad_frame_count},
        {"DONES of one entry with 2 payload frames",
         frames({sig, command_bytes(Command::dones), map_of(valid_fields(Command::dones)), "r1", "r2"}),
         ErrorCode::bad_frame_count},
        {"DONES with a result over a configured limit",
         [] { return message_with_header(Command::dones, map_of(valid_fields(Command::dones)), std::string(17, 'r')); },
         ErrorCode::payload_too_large, std::nullopt, 0, DecodeLimits{16}},
        // 0xdd 000f4240: an array32 of 1,000,000 jobs in a 12-byte body.
        {"DEAD_REPLY body claiming more entries than it has bytes",
         frames({sig, command_bytes(Command::dead_reply), dead_header,
                 octets({0x81, 0xa4, 'j', 'o', 'b', 's', 0xdd, 0x00, 0x0f, 0x42, 0x40})}),
         ErrorCode::bad_header, std::string("array size overflow")},
        {"DEAD_REPLY body claiming 4 billion entries",
         frames({sig, command_bytes(Command::dead_reply), dead_header,
                 octets({0x81, 0xa4, 'j', 'o', 'b', 's', 0xdd, 0xff, 0xff, 0xff, 0xff})}),
         ErrorCode::bad_header, std::string("array size overflow")},
        {"DEAD_REPLY body not a map", frames({sig, command_bytes(Command::dead_reply), dead_header, octets({0x90})}),
         ErrorCode::bad_header},
        {"DEAD_REPLY empty body", frames({sig, command_bytes(Command::dead_reply), dead_header, ""}),
         ErrorCode::bad_header},
        {"DEAD_REPLY body with a byte after the map",
         frames({sig, command_bytes(Command::dead_reply), dead_header,
                 octets({0x81, 0xa4, 'j', 'o', 'b', 's', 0x90, 0x00})}),
         ErrorCode::bad_header},
    };
    // Known: 0x01..0x0F and 0x10..0x1F. Everything around them is unknown.
    for (int code : {0x00, 0x22, 0x23, 0x7F, 0x80, 0xFF}) {
        cases.push_back({"unknown command byte " + std::to_string(code),
                         frames({sig, std::string(1, static_cast<char>(code)), empty_map}), ErrorCode::unknown_command});
    }
    return cases;
}

// Field-level cases for the job-lifecycle fields and commands (docs/protocol.md §5.16 on).
template <class Add>
void add_lifecycle_cases(Add& add) {
    const auto submit = valid_fields(Command::submit);
    const auto queue = valid_fields(Command::queue);
    const auto status_reply = valid_fields(Command::status_reply);
    const auto progress = valid_fields(Command::progress);
    const auto dead_reply = valid_fields(Command::dead_reply);
    const auto value = ErrorCode::bad_field_value;
    const auto type = ErrorCode::bad_field_type;

    // SUBMIT's optional fields.
    add("priority over kMaxPriority", Command::submit, with(submit, sint("priority", kMaxPriority + 1)), value,
        "priority");
    add("priority under kMinPriority", Command::submit, with(submit, sint("priority", kMinPriority - 1)), value,
        "priority");
    add("priority far out of 32 bits", Command::submit, with(submit, uint("priority", UINT64_MAX)), value,
        "priority");
    add("priority as float", Command::submit, with(submit, raw("priority", [](Packer& p) { p.pack(1.5); })), type,
        "priority");
    add("priority as string", Command::submit, with(submit, str("priority", "5")), type, "priority");
    add("priority as nil", Command::submit, with(submit, nil("priority")), type, "priority");
    add("max_attempts 0", Command::submit, with(submit, uint("max_attempts", 0)), value, "max_attempts");
    add("max_attempts 101", Command::submit, with(submit, uint("max_attempts", kMaxAttemptsLimit + 1)), value,
        "max_attempts");
    add("max_attempts negative", Command::submit, with(submit, sint("max_attempts", -1)), value, "max_attempts");
    add("max_attempts as string", Command::submit, with(submit, str("max_attempts", "3")), type, "max_attempts");
    add("backoff_ms 0", Command::submit, with(submit, uint("backoff_ms", 0)), value, "backoff_ms");
    add("backoff_ms over 24 hours", Command::submit, with(submit, uint("backoff_ms", kMaxBackoffMs + 1)), value,
        "backoff_ms");
    add("backoff_max_ms over 24 hours", Command::submit, with(submit, uint("backoff_max_ms", kMaxBackoffMs + 1)),
        value, "backoff_max_ms");
    add("backoff_jitter_pct 101", Command::submit, with(submit, uint("backoff_jitter_pct", 101)), value,
        "backoff_jitter_pct");
    add("timeout_ms over 7 days", Command::submit, with(submit, uint("timeout_ms", kMaxTimeoutMs + 1)), value,
        "timeout_ms");
    add("timeout_ms as float", Command::submit, with(submit, raw("timeout_ms", [](Packer& p) { p.pack(0.5); })),
        type, "timeout_ms");
    add("delay_ms over 365 days", Command::submit, with(submit, uint("delay_ms", kMaxDelayMs + 1)), value,
        "delay_ms");
    add("delay_ms negative", Command::submit, with(submit, sint("delay_ms", -1)), value, "delay_ms");
    add("delay_ms together with run_at_ms", Command::submit,
        with(with(submit, uint("delay_ms", 1000)), uint("run_at_ms", 1'900'000'000'000)), value, "run_at_ms");
    add("run_at_ms negative", Command::submit, with(submit, sint("run_at_ms", -1)), value, "run_at_ms");
    add("run_at_ms as string", Command::submit, with(submit, str("run_at_ms", "2030-01-01")), type, "run_at_ms");
    add("unique_key over kMaxUniqueKeyBytes", Command::submit,
        with(submit, str("unique_key", std::string(kMaxUniqueKeyBytes + 1, 'k'))), value, "unique_key");
    add("unique_key as int", Command::submit, with(submit, uint("unique_key", 7)), type, "unique_key");
    add("accept_within_ms over kMaxAcceptWithinMs", Command::submit,
        with(submit, uint("accept_within_ms", kMaxAcceptWithinMs + 1)), value, "accept_within_ms");
    add("accept_within_ms negative", Command::submit, with(submit, sint("accept_within_ms", -1)), value,
        "accept_within_ms");
    add("accept_within_ms as bool", Command::submit, with(submit, boolean("accept_within_ms", true)), type,
        "accept_within_ms");

    add("job_id over kMaxJobIdBytes", Command::accepted,
        with(valid_fields(Command::accepted), str("job_id", std::string(kMaxJobIdBytes + 1, 'j'))), value, "job_id");
    add("state delayed", Command::result, with(valid_fields(Command::result), str("state", "delayed")), value,
        "state");

    // STATUS_REPLY's lifecycle fields.
    add("priority over kMaxPriority", Command::status_reply, with(status_reply, sint("priority", kMaxPriority + 1)),
        value, "priority");
    add("max_attempts 101", Command::status_reply, with(status_reply, uint("max_attempts", kMaxAttemptsLimit + 1)),
        value, "max_attempts");
    add("progress 101", Command::status_reply, with(status_reply, uint("progress", 101)), value, "progress");
    add("progress_message over kMaxProgressMessageBytes", Command::status_reply,
        with(status_reply, str("progress_message", std::string(kMaxProgressMessageBytes + 1, 'm'))), value,
        "progress_message");
    add("history errors array over 100 entries", Command::status_reply,
        with(status_reply, raw("errors", attempt_errors(kMaxAttemptsLimit + 1))), value, "errors");
    add("errors not an array", Command::status_reply, with(status_reply, str("errors", "boom")), type, "errors");
    add("an errors entry not a map", Command::status_reply, with(status_reply, strings("errors", {"boom"})), type,
        "errors");
    add("an errors entry without its attempt", Command::status_reply, with(status_reply, raw("errors", [](Packer& p) {
            p.pack_array(1);
            p.pack_map(1);
            test::pack_string(p, "error");
            test::pack_string(p, "boom");
        })),
        ErrorCode::missing_field, "attempt");
    add("a history error over kMaxHistoryErrorBytes", Command::status_reply,
        with(status_reply, raw("errors", [](Packer& p) {
            p.pack_array(1);
            p.pack_map(2);
            test::pack_string(p, "attempt");
            p.pack(1);
            test::pack_string(p, "error");
            test::pack_string(p, std::string(kMaxHistoryErrorBytes + 1, 'e'));
        })),
        value, "error");
    add("ready_in_ms negative", Command::status_reply, with(status_reply, sint("ready_in_ms", -1)), value,
        "ready_in_ms");

    add("command over 32 bytes", Command::error,
        with(valid_fields(Command::error), str("command", std::string(33, 'C'))), value, "command");
    add("command as int", Command::error, with(valid_fields(Command::error), uint("command", 9)), type, "command");

    // CANCEL, RETRY, PURGE, DEAD.
    add("empty id", Command::cancel, {str("id", "")}, value, "id");
    add("neither id nor queue", Command::retry, {}, ErrorCode::missing_field, "id");
    add("both id and queue", Command::retry, {str("id", "j1"), str("queue", "q")}, value, "id");
    add("id over kMaxJobIdBytes", Command::retry, {str("id", std::string(kMaxJobIdBytes + 1, 'i'))}, value, "id");
    add("queue as int", Command::retry, {uint("queue", 1)}, type, "queue");
    add("id over kMaxJobIdBytes", Command::purge, with(valid_fields(Command::purge), str("id", std::string(129, 'i'))),
        value, "id");
    add("limit 0", Command::dead, with(valid_fields(Command::dead), uint("limit", 0)), value, "limit");
    add("limit 10001", Command::dead, with(valid_fields(Command::dead), uint("limit", kMaxDeadListed + 1)), value,
        "limit");
    add("limit as string", Command::dead, with(valid_fields(Command::dead), str("limit", "10")), type, "limit");

    // DEAD_REPLY: the header, then each job of the body.
    add("total negative", Command::dead_reply, with(dead_reply, sint("total", -1)), value, "total");
    add("jobs not an array", Command::dead_reply, with(dead_reply, raw("jobs", [](Packer& p) { p.pack_map(0); })),
        type, "jobs");
    add("a job not a map", Command::dead_reply, with(dead_reply, strings("jobs", {"j1"})), type, "jobs");
    add("a job without id", Command::dead_reply, with(dead_reply, dead_jobs(without(valid_dead_job(), "id"))),
        ErrorCode::missing_field, "id");
    add("a job with priority out of range", Command::dead_reply,
        with(dead_reply, dead_jobs(with(valid_dead_job(), sint("priority", kMinPriority - 1)))), value, "priority");
    add("a job's attempts over 32 bits", Command::dead_reply,
        with(dead_reply, dead_jobs(with(valid_dead_job(), uint("attempts", std::uint64_t{1} << 32)))), value,
        "attempts");
    add("a job with its errors over 100 entries", Command::dead_reply,
        with(dead_reply, dead_jobs(with(valid_dead_job(), raw("errors", attempt_errors(kMaxAttemptsLimit + 1))))),
        value, "errors");

    // QUEUE.
    add("paused as int", Command::queue, with(queue, uint("paused", 1)), type, "paused");
    add("max_attempts 0", Command::queue, with(queue, uint("max_attempts", 0)), value, "max_attempts");
    add("max_attempts 101", Command::queue, with(queue, uint("max_attempts", kMaxAttemptsLimit + 1)), value,
        "max_attempts");
    add("backoff_jitter_pct 101", Command::queue, with(queue, uint("backoff_jitter_pct", 101)), value,
        "backoff_jitter_pct");
    add("timeout_ms over 7 days", Command::queue, with(queue, uint("timeout_ms", kMaxTimeoutMs + 1)), value,
        "timeout_ms");
    add("max_length negative", Command::queue, with(queue, sint("max_length", -1)), value, "max_length");
    add("dead_max_age_ms 0", Command::queue, with(queue, uint("dead_max_age_ms", 0)), value, "dead_max_age_ms");
    add("dead_max_age_ms over 365 days", Command::queue, with(queue, uint("dead_max_age_ms", kMaxDeadAgeMs + 1)),
        value, "dead_max_age_ms");
    add("dead_max_count as string", Command::queue, with(queue, str("dead_max_count", "10")), type,
        "dead_max_count");

    // OK.
    add("empty command", Command::ok, with(valid_fields(Command::ok), str("command", "")), value, "command");
    add("count negative", Command::ok, with(valid_fields(Command::ok), sint("count", -1)), value, "count");

    // PROGRESS and ABANDON.
    add("percent 101", Command::progress, with(progress, uint("percent", 101)), value, "percent");
    add("percent negative", Command::progress, with(progress, sint("percent", -1)), value, "percent");
    add("percent as float", Command::progress, with(progress, raw("percent", [](Packer& p) { p.pack(50.5); })), type,
        "percent");
    add("message over kMaxProgressMessageBytes", Command::progress,
        with(progress, str("message", std::string(kMaxProgressMessageBytes + 1, 'm'))), value, "message");
    add("attempt 0", Command::progress, with(progress, uint("attempt", 0)), value, "attempt");
    add("attempt 0", Command::abandon, with(valid_fields(Command::abandon), uint("attempt", 0)), value, "attempt");
    add("reason as int", Command::abandon, with(valid_fields(Command::abandon), uint("reason", 1)), type, "reason");
    add("recall attempt 0", Command::recall, with(valid_fields(Command::recall), uint("attempt", 0)), value, "attempt");
    add("recall without id", Command::recall, {uint("attempt", 1)}, ErrorCode::missing_field, "id");
    add("prefetch over 64", Command::ready, with(valid_fields(Command::ready), uint("prefetch", 65)), value, "prefetch");
    add("idle_heartbeat as int", Command::ready, with(valid_fields(Command::ready), uint("idle_heartbeat", 1)), type,
        "idle_heartbeat");

    // Batches (§5.25, §5.26) and their negotiation.
    const auto entries = [](std::string key, std::vector<std::function<void(Packer&)>> list) {
        return Fields{raw(std::move(key), [list](Packer& p) {
            p.pack_array(static_cast<std::uint32_t>(list.size()));
            for (const auto& entry : list) entry(p);
        })};
    };
    const auto job_entry = [](std::string id, std::string queue_name, std::uint64_t attempt) {
        return [id, queue_name, attempt](Packer& p) {
            p.pack_array(3);
            test::pack_string(p, id);
            test::pack_string(p, queue_name);
            p.pack(attempt);
        };
    };
    add("jobs empty", Command::jobs, entries("jobs", {}), value, "jobs");
    add("jobs as a map", Command::jobs, {raw("jobs", [](Packer& p) { p.pack_map(0); })}, type, "jobs");
    add("jobs entry of 2 fields", Command::jobs, entries("jobs", {[](Packer& p) {
            p.pack_array(2);
            test::pack_string(p, "j1");
            test::pack_string(p, "q");
        }}),
        type, "jobs");
    add("jobs entry a map", Command::jobs, entries("jobs", {[](Packer& p) { p.pack_map(0); }}), type, "jobs");
    add("jobs entry with an empty id", Command::jobs, entries("jobs", {job_entry("", "q", 1)}), value, "jobs");
    add("jobs entry with an id over kMaxJobIdBytes", Command::jobs,
        entries("jobs", {job_entry(std::string(kMaxJobIdBytes + 1, 'i'), "q", 1)}), value, "jobs");
    add("jobs entry with an empty queue", Command::jobs, entries("jobs", {job_entry("j1", "", 1)}), value, "jobs");
    add("jobs entry with attempt 0", Command::jobs, entries("jobs", {job_entry("j1", "q", 0)}), value, "jobs");
    add("jobs entry with attempt over 32 bits", Command::jobs,
        entries("jobs", {job_entry("j1", "q", std::uint64_t{UINT32_MAX} + 1)}), value, "jobs");
    add("done empty", Command::dones, entries("done", {}), value, "done");
    add("done entry with attempt as string", Command::dones, entries("done", {[](Packer& p) {
            p.pack_array(2);
            test::pack_string(p, "j1");
            test::pack_string(p, "1");
        }}),
        type, "done");
    add("batch 1025", Command::ready, with(valid_fields(Command::ready), uint("batch", kMaxBatchEntries + 1)), value,
        "batch");
    add("batch as bool", Command::ready, with(valid_fields(Command::ready), boolean("batch", true)), type, "batch");
    const auto holding = [](std::function<void(Packer&)> entry) {
        return with(valid_fields(Command::ready), raw("holding", [entry](Packer& p) {
                        p.pack_array(1);
                        entry(p);
                    }));
    };
    add("holding as string", Command::ready, with(valid_fields(Command::ready), str("holding", "j1")), type,
        "holding");
    add("holding entry of one value", Command::ready, holding([](Packer& p) {
            p.pack_array(1);
            test::pack_string(p, "j1");
        }),
        type, "holding");
    add("holding entry with attempt 0", Command::ready, holding([](Packer& p) {
            p.pack_array(2);
            test::pack_string(p, "j1");
            p.pack(0);
        }),
        value, "holding");
    add("holding entry with an empty id", Command::ready, holding([](Packer& p) {
            p.pack_array(2);
            test::pack_string(p, "");
            p.pack(1);
        }),
        value, "holding");
    add("instance as string", Command::ready, with(valid_fields(Command::ready), str("instance", "7")), type,
        "instance");
    add("batch 0", Command::heartbeat, with(valid_fields(Command::heartbeat), uint("batch", 0)), value, "batch");
    add("results_batch 1025", Command::submit, with(submit, uint("results_batch", kMaxBatchEntries + 1)), value,
        "results_batch");
    const auto result_entry = [](std::string state, std::uint64_t attempt) {
        return [state, attempt](Packer& p) {
            p.pack_array(4);
            test::pack_string(p, "j1");
            test::pack_string(p, state);
            p.pack(attempt);
            test::pack_string(p, "");
        };
    };
    add("results entry in state running", Command::results, entries("results", {result_entry("running", 1)}), value,
        "results");
    add("results entry in an unknown state", Command::results, entries("results", {result_entry("gone", 1)}), value,
        "results");
    add("results entry with attempt over 32 bits", Command::results,
        entries("results", {result_entry("done", std::uint64_t{UINT32_MAX} + 1)}), value, "results");
    const auto submits = valid_fields(Command::submits);
    add("submits with no ids", Command::submits, with(submits, strings("ids", {})), value, "ids");
    add("submits with an empty id", Command::submits, with(submits, strings("ids", {"j1", ""})), value, "ids");
    add("submits with an id of 129 bytes", Command::submits, with(submits, strings("ids", {std::string(129, 'j')})),
        value, "ids");
    add("submits with ids as a string", Command::submits, with(submits, str("ids", "j1")), type, "ids");
    add("submits with a unique_key", Command::submits, with(submits, str("unique_key", "k")), value, "unique_key");
    add("submits with delay_ms and run_at_ms", Command::submits,
        with(with(submits, uint("delay_ms", 5)), uint("run_at_ms", 1)), value, "run_at_ms");

    // The queue-name grammar (docs/protocol.md §3), where a name may create a queue.
    const std::string name_problem = "queue: the queue name ";
    add("a queue name with a newline", Command::submit, with(submit, str("queue", "a\nb")), value,
        name_problem + "holds a control character");
    add("a queue name with an escape sequence", Command::submit, with(submit, str("queue", "\033[2J")), value,
        name_problem + "holds a control character");
    add("a queue name with a tab", Command::submit, with(submit, str("queue", "a\tb")), value,
        name_problem + "holds a control character");
    add("a SUBMITS to a queue named with a tab", Command::submits,
        with(valid_fields(Command::submits), str("queue", "a\tb")), value, name_problem + "holds a control character");
    add("a queue name with a space", Command::submit, with(submit, str("queue", "a b")), value,
        name_problem + "holds whitespace");
    add("a queue name that is not UTF-8", Command::submit, with(submit, str("queue", "\xff\xfe")), value,
        name_problem + "is not valid UTF-8");
    add("a queue to create with a newline", Command::queue,
        {str("queue", "a\nb"), boolean("create", true)}, value, name_problem + "holds a control character");
    add("a served queue that is not UTF-8", Command::ready, with(valid_fields(Command::ready), strings("queues", {"ok", "\xc3"})),
        value, "queues: the queue name is not valid UTF-8");

    // LIST, LIST_REPLY, CLEAR, DELETE_QUEUE.
    const Fields list = valid_fields(Command::list);
    add("state missing", Command::list, without(list, "state"), ErrorCode::missing_field, "state");
    add("state unknown", Command::list, with(list, str("state", "done")), value, "state");
    add("state as int", Command::list, with(list, uint("state", 1)), type, "state");
    add("limit 0", Command::list, with(list, uint("limit", 0)), value, "limit");
    add("limit over kMaxListed", Command::list, with(list, uint("limit", kMaxListed + 1)), value, "limit");
    add("after over kMaxJobIdBytes", Command::list, with(list, str("after", std::string(kMaxJobIdBytes + 1, 'i'))),
        value, "after");
    add("queue missing", Command::list, without(list, "queue"), ErrorCode::missing_field, "queue");
    const Fields list_reply = valid_fields(Command::list_reply);
    add("total negative", Command::list_reply, with(list_reply, sint("total", -1)), value, "total");
    add("jobs missing", Command::list_reply, without(list_reply, "jobs"), ErrorCode::missing_field, "jobs");
    add("a job not a map", Command::list_reply, with(list_reply, strings("jobs", {"j1"})), type, "jobs");
    add("a job without id", Command::list_reply, with(list_reply, dead_jobs(without(valid_listed_job(), "id"))),
        ErrorCode::missing_field, "id");
    add("a job with created_ms as string", Command::list_reply,
        with(list_reply, dead_jobs(with(valid_listed_job(), str("created_ms", "now")))), type, "created_ms");
    add("a job with max_attempts over the limit", Command::list_reply,
        with(list_reply, dead_jobs(with(valid_listed_job(), uint("max_attempts", kMaxAttemptsLimit + 1)))), value,
        "max_attempts");
    add("neither pending nor delayed", Command::clear,
        {str("queue", "q"), boolean("pending", false), boolean("delayed", false)}, value, "pending");
    add("delayed as int", Command::clear, with(valid_fields(Command::clear), uint("delayed", 1)), type, "delayed");
    add("queue empty", Command::clear, with(valid_fields(Command::clear), str("queue", "")), value, "queue");
    add("force as string", Command::delete_queue, with(valid_fields(Command::delete_queue), str("force", "yes")), type,
        "force");
    add("queue missing", Command::delete_queue, {}, ErrorCode::missing_field, "queue");
    add("payload as int", Command::status, {str("id", "j1"), uint("payload", 1)}, type, "payload");
    add("created_ms negative", Command::status_reply, with(status_reply, sint("created_ms", -1)), value,
        "created_ms");

    // FAIL's permanent flag.
    add("permanent as int", Command::fail, with(valid_fields(Command::fail), uint("permanent", 1)), type,
        "permanent");
    add("permanent as string", Command::fail, with(valid_fields(Command::fail), str("permanent", "true")), type,
        "permanent");
}

// A queues array of one entry named "q" with one more field.
std::function<void(Packer&)> queue_entry_with(std::string key, std::function<void(Packer&)> value) {
    return [key, value](Packer& p) {
        p.pack_array(1);
        p.pack_map(2);
        pack_string(p, "name");
        pack_string(p, "q");
        pack_string(p, key);
        value(p);
    };
}

// A histogram map with the given arrays (nullopt: key left out) and sum.
std::function<void(Packer&)> histogram(std::optional<std::vector<std::int64_t>> bounds,
                                       std::optional<std::vector<std::int64_t>> counts, std::int64_t sum = 0) {
    return [bounds, counts, sum](Packer& p) {
        p.pack_map((bounds ? 1 : 0) + (counts ? 1 : 0) + 1);
        for (const auto& [key, values] : {std::pair{"bounds", bounds}, std::pair{"counts", counts}}) {
            if (!values) continue;
            pack_string(p, key);
            p.pack_array(static_cast<std::uint32_t>(values->size()));
            for (const auto v : *values) p.pack(v);
        }
        pack_string(p, "sum");
        p.pack(sum);
    };
}

std::vector<std::int64_t> counting(std::size_t n) {
    std::vector<std::int64_t> values(n);
    for (std::size_t i = 0; i < n; ++i) values[i] = static_cast<std::int64_t>(i + 1);
    return values;
}

// STATS_REPLY's event counters, histograms, broker_instance and last_job_ended_at_ms.
template <class Add>
void add_stats_cases(Add& add) {
    const auto stats = valid_fields(Command::stats_reply);
    const auto type = ErrorCode::bad_field_type;
    const auto value = ErrorCode::bad_field_value;
    const auto negative = [](Packer& p) { p.pack_int64(-1); };
    const auto text = [](Packer& p) { pack_string(p, "1"); };
    add("a queue's submitted negative", Command::stats_reply,
        with(stats, raw("queues", queue_entry_with("submitted", negative))), value, "submitted");
    add("a queue's retried as a string", Command::stats_reply,
        with(stats, raw("queues", queue_entry_with("retried", text))), type, "retried");
    add("a queue's requeued negative", Command::stats_reply,
        with(stats, raw("queues", queue_entry_with("requeued", negative))), value, "requeued");
    add("a queue's timed_out as a string", Command::stats_reply,
        with(stats, raw("queues", queue_entry_with("timed_out", text))), type, "timed_out");
    add("a queue's cancelled negative", Command::stats_reply,
        with(stats, raw("queues", queue_entry_with("cancelled", negative))), value, "cancelled");
    add("a queue's wait not a map", Command::stats_reply,
        with(stats, raw("queues", queue_entry_with("wait", text))), type, "wait");
    add("a queue's wait with bounds not increasing", Command::stats_reply,
        with(stats, raw("queues", queue_entry_with("wait", histogram({{1, 2, 2}}, {{0, 0, 0, 0}})))), value,
        "wait.bounds");
    add("a queue's wait with as many counts as bounds", Command::stats_reply,
        with(stats, raw("queues", queue_entry_with("wait", histogram({{1, 2}}, {{0, 0}})))), value, "wait.counts");
    add("a queue's wait without counts", Command::stats_reply,
        with(stats, raw("queues", queue_entry_with("wait", histogram({{1}}, std::nullopt)))),
        ErrorCode::missing_field, "wait.counts");
    add("a queue's run with 65 bounds", Command::stats_reply,
        with(stats, raw("queues", queue_entry_with("run", histogram(counting(65), counting(66))))), value,
        "run.bounds");
    add("a queue's run with a negative count", Command::stats_reply,
        with(stats, raw("queues", queue_entry_with("run", histogram({{1}}, {{0, -1}})))), value, "run.counts");
    add("journal_fsync without bounds", Command::stats_reply,
        with(stats, raw("journal_fsync", histogram(std::nullopt, {{0}}))), ErrorCode::missing_field,
        "journal_fsync.bounds");
    add("journal_fsync with a negative sum", Command::stats_reply,
        with(stats, raw("journal_fsync", histogram({{1}}, {{0, 0}}, -5))), value, "journal_fsync.sum");
    add("journal_records_per_fsync with bounds as a map", Command::stats_reply,
        with(stats, raw("journal_records_per_fsync", [](Packer& p) {
                 p.pack_map(1);
                 pack_string(p, "bounds");
                 p.pack_map(0);
             })),
        type, "journal_records_per_fsync.bounds");
    add("broker_instance as a string", Command::stats_reply, with(stats, str("broker_instance", "7")), type,
        "broker_instance");
    add("last_job_ended_at_ms negative", Command::stats_reply, with(stats, sint("last_job_ended_at_ms", -1)), value,
        "last_job_ended_at_ms");
}

// Field-level cases: a valid header for `command` with one thing wrong.
std::vector<MalformedCase> field_cases() {
    std::vector<MalformedCase> cases;
    auto add = [&cases](std::string name, Command command, Fields fields, ErrorCode expected, std::string field) {
        cases.push_back({std::string(to_string(command)) + ": " + name,
                         [command, fields] { return message_with_fields(command, fields); }, expected, field});
    };

    // Every required field, removed in turn.
    const std::vector<std::pair<Command, std::vector<std::string>>> required = {
        {Command::submit, {"id", "queue"}},
        {Command::accepted, {"id"}},
        {Command::result, {"id", "state", "attempt"}},
        {Command::status, {"id"}},
        {Command::status_reply, {"id", "state", "attempt"}},
        {Command::stats_reply, {"queues", "workers"}},
        {Command::error, {"code"}},
        {Command::ready, {"queues", "capacity"}},
        {Command::job, {"id", "queue", "attempt"}},
        {Command::done, {"id", "attempt"}},
        {Command::fail, {"id", "attempt"}},
        {Command::cancel, {"id"}},
        {Command::purge, {"queue"}},
        {Command::dead, {"queue"}},
        {Command::dead_reply, {"queue", "jobs"}},
        {Command::queue, {"queue"}},
        {Command::ok, {"command"}},
        {Command::progress, {"id", "attempt", "percent"}},
        {Command::abandon, {"id", "attempt"}},
        {Command::recall, {"id", "attempt"}},
        {Command::jobs, {"jobs"}},
        {Command::dones, {"done"}},
        {Command::results, {"results"}},
        {Command::submits, {"queue", "ids"}},
    };
    for (const auto& [command, keys] : required) {
        for (const auto& key : keys) {
            add("missing " + key, command, without(valid_fields(command), key), ErrorCode::missing_field, key);
        }
    }

    const auto submit = valid_fields(Command::submit);
    const auto ready = valid_fields(Command::ready);
    const auto done = valid_fields(Command::done);
    const auto job = valid_fields(Command::job);
    const auto result = valid_fields(Command::result);
    const auto heartbeat = valid_fields(Command::heartbeat);
    const auto empty_array = [](Packer& p) { p.pack_array(0); };

    // Wrong msgpack types.
    add("id as int", Command::submit, with(submit, uint("id", 1)), ErrorCode::bad_field_type, "id");
    add("id as bin", Command::submit, with(submit, raw("id", [](Packer& p) {
            p.pack_bin(2);
            p.pack_bin_body("j1", 2);
        })),
        ErrorCode::bad_field_type, "id");
    add("id as nil", Command::submit, with(submit, nil("id")), ErrorCode::bad_field_type, "id");
    add("queue as array", Command::submit, with(submit, strings("queue", {"q"})), ErrorCode::bad_field_type, "queue");
    add("wants_result as int", Command::submit, with(submit, uint("wants_result", 1)), ErrorCode::bad_field_type,
        "wants_result");
    add("wants_result as string", Command::submit, with(submit, str("wants_result", "true")),
        ErrorCode::bad_field_type, "wants_result");
    add("existed as int", Command::accepted, with(valid_fields(Command::accepted), uint("existed", 0)),
        ErrorCode::bad_field_type, "existed");
    add("attempt as string", Command::done, with(done, str("attempt", "1")), ErrorCode::bad_field_type, "attempt");
    // msgpack-c writes an integral double such as 1.0 as an integer, so use 1.5 here; the
    // frame table has 1.0 written as raw float64 bytes.
    add("attempt as float", Command::job, with(job, raw("attempt", [](Packer& p) { p.pack(1.5); })),
        ErrorCode::bad_field_type, "attempt");
    add("attempt as bool", Command::fail, with(valid_fields(Command::fail), boolean("attempt", true)),
        ErrorCode::bad_field_type, "attempt");
    add("capacity as string", Command::ready, with(ready, str("capacity", "4")), ErrorCode::bad_field_type,
        "capacity");
    add("queues as string", Command::ready, with(ready, str("queues", "q")), ErrorCode::bad_field_type, "queues");
    add("queues holding an int", Command::ready, with(ready, raw("queues", [](Packer& p) {
            p.pack_array(1);
            p.pack(1);
        })),
        ErrorCode::bad_field_type, "queues");
    add("name as int", Command::ready, with(ready, uint("name", 1)), ErrorCode::bad_field_type, "name");
    add("state as int", Command::result, with(result, uint("state", 2)), ErrorCode::bad_field_type, "state");
    add("error as int", Command::fail, with(valid_fields(Command::fail), uint("error", 2)), ErrorCode::bad_field_type,
        "error");
    add("interval_ms as string", Command::heartbeat, with(heartbeat, str("interval_ms", "1000")),
        ErrorCode::bad_field_type, "interval_ms");
    add("code as int", Command::error, with(valid_fields(Command::error), uint("code", 10)), ErrorCode::bad_field_type,
        "code");
    add("reason as int", Command::disconnect, {uint("reason", 1)}, ErrorCode::bad_field_type, "reason");
    add("queues not an array", Command::stats_reply,
        with(valid_fields(Command::stats_reply), raw("queues", [](Packer& p) { p.pack_map(0); })),
        ErrorCode::bad_field_type, "queues");
    add("workers not an array", Command::stats_reply,
        with(valid_fields(Command::stats_reply), uint("workers", 0)), ErrorCode::bad_field_type, "workers");
    add("a queue entry not a map", Command::stats_reply,
        with(valid_fields(Command::stats_reply), strings("queues", {"q"})), ErrorCode::bad_field_type, "queues");
    add("counters not a map", Command::stats_reply,
        with(valid_fields(Command::stats_reply), raw("counters", empty_array)), ErrorCode::bad_field_type,
        "counters");
    add("a counter value negative", Command::stats_reply,
        with(valid_fields(Command::stats_reply), raw("counters", [](Packer& p) {
                 p.pack_map(1);
                 test::pack_string(p, "submitted");
                 p.pack_int64(-1);
             })),
        ErrorCode::bad_field_value, "counters");
    add("a queue entry without a name", Command::stats_reply,
        with(valid_fields(Command::stats_reply), raw("queues", [](Packer& p) {
                 p.pack_array(1);
                 p.pack_map(1);
                 test::pack_string(p, "pending");
                 p.pack(1);
             })),
        ErrorCode::missing_field, "name");
    add("a worker entry without queues", Command::stats_reply,
        with(valid_fields(Command::stats_reply), raw("workers", [](Packer& p) {
                 p.pack_array(1);
                 p.pack_map(1);
                 test::pack_string(p, "name");
                 test::pack_string(p, "w");
             })),
        ErrorCode::missing_field, "queues");
    add("a worker's capacity over the limit", Command::stats_reply,
        with(valid_fields(Command::stats_reply), raw("workers", [](Packer& p) {
                 p.pack_array(1);
                 p.pack_map(2);
                 test::pack_string(p, "queues");
                 p.pack_array(0);
                 test::pack_string(p, "capacity");
                 p.pack(kMaxCapacity + 1);
             })),
        ErrorCode::bad_field_value, "capacity");

    add_stats_cases(add);

    // Values out of range. A negative integer has the right msgpack family but no valid value.
    add("capacity negative", Command::ready, with(ready, sint("capacity", -1)), ErrorCode::bad_field_value,
        "capacity");
    add("capacity 0", Command::ready, with(ready, uint("capacity", 0)), ErrorCode::bad_field_value, "capacity");
    add("capacity over kMaxCapacity", Command::ready, with(ready, uint("capacity", kMaxCapacity + 1)),
        ErrorCode::bad_field_value, "capacity");
    add("attempt 0", Command::done, with(done, uint("attempt", 0)), ErrorCode::bad_field_value, "attempt");
    add("attempt 0", Command::job, with(job, uint("attempt", 0)), ErrorCode::bad_field_value, "attempt");
    add("attempt 0", Command::fail, with(valid_fields(Command::fail), uint("attempt", 0)), ErrorCode::bad_field_value,
        "attempt");
    add("attempt over 32 bits", Command::done, with(done, uint("attempt", std::uint64_t{1} << 32)),
        ErrorCode::bad_field_value, "attempt");
    add("attempt negative", Command::result, with(result, sint("attempt", -1)), ErrorCode::bad_field_value,
        "attempt");
    add("empty id", Command::submit, with(submit, str("id", "")), ErrorCode::bad_field_value, "id");
    add("empty id", Command::done, with(done, str("id", "")), ErrorCode::bad_field_value, "id");
    add("id over kMaxJobIdBytes", Command::submit, with(submit, str("id", std::string(kMaxJobIdBytes + 1, 'i'))),
        ErrorCode::bad_field_value, "id");
    add("id over kMaxJobIdBytes", Command::status,
        {str("id", std::string(kMaxJobIdBytes + 1, 'i'))}, ErrorCode::bad_field_value, "id");
    add("empty queue", Command::submit, with(submit, str("queue", "")), ErrorCode::bad_field_value, "queue");
    add("queue over kMaxQueueNameBytes", Command::submit,
        with(submit, str("queue", std::string(kMaxQueueNameBytes + 1, 'q'))), ErrorCode::bad_field_value, "queue");
    add("queue over kMaxQueueNameBytes", Command::job, with(job, str("queue", std::string(kMaxQueueNameBytes + 1, 'q'))),
        ErrorCode::bad_field_value, "queue");
    add("name over kMaxWorkerNameBytes", Command::ready,
        with(ready, str("name", std::string(kMaxWorkerNameBytes + 1, 'n'))), ErrorCode::bad_field_value, "name");
    std::vector<std::string> too_many(kMaxQueuesPerWorker + 1, "q");
    add("too many queues", Command::ready, with(ready, strings("queues", too_many)), ErrorCode::bad_field_value,
        "queues");
    add("empty queues array", Command::ready, with(ready, raw("queues", empty_array)), ErrorCode::bad_field_value,
        "queues");
    add("an empty queue name", Command::ready, with(ready, strings("queues", {"q", ""})), ErrorCode::bad_field_value,
        "queues");
    add("a queue name over kMaxQueueNameBytes", Command::ready,
        with(ready, strings("queues", {std::string(kMaxQueueNameBytes + 1, 'q')})), ErrorCode::bad_field_value,
        "queues");
    add("error over kMaxErrorTextBytes", Command::fail,
        with(valid_fields(Command::fail), str("error", std::string(kMaxErrorTextBytes + 1, 'e'))),
        ErrorCode::bad_field_value, "error");
    add("state unknown", Command::result, with(result, str("state", "finished")), ErrorCode::bad_field_value, "state");
    add("state running", Command::result, with(result, str("state", "running")), ErrorCode::bad_field_value, "state");
    add("state pending", Command::result, with(result, str("state", "pending")), ErrorCode::bad_field_value, "state");
    add("state empty", Command::result, with(result, str("state", "")), ErrorCode::bad_field_value, "state");
    add("state in upper case", Command::status_reply, with(valid_fields(Command::status_reply), str("state", "DONE")),
        ErrorCode::bad_field_value, "state");
    add("state longer than any state", Command::status_reply,
        with(valid_fields(Command::status_reply), str("state", std::string(17, 'd'))), ErrorCode::bad_field_value,
        "state");
    add("interval_ms below the minimum", Command::heartbeat,
        with(heartbeat, uint("interval_ms", kMinHeartbeatInterval.count() - 1)), ErrorCode::bad_field_value,
        "interval_ms");
    add("interval_ms above the maximum", Command::heartbeat,
        with(heartbeat, uint("interval_ms", kMaxHeartbeatInterval.count() + 1)), ErrorCode::bad_field_value,
        "interval_ms");
    add("interval_ms 0", Command::heartbeat, with(heartbeat, uint("interval_ms", 0)), ErrorCode::bad_field_value,
        "interval_ms");
    add("idle_interval_ms below the minimum", Command::heartbeat,
        with(heartbeat, uint("idle_interval_ms", kMinHeartbeatInterval.count() - 1)), ErrorCode::bad_field_value,
        "idle_interval_ms");
    add("idle_interval_ms above the maximum", Command::heartbeat,
        with(heartbeat, uint("idle_interval_ms", kMaxIdleHeartbeatInterval.count() + 1)), ErrorCode::bad_field_value,
        "idle_interval_ms");
    add("idle_interval_ms as string", Command::heartbeat, with(heartbeat, str("idle_interval_ms", "10000")),
        ErrorCode::bad_field_type, "idle_interval_ms");
    add("liveness 0", Command::heartbeat, with(heartbeat, uint("liveness", 0)), ErrorCode::bad_field_value,
        "liveness");
    add("liveness 101", Command::heartbeat, with(heartbeat, uint("liveness", 101)), ErrorCode::bad_field_value,
        "liveness");
    add("max_payload_bytes 0 in HEARTBEAT", Command::heartbeat, with(heartbeat, uint("max_payload_bytes", 0)),
        ErrorCode::bad_field_value, "max_payload_bytes");
    add("max_payload_bytes as a string in HEARTBEAT", Command::heartbeat,
        with(heartbeat, str("max_payload_bytes", "8MiB")), ErrorCode::bad_field_type, "max_payload_bytes");
    add("max_payload_bytes 0 in ERROR", Command::error,
        with(valid_fields(Command::error), uint("max_payload_bytes", 0)), ErrorCode::bad_field_value,
        "max_payload_bytes");
    add("max_payload_bytes 0 in STATS_REPLY", Command::stats_reply,
        with(valid_fields(Command::stats_reply), uint("max_payload_bytes", 0)), ErrorCode::bad_field_value,
        "max_payload_bytes");
    add("empty code", Command::error, with(valid_fields(Command::error), str("code", "")), ErrorCode::bad_field_value,
        "code");
    add_lifecycle_cases(add);
    return cases;
}

void check_cases(const std::vector<MalformedCase>& cases) {
    for (const auto& c : cases) {
        INFO("case: " << c.name);
        Frames frames = c.frames();
        auto decoded = decode(frames, c.first, c.limits);
        REQUIRE_FALSE(decoded.has_value());
        CHECK(to_string(decoded.error().code) == to_string(c.expected));
        if (c.detail) CHECK(decoded.error().detail == *c.detail);
    }
}

TEST_CASE("malformed frame sets are rejected with the exact error code", "[protocol][decode]") {
    check_cases(frame_cases());
}

TEST_CASE("malformed header fields are rejected with the exact error code and field", "[protocol][decode]") {
    check_cases(field_cases());
}

TEST_CASE("the valid headers used by the malformed cases decode", "[protocol][decode]") {
    // Guards the tables above: each case must fail for its one defect, not for a broken base.
    for (Command command : kAllCommands) {
        INFO(to_string(command));
        Frames frames = message_with_fields(command, valid_fields(command));
        auto decoded = decode(frames);
        if (!decoded) FAIL(to_string(decoded.error().code) << " " << decoded.error().detail);
        CHECK(command_of(decoded.value()) == command);
    }
    SECTION("nesting exactly at the limit (the map plus seven arrays) decodes") {
        Frames frames = message_with_header(Command::submit, submit_with_nesting(7));
        CHECK(decode(frames).has_value());
    }
    SECTION("a header of exactly kMaxHeaderBytes is not rejected for its size") {
        const std::string small = map_of({str("id", "j"), str("queue", "q"), str("pad", "")});
        // An empty pad is a 1-byte fixstr; a long one is a str16 with a 3-byte prefix.
        const std::string pad(kMaxHeaderBytes - small.size() - 2, 'x');
        const std::string header = map_of({str("id", "j"), str("queue", "q"), str("pad", pad)});
        REQUIRE(header.size() == kMaxHeaderBytes);
        Frames frames = message_with_header(Command::submit, header);
        CHECK(decode(frames).has_value());
    }
    SECTION("a payload of exactly a configured limit decodes") {
        Frames frames = message_with_header(Command::done, map_of(valid_fields(Command::done)), std::string(16, 'p'));
        CHECK(decode(frames, 0, DecodeLimits{16}).has_value());
    }
}

TEST_CASE("a 4-billion-element claim fails fast without a large allocation", "[protocol][decode]") {
    // A bad_alloc would also end as bad_header, so the error text shows which guard fired.
    for (const std::string& header : {octets({0xdd, 0xff, 0xff, 0xff, 0xff}), octets({0xdf, 0xff, 0xff, 0xff, 0xff}),
                                      octets({0x81, 0xa1, 'k', 0xdd, 0xff, 0xff, 0xff, 0xff})}) {
        Frames frames = message_with_header(Command::heartbeat, header);
        const auto start = std::chrono::steady_clock::now();
        auto decoded = decode(frames);
        const auto elapsed = std::chrono::steady_clock::now() - start;
        REQUIRE_FALSE(decoded);
        CHECK(decoded.error().code == ErrorCode::bad_header);
        CHECK(decoded.error().detail != "header too large to decode");
        CHECK(decoded.error().detail.find("size overflow") != std::string::npos);
        CHECK(elapsed < std::chrono::milliseconds(100));
    }
}

TEST_CASE("decode with first = 1 skips the routing id a ROUTER socket prepends", "[protocol][decode]") {
    Frames frames = frames_of({std::string("\x00\x6b\x8b\x45\x67", 5)});
    for (auto& frame : encode(Done{"j1", 2, make_payload("result")})) frames.push_back(std::move(frame));
    auto decoded = decode(frames, 1);
    REQUIRE(decoded);
    const auto& done = std::get<Done>(decoded.value());
    CHECK(done.id == "j1");
    CHECK(done.attempt == 2);
    CHECK(view_of(done.payload) == "result");
    CHECK(frames.size() == 5);
    CHECK(text_of(frames[0]) == std::string("\x00\x6b\x8b\x45\x67", 5));

    SECTION("a command without payload behind a routing id") {
        Frames heartbeat = frames_of({"peer"});
        for (auto& frame : encode(Heartbeat{})) heartbeat.push_back(std::move(frame));
        CHECK(decode(heartbeat, 1).has_value());
        SECTION("and with an extra frame it is the wrong frame count") {
            heartbeat.emplace_back();
            auto bad = decode(heartbeat, 1);
            REQUIRE_FALSE(bad);
            CHECK(bad.error().code == ErrorCode::bad_frame_count);
        }
    }
}

// Valid messages of every type, with their optional fields set, used as seeds for mutation.
std::vector<Message> seed_messages() {
    std::vector<Message> messages;
    messages.emplace_back(make_submit("job-1", "emails", true, make_payload("payload")));
    Submit full = make_submit("job-2", "emails", true, make_payload("payload"));
    full.priority = -7;
    full.retry.max_attempts = 5;
    full.retry.backoff_ms = 250;
    full.retry.backoff_max_ms = 60'000;
    full.retry.backoff_jitter_pct = 10;
    full.timeout_ms = 30'000;
    full.delay_ms = 1500;
    full.unique_key = "invoice-42";
    messages.emplace_back(std::move(full));
    Submit at = make_submit("job-3", "emails", false, make_payload(""));
    at.run_at_ms = 1'900'000'000'000;
    messages.emplace_back(std::move(at));
    messages.emplace_back(Accepted{"job-1", true, "job-0"});
    messages.emplace_back(JobResult{"job-1", JobState::failed, 2, "boom", zmq::message_t()});
    messages.emplace_back(JobResult{"job-1", JobState::cancelled, 1, "cancelled", zmq::message_t()});
    messages.emplace_back(StatusRequest{"job-1"});
    StatusReply status = status_reply_of("job-1", "emails", JobState::running, 2, "w:1", "boom", zmq::message_t());
    status.priority = 3;
    status.max_attempts = 4;
    status.progress = 40;
    status.progress_message = "page 4 of 10";
    status.ready_in_ms = 0;
    status.errors = {{1, "boom"}};
    messages.emplace_back(std::move(status));
    messages.emplace_back(StatsRequest{});
    StatsReply stats;
    stats.queues = {{"emails", 1, 2, 3, 4, 5, 6, true}, {"images", 5, 6, 7, 8}};
    stats.workers = {{"w:1", {"emails", "images"}, 4, 1, 10, false}};
    stats.counters = {{"submitted", 9}, {"requeued", 1}};
    messages.emplace_back(std::move(stats));
    messages.emplace_back(error_of(ErrorCode::wrong_state, "job is done", "job-1", "CANCEL"));
    messages.emplace_back(Cancel{"job-1"});
    messages.emplace_back(Retry{"job-1", ""});
    messages.emplace_back(Retry{"", "emails"});
    messages.emplace_back(Purge{"emails", "job-1"});
    messages.emplace_back(DeadRequest{"emails", 50});
    DeadReply dead;
    dead.queue = "emails";
    dead.total = 7;
    dead.jobs = {{"job-1", 3, 1000, 12, -2, {{1, "a"}, {2, "b"}, {3, "c"}}}, {"job-2", 1, 5, 0, 0, {}}};
    messages.emplace_back(std::move(dead));
    QueueSettings settings;
    settings.queue = "emails";
    settings.is_paused = true;
    settings.max_length = 1000;
    settings.retry.max_attempts = 2;
    settings.retry.backoff_jitter_pct = 0;
    settings.timeout_ms = 0;
    settings.dead_max_count = 10;
    settings.dead_max_age_ms = 3'600'000;
    messages.emplace_back(std::move(settings));
    messages.emplace_back(Ok{"RETRY", "emails", 3});
    messages.emplace_back(Ready{{"emails", "images"}, 4, "w:1", 0, 99, std::vector<HeldLease>{{"j1", 2}}});
    messages.emplace_back(Job{"job-1", "emails", 1, make_payload(std::string("\0bin\0", 5))});
    messages.emplace_back(Done{"job-1", 1, make_payload("ok")});
    messages.emplace_back(Fail{"job-1", 1, "error text"});
    messages.emplace_back(Fail{"job-1", 2, "bad input", true});
    messages.emplace_back(Heartbeat{1000u, 3u});
    messages.emplace_back(Drain{});
    messages.emplace_back(Disconnect{"bye"});
    messages.emplace_back(Progress{"job-1", 1, 50, "half way"});
    messages.emplace_back(Abandon{"job-1", 1, "timeout"});
    messages.emplace_back(Recall{"job-1", 2});
    Jobs jobs;
    jobs.jobs.push_back(Job{"job-1", "emails", 1, make_payload("one")});
    jobs.jobs.push_back(Job{"job-2", "images", 3, zmq::message_t()});
    messages.emplace_back(std::move(jobs));
    Dones dones;
    dones.done.push_back(Done{"job-1", 1, make_payload("ok")});
    dones.done.push_back(Done{"job-2", 3, zmq::message_t()});
    messages.emplace_back(std::move(dones));
    Results results;
    results.results.push_back(JobResult{"job-1", JobState::done, 1, "", make_payload("ok")});
    results.results.push_back(JobResult{"job-2", JobState::failed, 3, "boom", zmq::message_t()});
    messages.emplace_back(std::move(results));
    messages.emplace_back(ListRequest{"emails", ListedState::delayed, "job-1", 50});
    ListReply list;
    list.queue = "emails";
    list.state = ListedState::running;
    list.total = 3;
    list.next = "job-2";
    ListedJob listed;
    listed.id = "job-2";
    listed.attempt = 2;
    listed.created_ms = 1'700'000'000'000;
    listed.started_ms = 1'700'000'001'000;
    listed.worker = "w:1";
    list.jobs.push_back(listed);
    messages.emplace_back(std::move(list));
    messages.emplace_back(Clear{"emails", true, true});
    messages.emplace_back(DeleteQueue{"emails", true});
    Submits submits;
    submits.shared.queue = "emails";
    submits.shared.wants_result = true;
    submits.entries.push_back(SubmitsEntry{"job-1", make_payload("one")});
    submits.entries.push_back(SubmitsEntry{"job-2", zmq::message_t()});
    messages.emplace_back(std::move(submits));
    return messages;
}

std::vector<std::vector<std::string>> seed_frames() {
    std::vector<std::vector<std::string>> seeds;
    for (auto& message : seed_messages()) {
        Frames frames;
        encode_into(std::move(message), frames);
        std::vector<std::string> parts;
        for (const auto& frame : frames) parts.push_back(text_of(frame));
        seeds.push_back(std::move(parts));
    }
    return seeds;
}

TEST_CASE("the mutation seeds cover every command", "[protocol][decode]") {
    std::set<Command> seeded;
    for (const auto& message : seed_messages()) seeded.insert(command_of(message));
    CHECK(seeded == std::set<Command>(std::begin(kAllCommands), std::end(kAllCommands)));
    CHECK(seeded.size() == 33);
}

void mutate(std::vector<std::string>& parts, std::mt19937& random) {
    auto pick = [&random](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random); };
    auto byte = [&random] { return static_cast<char>(std::uniform_int_distribution<int>(0, 255)(random)); };
    switch (pick(8)) {
        case 0:
        case 1: {  // flip bits of one byte (the header is the most interesting target)
            auto& frame = parts[parts.size() > 2 && pick(2) == 0 ? 2 : pick(parts.size())];
            if (!frame.empty()) frame[pick(frame.size())] ^= static_cast<char>(1u << pick(8));
            break;
        }
        case 2: {  // overwrite one byte with a random one
            auto& frame = parts[pick(parts.size())];
            if (!frame.empty()) frame[pick(frame.size())] = byte();
            break;
        }
        case 3: {  // truncate a frame
            auto& frame = parts[pick(parts.size())];
            frame.resize(frame.empty() ? 0 : pick(frame.size()));
            break;
        }
        case 4: {  // extend a frame with random bytes
            auto& frame = parts[pick(parts.size())];
            const std::size_t extra = 1 + pick(16);
            for (std::size_t i = 0; i < extra; ++i) frame.push_back(byte());
            break;
        }
        case 5:  // drop a frame
            parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(pick(parts.size())));
            break;
        case 6: {  // duplicate a frame
            const std::size_t at = pick(parts.size());
            parts.insert(parts.begin() + static_cast<std::ptrdiff_t>(at), parts[at]);
            break;
        }
        default: {  // insert a random byte at a random place of a frame
            auto& frame = parts[pick(parts.size())];
            frame.insert(frame.begin() + static_cast<std::ptrdiff_t>(frame.empty() ? 0 : pick(frame.size() + 1)),
                         byte());
            break;
        }
    }
}

TEST_CASE("ten thousand seeded mutations of valid messages never throw or crash decode", "[protocol][decode]") {
    const auto seeds = seed_frames();
    std::mt19937 random(20240611);  // fixed seed: failures reproduce
    std::size_t decoded_count = 0;
    std::size_t rejected_count = 0;
    for (int round = 0; round < 10'000; ++round) {
        auto parts = seeds[static_cast<std::size_t>(round) % seeds.size()];
        const int mutations = 1 + static_cast<int>(random() % 3);
        for (int i = 0; i < mutations && !parts.empty(); ++i) mutate(parts, random);
        Frames frames = frames_of(parts);
        // decode() is noexcept: an escaping exception would terminate the test binary.
        auto decoded = decode(frames);
        if (decoded) {
            ++decoded_count;
            // Whatever decode accepts, encode must write back in a form decode accepts again.
            Frames again = encode(std::move(decoded.value()));
            auto redecoded = decode(again);
            if (!redecoded) {
                FAIL("round " << round << ": re-encoded message rejected: " << to_string(redecoded.error().code)
                              << " " << redecoded.error().detail);
            }
        } else {
            ++rejected_count;
            CHECK(static_cast<int>(decoded.error().code) <= static_cast<int>(ErrorCode::internal));
        }
    }
    INFO("decoded " << decoded_count << " rejected " << rejected_count);
    CHECK(decoded_count + rejected_count == 10'000);
    // Both outcomes must occur, or the mutations are too weak (or too strong) to mean anything.
    CHECK(decoded_count > 100);
    CHECK(rejected_count > 1000);
}

}  // namespace
}  // namespace corsair::protocol
