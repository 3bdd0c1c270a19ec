// What the `corsair` commands print: JSON objects (one per line, for --json) and readable text.
// Pure functions of their inputs, so tests can check them without a broker.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "corsair/producer/producer.hpp"
#include "corsair/protocol/messages.hpp"

namespace corsair::producer::cli {

// {"id","state","attempt","result"} for done, {"id","state","attempt","error"} for failed or
// cancelled; plus "job_id" when a unique key made the outcome another job's.
nlohmann::json outcome_json(const Outcome& outcome);
// {"id"} of an accepted job; plus "existed":true and "job_id" when nothing new was queued.
nlohmann::json accepted_json(const Event& accepted);
// {"id","state":"running","progress":percent,"message"}: one progress report; plus "job_id"
// when it is another job's (a unique key matched).
nlohmann::json progress_json(const std::string& id, const JobProgress& progress, const std::string& job_id = {});
// {"id","state":"refused","error":"code: message"}: the broker refused the SUBMIT.
nlohmann::json refused_json(const std::string& id, const protocol::Error& error);
// {"id","queue","state","attempt","max_attempts","priority","ready_in_ms","worker","progress"
// (null if none),"progress_message","error","errors":[{"attempt","error"}]} plus "result" when done.
nlohmann::json status_json(const protocol::StatusReply& status);
// {"queues":[...],"workers":[...],"counters":{...}}, field names as on the wire.
nlohmann::json stats_json(const protocol::StatsReply& stats);
// {"queue","id","attempts","died_ms_ago","payload_bytes","priority","errors":[{"attempt","error"}]}.
nlohmann::json dead_job_json(const std::string& queue, const protocol::DeadJob& job);
// Every setting of a queue, named as on the wire; a setting the broker left out is null.
nlohmann::json queue_settings_json(const protocol::QueueSettings& settings);

// One line of JSON without the newline. Bytes that are not UTF-8 (binary results) become U+FFFD.
std::string json_line(const nlohmann::json& value);

// "code: message" of a broker ERROR.
std::string error_text(const protocol::Error& error);
// "key: value" lines describing one job, then its error history.
std::string status_text(const protocol::StatusReply& status);
// Tables of queues, workers and counters.
std::string stats_table(const protocol::StatsReply& stats);
// A heading with the dead set's size, then a table: id, attempts, died ago, last error.
std::string dead_table(const protocol::DeadReply& dead);
// "key: value" lines of a queue's settings.
std::string queue_settings_text(const protocol::QueueSettings& settings);
// "job ID: 40% message": one progress report, as shown on stderr.
std::string progress_text(const std::string& id, const JobProgress& progress);

}  // namespace corsair::producer::cli
