// Error codes travel as their snake_case names (docs/protocol.md §Error codes).
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "corsair/protocol/error_code.hpp"
#include "corsair/protocol/messages.hpp"

namespace corsair::protocol {
namespace {

TEST_CASE("every error code survives to_string and parse_error_code", "[protocol][error_code]") {
    std::set<std::string> names;
    for (int i = 0; i <= static_cast<int>(ErrorCode::internal); ++i) {
        const auto code = static_cast<ErrorCode>(i);
        const std::string name(to_string(code));
        INFO(name);
        CHECK_FALSE(name.empty());
        CHECK(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos);
        CHECK(parse_error_code(name) == code);
        names.insert(name);
    }
    CHECK(names.size() == 24);
}

TEST_CASE("the lifecycle error codes come after shutting_down and before internal", "[protocol][error_code]") {
    // parse_error_code walks the codes up to internal, so internal must stay the last one.
    CHECK(static_cast<int>(ErrorCode::shutting_down) == 12);
    CHECK(static_cast<int>(ErrorCode::queue_full) == 13);
    CHECK(static_cast<int>(ErrorCode::wrong_state) == 14);
    CHECK(static_cast<int>(ErrorCode::too_many_queues) == 15);
    CHECK(static_cast<int>(ErrorCode::unknown_queue) == 16);
    CHECK(static_cast<int>(ErrorCode::id_conflict) == 17);
    CHECK(static_cast<int>(ErrorCode::storage_unavailable) == 18);
    CHECK(static_cast<int>(ErrorCode::wrong_endpoint) == 19);
    CHECK(static_cast<int>(ErrorCode::forbidden) == 20);
    CHECK(static_cast<int>(ErrorCode::too_many_in_flight) == 21);
    CHECK(static_cast<int>(ErrorCode::too_many_workers) == 22);
    CHECK(static_cast<int>(ErrorCode::internal) == 23);
    CHECK(parse_error_code("queue_full") == ErrorCode::queue_full);
    CHECK(parse_error_code("too_many_queues") == ErrorCode::too_many_queues);
    CHECK(parse_error_code("wrong_state") == ErrorCode::wrong_state);
}

TEST_CASE("the wire names of error codes are fixed", "[protocol][error_code]") {
    // These strings are the protocol; renaming one is a version change.
    CHECK(to_string(ErrorCode::bad_frame_count) == "bad_frame_count");
    CHECK(to_string(ErrorCode::bad_signature) == "bad_signature");
    CHECK(to_string(ErrorCode::unsupported_version) == "unsupported_version");
    CHECK(to_string(ErrorCode::unknown_command) == "unknown_command");
    CHECK(to_string(ErrorCode::bad_header) == "bad_header");
    CHECK(to_string(ErrorCode::missing_field) == "missing_field");
    CHECK(to_string(ErrorCode::bad_field_type) == "bad_field_type");
    CHECK(to_string(ErrorCode::bad_field_value) == "bad_field_value");
    CHECK(to_string(ErrorCode::payload_too_large) == "payload_too_large");
    CHECK(to_string(ErrorCode::unexpected_command) == "unexpected_command");
    CHECK(to_string(ErrorCode::unknown_job) == "unknown_job");
    CHECK(to_string(ErrorCode::unknown_worker) == "unknown_worker");
    CHECK(to_string(ErrorCode::shutting_down) == "shutting_down");
    CHECK(to_string(ErrorCode::queue_full) == "queue_full");
    CHECK(to_string(ErrorCode::wrong_state) == "wrong_state");
    CHECK(to_string(ErrorCode::too_many_queues) == "too_many_queues");
    CHECK(to_string(ErrorCode::unknown_queue) == "unknown_queue");
    CHECK(to_string(ErrorCode::id_conflict) == "id_conflict");
    CHECK(to_string(ErrorCode::storage_unavailable) == "storage_unavailable");
    CHECK(to_string(ErrorCode::wrong_endpoint) == "wrong_endpoint");
    CHECK(to_string(ErrorCode::forbidden) == "forbidden");
    CHECK(to_string(ErrorCode::too_many_in_flight) == "too_many_in_flight");
    CHECK(to_string(ErrorCode::too_many_workers) == "too_many_workers");
    CHECK(to_string(ErrorCode::internal) == "internal");
}

TEST_CASE("unknown error code names do not parse", "[protocol][error_code]") {
    CHECK_FALSE(parse_error_code("").has_value());
    CHECK_FALSE(parse_error_code("Unknown_Job").has_value());
    CHECK_FALSE(parse_error_code("unknown_job ").has_value());
    CHECK_FALSE(parse_error_code("rate_limited").has_value());
    CHECK_FALSE(parse_error_code(std::string_view("internal\0", 9)).has_value());
}

TEST_CASE("job states survive to_string and parse_job_state", "[protocol][error_code]") {
    for (auto state : {JobState::pending, JobState::delayed, JobState::running, JobState::done, JobState::failed,
                       JobState::cancelled}) {
        CHECK(parse_job_state(to_string(state)) == state);
    }
    CHECK(to_string(JobState::pending) == "pending");
    CHECK(to_string(JobState::delayed) == "delayed");
    CHECK(to_string(JobState::running) == "running");
    CHECK(to_string(JobState::done) == "done");
    CHECK(to_string(JobState::failed) == "failed");
    CHECK(to_string(JobState::cancelled) == "cancelled");
    CHECK_FALSE(parse_job_state("Done").has_value());
    CHECK_FALSE(parse_job_state("canceled").has_value());
    CHECK_FALSE(parse_job_state("").has_value());
}

TEST_CASE("done, failed and cancelled are the final states", "[protocol][error_code]") {
    CHECK_FALSE(is_final(JobState::pending));
    CHECK_FALSE(is_final(JobState::delayed));
    CHECK_FALSE(is_final(JobState::running));
    CHECK(is_final(JobState::done));
    CHECK(is_final(JobState::failed));
    CHECK(is_final(JobState::cancelled));
}

}  // namespace
}  // namespace corsair::protocol
